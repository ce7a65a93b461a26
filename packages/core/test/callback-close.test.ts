import { MessageChannel, type MessagePort } from 'node:worker_threads';
import {
  CallbackClientTransport,
  CallbackServerTransport,
  RpcClient,
  RpcDispatcher,
  RpcServer,
  TransportError,
  type CallContext,
  type CallbackChannel,
  type Message,
} from '@tinyrpc/core';
import { describe, expect, it } from 'vitest';
import { StubProtocol } from './stubs.ts';

/** A CallbackChannel over a MessagePort that reports the port's 'close' event. */
function closingChannelOf(port: MessagePort): CallbackChannel {
  return {
    send: (message) => {
      port.postMessage(message);
    },
    subscribe: (listener) => {
      const onMessage = (message: Message): void => {
        listener(message);
      };
      port.on('message', onMessage);
      return () => port.off('message', onMessage);
    },
    onClose: (listener) => {
      const onClose = (): void => {
        listener();
      };
      port.once('close', onClose);
      return () => port.off('close', onClose);
    },
  };
}

describe('callback transports with a channel that reports closing', () => {
  it('fail pending calls at once and abort the server call signal when the channel closes', async () => {
    const { port1, port2 } = new MessageChannel();
    let started!: () => void;
    const handlerStarted = new Promise<void>((resolve) => (started = resolve));
    const aborted = new Promise<unknown>((resolve) => {
      const dispatcher = new RpcDispatcher().add(
        'hang',
        (context: CallContext) =>
          new Promise(() => {
            started();
            context.signal.addEventListener('abort', () => {
              resolve(context.signal.reason);
            });
          }),
        { context: true },
      );
      void new RpcServer(
        new CallbackServerTransport(closingChannelOf(port2)),
        new StubProtocol(),
        dispatcher,
      ).serve();
    });
    const client = new RpcClient(
      new StubProtocol(),
      new CallbackClientTransport(closingChannelOf(port1)),
    );
    const pending = client.call('hang');
    await handlerStarted;
    expect(client.pendingCount).toBe(1);

    port1.close();
    const failure = await pending.catch((error: unknown) => error);
    expect(TransportError.is(failure)).toBe(true);
    expect((failure as Error).message).toMatch(/channel closed/);
    expect(client.pendingCount).toBe(0);
    expect(TransportError.is(await aborted)).toBe(true);
    await expect(client.call('hang')).rejects.toThrow(/closed/);
  });
});
