import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { isServerTransport, RpcDispatcher, TransportError, type Message } from '@tinyrpc/core';
import { Dealer, Request, Router } from 'zeromq';
import { ZmqServerTransport, type ZmqTransportContext } from '../src/index.ts';
import {
  defer,
  delay,
  owned,
  receiveWithin,
  request,
  startServer,
  testDispatcher,
} from './helpers.ts';

const parse = (text: string | undefined): Record<string, unknown> =>
  JSON.parse(text ?? 'null') as Record<string, unknown>;

function dealer(endpoint: string, routingId?: string): Dealer {
  const socket = owned(new Dealer(routingId === undefined ? {} : { routingId }));
  socket.connect(endpoint);
  return socket;
}

function req(endpoint: string): Request {
  const socket = owned(new Request());
  socket.connect(endpoint);
  return socket;
}

describe('ZmqServerTransport', () => {
  it('binds an ephemeral port and reports the real endpoint', async () => {
    const { transport, endpoint } = await startServer();
    expect(endpoint).toMatch(/^tcp:\/\/127\.0\.0\.1:\d+$/);
    expect(endpoint).not.toMatch(/:0$/);
    expect(isServerTransport(transport)).toBe(true);
  });

  it('answers a REQ peer', async () => {
    const { endpoint } = await startServer();
    const socket = req(endpoint);
    await socket.send(request('add', [1, 2], 7));
    const reply = await receiveWithin(socket, 2000);
    expect(reply).toHaveLength(1);
    expect(parse(reply?.[0])).toEqual({ jsonrpc: '2.0', id: 7, result: 3 });
  });

  it('answers a DEALER peer with exactly the envelope it sent', async () => {
    const { endpoint } = await startServer();
    const socket = dealer(endpoint);
    await socket.send(request('add', [1, 2], 1));
    const bare = await receiveWithin(socket, 2000);
    expect(bare).toHaveLength(1);
    expect(parse(bare?.[0])).toMatchObject({ id: 1, result: 3 });

    await socket.send(['', request('add', [2, 2], 2)]);
    const delimited = await receiveWithin(socket, 2000);
    expect(delimited).toHaveLength(2);
    expect(delimited?.[0]).toBe('');
    expect(parse(delimited?.[1])).toMatchObject({ id: 2, result: 4 });

    await socket.send(['hop-a', 'hop-b', '', request('add', [3, 3], 3)]);
    const routed = await receiveWithin(socket, 2000);
    expect(routed?.slice(0, 3)).toEqual(['hop-a', 'hop-b', '']);
    expect(parse(routed?.[3])).toMatchObject({ id: 3, result: 6 });
  });

  it('sends a DEALER peer nothing for a notification', async () => {
    const calls: unknown[] = [];
    const dispatcher = new RpcDispatcher().add('note', (v: unknown) => calls.push(v));
    dispatcher.add('add', (a: number, b: number) => a + b);
    const { endpoint } = await startServer(dispatcher);
    const socket = dealer(endpoint);
    await socket.send(request('note', ['x']));
    expect(await receiveWithin(socket, 300)).toBeUndefined();
    expect(calls).toEqual(['x']);
    // The next message on the socket is the call's reply, not a leftover.
    await socket.send(request('add', [1, 1], 9));
    expect(parse((await receiveWithin(socket, 2000))?.[0])).toMatchObject({ id: 9, result: 2 });
  });

  it('answers a REQ peer’s notification with an empty frame, so the peer can go on', async () => {
    const { endpoint } = await startServer();
    const socket = req(endpoint);
    await socket.send(request('add', [1, 2]));
    expect(await receiveWithin(socket, 2000)).toEqual(['']);
    await socket.send(request('add', [2, 3], 4));
    expect(parse((await receiveWithin(socket, 2000))?.[0])).toMatchObject({ id: 4, result: 5 });
  });

  it('tells handlers the transport and the peer’s routing id', async () => {
    const contexts: ZmqTransportContext[] = [];
    const transport = new ZmqServerTransport({ endpoint: 'tcp://127.0.0.1:0' });
    defer(() => transport.close());
    await transport.listen((message, context) => {
      contexts.push(context as ZmqTransportContext);
      return Promise.resolve(message);
    });
    const peerId = Buffer.from('peer-1').toString('hex');
    const socket = dealer(transport.endpoint as string, 'peer-1');
    await socket.send('ping');
    expect(await receiveWithin(socket, 2000)).toEqual(['ping']);
    const other = req(transport.endpoint as string);
    await other.send('pong');
    expect(await receiveWithin(other, 2000)).toEqual(['pong']);
    // The DEALER peer is a connection; the REQ peer is not.
    expect(contexts).toHaveLength(2);
    expect(contexts[0]).toMatchObject({ transport: 'zmq', peerId, connectionId: peerId });
    expect(contexts[0]?.connection?.id).toBe(peerId);
    expect(contexts[0]?.signal).toBe(contexts[0]?.connection?.signal);
    expect(contexts[1]).toEqual({ transport: 'zmq', peerId: expect.any(String) as unknown });
  });

  it('handles requests concurrently and answers each as it finishes', async () => {
    const { endpoint } = await startServer();
    const socket = dealer(endpoint);
    const started = performance.now();
    for (let i = 0; i < 20; i++) await socket.send(request('sleep', [300, i], i));
    await socket.send(request('add', [1, 1], 99));
    // The fast call overtakes the slow ones.
    expect(parse((await receiveWithin(socket, 2000))?.[0])).toMatchObject({ id: 99 });
    const ids = new Set<unknown>();
    for (let i = 0; i < 20; i++) ids.add(parse((await receiveWithin(socket, 2000))?.[0])['id']);
    expect(ids.size).toBe(20);
    // Twenty 300 ms handlers one after another would take 6 s.
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it('close() answers the requests in flight, then releases the socket', async () => {
    const transport = new ZmqServerTransport({ endpoint: 'tcp://127.0.0.1:0' });
    let release: (() => void) | undefined;
    await transport.listen(
      (message) =>
        new Promise<Message>((resolve) => {
          release = () => {
            resolve(message);
          };
        }),
    );
    const socket = dealer(transport.endpoint as string);
    await socket.send('slow');
    await expect.poll(() => release).toBeDefined();
    const closed = transport.close();
    let done = false;
    void closed.then(() => (done = true));
    await delay(100);
    expect(done).toBe(false);
    release?.();
    expect(await receiveWithin(socket, 2000)).toEqual(['slow']);
    await closed;
    expect(transport.socket.closed).toBe(true);
    // Closing again is harmless.
    await transport.close();
  });

  it('drops requests that arrive while closing', async () => {
    const transport = new ZmqServerTransport({ endpoint: 'tcp://127.0.0.1:0' });
    const seen: string[] = [];
    let release: (() => void) | undefined;
    await transport.listen((message) => {
      seen.push(String(message));
      return new Promise<Message>((resolve) => {
        release = () => {
          resolve(message);
        };
      });
    });
    const socket = dealer(transport.endpoint as string);
    await socket.send('first');
    await expect.poll(() => release).toBeDefined();
    const closed = transport.close();
    await socket.send('late');
    await delay(100);
    release?.();
    await closed;
    expect(seen).toEqual(['first']);
  });

  it('answers a REQ peer with an empty frame when the handler fails', async () => {
    const transport = new ZmqServerTransport({ endpoint: 'tcp://127.0.0.1:0' });
    defer(() => transport.close());
    await transport.listen(() => Promise.reject(new Error('broken handler')));
    const socket = req(transport.endpoint as string);
    await socket.send('anything');
    expect(await receiveWithin(socket, 2000)).toEqual(['']);
  });

  it('takes over a ROUTER socket of your own and closes it', async () => {
    const socket = new Router();
    await socket.bind('tcp://127.0.0.1:0');
    const transport = new ZmqServerTransport({ socket });
    await transport.listen((message) => Promise.resolve(message));
    expect(transport.endpoint).toBe(socket.lastEndpoint);
    const peer = dealer(socket.lastEndpoint as string);
    await peer.send('hello');
    expect(await receiveWithin(peer, 2000)).toEqual(['hello']);
    await transport.close();
    expect(socket.closed).toBe(true);
  });

  it('rejects bad options, a second listen and an endpoint it cannot bind', async () => {
    expect(() => new ZmqServerTransport({})).toThrow(TypeError);
    const { transport, endpoint } = await startServer();
    await expect(transport.listen(() => Promise.resolve(undefined))).rejects.toThrow(
      TransportError,
    );
    const taken = new ZmqServerTransport({ endpoint });
    await expect(taken.listen(() => Promise.resolve(undefined))).rejects.toThrow(
      /Cannot bind tcp:\/\/127\.0\.0\.1:\d+/,
    );
    const bogus = new ZmqServerTransport({ endpoint: 'no-such-transport://x' });
    await expect(bogus.listen(() => Promise.resolve(undefined))).rejects.toBeInstanceOf(
      TransportError,
    );
  });
});

describe('ZmqServerTransport with malformed input', () => {
  it('answers unreadable bodies with a parse error and keeps serving', async () => {
    const { endpoint } = await startServer(testDispatcher());
    const socket = dealer(endpoint);
    const bodies: (string | Buffer)[] = [
      '{not json',
      Buffer.from([0xff, 0xfe, 0x00, 0x80]),
      '[]',
      '{"jsonrpc":"2.0","method":1,"id":1}',
    ];
    const codes = [];
    for (const body of bodies) {
      await socket.send(body);
      const reply = parse((await receiveWithin(socket, 2000))?.[0]);
      codes.push((reply['error'] as { code: number }).code);
    }
    expect(codes).toEqual([-32700, -32700, -32600, -32600]);
    await socket.send(request('add', [1, 2], 5));
    expect(parse((await receiveWithin(socket, 2000))?.[0])).toMatchObject({ id: 5, result: 3 });
  });

  it('treats every frame but the last as envelope, whatever their number', async () => {
    const { endpoint } = await startServer();
    const socket = dealer(endpoint);
    const envelope = Array.from({ length: 12 }, (_, i) => `frame-${String(i)}`);
    await socket.send([...envelope, request('add', [1, 2], 1)]);
    const reply = await receiveWithin(socket, 2000);
    expect(reply?.slice(0, 12)).toEqual(envelope);
    expect(parse(reply?.[12])).toMatchObject({ id: 1, result: 3 });
  });

  it('ignores an empty message from a DEALER (a probe) but answers one from a REQ peer', async () => {
    const { endpoint } = await startServer();
    const probe = dealer(endpoint);
    await probe.send('');
    expect(await receiveWithin(probe, 300)).toBeUndefined();
    const socket = req(endpoint);
    await socket.send('');
    const reply = parse((await receiveWithin(socket, 2000))?.[0]);
    expect(reply).toMatchObject({ id: null, error: { code: -32700 } });
  });

  it('answers a message over maxMessageSize with an error in its envelope and serves the others', async () => {
    const { endpoint } = await startServer(testDispatcher(), { maxMessageSize: 1024 });
    const big = dealer(endpoint);
    await big.send(['hop', request('echo', ['x'.repeat(2000)], 1)]);
    const reply = await receiveWithin(big, 2000);
    expect(reply?.[0]).toBe('hop');
    expect(parse(reply?.[1])).toMatchObject({
      id: null,
      error: {
        code: -32600,
        message: expect.stringMatching(
          /over the limit of 1024 bytes \(maxMessageSize\)/,
        ) as unknown,
      },
    });
    // A REQ peer gets the same answer, so it is not stuck.
    const strict = req(endpoint);
    await strict.send(request('echo', ['x'.repeat(2000)], 2));
    expect(parse((await receiveWithin(strict, 2000))?.[0])).toMatchObject({
      error: { code: -32600 },
    });
    // The same peers go on being served.
    await big.send(request('echo', ['x'.repeat(100)], 3));
    expect(parse((await receiveWithin(big, 2000))?.[0])).toMatchObject({ id: 3 });
    await strict.send(request('add', [1, 2], 4));
    expect(parse((await receiveWithin(strict, 2000))?.[0])).toMatchObject({ id: 4, result: 3 });
  });

  it('lets ZeroMQ disconnect a peer whose frame is over four times maxMessageSize', async () => {
    const { endpoint } = await startServer(testDispatcher(), { maxMessageSize: 1024 });
    const huge = dealer(endpoint);
    await huge.send(request('echo', ['x'.repeat(5000)], 1));
    expect(await receiveWithin(huge, 300)).toBeUndefined();
    const small = dealer(endpoint);
    await small.send(request('echo', ['x'.repeat(100)], 2));
    expect(parse((await receiveWithin(small, 2000))?.[0])).toMatchObject({ id: 2 });
  });

  it('answers calls past maxInFlight per peer with a busy error, and serves other peers', async () => {
    const limit = 5;
    const errors: unknown[] = [];
    const { endpoint } = await startServer(testDispatcher(), {
      maxInFlight: limit,
      onError: (error) => errors.push(error),
    });
    const flood = dealer(endpoint);
    // 50 slow calls at once: 5 run, 45 are answered busy at once.
    for (let id = 1; id <= 50; id++) await flood.send(request('sleep', [300, id], id));
    const busy: Record<string, unknown>[] = [];
    while (busy.length < 45) {
      const reply = parse((await receiveWithin(flood, 2000))?.[0]);
      busy.push(reply);
    }
    // Each busy reply carries its call's own id, so a client with many calls waiting matches it.
    expect(busy.map((r) => r['id']).sort((a, b) => Number(a) - Number(b))).toEqual(
      Array.from({ length: 45 }, (_, i) => i + 6),
    );
    for (const reply of busy) {
      expect(reply).toMatchObject({
        error: {
          code: -32000,
          message: expect.stringMatching(/maxInFlight/) as unknown,
        },
      });
    }
    // Another peer is not held back by the first one's flood.
    const other = dealer(endpoint);
    await other.send(request('add', [1, 2], 99));
    expect(parse((await receiveWithin(other, 1000))?.[0])).toMatchObject({ id: 99, result: 3 });
    // The five running calls are answered; then the flooding peer may call again.
    const results = [];
    for (let i = 0; i < limit; i++) results.push(parse((await receiveWithin(flood, 2000))?.[0]));
    expect(results.map((r) => r['result']).sort()).toEqual([1, 2, 3, 4, 5]);
    await flood.send(request('add', [2, 2], 100));
    expect(parse((await receiveWithin(flood, 2000))?.[0])).toMatchObject({ id: 100, result: 4 });
    // A notification past the limit is refused without a reply: it has no call to fail.
    for (let id = 1; id <= limit; id++) await flood.send(request('sleep', [300, id], 200 + id));
    await flood.send(JSON.stringify({ jsonrpc: '2.0', method: 'sleep', params: [1, 0] }));
    await flood.send(request('add', [3, 3], 300));
    expect(parse((await receiveWithin(flood, 2000))?.[0])).toMatchObject({ id: 300, error: {} });
    expect(errors).toEqual([]);
  });

  it('reports a handler that rejects to onError and still answers a REQ peer', async () => {
    const errors: unknown[] = [];
    const transport = new ZmqServerTransport({
      endpoint: 'tcp://127.0.0.1:0',
      onError: (error) => errors.push(error),
    });
    await transport.listen(() => Promise.reject(new Error('broken handler')));
    defer(() => transport.close());
    const socket = req(transport.endpoint as string);
    await socket.send(request('add', [1, 2], 1));
    expect(await receiveWithin(socket, 2000)).toEqual(['']);
    expect(errors).toHaveLength(1);
    expect((errors[0] as Error).message).toBe('broken handler');
  });

  it('rejects limits below 1', () => {
    expect(() => new ZmqServerTransport({ endpoint: 'tcp://127.0.0.1:0', maxInFlight: 0 })).toThrow(
      /maxInFlight/,
    );
    expect(
      () => new ZmqServerTransport({ endpoint: 'tcp://127.0.0.1:0', maxMessageSize: 0 }),
    ).toThrow(/maxMessageSize/);
  });

  it('answers any frames a DEALER sends with their own envelope, or ignores a probe', async () => {
    const { endpoint } = await startServer();
    const sentinel = request('add', [1, 1], 424242);
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.uint8Array({ maxLength: 24 }), { minLength: 1, maxLength: 6 }),
        async (frames) => {
          const socket = dealer(endpoint);
          await socket.send(frames.map((f) => Buffer.from(f)));
          await socket.send(sentinel);
          const body = frames[frames.length - 1] as Uint8Array;
          const delimited = frames.length >= 2 && frames[frames.length - 2]?.length === 0;
          const answered = body.length > 0 || delimited;
          const first = await socket.receive();
          if (answered) {
            expect(first.slice(0, -1)).toEqual(frames.slice(0, -1).map((f) => Buffer.from(f)));
            expect(parse(String(first[first.length - 1]))).toHaveProperty('error');
            expect(parse(String((await socket.receive())[0]))).toMatchObject({ id: 424242 });
          } else {
            expect(parse(String(first[0]))).toMatchObject({ id: 424242 });
          }
          socket.linger = 0;
          socket.close();
        },
      ),
      { numRuns: 60 },
    );
  });
});
