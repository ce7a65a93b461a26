import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  isClientTransport,
  isServerTransport,
  RemoteError,
  RpcClient,
  RpcDispatcher,
  RpcError,
  RpcServer,
  RpcTimeoutError,
  TransportError,
  type CallContext,
} from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { freePort } from '@tinyrpc/test-helpers';
import {
  RabbitMqClientTransport,
  RabbitMqServerTransport,
  type RabbitMqClientTransportOptions,
  type RabbitMqServerTransportOptions,
  type RabbitMqTransportContext,
} from '@tinyrpc/transport-rabbitmq';
import { connect, type ChannelModel } from 'amqplib';
import {
  breakConnection,
  brokerAvailable,
  deleteQueues,
  dropSocketSilently,
  sleep,
  uniqueQueue,
  url,
  waitUntil,
} from './broker.ts';

const available = await brokerAvailable();

// Everything a test opens is closed after it, whatever happened.
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});
afterAll(deleteQueues);

function dispatcher(): RpcDispatcher {
  const d = new RpcDispatcher();
  d.add('add', (a: number, b: number) => a + b, { params: ['a', 'b'] });
  d.add('sleep', async (ms: number, value: unknown) => {
    await sleep(ms);
    return value;
  });
  d.add('fail', () => {
    throw new RpcError('Out of stock', { code: 4001, data: { sku: 'x1' } });
  });
  d.add('text', (length: number) => 'z'.repeat(length));
  d.add('context', (context: CallContext) => context.transport, { context: true });
  return d;
}

async function startServer(
  options: Partial<RabbitMqServerTransportOptions> & { queue: string },
  methods = dispatcher(),
): Promise<{ server: RpcServer; transport: RabbitMqServerTransport }> {
  const transport = new RabbitMqServerTransport({ url, ...options });
  const server = new RpcServer(transport, new JsonRpcProtocol(), methods);
  await server.serve();
  cleanups.push(() => server.close());
  return { server, transport };
}

function startClient(options: Partial<RabbitMqClientTransportOptions> & { routingKey: string }): {
  client: RpcClient;
  transport: RabbitMqClientTransport;
} {
  const transport = new RabbitMqClientTransport({ url, ...options });
  const client = new RpcClient(new JsonRpcProtocol(), transport);
  cleanups.push(() => client.close());
  return { client, transport };
}

async function ownConnection(): Promise<ChannelModel> {
  const connection = await connect(url);
  connection.on('error', () => undefined);
  cleanups.push(() => connection.close());
  return connection;
}

describe('options', () => {
  it('needs exactly one of url and connection, and sane numbers', () => {
    expect(() => new RabbitMqServerTransport({ queue: 'q' })).toThrow(TypeError);
    expect(() => new RabbitMqClientTransport({ routingKey: 'q' })).toThrow(TypeError);
    expect(() => new RabbitMqServerTransport({ url, queue: '' })).toThrow(/queue/);
    expect(() => new RabbitMqServerTransport({ url, queue: 'q', maxInFlight: 0 })).toThrow(
      /maxInFlight/,
    );
    expect(
      () => new RabbitMqServerTransport({ url, queue: 'q', reconnect: { initialDelay: -1 } }),
    ).toThrow(RangeError);
    for (const defaultTimeout of [-1, 0, Number.NaN, 2 ** 31]) {
      expect(() => new RabbitMqClientTransport({ url, routingKey: 'q', defaultTimeout })).toThrow(
        /defaultTimeout/,
      );
    }
    // The one clock is RpcClient's: the transport only suggests its default.
    expect(new RabbitMqClientTransport({ url, routingKey: 'q' }).defaultTimeout).toBe(30_000);
    expect(
      new RabbitMqClientTransport({ url, routingKey: 'q', defaultTimeout: Infinity })
        .defaultTimeout,
    ).toBeUndefined();
    expect(
      () => new RabbitMqClientTransport({ url, routingKey: 'q', replyTo: 'bogus' as 'direct' }),
    ).toThrow(/replyTo/);
    expect(isServerTransport(new RabbitMqServerTransport({ url, queue: 'q' }))).toBe(true);
    expect(isClientTransport(new RabbitMqClientTransport({ url, routingKey: 'q' }))).toBe(true);
  });

  it('fails clearly, without the password, when the broker cannot be reached', async () => {
    const port = await freePort();
    const dead = `amqp://guest:secret@127.0.0.1:${String(port)}`;
    const server = new RabbitMqServerTransport({ url: dead, queue: 'q' });
    const error = await server.listen(() => Promise.resolve(undefined)).catch((e: unknown) => e);
    expect(TransportError.is(error)).toBe(true);
    expect((error as Error).message).toMatch(/Cannot connect to RabbitMQ/);
    expect((error as Error).message).not.toMatch(/secret/);
    const client = new RabbitMqClientTransport({ url: dead, routingKey: 'q' });
    await expect(client.send('{}')).rejects.toThrow(TransportError);
    await client.close();
    await server.close();
  });
});

describe.skipIf(!available)('RabbitMQ transport', () => {
  it('answers calls, errors with their code, and notifications', async () => {
    const queue = uniqueQueue('basic');
    const seen: string[] = [];
    const methods = dispatcher().add('remember', (value: string) => {
      seen.push(value);
    });
    await startServer({ queue }, methods);
    const { client } = startClient({ routingKey: queue });
    expect(await client.call('add', [1, 2])).toBe(3);
    expect(await client.call('add', { a: 2, b: 5 })).toBe(7);
    const error = await client.call('fail').catch((e: unknown) => e);
    expect(RemoteError.is(error)).toBe(true);
    expect(error).toMatchObject({ code: 4001, message: 'Out of stock', data: { sku: 'x1' } });
    await expect(client.call('missing')).rejects.toMatchObject({ code: -32601 });
    await client.notify('remember', ['note']);
    await waitUntil(() => seen.length === 1);
    expect(seen).toEqual(['note']);
  });

  it.each([false, true])('carries many calls in flight (confirmReplies: %s)', async (confirm) => {
    const queue = uniqueQueue('many');
    await startServer({ queue, confirmReplies: confirm });
    const { client, transport } = startClient({ routingKey: queue });
    const calls = Array.from({ length: 300 }, (_, i) => client.call('sleep', [(i * 7) % 20, i]));
    expect(await Promise.all(calls)).toEqual(Array.from({ length: 300 }, (_, i) => i));
    expect(transport.pendingCount).toBe(0);
  });

  it('sends bytes and strings alike and gives the server the AMQP context', async () => {
    const queue = uniqueQueue('context');
    await startServer({ queue });
    const { transport } = startClient({ routingKey: queue });
    const request = new TextEncoder().encode(
      JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'context' }),
    );
    const reply = await transport.send(request);
    expect(reply).toBeInstanceOf(Uint8Array);
    const { result } = JSON.parse(Buffer.from(reply as Uint8Array).toString('utf8'));
    expect(result).toMatchObject({
      transport: 'rabbitmq',
      replyTo: expect.stringMatching(/^amq\.rabbitmq\.reply-to\./),
      correlationId: expect.any(String),
      redelivered: false,
    });
  });

  it('uses an exclusive callback queue when asked', async () => {
    const queue = uniqueQueue('exclusive');
    await startServer({ queue });
    const { client } = startClient({ routingKey: queue, replyTo: 'exclusive' });
    const results = await Promise.all(
      Array.from({ length: 50 }, (_, i) => client.call('add', [i, 1])),
    );
    expect(results).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    const context = await client.call<RabbitMqTransportContext>('context');
    expect(context.replyTo).toMatch(/^amq\.gen-/);
  });

  it('reaches a queue bound to an exchange', async () => {
    const queue = uniqueQueue('bound');
    const exchange = `${queue}-exchange`;
    const admin = await ownConnection();
    const channel = await admin.createChannel();
    await channel.assertExchange(exchange, 'direct', { autoDelete: true });
    await startServer({ queue, exchange, bindingKey: 'math' });
    const { client } = startClient({ routingKey: 'math', exchange });
    expect(await client.call('add', [20, 22])).toBe(42);
    await expect(
      startClient({ routingKey: 'other', exchange }).client.call('add', [1, 1]),
    ).rejects.toThrow(/No route.*routing key "other" on exchange/);
    await channel.deleteExchange(exchange);
  });

  it('fails at once with "no route" when no queue takes the call', async () => {
    const { client, transport } = startClient({ routingKey: uniqueQueue('nobody') });
    const started = Date.now();
    const error = await client.call('add', [1, 2]).catch((e: unknown) => e);
    expect(TransportError.is(error)).toBe(true);
    expect((error as Error).message).toMatch(/No route: no queue takes routing key/);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(transport.pendingCount).toBe(0);
  });

  it('times out a call nobody answers, and the request expires in the queue', async () => {
    const queue = uniqueQueue('timeout');
    const admin = await ownConnection();
    const channel = await admin.createChannel();
    await channel.assertQueue(queue, { durable: false });
    const { client, transport } = startClient({ routingKey: queue, defaultTimeout: 200 });
    await expect(client.call('add', [1, 2])).rejects.toThrow(RpcTimeoutError);
    expect(transport.pendingCount).toBe(0);
    await sleep(100);
    // An expired message at the head of a queue is dropped, so a late server does not answer it.
    const { messageCount } = await channel.checkQueue(queue);
    expect(messageCount).toBe(0);
  });

  it('stops waiting when the signal aborts', async () => {
    const queue = uniqueQueue('abort');
    await startServer({ queue });
    const { client, transport } = startClient({ routingKey: queue });
    const controller = new AbortController();
    const call = client.call('sleep', [300, 'late'], { signal: controller.signal });
    await sleep(50);
    controller.abort(new Error('changed my mind'));
    await expect(call).rejects.toThrow('changed my mind');
    expect(transport.pendingCount).toBe(0);
    // The late reply is dropped; the next call is answered normally.
    await sleep(300);
    expect(await client.call('add', [2, 2])).toBe(4);
  });

  it('lets go of a call whose signal aborted, also for a direct caller of send()', async () => {
    const queue = uniqueQueue('abort-direct');
    await startServer({ queue });
    const transport = new RabbitMqClientTransport({ url, routingKey: queue });
    cleanups.push(() => transport.close());
    const controller = new AbortController();
    const request = '{"jsonrpc":"2.0","method":"sleep","params":[500,"late"],"id":1}';
    const sent = transport.send(request, { signal: controller.signal });
    await sleep(50);
    const aborted = performance.now();
    controller.abort(new Error('gave up'));
    await expect(sent).rejects.toThrow('gave up');
    // Within one sweep (100 ms), not at the reply 450 ms later.
    expect(performance.now() - aborted).toBeLessThan(400);
    expect(transport.pendingCount).toBe(0);
  });

  it('spreads calls over competing servers on one queue', async () => {
    const queue = uniqueQueue('compete');
    const counts = [0, 0, 0];
    for (const index of [0, 1, 2]) {
      const methods = new RpcDispatcher().add('work', async (ms: number) => {
        counts[index] = (counts[index] ?? 0) + 1;
        await sleep(ms);
        return index;
      });
      await startServer({ queue, maxInFlight: 4 }, methods);
    }
    const { client } = startClient({ routingKey: queue });
    await Promise.all(Array.from({ length: 120 }, () => client.call('work', [5])));
    expect(counts.reduce((a, b) => a + b)).toBe(120);
    for (const count of counts) expect(count).toBeGreaterThan(10);
  });

  it('holds no more calls than its prefetch', async () => {
    const queue = uniqueQueue('prefetch');
    let running = 0;
    let most = 0;
    const methods = new RpcDispatcher().add('work', async () => {
      running++;
      most = Math.max(most, running);
      await sleep(20);
      running--;
      return true;
    });
    await startServer({ queue, maxInFlight: 3 }, methods);
    const { client } = startClient({ routingKey: queue });
    await Promise.all(Array.from({ length: 30 }, () => client.call('work')));
    expect(most).toBe(3);
  });

  it('lets fast calls past a slow one: acknowledgements are not held behind it', async () => {
    const queue = uniqueQueue('slow-head');
    await startServer({ queue, maxInFlight: 4 });
    const { client } = startClient({ routingKey: queue });
    let slowDone = false;
    const slow = client.call('sleep', [1500, 'slow']).then((value) => {
      slowDone = true;
      return value;
    });
    await sleep(50);
    // 40 calls through the 3 other slots: each finished call must free its slot at once, so all of
    // them are answered while the slow call still runs.
    const fast = await Promise.all(
      Array.from({ length: 40 }, (_, i) => client.call('sleep', [5, i])),
    );
    expect(slowDone).toBe(false);
    expect(fast).toEqual(Array.from({ length: 40 }, (_, i) => i));
    expect(await slow).toBe('slow');
  });

  it('answers unreadable requests with a parse error and survives odd messages', async () => {
    const queue = uniqueQueue('garbage');
    await startServer({ queue });
    const admin = await ownConnection();
    const channel = await admin.createChannel();
    const replies: { body: string; correlationId: unknown }[] = [];
    await channel.consume(
      'amq.rabbitmq.reply-to',
      (message) => {
        if (message !== null) {
          replies.push({
            body: message.content.toString(),
            correlationId: message.properties.correlationId,
          });
        }
      },
      { noAck: true },
    );
    const replyTo = 'amq.rabbitmq.reply-to';
    channel.sendToQueue(queue, Buffer.from('{not json'), { replyTo, correlationId: 'g1' });
    channel.sendToQueue(queue, Buffer.from([0xff, 0xfe, 0x00]), { replyTo, correlationId: 'g2' });
    // No reply_to: nothing to answer to; acknowledged all the same.
    channel.sendToQueue(
      queue,
      Buffer.from('{"jsonrpc":"2.0","id":1,"method":"add","params":[1,2]}'),
    );
    channel.sendToQueue(queue, Buffer.alloc(0), { replyTo, correlationId: 'g3' });
    await waitUntil(() => replies.length === 3);
    for (const reply of replies) expect(JSON.parse(reply.body).error.code).toBe(-32700);
    expect(replies.map((r) => r.correlationId).sort()).toEqual(['g1', 'g2', 'g3']);
    await sleep(50);
    const { messageCount } = await channel.checkQueue(queue);
    expect(messageCount).toBe(0);
    const { client } = startClient({ routingKey: queue });
    expect(await client.call('add', [1, 1])).toBe(2);
  });

  it('refuses over-size messages on either side with an error a client can read', async () => {
    const queue = uniqueQueue('size');
    await startServer({ queue, maxMessageSize: 1024 });
    const { client } = startClient({ routingKey: queue });
    expect(await client.call('sleep', [0, 'x'.repeat(900)])).toHaveLength(900);
    // The server answers with the protocol's error response (id null), not an empty body.
    const tooLarge = await client.call('sleep', [0, 'x'.repeat(2000)]).catch((e: unknown) => e);
    expect(RemoteError.is(tooLarge)).toBe(true);
    expect(tooLarge).toMatchObject({
      code: -32600,
      message: expect.stringMatching(
        /A message of \d+ bytes is over the limit of 1024 bytes \(maxMessageSize\)/,
      ) as unknown,
    });
    const small = startClient({ routingKey: queue, maxMessageSize: 100 }).client;
    await expect(small.call('sleep', [0, 'x'.repeat(200)])).rejects.toSatisfy(
      (e) =>
        TransportError.is(e) && /over the limit of 100 bytes \(maxMessageSize\)/.test(e.message),
    );
    // The reply is over the client's limit, not the request.
    await expect(small.call('text', [500])).rejects.toSatisfy(
      (e) => TransportError.is(e) && /of \d+ bytes is over the limit of 100 bytes/.test(e.message),
    );
    // A reply over the server's own limit is answered with an internal error instead.
    await expect(client.call('text', [2000])).rejects.toMatchObject({
      code: -32603,
      message: expect.stringMatching(
        /The reply could not be sent: .*over the limit of 1024/,
      ) as unknown,
    });
    // The server goes on serving.
    expect(await client.call('add', [1, 2])).toBe(3);
  });

  it('answers a Python-style client (any AMQP peer) with a readable error for an over-size call', async () => {
    const queue = uniqueQueue('size-raw');
    await startServer({ queue, maxMessageSize: 1024 });
    const admin = await ownConnection();
    const channel = await admin.createChannel();
    const replies: { body: string; correlationId: unknown; headers: unknown }[] = [];
    await channel.consume(
      'amq.rabbitmq.reply-to',
      (message) => {
        if (message === null) return;
        replies.push({
          body: message.content.toString(),
          correlationId: message.properties.correlationId,
          headers: message.properties.headers,
        });
      },
      { noAck: true },
    );
    const big = JSON.stringify({
      jsonrpc: '2.0',
      id: 7,
      method: 'sleep',
      params: [0, 'y'.repeat(3000)],
    });
    channel.sendToQueue(queue, Buffer.from(big), {
      replyTo: 'amq.rabbitmq.reply-to',
      correlationId: 'big',
    });
    await waitUntil(() => replies.length === 1);
    expect(replies[0]?.correlationId).toBe('big');
    expect(JSON.parse(replies[0]?.body ?? '')).toMatchObject({
      jsonrpc: '2.0',
      id: null,
      error: { code: -32600 },
    });
    expect(replies[0]?.headers ?? {}).not.toHaveProperty('x-tinyrpc-error');
  });

  it('reports a failing handler and drops its call instead of looping', async () => {
    const queue = uniqueQueue('handler');
    const errors: unknown[] = [];
    const transport = new RabbitMqServerTransport({
      url,
      queue,
      onError: (error) => errors.push(error),
    });
    let calls = 0;
    await transport.listen(() => {
      calls++;
      return Promise.reject(new Error('broken handler'));
    });
    cleanups.push(() => transport.close());
    const { client } = startClient({ routingKey: queue, defaultTimeout: 300 });
    await expect(client.call('add', [1, 2])).rejects.toThrow(RpcTimeoutError);
    expect(calls).toBe(1);
    expect((errors[0] as Error | undefined)?.message).toMatch(/The handler failed: broken handler/);
  });

  it('finishes calls in flight on close, then stops consuming', async () => {
    const queue = uniqueQueue('close');
    const { server, transport } = await startServer({ queue });
    const { client } = startClient({ routingKey: queue, defaultTimeout: 1000 });
    const calls = [client.call('sleep', [150, 'a']), client.call('sleep', [200, 'b'])];
    await sleep(50);
    await server.close();
    expect(transport.consuming).toBe(false);
    expect(await Promise.all(calls)).toEqual(['a', 'b']);
    const admin = await ownConnection();
    const channel = await admin.createChannel();
    const { consumerCount, messageCount } = await channel.checkQueue(queue);
    expect(consumerCount).toBe(0);
    expect(messageCount).toBe(0);
    await expect(transport.listen(() => Promise.resolve(undefined))).rejects.toThrow(/closed/);
  });

  it('rejects pending calls at once when the connection is lost, then reconnects', async () => {
    const queue = uniqueQueue('client-loss');
    await startServer({ queue });
    const { client, transport } = startClient({ routingKey: queue });
    expect(await client.call('add', [1, 2])).toBe(3);
    const first = transport.connection;
    const calls = Array.from({ length: 5 }, () => client.call('sleep', [600, 'never']));
    await sleep(50);
    const started = Date.now();
    breakConnection(first);
    const outcomes = await Promise.allSettled(calls);
    expect(Date.now() - started).toBeLessThan(300);
    for (const outcome of outcomes) {
      expect(outcome.status).toBe('rejected');
      const { reason } = outcome as PromiseRejectedResult;
      expect(TransportError.is(reason)).toBe(true);
      expect((reason as Error).message).toMatch(/Lost the connection to RabbitMQ/);
    }
    expect(transport.pendingCount).toBe(0);
    expect(await client.call('add', [3, 4])).toBe(7);
    expect(transport.connection).not.toBe(first);
  });

  it('reconnects the server after a lost connection and answers the call it held', async () => {
    const queue = uniqueQueue('server-loss');
    const errors: unknown[] = [];
    const runs: boolean[] = [];
    const methods = new RpcDispatcher().add(
      'slow',
      async (context: CallContext) => {
        const { redelivered } = context.transport as RabbitMqTransportContext;
        runs.push(redelivered);
        await sleep(200);
        return redelivered ? 'redelivered' : 'first';
      },
      { context: true },
    );
    const { transport } = await startServer(
      { queue, reconnect: { initialDelay: 20, maxDelay: 200 }, onError: (e) => errors.push(e) },
      methods,
    );
    const { client } = startClient({ routingKey: queue, defaultTimeout: 5000 });
    const call = client.call('slow');
    await waitUntil(() => runs.length === 1);
    breakConnection(transport.connection);
    // The first run cannot reply without its channel; the broker delivers the call again.
    expect(await call).toBe('redelivered');
    expect(runs).toEqual([false, true]);
    expect((errors[0] as Error | undefined)?.message).toMatch(/Lost the RabbitMQ connection/);
    expect(transport.consuming).toBe(true);
  });

  it('declares its queue again when it is deleted under it', async () => {
    const queue = uniqueQueue('deleted');
    const errors: unknown[] = [];
    const { transport } = await startServer({
      queue,
      reconnect: { initialDelay: 20, maxDelay: 200 },
      onError: (e) => errors.push(e),
    });
    const admin = await ownConnection();
    const channel = await admin.createChannel();
    await channel.deleteQueue(queue);
    await waitUntil(() => errors.length > 0);
    expect((errors[0] as Error | undefined)?.message).toMatch(/cancelled the consumer/);
    await waitUntil(() => transport.consuming);
    const { client } = startClient({ routingKey: queue });
    expect(await client.call('add', [1, 1])).toBe(2);
  });

  it('closes within seconds even when the socket died silently', async () => {
    const queue = uniqueQueue('silent');
    await startServer({ queue });
    const { client, transport } = startClient({ routingKey: queue });
    expect(await client.call('add', [1, 1])).toBe(2);
    // Destroyed without an error, amqplib does not notice; the broker never answers the close.
    dropSocketSilently(transport.connection);
    const started = Date.now();
    await transport.close();
    expect(Date.now() - started).toBeLessThan(3500);
  });

  it('works on connections the caller owns, and leaves them open', async () => {
    const queue = uniqueQueue('own');
    const serverConnection = await ownConnection();
    const clientConnection = await ownConnection();
    const serverTransport = new RabbitMqServerTransport({ connection: serverConnection, queue });
    const server = new RpcServer(serverTransport, new JsonRpcProtocol(), dispatcher());
    await server.serve();
    const client = new RpcClient(
      new JsonRpcProtocol(),
      new RabbitMqClientTransport({ connection: clientConnection, routingKey: queue }),
    );
    expect(await client.call('add', [5, 6])).toBe(11);
    await client.close();
    await server.close();
    // Both connections still work.
    const channel = await serverConnection.createChannel();
    expect((await channel.checkQueue(queue)).consumerCount).toBe(0);
    await channel.close();
    await (await clientConnection.createChannel()).close();
  });

  it('fails calls after close', async () => {
    const queue = uniqueQueue('closed-client');
    await startServer({ queue });
    const { client, transport } = startClient({ routingKey: queue });
    expect(await client.call('add', [1, 1])).toBe(2);
    await transport.close();
    await expect(transport.send('{}')).rejects.toThrow(/closed/);
  });
});
