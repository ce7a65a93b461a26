// Streamed results over real HTTP: `client.stream()` asks with `Tinyrpc-Stream`, the server answers
// with an NDJSON body (items, then the reply that ends the stream), and the client reads it with
// fetch's body stream. Each server mode: its own port, `handle` mounted on a node:http server, and
// the `fetch` handler served by a node:http server (as a runtime's adapter serves it).
import { createServer } from 'node:http';
import { afterEach, describe, expect, test } from 'vitest';
import {
  RemoteError,
  RpcClient,
  RpcDispatcher,
  RpcError,
  RpcServer,
  TransportError,
  type CallContext,
} from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { listenSeverable, settle, sleep, waitUntil } from '@tinyrpc/test-helpers';
import {
  HttpClientTransport,
  HttpServerTransport,
  type HttpServerTransportOptions,
} from '../src/index.ts';
import { fetchHandlerServer } from './support.ts';

/** How late a generator's `finally` may run after the moment it should (the machine is busy). */
const bound = 2000;

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** What the server's generators did. */
interface Log {
  /** The last item the producer made. */
  produced: number;
  /** Generators whose `finally` ran, and when. */
  ended: number[];
}

function methods(log: Log): RpcDispatcher {
  const ended = (): void => {
    log.ended.push(Date.now());
  };
  return new RpcDispatcher()
    .add('count', async function* (to: number) {
      try {
        for (let i = 1; i <= to; i++) {
          log.produced = i;
          await Promise.resolve();
          yield i;
        }
      } finally {
        ended();
      }
    })
    .add(
      'ticks',
      async function* (context: CallContext, everyMs: number) {
        try {
          for (let tick = 1; !context.signal.aborted; tick++) {
            log.produced = tick;
            yield tick;
            await sleep(everyMs);
          }
        } finally {
          ended();
        }
      },
      { context: true },
    )
    .add('sized', async function* (bytes: number, n: number) {
      try {
        const item = 'x'.repeat(bytes);
        for (let i = 1; i <= n; i++) {
          log.produced = i;
          await Promise.resolve();
          yield item;
        }
      } finally {
        ended();
      }
    })
    .add('failAfter', async function* (n: number) {
      for (let i = 1; i <= n; i++) {
        await Promise.resolve();
        yield i;
      }
      throw new RpcError('ran dry', { code: 4242, data: { at: n } });
    })
    .add('quiet', async function* (pauseMs: number) {
      for (let i = 1; i <= 6; i++) {
        if (i === 4) await sleep(pauseMs);
        yield i;
      }
    })
    .add('nothing', async function* () {
      await Promise.resolve();
      yield* [];
    })
    .add('plain', () => 42);
}

interface Served {
  readonly url: string;
  readonly transport: HttpServerTransport;
  readonly server: RpcServer;
  /** Destroys the server's open connections, as a crash or a broken network would. */
  sever(): void;
}

const setups: Record<string, (log: Log, options: HttpServerTransportOptions) => Promise<Served>> = {
  'own port': async (log, options) => {
    const transport = new HttpServerTransport({ port: 0, ...options });
    const server = new RpcServer(transport, new JsonRpcProtocol(), methods(log));
    await server.serve();
    cleanups.push(() => server.close());
    return {
      url: transport.url as string,
      transport,
      server,
      sever: () => transport.server?.closeAllConnections(),
    };
  },
  'handle on node:http': async (log, options) => {
    const transport = new HttpServerTransport(options);
    const server = new RpcServer(transport, new JsonRpcProtocol(), methods(log));
    await server.serve();
    const http = await listenSeverable(createServer(transport.handle));
    cleanups.push(() => http.close());
    cleanups.push(() => server.close());
    return {
      url: `http://127.0.0.1:${String(http.port)}/rpc`,
      transport,
      server,
      sever: http.sever,
    };
  },
  'fetch handler on node:http': async (log, options) => {
    const transport = new HttpServerTransport(options);
    const server = new RpcServer(transport, new JsonRpcProtocol(), methods(log));
    await server.serve();
    const http = await listenSeverable(fetchHandlerServer(transport.fetch));
    cleanups.push(() => http.close());
    cleanups.push(() => server.close());
    return {
      url: `http://127.0.0.1:${String(http.port)}/rpc`,
      transport,
      server,
      sever: http.sever,
    };
  },
};

const collect = async <T>(items: AsyncIterable<T>, into: T[] = []): Promise<T[]> => {
  for await (const item of items) into.push(item);
  return into;
};

describe.each(Object.keys(setups))('%s', (name) => {
  async function setUp(options: HttpServerTransportOptions = {}) {
    const log: Log = { produced: 0, ended: [] };
    const served = await (setups[name] as (typeof setups)[string])(log, options);
    const client = new RpcClient(new JsonRpcProtocol(), new HttpClientTransport(served.url));
    cleanups.push(() => client.close());
    return { log, client, ...served };
  }

  test('the items arrive in order, then the stream ends, and the client goes on calling', async () => {
    const { log, client } = await setUp();
    const items = await collect(client.stream<number>('count', [500], { highWaterMark: 8 }));
    expect(items).toEqual(Array.from({ length: 500 }, (_, i) => i + 1));
    expect(log.ended).toHaveLength(1);
    // Two at once: each has a request (and a connection) of its own.
    const [a, b] = await Promise.all([
      collect(client.stream<number>('count', [50])),
      collect(client.stream<number>('count', [70])),
    ]);
    expect(a).toHaveLength(50);
    expect(b).toHaveLength(70);
    expect(await client.call('plain')).toBe(42);
  });

  test("break closes the request and the server generator's finally runs", async () => {
    const { log, client } = await setUp();
    let brokeAt = 0;
    for await (const tick of client.stream<number>('ticks', [5], { highWaterMark: 2 }))
      if (tick === 3) {
        brokeAt = Date.now();
        break;
      }
    await waitUntil(() => log.ended.length === 1, bound + 1000);
    expect((log.ended[0] as number) - brokeAt).toBeLessThan(bound);
    // The producer stopped: no tick is made after its finally ran.
    const last = log.produced;
    await sleep(50);
    expect(log.produced).toBe(last);
    expect(await client.call('plain')).toBe(42);
  });

  test("the stream's signal ends it too: the loop throws its reason", async () => {
    const { log, client } = await setUp();
    const controller = new AbortController();
    const seen: number[] = [];
    const outcome = await settle(
      (async () => {
        for await (const tick of client.stream<number>('ticks', [5], { signal: controller.signal }))
          if (seen.push(tick) === 2) controller.abort(new Error('enough'));
      })(),
    );
    expect(outcome).toMatchObject({ ok: false, error: { message: 'enough' } });
    expect(seen).toEqual([1, 2]);
    await waitUntil(() => log.ended.length === 1, bound + 1000);
  });

  test('an error mid-stream reaches the loop after the items, with its code, message and data', async () => {
    const { client } = await setUp();
    const items: number[] = [];
    const outcome = await settle(collect(client.stream<number>('failAfter', [3]), items));
    expect(items).toEqual([1, 2, 3]);
    expect(outcome.ok).toBe(false);
    const error = (outcome as { error: unknown }).error;
    expect(RemoteError.is(error)).toBe(true);
    expect(error).toMatchObject({ code: 4242, message: 'ran dry', data: { at: 3 } });
  });

  test('a lost connection throws a TransportError in the loop and ends the generator', async () => {
    const { log, client, sever } = await setUp();
    const items: number[] = [];
    const outcome = await settle(
      (async () => {
        for await (const tick of client.stream<number>('ticks', [5])) {
          items.push(tick);
          if (tick === 3) sever();
        }
      })(),
    );
    expect(items.slice(0, 3)).toEqual([1, 2, 3]);
    expect(outcome.ok).toBe(false);
    expect(TransportError.is((outcome as { error: unknown }).error)).toBe(true);
    await waitUntil(() => log.ended.length === 1, bound + 1000);
  });

  test('a stream without items, and a method that does not stream, are ordinary answers', async () => {
    const { client } = await setUp();
    expect(await collect(client.stream('nothing'))).toEqual([]);
    await expect(collect(client.stream('plain'))).rejects.toThrow(/not a stream/);
    await expect(client.call('count', [3])).rejects.toThrow(/call it with stream\(\)/);
  });

  test("an item over the client's maxMessageSize fails the loop naming the limit", async () => {
    const { log, url } = await setUp();
    const client = new RpcClient(
      new JsonRpcProtocol(),
      new HttpClientTransport(url, { maxMessageSize: 10_000 }),
    );
    cleanups.push(() => client.close());
    const items: string[] = [];
    const outcome = await settle(
      (async () => {
        for await (const item of client.stream<string>('sized', [20_000, 3])) items.push(item);
      })(),
    );
    expect(items).toEqual([]);
    expect(outcome).toMatchObject({
      ok: false,
      error: { message: expect.stringMatching(/over the limit of 10000 bytes \(maxMessageSize\)/) },
    });
    expect(TransportError.is((outcome as { error: unknown }).error)).toBe(true);
    await waitUntil(() => log.ended.length === 1, bound + 1000);
  });

  test("a stream's request over the server's maxMessageSize fails the loop with the 413's error", async () => {
    const { log, client } = await setUp({ maxMessageSize: 1000 });
    const outcome = await settle(collect(client.stream('count', [3, 'x'.repeat(2000)])));
    expect(outcome).toMatchObject({
      ok: false,
      error: { code: -32600, message: expect.stringMatching(/maxMessageSize/) },
    });
    expect(RemoteError.is((outcome as { error: unknown }).error)).toBe(true);
    expect(log.produced).toBe(0);
    expect(await collect(client.stream<number>('count', [2]))).toEqual([1, 2]);
  });

  test("a stream outlives idleTimeout, which measures only a request's body", async () => {
    const { client } = await setUp({ idleTimeout: 100 });
    let started = Date.now();
    // Items every 40 ms for more than four idleTimeouts.
    const ticks: number[] = [];
    for await (const tick of client.stream<number>('ticks', [40]))
      if (ticks.push(tick) === 12) break;
    expect(ticks).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    expect(Date.now() - started).toBeGreaterThanOrEqual(11 * 40 - 20);
    // Quiet for four idleTimeouts between two items.
    started = Date.now();
    expect(await collect(client.stream<number>('quiet', [400]))).toEqual([1, 2, 3, 4, 5, 6]);
    expect(Date.now() - started).toBeGreaterThanOrEqual(400 - 20);
  });

  test('close() cuts a stream under way: the loop throws a TransportError and close resolves', async () => {
    const { log, client, server } = await setUp();
    const items: number[] = [];
    let closing: Promise<void> | undefined;
    const outcome = await settle(
      (async () => {
        for await (const tick of client.stream<number>('ticks', [5])) {
          items.push(tick);
          if (tick === 3) closing = server.close();
        }
      })(),
    );
    expect(outcome.ok).toBe(false);
    expect(TransportError.is((outcome as { error: unknown }).error)).toBe(true);
    await closing;
    expect(log.ended).toHaveLength(1);
  });
});

// A consumer far slower than its producer: the credit window stops the client reading, TCP fills
// and holds the server's writes, and the producer waits. What it gets ahead by is what the loopback
// connection buffers, not the length of the stream.
describe.each(['own port', 'fetch handler on node:http'])('slow consumer, %s', (name) => {
  test('the producer stays within what the TCP buffers hold', async () => {
    const log: Log = { produced: 0, ended: [] };
    const { url } = await (setups[name] as (typeof setups)[string])(log, {});
    const client = new RpcClient(new JsonRpcProtocol(), new HttpClientTransport(url));
    cleanups.push(() => client.close());
    const size = 16 * 1024;
    // Unthrottled, the producer makes an item in about 0.1 ms; the loop takes one per 10 ms.
    let taken = 0;
    let ahead = 0;
    for await (const item of client.stream<string>('sized', [size, 100_000])) {
      expect(item).toHaveLength(size);
      taken += 1;
      ahead = Math.max(ahead, log.produced - taken);
      if (taken === 100) break;
      await sleep(10);
    }
    // Measured on this machine's loopback: 330 to 410 items (5 to 6.5 MiB) ahead, once 594 (9.3
    // MiB): what the kernel's socket buffers hold, which Linux grows by itself. Unheld, the
    // producer would have made about 10,000 (160 MiB) in the second the loop took.
    console.log(`${name}: the producer got ${String(ahead)} items of 16 KiB ahead`);
    expect(ahead * size).toBeLessThan(16 * 2 ** 20);
    await waitUntil(() => log.ended.length === 1, bound + 1000);
  });
});
