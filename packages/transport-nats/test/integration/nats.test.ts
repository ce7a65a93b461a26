// The NATS transports against the real server at 127.0.0.1:4222: queue groups, the services
// framework, no responders, headers, notifications, MessagePack-RPC, limits and draining close.
import { afterEach, describe, expect, it } from 'vitest';
import {
  RpcClient,
  RpcDispatcher,
  RpcServer,
  TransportError,
  type CallContext,
  type RpcProtocol,
  type ServerTransport,
} from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import {
  deadlineHeader,
  NatsClientTransport,
  sendDeadline,
  NatsServerTransport,
  type NatsServerTransportOptions,
  type NatsTransportContext,
} from '@tinyrpc/transport-nats';
import { connect, Empty, type NatsConnection } from 'nats';
import { settle, sleep, waitUntil } from '@tinyrpc/test-helpers';
import { natsAvailable, servers, uniqueSubject } from './nats.ts';

const available = await natsAvailable();

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step().catch(() => undefined);
});

async function rawConnection(): Promise<NatsConnection> {
  const connection = await connect({ servers });
  cleanup.push(() => connection.close());
  return connection;
}

/** Serves `dispatcher` on a NATS server transport made with `options`. */
async function serve(
  options: Partial<NatsServerTransportOptions> & { subject: string },
  dispatcher: RpcDispatcher,
  protocol: RpcProtocol = new JsonRpcProtocol(),
): Promise<{ server: RpcServer; transport: NatsServerTransport }> {
  const transport = new NatsServerTransport({ servers, ...options });
  const server = new RpcServer(transport, protocol, dispatcher);
  await server.serve();
  cleanup.push(() => server.close());
  return { server, transport };
}

function clientFor(
  subject: string,
  protocol: RpcProtocol = new JsonRpcProtocol(),
  options: { maxMessageSize?: number; headers?: () => Record<string, string> } = {},
): { client: RpcClient; transport: NatsClientTransport } {
  const transport = new NatsClientTransport({ servers, subject, ...options });
  const client = new RpcClient(protocol, transport, { timeout: 5000 });
  cleanup.push(() => client.close());
  return { client, transport };
}

const whoAmI = (name: string): RpcDispatcher =>
  new RpcDispatcher().add('who', () => name).add('echo', (value: unknown) => value);

describe.skipIf(!available)('NATS transports', () => {
  it('shares calls over the servers of the default queue group', async () => {
    const subject = uniqueSubject('queue');
    await serve({ subject }, whoAmI('a'));
    await serve({ subject }, whoAmI('b'));
    const { client } = clientFor(subject);
    const answers = await Promise.all(Array.from({ length: 200 }, () => client.call('who')));
    const counts = {
      a: answers.filter((x) => x === 'a').length,
      b: answers.filter((x) => x === 'b').length,
    };
    // Exactly one server answers each call, and NATS spreads them (randomly) over both.
    expect(counts.a + counts.b).toBe(200);
    expect(counts.a).toBeGreaterThan(20);
    expect(counts.b).toBeGreaterThan(20);
  });

  it('keeps groups apart: each queue group gets every call once, and queue: false gets them all', async () => {
    const subject = uniqueSubject('groups');
    const seen: string[] = [];
    const recorder = (name: string): RpcDispatcher =>
      new RpcDispatcher().add('note', () => {
        seen.push(name);
      });
    await serve({ subject, queue: 'left' }, recorder('left'));
    await serve({ subject, queue: 'right' }, recorder('right'));
    await serve({ subject, queue: false }, recorder('all-1'));
    await serve({ subject, queue: false }, recorder('all-2'));
    const { client } = clientFor(subject);
    for (let i = 0; i < 10; i++) await client.notify('note');
    await waitUntil(() => seen.length === 40, 5000);
    for (const name of ['left', 'right', 'all-1', 'all-2']) {
      expect(seen.filter((x) => x === name)).toHaveLength(10);
    }
  });

  it('fails a call at once with a TransportError when nobody listens (no responders)', async () => {
    const subject = uniqueSubject('nobody');
    const { client, transport } = clientFor(subject);
    const started = Date.now();
    const error = await client.call('anything').catch((e: unknown) => e);
    expect(TransportError.is(error)).toBe(true);
    expect((error as Error).message).toBe(
      `No responders: no server listens on NATS subject "${subject}"`,
    );
    expect(Date.now() - started).toBeLessThan(1000);
    expect(transport.pendingCount).toBe(0);
  });

  it('registers as a NATS service: PING, INFO and STATS with an endpoint for the subject', async () => {
    const subject = uniqueSubject('service');
    const name = `tinyrpc-test-${subject.split('.').pop() ?? ''}`;
    const { transport } = await serve(
      { subject, service: { name, version: '1.2.3', description: 'test service' } },
      whoAmI('svc'),
    );
    const { client } = clientFor(subject);
    for (let i = 0; i < 7; i++) await client.call('who');
    const nc = await rawConnection();
    const ping = (await nc.request(`$SRV.PING.${name}`, Empty, { timeout: 2000 })).json<{
      name: string;
      id: string;
      version: string;
    }>();
    expect(ping).toMatchObject({ name, version: '1.2.3' });
    expect(ping.id).toBe(transport.service?.info().id);
    const info = (await nc.request(`$SRV.INFO.${name}`, Empty, { timeout: 2000 })).json<{
      description: string;
      endpoints: { name: string; subject: string; queue_group: string; metadata: object }[];
    }>();
    expect(info.description).toBe('test service');
    expect(info.endpoints).toEqual([
      {
        name: 'rpc',
        subject,
        queue_group: 'tinyrpc',
        metadata: { transport: 'tinyrpc', content_type: 'application/json' },
      },
    ]);
    const stats = (await nc.request(`$SRV.STATS.${name}`, Empty, { timeout: 2000 })).json<{
      endpoints: { num_requests: number; data: Record<string, number> }[];
    }>();
    expect(stats.endpoints[0]?.num_requests).toBe(7);
    expect(stats.endpoints[0]?.data).toEqual({
      in_flight: 0,
      max_in_flight_per_client: 1000,
      clients: 0,
      refused_busy: 0,
      expired: 0,
    });
  });

  it('publishes notifications without a reply subject', async () => {
    const subject = uniqueSubject('notify');
    const nc = await rawConnection();
    const replies: string[] = [];
    nc.subscribe(subject, { callback: (_, msg) => replies.push(msg.reply ?? '') });
    await nc.flush();
    const { client } = clientFor(subject);
    await client.notify('tick', [1]);
    await waitUntil(() => replies.length === 1, 5000);
    expect(replies).toEqual(['']);
  });

  it('sends the headers option and a deadline; the handler sees them in its context', async () => {
    const subject = uniqueSubject('headers');
    const contexts: NatsTransportContext[] = [];
    const dispatcher = new RpcDispatcher().add(
      'look',
      (context: CallContext) => {
        contexts.push(context.transport as NatsTransportContext);
        return 'seen';
      },
      { context: true },
    );
    const { transport: serverTransport } = await serve({ subject }, dispatcher);
    expect(serverTransport.inFlightCount).toBe(0);
    const traceparent = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';
    const transport = new NatsClientTransport({
      servers,
      subject,
      headers: () => ({ traceparent }),
    });
    cleanup.push(() => transport.close());
    const protocol = new JsonRpcProtocol();
    const request = protocol.createRequest('look', []).serialize();
    const before = Date.now();
    await transport.send(request, { deadline: before + 4000, headers: { 'x-tenant': 'blue' } });
    expect(contexts).toHaveLength(1);
    const [context] = contexts;
    expect(context?.transport).toBe('nats');
    expect(context?.subject).toBe(subject);
    expect(context?.replyTo).toMatch(/^_INBOX\./);
    expect(context?.headers?.['traceparent']).toBe(traceparent);
    expect(context?.headers?.['x-tenant']).toBe('blue');
    const remaining = Number(context?.headers?.[deadlineHeader]);
    expect(remaining).toBeGreaterThan(3500);
    expect(remaining).toBeLessThanOrEqual(4000);
    expect(context?.deadline).toBeGreaterThanOrEqual(before + 3500);
    expect(context?.deadline).toBeLessThanOrEqual(Date.now() + 4000);
  });

  it("carries the headers of RpcClient calls: trace context from an interceptor, the deadline from RpcClient's timeout", async () => {
    const subject = uniqueSubject('client-headers');
    const contexts: NatsTransportContext[] = [];
    const dispatcher = new RpcDispatcher().add(
      'look',
      (context: CallContext) => {
        contexts.push(context.transport as NatsTransportContext);
        return 'seen';
      },
      { context: true },
    );
    await serve({ subject }, dispatcher);
    const { client, transport } = clientFor(subject);
    expect(transport.supportsHeaders).toBe(true);
    expect(transport.defaultTimeout).toBe(30_000);
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    client.use((call, next) => {
      call.headers['traceparent'] = traceparent;
      return next();
    });
    const before = Date.now();
    expect(await client.call('look', [], { timeout: 4000 })).toBe('seen');
    // No timeout of its own: the client's, 5000 ms.
    expect(await client.call('look', [])).toBe('seen');
    const after = Date.now();
    const [timed, byClient] = contexts;
    expect(timed?.headers?.['traceparent']).toBe(traceparent);
    const left = Number(timed?.headers?.[deadlineHeader]);
    expect(left).toBeLessThanOrEqual(4000);
    expect(left).toBeGreaterThan(2000);
    expect(timed?.deadline).toBeGreaterThan(before + 2000);
    expect(timed?.deadline).toBeLessThanOrEqual(after + 4000);
    expect(byClient?.headers?.['traceparent']).toBe(traceparent);
    expect(Number(byClient?.headers?.[deadlineHeader])).toBeGreaterThan(4000);
    expect(Number(byClient?.headers?.[deadlineHeader])).toBeLessThanOrEqual(5000);

    // No timeout anywhere (defaultTimeout: Infinity): no deadline travels.
    const untimedTransport = new NatsClientTransport({
      servers,
      subject,
      defaultTimeout: Infinity,
    });
    const untimedClient = new RpcClient(new JsonRpcProtocol(), untimedTransport);
    cleanup.push(() => untimedClient.close());
    expect(await untimedClient.call('look', [])).toBe('seen');
    expect(contexts[2]?.headers?.[deadlineHeader]).toBeUndefined();
    expect(contexts[2]?.deadline).toBeUndefined();
  });

  it("sendDeadline (deprecated) still works, and RpcClient's deadline replaces its header", async () => {
    const subject = uniqueSubject('send-deadline');
    const contexts: NatsTransportContext[] = [];
    await serve(
      { subject },
      new RpcDispatcher().add(
        'look',
        (context: CallContext) => {
          contexts.push(context.transport as NatsTransportContext);
          return 'seen';
        },
        { context: true },
      ),
    );
    const { client } = clientFor(subject);
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- what this test is about
    client.use(sendDeadline(1234));
    expect(await client.call('look', [], { timeout: 4000 })).toBe('seen');
    const left = Number(contexts[0]?.headers?.[deadlineHeader]);
    expect(left).toBeGreaterThan(2000);
    expect(left).toBeLessThanOrEqual(4000);
    // Without a timeout anywhere, RpcClient hands no deadline: sendDeadline's own travels.
    const untimed = new RpcClient(
      new JsonRpcProtocol(),
      new NatsClientTransport({ servers, subject, defaultTimeout: Infinity }),
    );
    cleanup.push(() => untimed.close());
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- what this test is about
    untimed.use(sendDeadline(3000));
    const before = Date.now();
    expect(await untimed.call('look', [])).toBe('seen');
    expect(contexts[1]?.headers?.[deadlineHeader]).toBe('3000');
    expect(contexts[1]?.deadline).toBeGreaterThanOrEqual(before + 3000);
    expect(contexts[1]?.deadline).toBeLessThanOrEqual(Date.now() + 3000);
  });

  it('does not run a call whose deadline passed before it arrived', async () => {
    const subject = uniqueSubject('expired');
    let ran = 0;
    await serve(
      { subject },
      new RpcDispatcher().add('work', () => ++ran),
    );
    const transport = new NatsClientTransport({ servers, subject });
    cleanup.push(() => transport.close());
    const protocol = new JsonRpcProtocol();
    const late = settle(
      transport.send(protocol.createRequest('work', []).serialize(), {
        deadline: Date.now() - 1,
        signal: AbortSignal.timeout(300),
      }),
    );
    const onTime = await transport.send(protocol.createRequest('work', []).serialize(), {
      deadline: Date.now() + 2000,
    });
    expect(String(onTime)).toContain('"result":1');
    expect((await late).ok).toBe(false);
    expect(ran).toBe(1);
  });

  it('refuses a request over the NATS server max_payload before publishing it', async () => {
    const subject = uniqueSubject('too-big');
    await serve({ subject }, whoAmI('x'));
    // The transport's own limit is higher: the server's max_payload (1 MiB) is what refuses.
    const { client, transport } = clientFor(subject, new JsonRpcProtocol(), {
      maxMessageSize: 8 * 1024 * 1024,
    });
    const error = await client.call('echo', ['x'.repeat(2_000_000)]).catch((e: unknown) => e);
    expect(TransportError.is(error)).toBe(true);
    expect((error as Error).message).toMatch(
      /^A message of 2000\d{3} bytes is over the limit of 1048576 bytes \(maxMessageSize\)$/,
    );
    expect(transport.pendingCount).toBe(0);
    expect(await client.call('echo', ['small'])).toBe('small');
  });

  it('answers a request over the server transport maxMessageSize with an error, and goes on serving', async () => {
    const subject = uniqueSubject('server-limit');
    await serve({ subject, maxMessageSize: 1000 }, whoAmI('x'));
    const { client } = clientFor(subject);
    const error = await client.call('echo', ['x'.repeat(5000)]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toMatch(/over the limit of 1000 bytes/);
    expect(await client.call('echo', ['fits'])).toBe('fits');
  });

  it('fails a call whose reply is over the limit with a clear error instead of a timeout', async () => {
    const subject = uniqueSubject('big-reply');
    await serve(
      { subject },
      new RpcDispatcher().add('big', () => 'y'.repeat(2_000_000)),
    );
    const { client } = clientFor(subject);
    const started = Date.now();
    const error = await client.call('big').catch((e: unknown) => e);
    expect(TransportError.is(error)).toBe(true);
    expect((error as Error).message).toMatch(
      /^The server could not take the call: Reply of 2000\d{3} bytes is over the limit of 1048576 bytes \(maxMessageSize\) \(service error 413\)$/,
    );
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('refuses the calls of one client over maxInFlight at once with a TransportError, and serves other clients meanwhile', async () => {
    const subject = uniqueSubject('busy');
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered = 0;
    const dispatcher = new RpcDispatcher().add('wait', async () => {
      entered++;
      await gate;
      return 'done';
    });
    await serve({ subject, maxInFlight: 3 }, dispatcher);
    const { client } = clientFor(subject);
    const calls = Array.from({ length: 5 }, () => settle(client.call('wait')));
    await waitUntil(() => entered === 3, 5000);
    await sleep(100);
    const other = clientFor(subject).client;
    const served = settle(other.call('wait'));
    await waitUntil(() => entered === 4, 5000);
    release();
    expect(await served).toEqual({ ok: true, value: 'done' });
    const results = await Promise.all(calls);
    const refused = results.filter((r) => !r.ok);
    expect(results.filter((r) => r.ok)).toHaveLength(3);
    expect(refused).toHaveLength(2);
    for (const result of refused) {
      expect(TransportError.is(result.error)).toBe(true);
      expect((result.error as Error).message).toBe(
        'The server could not take the call: Server busy: 3 calls of this client in flight (maxInFlight) (service error 429)',
      );
    }
    expect(entered).toBe(4);
  });

  it('close() drains: accepted calls are answered, then nobody is on the subject', async () => {
    const subject = uniqueSubject('drain');
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered = 0;
    const { server } = await serve(
      { subject },
      new RpcDispatcher().add('slow', async (n: number) => {
        entered++;
        await gate;
        return n;
      }),
    );
    const { client } = clientFor(subject);
    const calls = Array.from({ length: 20 }, (_, i) => client.call('slow', [i]));
    await waitUntil(() => entered === 20, 5000);
    let closed = false;
    const closing = server.close().then(() => (closed = true));
    await sleep(100);
    expect(closed).toBe(false);
    release();
    expect(await Promise.all(calls)).toEqual(Array.from({ length: 20 }, (_, i) => i));
    await closing;
    const after = await client.call('slow', [0]).catch((e: unknown) => e);
    expect((after as Error).message).toMatch(/^No responders/);
  });

  it('uses a connection of the caller and leaves it open', async () => {
    const subject = uniqueSubject('own');
    const connection = await rawConnection();
    const serverTransport = new NatsServerTransport({ connection, subject });
    const server = new RpcServer(serverTransport, new JsonRpcProtocol(), whoAmI('own'));
    await server.serve();
    const transport = new NatsClientTransport({ connection, subject });
    const client = new RpcClient(new JsonRpcProtocol(), transport);
    expect(await client.call('who')).toBe('own');
    await client.close();
    await server.close();
    expect(connection.isClosed()).toBe(false);
    await connection.flush();
  });

  it('rejects bad options with a TypeError naming them', () => {
    expect(() => new NatsClientTransport({ subject: 'bad subject' })).toThrow(TypeError);
    expect(() => new NatsClientTransport({ subject: 'a..b' })).toThrow(/NATS subject/);
    expect(() => new NatsServerTransport({ subject: 'ok', maxInFlight: 0 })).toThrow(/maxInFlight/);
    expect(() => new NatsServerTransport({ subject: 'ok', maxMessageSize: -1 })).toThrow(
      /maxMessageSize/,
    );
    expect(() => new NatsServerTransport({ subject: 'ok', queue: 'two words' })).toThrow(/queue/);
    expect(() => new NatsClientTransport({ subject: 'ok', defaultTimeout: 0 })).toThrow(
      /defaultTimeout/,
    );
    expect(
      new NatsClientTransport({ subject: 'ok', defaultTimeout: Infinity }).defaultTimeout,
    ).toBe(undefined);
    expect(new NatsClientTransport({ subject: 'ok', defaultTimeout: 1500 }).defaultTimeout).toBe(
      1500,
    );
  });

  it('fails listen() with a TransportError when NATS cannot be reached', async () => {
    const transport: ServerTransport = new NatsServerTransport({
      servers: '127.0.0.1:1',
      subject: 'x',
      reconnect: false,
    });
    const error = await transport.listen(() => Promise.resolve(undefined)).catch((e: unknown) => e);
    expect(TransportError.is(error)).toBe(true);
    expect((error as Error).message).toMatch(/^Cannot connect to NATS at 127\.0\.0\.1:1: /);
  });
});
