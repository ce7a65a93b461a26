// Streamed results over connections: async iterables with credit-based backpressure, ending by
// break, errors mid-stream, lost connections, typed proxies. Memory transport and MessageChannel.
import {
  RemoteError,
  RpcClient,
  RpcDispatcher,
  RpcPeer,
  RpcServer,
  TransportError,
  createMemoryTransport,
  type CallContext,
} from '@tinyrpc/core';
import { describe, expect, it } from 'vitest';
import { JsonRpcProtocol } from '../src/index.ts';
import { createChannelPair } from './channel-pair.ts';

const protocol = new JsonRpcProtocol();

interface Log {
  produced: number;
  finallyRan: number;
}

function streamingMethods(log: Log): RpcDispatcher {
  const methods = new RpcDispatcher();
  methods.add('count', async function* (to: number) {
    try {
      for (let i = 1; i <= to; i++) {
        log.produced = i;
        yield i;
      }
    } finally {
      log.finallyRan += 1;
    }
  });
  methods.add('failAfter', async function* (n: number) {
    for (let i = 1; i <= n; i++) yield i;
    throw new RemoteError('ran dry', { code: 4242, data: { at: n } });
  });
  methods.add(
    'events',
    async function* (context: CallContext) {
      // A subscription: runs until cancelled; its signal aborts when the consumer leaves.
      try {
        let tick = 0;
        while (!context.signal.aborted) {
          tick += 1;
          yield tick;
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
      } finally {
        log.finallyRan += 1;
      }
    },
    { context: true },
  );
  methods.add('plain', () => 42);
  return methods;
}

/** An RpcServer of the streaming methods on `pair`, and an RpcClient of it. */
async function serveStreams(
  pair: Pick<
    ReturnType<typeof createMemoryTransport>,
    'client' | 'server'
  > = createMemoryTransport(),
): Promise<{ log: Log; server: RpcServer; client: RpcClient }> {
  const log = { produced: 0, finallyRan: 0 };
  const server = new RpcServer(pair.server, protocol, streamingMethods(log));
  await server.serve();
  return { log, server, client: new RpcClient(protocol, pair.client) };
}

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

describe('streams', () => {
  for (const [name, makePair] of [
    ['memory', () => createMemoryTransport()],
    ['callback (MessageChannel)', () => createChannelPair()],
  ] as const) {
    describe(name, () => {
      it('iterates every item in order, and ends', async () => {
        const { log, server, client } = await serveStreams(makePair());
        expect(await collect(client.stream<number>('count', [100]))).toEqual(
          Array.from({ length: 100 }, (_, i) => i + 1),
        );
        expect(log.finallyRan).toBe(1);
        expect(client.pendingCount).toBe(0);
        await client.close();
        await server.close();
      });

      it('break ends the server generator (its finally runs) within a round trip', async () => {
        const { log, server, client } = await serveStreams(makePair());
        for await (const item of client.stream<number>('count', [1_000_000], {
          highWaterMark: 4,
        })) {
          if (item === 10) break;
        }
        await expect.poll(() => log.finallyRan).toBe(1);
        // Never more than the window ahead of the loop.
        expect(log.produced).toBeLessThanOrEqual(10 + 4 + 1);
        for await (const tick of client.stream<number>('events')) if (tick === 3) break;
        await expect.poll(() => log.finallyRan).toBe(2);
        await expect(client.call('plain')).resolves.toBe(42);
        await client.close();
        await server.close();
      });

      it('an error thrown mid-stream reaches the loop after the items before it', async () => {
        const { server, client } = await serveStreams(makePair());
        const seen: number[] = [];
        const error = await (async () => {
          for await (const item of client.stream<number>('failAfter', [3])) seen.push(item);
        })().catch((e: unknown) => e);
        expect(seen).toEqual([1, 2, 3]);
        expect(RemoteError.is(error)).toBe(true);
        expect(error).toMatchObject({ code: 4242, message: 'ran dry', data: { at: 3 } });
        await client.close();
        await server.close();
      });
    });
  }

  it('a consumer 100 times slower than its producer holds it to the window', async () => {
    const { log, server, client } = await serveStreams();
    let taken = 0;
    for await (const item of client.stream<number>('count', [60], { highWaterMark: 8 })) {
      taken = item;
      expect(log.produced - taken).toBeLessThanOrEqual(8);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    expect(taken).toBe(60);
    await client.close();
    await server.close();
  });

  it('a lost connection throws a TransportError in the loop and ends the generator', async () => {
    const { log, server, client } = await serveStreams();
    const error = await (async () => {
      for await (const tick of client.stream<number>('events')) {
        if (tick === 2) void server.peers[0]?.close();
      }
    })().catch((e: unknown) => e);
    expect(TransportError.is(error)).toBe(true);
    await expect.poll(() => log.finallyRan).toBe(1);
    await server.close();
  });

  it('call() of a streaming method is answered with an error that says to use stream()', async () => {
    const { server, client } = await serveStreams();
    await expect(client.call('count', [3])).rejects.toThrow(/call it with stream\(\)/);
    await expect(collect(client.stream('plain'))).rejects.toThrow(/not a stream/);
    await client.close();
    await server.close();
  });

  it('a typed proxy iterates a method whose API type returns AsyncIterable, and awaits the others', async () => {
    interface Api {
      count(to: number): AsyncIterable<number>;
      plain(): number;
    }
    const pair = createMemoryTransport();
    const server = new RpcServer(
      pair.server,
      protocol,
      streamingMethods({ produced: 0, finallyRan: 0 }),
    );
    await server.serve();
    const peer = new RpcPeer(pair.client, protocol);
    const api = peer.getProxy<Api>();
    expect(await collect(api.count(5))).toEqual([1, 2, 3, 4, 5]);
    expect(await api.plain()).toBe(42);
    await peer.close();
    await server.close();
  });

  it('the server streams to its client too: a handler on the client side produces', async () => {
    const pair = createMemoryTransport();
    const clientMethods = new RpcDispatcher().add('letters', async function* () {
      yield* ['a', 'b', 'c'];
    });
    const serverMethods = new RpcDispatcher().add(
      'gather',
      async (context: CallContext) => {
        const letters: string[] = [];
        for await (const letter of context.peer?.stream<string>('letters') ?? [])
          letters.push(letter);
        return letters.join('');
      },
      { context: true },
    );
    const server = new RpcServer(pair.server, protocol, serverMethods);
    await server.serve();
    const peer = new RpcPeer(pair.client, protocol, { dispatcher: clientMethods });
    await expect(peer.call('gather')).resolves.toBe('abc');
    await peer.close();
    await server.close();
  });
});
