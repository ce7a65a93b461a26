import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import {
  CallbackClientTransport,
  CallbackServerTransport,
  createMemoryTransport,
  isClientTransport,
  isRpcClient,
  isRpcProtocol,
  isRpcServer,
  isServerTransport,
  RemoteError,
  RpcClient,
  RpcDispatcher,
  RpcServer,
  TransportError,
  type CallbackChannel,
  type Message,
  type TransportContext,
} from '@tinyrpc/core';
import { exchange, portChannel } from '@tinyrpc/test-helpers';
import { StubProtocol } from './stubs.ts';

const ports: MessagePort[] = [];
afterEach(() => {
  for (const port of ports.splice(0)) port.close();
});

/** A CallbackChannel over one end of a MessageChannel, closed after the test. */
function channelOf(port: MessagePort): CallbackChannel {
  ports.push(port);
  return portChannel(port);
}

const deferred = <T = void>() => {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
};

describe('createMemoryTransport', () => {
  it('carries strings and bytes, and hands the server a context', async () => {
    const { client, server } = createMemoryTransport();
    const seen: [Message, TransportContext][] = [];
    await server.listen(async (message, context) => {
      seen.push([message, context]);
      return typeof message === 'string' ? message.toUpperCase() : message.map((b) => b + 1);
    });
    expect(await exchange(client, 'hello')).toBe('HELLO');
    expect(await exchange(client, new Uint8Array([1, 2]))).toEqual(new Uint8Array([2, 3]));
    expect(seen[0]?.[1]).toMatchObject({ transport: 'memory' });
    await server.close();
  });

  it('copies bytes both ways, as a real transport would', async () => {
    const { client, server } = createMemoryTransport();
    let received: Uint8Array | undefined;
    const reply = new Uint8Array([9]);
    await server.listen(async (message) => {
      received = message as Uint8Array;
      return reply;
    });
    const sent = new Uint8Array([1]);
    const answer = (await exchange(client, sent)) as Uint8Array;
    sent[0] = 7;
    reply[0] = 8;
    expect(received).toEqual(new Uint8Array([1]));
    expect(answer).toEqual(new Uint8Array([9]));
    await server.close();
  });

  it('is a connection: send resolves once sent, and only due replies arrive', async () => {
    const { client, server } = createMemoryTransport();
    expect(client.kind).toBe('connection');
    await server.listen(async (message) => (message === 'silent' ? undefined : 'answer'));
    await expect(client.send('loud')).resolves.toBeUndefined();
    expect(await exchange(client, 'silent', 50)).toBeUndefined();
    expect(await exchange(client, 'loud')).toBe('answer');
    await server.close();
  });

  it('fails with a TransportError before listen and after close, and on an aborted signal', async () => {
    const { client, server } = createMemoryTransport();
    await expect(client.send('x')).rejects.toBeInstanceOf(TransportError);
    await server.listen(async () => 'ok');
    const aborted = AbortSignal.abort(new Error('stop'));
    await expect(client.send('x', { signal: aborted })).rejects.toThrow('stop');
    await server.close();
    await expect(client.send('x')).rejects.toBeInstanceOf(TransportError);
    await expect(server.listen(async () => 'again')).resolves.toBeUndefined();
  });

  it('refuses a second listener', async () => {
    const { server } = createMemoryTransport();
    await server.listen(async () => undefined);
    await expect(server.listen(async () => undefined)).rejects.toThrow(/Already listening/);
    await server.close();
  });

  it('close() waits for in-flight replies', async () => {
    const { client, server } = createMemoryTransport();
    const gate = deferred();
    await server.listen(async () => {
      await gate.promise;
      return 'late';
    });
    const order: string[] = [];
    const reply = exchange(client, 'x', 1000).then((r) => order.push(`reply ${String(r)}`));
    await new Promise((r) => setTimeout(r, 0));
    const closed = server.close().then(() => order.push('closed'));
    await new Promise((r) => setTimeout(r, 10));
    expect(order).toEqual([]);
    gate.resolve();
    await Promise.all([reply, closed]);
    expect(order).toEqual(['reply late', 'closed']);
  });

  it('is branded', () => {
    const { client, server } = createMemoryTransport();
    expect(isClientTransport(client)).toBe(true);
    expect(isServerTransport(server)).toBe(true);
    expect(isClientTransport(server)).toBe(false);
    expect(isServerTransport({ listen() {}, close() {} })).toBe(false);
  });
});

describe('callback transports over a MessageChannel', () => {
  it('answer calls concurrently, out of order, matched by id', async () => {
    const { port1, port2 } = new MessageChannel();
    const gate = deferred();
    const dispatcher = new RpcDispatcher()
      .add('slow', async (x: number) => {
        await gate.promise;
        return x;
      })
      .add('fast', (x: number) => x * 10);
    const server = new RpcServer(
      new CallbackServerTransport(channelOf(port2)),
      new StubProtocol(),
      dispatcher,
    );
    await server.serve();
    const client = new RpcClient(new StubProtocol(), new CallbackClientTransport(channelOf(port1)));
    const slow = client.call('slow', [1]);
    expect(await client.call('fast', [2])).toBe(20);
    expect(client.pendingCount).toBe(1);
    gate.resolve();
    expect(await slow).toBe(1);
    expect(client.pendingCount).toBe(0);
    await expect(client.call('missing')).rejects.toBeInstanceOf(RemoteError);
    await server.close();
  });

  it('hands the server its context, and byte messages through', async () => {
    const { port1, port2 } = new MessageChannel();
    const context = { transport: 'worker', connectionId: 'w1' };
    let seen: TransportContext | undefined;
    const transport = new CallbackServerTransport(channelOf(port2), context);
    await transport.listen(async (message, c) => {
      seen = c;
      return message;
    });
    const received = deferred<Message>();
    const client = new CallbackClientTransport(channelOf(port1));
    const stop = client.subscribe({ onMessage: received.resolve, onClose: () => {} });
    await expect(client.send(new Uint8Array([1, 2, 3]))).resolves.toBeUndefined();
    expect(await received.promise).toEqual(new Uint8Array([1, 2, 3]));
    expect(seen).toMatchObject(context);
    expect((seen as { signal?: unknown }).signal).toBeInstanceOf(AbortSignal);
    stop();
    await transport.close();
  });

  it('client send fails once closed or aborted; server close stops delivery and drains', async () => {
    const { port1, port2 } = new MessageChannel();
    const gate = deferred();
    const handled: Message[] = [];
    const server = new CallbackServerTransport(channelOf(port2));
    await server.listen(async (message) => {
      handled.push(message);
      await gate.promise;
      return 'done';
    });
    await expect(server.listen(async () => undefined)).rejects.toThrow(/Already listening/);
    const client = new CallbackClientTransport(channelOf(port1));
    await expect(client.send('x', { signal: AbortSignal.abort() })).rejects.toThrow();
    await client.send('first');
    await new Promise((r) => setTimeout(r, 20));
    expect(handled).toEqual(['first']);
    let closed = false;
    const closing = server.close().then(() => (closed = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(closed).toBe(false);
    gate.resolve();
    await closing;
    await client.send('second');
    await new Promise((r) => setTimeout(r, 20));
    expect(handled).toEqual(['first']);
    await client.close();
    await expect(client.send('third')).rejects.toBeInstanceOf(TransportError);
    expect(isClientTransport(client)).toBe(true);
    expect(isServerTransport(server)).toBe(true);
  });
});

describe('RpcClient and RpcServer with a protocol of one’s own', () => {
  it('work over the memory transport, and are branded', async () => {
    const { client: ct, server: st } = createMemoryTransport();
    const server = new RpcServer(
      st,
      new StubProtocol(),
      new RpcDispatcher().add('hi', () => 'hello'),
    );
    await server.serve();
    const client = new RpcClient(new StubProtocol(), ct);
    expect(await client.call('hi')).toBe('hello');
    await expect(client.notify('hi')).resolves.toBeUndefined();
    await expect(client.batch([{ method: 'hi' }])).rejects.toThrow(/no batch/);
    expect(isRpcServer(server)).toBe(true);
    expect(isRpcClient(client)).toBe(true);
    expect(isRpcProtocol(new StubProtocol())).toBe(true);
    await expect(server.serve()).rejects.toThrow(/already serving/);
    await server.close();
    await expect(server.serve()).rejects.toThrow(/closed/);
  });
});
