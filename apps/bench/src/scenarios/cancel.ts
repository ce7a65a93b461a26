// How soon a caller's abort reaches the handler (issue 14): the time from `controller.abort()` to
// the handler's `context.signal` abort, one call at a time, over each transport, with one round
// trip of the same transport beside it. RpcClient over WebSocket needs `cancelRequests: true`
// (its default is off there); HTTP closes the request, which aborts the handler's signal;
// RabbitMQ's request/reply has no way to tell the server, so there the figure is how many aborts
// arrived within a bound (none expected). Runs only when named: `bench cancel`.
import { randomUUID } from 'node:crypto';
import { MessageChannel } from 'node:worker_threads';
import {
  CallbackClientTransport,
  CallbackServerTransport,
  RpcClient,
  RpcDispatcher,
  RpcServer,
  createMemoryTransport,
  type CallContext,
  type ClientTransport,
  type ServerTransport,
} from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { portChannel, tcpReachable } from '@tinyrpc/test-helpers';
import { HttpClientTransport, HttpServerTransport } from '@tinyrpc/transport-http';
import { RabbitMqClientTransport, RabbitMqServerTransport } from '@tinyrpc/transport-rabbitmq';
import { StreamClientTransport, StreamServerTransport } from '@tinyrpc/transport-stream';
import { WsClientTransport, WsServerTransport } from '@tinyrpc/transport-ws';
import { connect as amqpConnect } from 'amqplib';
import type { AddressInfo } from 'node:net';
import { durationMs, measure, type Scenario } from '../measure.ts';

const protocol = new JsonRpcProtocol();
const rabbitUrl = 'amqp://guest:guest@127.0.0.1:5672';

/** How long one call waits for its abort to reach the handler before it counts as not reached. */
const reachBound = 1000;

interface Started {
  readonly client: RpcClient;
  stop(): Promise<void>;
}

interface Transport {
  readonly name: string;
  readonly calls: number;
  /** Bound per call, ms, if not `reachBound`. */
  readonly bound?: number;
  start(dispatcher: RpcDispatcher): Promise<Started>;
}

const serve = async (
  transport: ServerTransport,
  dispatcher: RpcDispatcher,
  connect: () => Promise<ClientTransport>,
  clientOptions: { cancelRequests?: boolean } = {},
  after: () => Promise<void> = async () => undefined,
): Promise<Started> => {
  const server = new RpcServer(transport, protocol, dispatcher, { maxDuration: 5000 });
  await server.serve();
  const client = new RpcClient(protocol, await connect(), clientOptions);
  return {
    client,
    async stop() {
      await client.close();
      await server.close();
      await after();
    },
  };
};

const transports: Transport[] = [
  {
    name: 'memory',
    calls: 1000,
    start(dispatcher) {
      const pair = createMemoryTransport();
      return serve(pair.server, dispatcher, async () => pair.client);
    },
  },
  {
    name: 'MessageChannel (callback)',
    calls: 1000,
    start(dispatcher) {
      const { port1, port2 } = new MessageChannel();
      return serve(
        new CallbackServerTransport(portChannel(port2)),
        dispatcher,
        async () => new CallbackClientTransport(portChannel(port1)),
        {},
        async () => {
          port1.close();
          port2.close();
        },
      );
    },
  },
  {
    name: 'WebSocket (cancelRequests: true)',
    calls: 1000,
    start(dispatcher) {
      const transport = new WsServerTransport({ port: 0 });
      return serve(
        transport,
        dispatcher,
        async () => {
          const client = new WsClientTransport(`ws://127.0.0.1:${String(transport.port)}/`);
          await client.connect();
          return client;
        },
        { cancelRequests: true },
      );
    },
  },
  {
    name: 'TCP stream',
    calls: 1000,
    start(dispatcher) {
      const transport = new StreamServerTransport({ port: 0 });
      return serve(transport, dispatcher, () =>
        StreamClientTransport.connect({ port: (transport.address as AddressInfo).port }),
      );
    },
  },
  {
    name: 'HTTP',
    calls: 1000,
    start(dispatcher) {
      const transport = new HttpServerTransport({ port: 0 });
      return serve(
        transport,
        dispatcher,
        async () => new HttpClientTransport(`http://127.0.0.1:${String(transport.port)}/`),
      );
    },
  },
  {
    name: 'RabbitMQ',
    calls: 20,
    bound: 200,
    start(dispatcher) {
      const queue = `bench-cancel-${randomUUID()}`;
      return serve(
        new RabbitMqServerTransport({ url: rabbitUrl, queue }),
        dispatcher,
        async () => new RabbitMqClientTransport({ url: rabbitUrl, routingKey: queue }),
        {},
        async () => {
          const connection = await amqpConnect(rabbitUrl);
          const channel = await connection.createChannel();
          await channel.deleteQueue(queue);
          await connection.close();
        },
      );
    },
  },
];

/** The handler of the current call: resolves `started`, then `aborted` with the abort's time. */
interface Watch {
  started: () => void;
  aborted: (at: number) => void;
}

function hangingMethods(watch: { current: Watch | undefined }): RpcDispatcher {
  return new RpcDispatcher()
    .add('quick', () => 'done')
    .add(
      'hang',
      (context: CallContext) =>
        new Promise((resolve) => {
          const seen = watch.current;
          const timer = setTimeout(() => {
            resolve('not aborted');
          }, 3000);
          context.signal.addEventListener('abort', () => {
            seen?.aborted(performance.now());
            clearTimeout(timer);
            resolve('aborted');
          });
          seen?.started();
        }),
      { context: true },
    );
}

/** Milliseconds from abort to the handler's signal, one call at a time; `undefined`: not reached. */
async function abortDelays(
  client: RpcClient,
  watch: { current: Watch | undefined },
  calls: number,
  bound: number,
): Promise<(number | undefined)[]> {
  const delays: (number | undefined)[] = [];
  for (let i = 0; i < calls; i++) {
    let started!: () => void;
    let aborted!: (at: number) => void;
    const running = new Promise<void>((resolve) => (started = resolve));
    const reached = new Promise<number>((resolve) => (aborted = resolve));
    watch.current = { started, aborted };
    const controller = new AbortController();
    const call = client.call('hang', [], { signal: controller.signal, timeout: 10_000 });
    call.catch(() => undefined);
    await running;
    const at = performance.now();
    controller.abort(new Error('caller gave up'));
    let timer: ReturnType<typeof setTimeout> | undefined;
    const delay = await Promise.race([
      reached.then((t) => t - at),
      new Promise<undefined>((resolve) => {
        timer = setTimeout(() => {
          resolve(undefined);
        }, bound);
      }),
    ]);
    clearTimeout(timer);
    delays.push(delay);
    await call.catch(() => undefined);
  }
  watch.current = undefined;
  return delays;
}

const ms = (value: number | undefined): string => (value === undefined ? '–' : value.toFixed(3));

export const scenarios: Scenario[] = [
  {
    name: 'Cancellation: caller abort → handler context.signal, one call at a time',
    baseline: '',
    async run() {
      const rabbit = await tcpReachable('127.0.0.1', 5672);
      console.log('\n## Cancellation: caller abort → handler context.signal, one call at a time\n');
      console.log(
        '| transport | calls | reached within bound | abort→signal median ms | worst ms | round trip p50 ms | p99 ms |',
      );
      console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
      for (const transport of transports) {
        if (transport.name === 'RabbitMQ' && !rabbit) {
          console.log('| RabbitMQ | not reachable at 127.0.0.1:5672 | | | | | |');
          continue;
        }
        const watch: { current: Watch | undefined } = { current: undefined };
        const started = await transport.start(hangingMethods(watch));
        const { client } = started;
        try {
          const bound = transport.bound ?? reachBound;
          const delays = await abortDelays(client, watch, transport.calls, bound);
          const reached = delays.filter((d): d is number => d !== undefined).sort((a, b) => a - b);
          const trip = await measure(transport.name, () => client.call('quick'), {
            latencies: true,
            duration: Math.min(1000, durationMs / 2),
          });
          console.log(
            `| ${transport.name} | ${String(delays.length)} | ${String(reached.length)} (${String(bound)} ms) | ${ms(reached[Math.floor(reached.length / 2)])} | ${ms(reached.at(-1))} | ${ms(trip.p50)} | ${ms(trip.p99)} |`,
          );
        } finally {
          await started.stop();
        }
      }
      return [];
    },
  },
];

/** Slow (1000 calls a transport): run only by name. */
export const byNameOnly = true;
