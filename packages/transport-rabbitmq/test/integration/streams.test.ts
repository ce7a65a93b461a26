// Streamed replies against the real broker: items on the caller's reply queue in order, credit back
// to the server that runs the stream, break, errors, a slow consumer, lost servers.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  InvalidReplyError,
  RemoteError,
  RpcClient,
  RpcDispatcher,
  RpcServer,
  TransportError,
  streamHeader,
  type CallContext,
  type RpcProtocol,
} from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import {
  RabbitMqClientTransport,
  RabbitMqServerTransport,
  type RabbitMqClientTransportOptions,
  type RabbitMqServerTransportOptions,
  type RabbitMqTransportContext,
} from '@tinyrpc/transport-rabbitmq';
import { connect } from 'amqplib';
import {
  breakConnection,
  brokerAvailable,
  deleteQueues,
  sleep,
  uniqueQueue,
  url,
  waitUntil,
} from './broker.ts';

const available = await brokerAvailable();

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});
afterAll(deleteQueues);

/** What the server's methods saw: items produced, generators whose `finally` ran, who ran them. */
interface Log {
  produced: number;
  finallyRan: number;
  replyQueues: string[];
  ranOn: string[];
}

function methods(log: Log, name = 'server'): RpcDispatcher {
  return new RpcDispatcher()
    .add(
      'count',
      async function* (context: CallContext, to: number) {
        log.ranOn.push(name);
        log.replyQueues.push((context.transport as RabbitMqTransportContext).replyTo ?? '');
        try {
          for (let i = 1; i <= to; i++) {
            log.produced = i;
            // A turn of the event loop per item: the producer is as fast as it can be.
            await new Promise((resolve) => setImmediate(resolve));
            yield i;
          }
        } finally {
          log.finallyRan += 1;
        }
      },
      { context: true },
    )
    .add('failAfter', async function* (n: number) {
      for (let i = 1; i <= n; i++) {
        await Promise.resolve();
        yield i;
      }
      throw new RemoteError('ran dry', { code: 4242, data: { at: n } });
    })
    .add(
      // Yields `n` items, then waits until its call ends.
      'hang',
      async function* (context: CallContext, n: number) {
        log.ranOn.push(name);
        try {
          for (let i = 1; i <= n; i++) yield i;
          await new Promise((resolve) => {
            context.signal.addEventListener('abort', resolve);
          });
        } finally {
          log.finallyRan += 1;
        }
      },
      { context: true },
    )
    .add('plain', () => 42);
}

function newLog(): Log {
  return { produced: 0, finallyRan: 0, replyQueues: [], ranOn: [] };
}

async function startServer(
  options: Partial<RabbitMqServerTransportOptions> & { queue: string },
  log: Log,
  name?: string,
  protocol: RpcProtocol = new JsonRpcProtocol(),
): Promise<RabbitMqServerTransport> {
  const transport = new RabbitMqServerTransport({ url, ...options });
  const server = new RpcServer(transport, protocol, methods(log, name));
  await server.serve();
  cleanups.push(() => server.close());
  return transport;
}

function startClient(
  options: Partial<RabbitMqClientTransportOptions> & { routingKey: string },
  protocol: RpcProtocol = new JsonRpcProtocol(),
): { client: RpcClient; transport: RabbitMqClientTransport } {
  const transport = new RabbitMqClientTransport({ url, ...options });
  const client = new RpcClient(protocol, transport);
  cleanups.push(() => client.close());
  return { client, transport };
}

/** Runs the loop to its end; resolves with the items and what it threw, if anything. */
async function drain<T>(
  items: AsyncIterable<T>,
  each?: (item: T) => Promise<void> | void,
): Promise<{ items: T[]; error: unknown }> {
  const seen: T[] = [];
  try {
    for await (const item of items) {
      seen.push(item);
      await each?.(item);
    }
    return { items: seen, error: undefined };
  } catch (error) {
    return { items: seen, error };
  }
}

const upTo = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);

describe.skipIf(!available)('RabbitMQ streamed replies', () => {
  for (const replyTo of ['direct', 'exclusive'] as const) {
    it(`iterates every item in order, then answers calls as before (${replyTo} reply-to)`, async () => {
      const queue = uniqueQueue(`stream-order-${replyTo}`);
      const log = newLog();
      await startServer({ queue }, log);
      const { client, transport } = startClient({ routingKey: queue, replyTo });
      expect(transport.streams).toBe(true);

      const { items, error } = await drain(
        client.stream<number>('count', [500], { highWaterMark: 8 }),
      );
      expect(error).toBeUndefined();
      expect(items).toEqual(upTo(500));
      expect(log.finallyRan).toBe(1);
      expect(await client.call('plain')).toBe(42);
      expect(transport.pendingCount).toBe(0);
    });

    it(`break ends the server generator within a round trip (${replyTo} reply-to)`, async () => {
      const queue = uniqueQueue(`stream-break-${replyTo}`);
      const log = newLog();
      await startServer({ queue }, log);
      const { client, transport } = startClient({ routingKey: queue, replyTo });

      for await (const item of client.stream<number>('count', [1_000_000], { highWaterMark: 4 }))
        if (item === 5) break;
      const brokeAt = Date.now();
      await waitUntil(() => log.finallyRan === 1, 2000);
      const endedAfter = Date.now() - brokeAt;
      console.log(`break to the generator's finally (${replyTo}): ${String(endedAfter)} ms`);
      // The sweep sends the cancel within 10 ms; the server ends the generator when it arrives.
      expect(endedAfter).toBeLessThan(1000);
      // Held to the window: at most 4 items beyond the 5 taken.
      expect(log.produced).toBeLessThanOrEqual(5 + 4);
      expect(transport.pendingCount).toBe(0);
      expect(await client.call('plain')).toBe(42);
    });
  }

  it('streams from a server that confirms its replies', async () => {
    const queue = uniqueQueue('stream-confirm');
    const log = newLog();
    await startServer({ queue, confirmReplies: true }, log);
    const { client } = startClient({ routingKey: queue });

    const { items, error } = await drain(
      client.stream<number>('count', [50], { highWaterMark: 4 }),
    );
    expect(error).toBeUndefined();
    expect(items).toEqual(upTo(50));
    expect(await client.call('plain')).toBe(42);
  });

  it('an error mid-stream reaches the loop with its code, message and data after the items', async () => {
    const queue = uniqueQueue('stream-error');
    await startServer({ queue }, newLog());
    const { client } = startClient({ routingKey: queue });

    const { items, error } = await drain(client.stream<number>('failAfter', [3]));
    expect(items).toEqual([1, 2, 3]);
    expect(RemoteError.is(error)).toBe(true);
    expect(error).toMatchObject({ code: 4242, message: 'ran dry', data: { at: 3 } });
    expect(await client.call('plain')).toBe(42);
  });

  it('a consumer 100× slower than the producer holds the producer to the window, and the reply queue stays short', async () => {
    const queue = uniqueQueue('stream-slow');
    const log = newLog();
    await startServer({ queue }, log);
    // An exclusive reply queue, so that its depth can be read from the broker.
    const { client, transport } = startClient({ routingKey: queue, replyTo: 'exclusive' });
    const highWaterMark = 16;
    const items = 300;

    // The producer takes a turn of the event loop per item (a few µs); the loop 5 ms.
    let ahead = 0;
    let deepest = 0;
    let looked = 0;
    const { items: seen, error } = await drain(
      client.stream<number>('count', [items], { highWaterMark }),
      async (item) => {
        ahead = Math.max(ahead, log.produced - item);
        if (item % 10 === 0) {
          const channel = await (
            transport.connection as NonNullable<typeof transport.connection>
          ).createChannel();
          const { messageCount } = await channel.checkQueue(log.replyQueues[0] as string);
          await channel.close();
          deepest = Math.max(deepest, messageCount);
          looked += 1;
        }
        await sleep(5);
      },
    );
    console.log(
      `slow consumer, ${String(items)} items, highWaterMark ${String(highWaterMark)}: ` +
        `produced at most ${String(ahead)} ahead of the loop; reply queue depth at most ` +
        `${String(deepest)} over ${String(looked)} looks`,
    );
    expect(error).toBeUndefined();
    expect(seen).toEqual(upTo(items));
    // The producer starts an item only with credit for it, and the loop grants only what it took.
    expect(ahead).toBeLessThanOrEqual(highWaterMark);
    // It did run ahead: the window, not the loop's pace alone, held it.
    expect(ahead).toBeGreaterThanOrEqual(highWaterMark / 2);
    // The client consumes without acks, so the broker hands items on at once: what it holds is
    // never more than the window.
    expect(deepest).toBeLessThanOrEqual(highWaterMark);
  }, 30_000);

  it("a stream outlives the client's defaultTimeout, and its request carries no expiration", async () => {
    const queue = uniqueQueue('stream-long');
    const log = newLog();
    await startServer({ queue }, log);
    const { client } = startClient({ routingKey: queue, defaultTimeout: 200 });

    const { items, error } = await drain(
      client.stream<number>('count', [40], { highWaterMark: 4 }),
      () => sleep(15),
    );
    expect(error).toBeUndefined();
    expect(items).toEqual(upTo(40));

    // What the request looks like, read by a plain consumer of another queue.
    const spyQueue = uniqueQueue('stream-spy');
    const spy = await connect(url);
    cleanups.push(() => spy.close());
    const channel = await spy.createChannel();
    await channel.assertQueue(spyQueue, { durable: false });
    const seen: { expiration: unknown; headers: unknown }[] = [];
    await channel.consume(
      spyQueue,
      (delivery) => {
        if (delivery === null) return;
        seen.push({
          expiration: delivery.properties.expiration,
          headers: delivery.properties.headers,
        });
      },
      { noAck: true },
    );
    const { client: spied } = startClient({ routingKey: spyQueue, defaultTimeout: 200 });
    void drain(spied.stream('count', [1], { highWaterMark: 7 }));
    void spied.call('plain').catch(() => undefined);
    await waitUntil(() => seen.length === 2, 5000);
    expect(seen[0]?.expiration).toBeUndefined();
    expect(seen[0]?.headers).toMatchObject({ [streamHeader]: '7' });
    // A call's expiration is the time its caller still waits: the client's defaultTimeout.
    expect(Number(seen[1]?.expiration)).toBeGreaterThan(100);
    expect(Number(seen[1]?.expiration)).toBeLessThanOrEqual(200);
    expect(seen[1]?.headers ?? {}).not.toHaveProperty(streamHeader);
  });

  it('credit goes to the competing server that runs the stream, and to no other', async () => {
    const queue = uniqueQueue('stream-competing');
    const log = newLog();
    await startServer({ queue }, log, 'a');
    await startServer({ queue }, log, 'b');
    // Everything published to the cancel exchange, which every server hears.
    const spy = await connect(url);
    cleanups.push(() => spy.close());
    const channel = await spy.createChannel();
    const { queue: spyQueue } = await channel.assertQueue('', { exclusive: true });
    await channel.bindQueue(spyQueue, `${queue}.cancel`, '');
    let fannedOut = 0;
    await channel.consume(spyQueue, () => (fannedOut += 1), { noAck: true });
    const { client } = startClient({ routingKey: queue });

    // 200 items with a window of 4: 100 credit messages per stream, each needed to go on.
    const streams = await Promise.all(
      Array.from({ length: 6 }, () =>
        drain(client.stream<number>('count', [200], { highWaterMark: 4 })),
      ),
    );
    for (const { items, error } of streams) {
      expect(error).toBeUndefined();
      expect(items).toEqual(upTo(200));
    }
    expect(log.ranOn.filter((n) => n === 'a').length).toBeGreaterThan(0);
    expect(log.ranOn.filter((n) => n === 'b').length).toBeGreaterThan(0);
    // Credit went straight to each stream's server; nothing went to every server.
    await sleep(100);
    expect(fannedOut).toBe(0);
  });

  it("the server's connection lost mid-stream throws a TransportError in the loop (credit comes back)", async () => {
    const queue = uniqueQueue('stream-lost');
    const log = newLog();
    const server = await startServer({ queue, reconnect: false, onError: () => undefined }, log);
    const { client } = startClient({ routingKey: queue });

    const started = Date.now();
    const { items, error } = await drain(
      client.stream<number>('count', [1_000_000], { highWaterMark: 4 }),
      (item) => {
        if (item === 10) breakConnection(server.connection);
      },
    );
    // The next credit, sent to the lost server's control queue (gone with its connection), came
    // back from the broker.
    expect(TransportError.is(error)).toBe(true);
    expect(String(error)).toMatch(/lost mid-stream/);
    expect(items.length).toBeGreaterThanOrEqual(10);
    expect(items.length).toBeLessThanOrEqual(10 + 4);
    expect(items).toEqual(upTo(items.length));
    expect(Date.now() - started).toBeLessThan(5000);
    await waitUntil(() => log.finallyRan === 1, 2000);
  });

  it("a quiet stream's lost server is found by the client's probe", async () => {
    const queue = uniqueQueue('stream-probe');
    const log = newLog();
    const server = await startServer({ queue, reconnect: false, onError: () => undefined }, log);
    const { client } = startClient({ routingKey: queue });

    // Three items, fewer than the half window after which the loop grants credit, then nothing:
    // no item and no credit is on its way, and no server gets the request again.
    let lostAt = 0;
    const { items, error } = await drain(
      client.stream<number>('hang', [3], { highWaterMark: 8 }),
      (item) => {
        if (item !== 3) return;
        breakConnection(server.connection);
        lostAt = Date.now();
      },
    );
    const noticedAfter = Date.now() - lostAt;
    console.log(`a quiet stream's lost server noticed after ${String(noticedAfter)} ms`);
    expect(items).toEqual([1, 2, 3]);
    expect(TransportError.is(error)).toBe(true);
    expect(String(error)).toMatch(/lost mid-stream/);
    // A probe after a second of quiet; the next one if the first reached the queue before the
    // broker deleted it.
    expect(noticedAfter).toBeLessThan(3500);
    await waitUntil(() => log.finallyRan === 1, 2000);
  });

  it("the caller's connection lost: the loop throws at once, and the server's generator ends once the caller is silent", async () => {
    const queue = uniqueQueue('stream-caller-lost');
    const log = newLog();
    await startServer({ queue }, log);
    const { client, transport } = startClient({ routingKey: queue });

    let lostAt = 0;
    const { items, error } = await drain(
      client.stream<number>('count', [1_000_000], { highWaterMark: 4 }),
      (item) => {
        if (item !== 1) return;
        breakConnection(transport.connection);
        lostAt = Date.now();
      },
    );
    expect(items[0]).toBe(1);
    expect(TransportError.is(error)).toBe(true);
    expect(Date.now() - lostAt).toBeLessThan(1000);
    // Direct reply-to tells the server nothing; it waits for credit, and with no credit and no
    // probe for 5 s, it takes the caller for gone.
    await waitUntil(() => log.finallyRan === 1, 10_000);
    const endedAfter = Date.now() - lostAt;
    console.log(`caller lost: the server's generator ended after ${String(endedAfter)} ms`);
    expect(endedAfter).toBeGreaterThanOrEqual(4500);
    expect(log.produced).toBeLessThanOrEqual(1 + 4);
  }, 20_000);

  it('a slow loop keeps its stream alive past the silence a lost caller is taken for', async () => {
    const queue = uniqueQueue('stream-slow-alive');
    const log = newLog();
    await startServer({ queue }, log);
    const { client } = startClient({ routingKey: queue });

    // One item every 7 s is taken; the server waits for credit all that time, hearing probes.
    const { items, error } = await drain(
      client.stream<number>('count', [3], { highWaterMark: 1 }),
      async (item) => {
        if (item === 1) await sleep(7000);
      },
    );
    expect(error).toBeUndefined();
    expect(items).toEqual([1, 2, 3]);
  }, 20_000);

  it('a stream whose server was lost is not started again where the broker redelivers it', async () => {
    const queue = uniqueQueue('stream-redelivered');
    const log = newLog();
    const server = await startServer(
      { queue, reconnect: { initialDelay: 10, maxDelay: 50 }, onError: () => undefined },
      log,
    );
    const { client } = startClient({ routingKey: queue });

    // Three items, fewer than the half window after which the loop grants credit: no credit
    // message is on its way when the connection goes, so only the redelivery can tell.
    const { items, error } = await drain(
      client.stream<number>('hang', [3], { highWaterMark: 8 }),
      async (item) => {
        if (item === 3) {
          await sleep(50);
          breakConnection(server.connection);
        }
      },
    );
    expect(items).toEqual([1, 2, 3]);
    expect(TransportError.is(error)).toBe(true);
    expect(String(error)).toMatch(/lost mid-stream/);
    await waitUntil(() => log.finallyRan === 1, 2000);
    // The redelivered request was not run again.
    expect(log.ranOn).toEqual(['server']);
    expect(await client.call('plain')).toBe(42);
  });

  it('closing the server ends its streams, and the loop hears why', async () => {
    const queue = uniqueQueue('stream-close');
    const log = newLog();
    const transport = new RabbitMqServerTransport({ url, queue });
    const server = new RpcServer(transport, new JsonRpcProtocol(), methods(log));
    await server.serve();
    cleanups.push(() => server.close());
    const { client } = startClient({ routingKey: queue });

    const { items, error } = await drain(
      client.stream<number>('count', [1_000_000], { highWaterMark: 4 }),
      async (item) => {
        if (item === 3) await server.close();
        await sleep(5);
      },
    );
    expect(TransportError.is(error)).toBe(true);
    expect(String(error)).toMatch(/closed mid-stream/);
    expect(items).toEqual(upTo(items.length));
    expect(log.finallyRan).toBe(1);
  });

  it('a method that does not stream says so, and so does call() of one that does', async () => {
    const queue = uniqueQueue('stream-not');
    await startServer({ queue }, newLog());
    const { client } = startClient({ routingKey: queue });

    const { error } = await drain(client.stream('plain'));
    expect(error).toBeInstanceOf(InvalidReplyError);
    expect(String(error)).toMatch(/not a stream/);
    await expect(client.call('count', [3])).rejects.toThrow(/call it with stream\(\)/);
  });

  it('a client without the cancel exchange refuses stream() with a clear error', async () => {
    const queue = uniqueQueue('stream-no-cancels');
    await startServer({ queue }, newLog());
    const { client, transport } = startClient({ routingKey: queue, cancelExchange: false });
    expect(transport.streams).toBe(false);
    const { error } = await drain(client.stream('count', [3]));
    expect(String(error)).toMatch(/carries no streamed replies/);
  });

  it('a server without the cancel exchange answers a stream request with an error', async () => {
    const queue = uniqueQueue('stream-server-no-cancels');
    const log = newLog();
    await startServer({ queue, cancelExchange: false }, log);
    const { client } = startClient({ routingKey: queue });
    const { items, error } = await drain(client.stream('count', [3]));
    expect(items).toEqual([]);
    expect(RemoteError.is(error)).toBe(true);
    expect(error).toMatchObject({ code: -32600 });
    expect(String(error)).toMatch(/call it with stream\(\)/);
    expect(await client.call('plain')).toBe(42);
  });
});
