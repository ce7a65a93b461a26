import { MessageChannel } from 'node:worker_threads';
import {
  CallbackClientTransport,
  CallbackServerTransport,
  RpcClient,
  RpcDispatcher,
  RpcServer,
  TransportError,
  type CallContext,
} from '@tinyrpc/core';
import { portChannel } from '@tinyrpc/test-helpers';
import { describe, expect, it } from 'vitest';
import { StubProtocol } from './stubs.ts';

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
        new CallbackServerTransport(portChannel(port2, { reportClose: true })),
        new StubProtocol(),
        dispatcher,
      ).serve();
    });
    const client = new RpcClient(
      new StubProtocol(),
      new CallbackClientTransport(portChannel(port1, { reportClose: true })),
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
