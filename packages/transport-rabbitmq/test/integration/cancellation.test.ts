// Deadlines and cancellation against the real broker: expired calls are never run, a cancel reaches
// whichever competing server runs the call, and the handler's signal aborts.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  deadlineHeader,
  RequestCancelledError,
  RpcClient,
  RpcDispatcher,
  RpcServer,
  RpcTimeoutError,
  type CallContext,
} from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import {
  RabbitMqClientTransport,
  RabbitMqServerTransport,
  type RabbitMqClientTransportOptions,
  type RabbitMqServerTransportOptions,
  type RabbitMqTransportContext,
} from '@tinyrpc/transport-rabbitmq';
import { brokerAvailable, deleteQueues, sleep, uniqueQueue, url, waitUntil } from './broker.ts';

const available = await brokerAvailable();

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => undefined);
});
afterAll(deleteQueues);

async function startServer(
  options: Partial<RabbitMqServerTransportOptions> & { queue: string },
  methods: RpcDispatcher,
): Promise<RabbitMqServerTransport> {
  const transport = new RabbitMqServerTransport({ url, ...options });
  const server = new RpcServer(transport, new JsonRpcProtocol(), methods);
  await server.serve();
  cleanups.push(() => server.close());
  return transport;
}

function startClient(options: Partial<RabbitMqClientTransportOptions> & { routingKey: string }): {
  client: RpcClient;
  transport: RabbitMqClientTransport;
} {
  const transport = new RabbitMqClientTransport({ url, defaultTimeout: 15_000, ...options });
  const client = new RpcClient(new JsonRpcProtocol(), transport);
  cleanups.push(() => client.close());
  return { client, transport };
}

// A busy server: `busy(i)` takes 500 ms whatever its signal says; `ran` lists the calls it ran.
function busyServer(ran: number[]): RpcDispatcher {
  return new RpcDispatcher().add('busy', async (i: number) => {
    ran.push(i);
    await sleep(500);
    return i;
  });
}

describe.skipIf(!available)('RabbitMQ deadlines', () => {
  it('never runs the calls whose deadline passed while they were queued behind a busy server', async () => {
    const queue = uniqueQueue('deadline');
    const ran: number[] = [];
    await startServer({ queue, maxInFlight: 1 }, busyServer(ran));
    const { client, transport } = startClient({ routingKey: queue });

    const outcomes = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => client.call('busy', [i], { timeout: 300 })),
    );
    expect(
      outcomes.every((o) => o.status === 'rejected' && o.reason instanceof RpcTimeoutError),
    ).toBe(true);
    // The first call runs at once; the nine behind it expire in the queue at 300 ms, before the
    // server is free at 500 ms. Give the broker time to have delivered anything it would.
    await sleep(1200);
    expect(ran).toEqual([0]);
    expect(transport.pendingCount).toBe(0);
  });

  it('runs the queued calls still in time and drops the expired ones between them', async () => {
    const queue = uniqueQueue('deadline-mixed');
    const ran: number[] = [];
    await startServer({ queue, maxInFlight: 1 }, busyServer(ran));
    const { client } = startClient({ routingKey: queue });

    // Even calls wait 300 ms, odd ones 10 s: the server, 500 ms a call, reaches the odd ones in time.
    const outcomes = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) =>
        client.call('busy', [i], { timeout: i % 2 === 0 ? 300 : 10_000 }),
      ),
    );
    outcomes.forEach((outcome, i) => {
      if (i % 2 === 1) expect(outcome).toEqual({ status: 'fulfilled', value: i });
      else expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(RpcTimeoutError);
    });
    expect(ran).toEqual([0, 1, 3, 5, 7, 9]);
  }, 30_000);

  it("gives the handler the deadline, and aborts the handler's signal at it", async () => {
    const queue = uniqueQueue('deadline-context');
    const seen: {
      left: number;
      header: string | undefined;
      abortedAfter: number;
      reason: unknown;
    }[] = [];
    const methods = new RpcDispatcher().add(
      'wait',
      async (context: CallContext) => {
        const started = Date.now();
        const transport = context.transport as RabbitMqTransportContext;
        const left = (context.deadline ?? Number.NaN) - started;
        await new Promise<void>((resolve) => {
          context.signal.addEventListener('abort', () => {
            resolve();
          });
        });
        seen.push({
          left,
          header: transport.headers[deadlineHeader],
          abortedAfter: Date.now() - started,
          reason: context.signal.reason,
        });
        return 'too late';
      },
      { context: true },
    );
    await startServer({ queue }, methods);
    // No cancels: the signal must abort by the deadline alone.
    const { client } = startClient({ routingKey: queue, cancelExchange: false });

    await expect(client.call('wait', [], { timeout: 600 })).rejects.toBeInstanceOf(RpcTimeoutError);
    await waitUntil(() => seen.length === 1, 5000);
    const [call] = seen;
    expect(Number(call?.header)).toBeGreaterThan(400);
    expect(Number(call?.header)).toBeLessThanOrEqual(600);
    expect(call?.left).toBeGreaterThan(300);
    expect(call?.left).toBeLessThanOrEqual(600);
    // Aborts at the deadline, give or take a busy machine's timers.
    expect(call?.abortedAfter).toBeGreaterThan(250);
    expect(call?.abortedAfter).toBeLessThan(1500);
  });
});

describe.skipIf(!available)('RabbitMQ cancellation', () => {
  it("aborts the handler's signal on whichever competing server runs the call (200 calls)", async () => {
    const queue = uniqueQueue('cancel');
    // Per call: the server that took it, when the caller aborted, when the handler's signal did.
    const started = new Map<number, string>();
    const abortedAt = new Map<number, number>();
    const handlerAborted = new Map<number, { at: number; reason: unknown }>();
    const controllers = new Map<number, AbortController>();
    const methods = (name: string): RpcDispatcher =>
      new RpcDispatcher().add(
        'hold',
        (context: CallContext, i: number) =>
          new Promise((resolve) => {
            context.signal.addEventListener('abort', () => {
              handlerAborted.set(i, { at: performance.now(), reason: context.signal.reason });
              resolve('aborted');
            });
            started.set(i, name);
            // The caller aborts as soon as the call runs. The client's sweep, which notices the
            // abort, starts with the call: an abort this early waits nearly a whole interval.
            setImmediate(() => {
              abortedAt.set(i, performance.now());
              controllers.get(i)?.abort(new Error('stop'));
            });
          }),
        { context: true },
      );
    await startServer({ queue }, methods('a'));
    await startServer({ queue }, methods('b'));
    const { client, transport } = startClient({ routingKey: queue });

    const calls = 200;
    const latencies: number[] = [];
    for (let i = 0; i < calls; i++) {
      const controller = new AbortController();
      controllers.set(i, controller);
      const call = client.call('hold', [i], { signal: controller.signal, timeout: 10_000 });
      await expect(call).rejects.toThrow('stop');
      await waitUntil(() => handlerAborted.has(i), 5000);
      latencies.push((handlerAborted.get(i)?.at ?? Number.NaN) - (abortedAt.get(i) ?? Number.NaN));
    }

    latencies.sort((x, y) => x - y);
    const at = (q: number): string => (latencies[Math.floor(calls * q)] ?? Number.NaN).toFixed(1);
    const worst = latencies.at(-1) ?? Number.NaN;
    console.log(
      `abort to handler abort over ${String(calls)} calls, 2 servers: median ${at(0.5)} ms, ` +
        `p90 ${at(0.9)} ms, worst ${worst.toFixed(1)} ms`,
    );
    expect(handlerAborted.size).toBe(calls);
    expect(
      [...handlerAborted.values()].every((a) => a.reason instanceof RequestCancelledError),
    ).toBe(true);
    // Both servers took calls, and the cancel found each call where it ran.
    const servers = [...started.values()];
    expect(servers.filter((s) => s === 'a').length).toBeGreaterThan(0);
    expect(servers.filter((s) => s === 'b').length).toBeGreaterThan(0);
    // The goal is 50 ms; the bounds leave room for a loaded machine.
    expect(Number(at(0.5))).toBeLessThan(100);
    expect(worst).toBeLessThan(1000);
    expect(transport.pendingCount).toBe(0);
  }, 120_000);

  it('does not run a call cancelled while it waited in the queue', async () => {
    const queue = uniqueQueue('cancel-queued');
    const ran: number[] = [];
    await startServer({ queue, maxInFlight: 1 }, busyServer(ran));
    const { client } = startClient({ routingKey: queue });

    const first = client.call('busy', [1]);
    await waitUntil(() => ran.length === 1, 5000);
    const controller = new AbortController();
    const queued = client.call('busy', [2], { signal: controller.signal });
    const third = client.call('busy', [3]);
    await sleep(100);
    controller.abort(new Error('never mind'));
    await expect(queued).rejects.toThrow('never mind');
    expect(await first).toBe(1);
    expect(await third).toBe(3);
    expect(ran).toEqual([1, 3]);
  });

  it('drops the late reply of a cancelled call that a server without cancels still answers', async () => {
    const queue = uniqueQueue('cancel-late');
    const ran: number[] = [];
    // As a Python server would: it never hears of cancels.
    await startServer({ queue, cancelExchange: false }, busyServer(ran));
    const { client, transport } = startClient({ routingKey: queue });

    const controller = new AbortController();
    const cancelled = client.call('busy', [1], { signal: controller.signal });
    const others = [2, 3, 4].map((i) => client.call('busy', [i]));
    await waitUntil(() => ran.length === 4, 5000);
    controller.abort(new Error('gone'));
    await expect(cancelled).rejects.toThrow('gone');
    expect(await Promise.all(others)).toEqual([2, 3, 4]);
    // The server answered call 1 as well; that reply was dropped and the next call is unaffected.
    expect(await client.call('busy', [5])).toBe(5);
    expect(ran.sort()).toEqual([1, 2, 3, 4, 5]);
    expect(transport.pendingCount).toBe(0);
  });

  it('runs without cancels when the cancel exchange cannot be declared', async () => {
    const queue = uniqueQueue('cancel-refused');
    const errors: unknown[] = [];
    const ran: number[] = [];
    // A same-named exchange of another type: both declarations are refused (406).
    const { connect } = await import('amqplib');
    const admin = await connect(url);
    cleanups.push(() => admin.close());
    const channel = await admin.createChannel();
    await channel.assertExchange(`${queue}.cancel`, 'direct', { durable: false });
    await startServer({ queue, onError: (error) => errors.push(error) }, busyServer(ran));
    const { client } = startClient({ routingKey: queue });

    const controller = new AbortController();
    const call = client.call('busy', [1], { signal: controller.signal });
    await waitUntil(() => ran.length === 1, 5000);
    controller.abort(new Error('gone'));
    await expect(call).rejects.toThrow('gone');
    expect(await client.call('busy', [2])).toBe(2);
    expect(String(errors[0])).toMatch(/Cancels will not reach queue/);
  });
});
