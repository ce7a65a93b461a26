// RPC through RabbitMQ at 127.0.0.1:5672: tinyrpc's transports against raw amqplib RPC with direct
// reply-to doing the same JSON parse/call/stringify, with 1 and 256 calls in flight; then tinyrpc
// with 1, 2 and 4 competing servers on one queue. Client, servers and broker share this machine, so
// the servers run in this process, each on a connection of its own.
import { randomBytes } from 'node:crypto';
import { createConnection } from 'node:net';
import { RpcClient, RpcDispatcher, RpcServer } from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { RabbitMqClientTransport, RabbitMqServerTransport } from '@tinyrpc/transport-rabbitmq';
import { connect, type ConsumeMessage } from 'amqplib';
import type { Scenario } from '../measure.ts';
import { interleavedRounds } from '../rounds.ts';

const url = 'amqp://guest:guest@127.0.0.1:5672';
const prefetch = 64;
const add = (a: number, b: number): number => a + b;

interface Contender {
  readonly name: string;
  /** Starts servers and client; returns one call and a function that tears everything down. */
  start(queue: string): Promise<{ call: () => Promise<unknown>; stop: () => Promise<void> }>;
}

// The limit: amqplib alone, a server that parses, calls and stringifies, a client on direct reply-to.
const raw = (noDelay: boolean): Contender => ({
  name: noDelay ? 'raw amqplib, direct reply-to' : 'raw amqplib, Nagle on (amqplib default)',
  async start(queue) {
    const serverConnection = await connect(url, { noDelay });
    const serverChannel = await serverConnection.createChannel();
    await serverChannel.assertQueue(queue, { durable: false });
    await serverChannel.prefetch(prefetch);
    await serverChannel.consume(queue, (message: ConsumeMessage | null) => {
      if (message === null) return;
      void (async () => {
        const r = JSON.parse(message.content.toString()) as {
          id: number;
          params: [number, number];
        };
        const reply = JSON.stringify({ jsonrpc: '2.0', id: r.id, result: add(...r.params) });
        serverChannel.publish('', message.properties.replyTo as string, Buffer.from(reply), {
          correlationId: message.properties.correlationId as string,
        });
        serverChannel.ack(message);
      })();
    });

    const clientConnection = await connect(url, { noDelay });
    const clientChannel = await clientConnection.createChannel();
    const pending = new Map<string, (reply: unknown) => void>();
    await clientChannel.consume(
      'amq.rabbitmq.reply-to',
      (message) => {
        if (message === null) return;
        const id = message.properties.correlationId as string;
        const resolve = pending.get(id);
        pending.delete(id);
        resolve?.((JSON.parse(message.content.toString()) as { result: unknown }).result);
      },
      { noAck: true },
    );
    let next = 0;
    const call = (): Promise<unknown> =>
      new Promise((resolve) => {
        const id = ++next;
        pending.set(String(id), resolve);
        const request = JSON.stringify({ jsonrpc: '2.0', method: 'add', params: [1, 2], id });
        clientChannel.publish('', queue, Buffer.from(request), {
          replyTo: 'amq.rabbitmq.reply-to',
          correlationId: String(id),
        });
      });
    return {
      call,
      async stop() {
        await clientConnection.close();
        await serverChannel.deleteQueue(queue);
        await serverConnection.close();
      },
    };
  },
});

const tinyrpc = (servers: number, confirmReplies = false): Contender => ({
  name:
    (servers === 1
      ? '@tinyrpc/transport-rabbitmq'
      : `@tinyrpc/transport-rabbitmq, ${String(servers)} competing servers`) +
    (confirmReplies ? ', confirmReplies' : ''),
  async start(queue) {
    const dispatcher = new RpcDispatcher().add('add', add);
    const running: RpcServer[] = [];
    for (let i = 0; i < servers; i++) {
      const server = new RpcServer(
        new RabbitMqServerTransport({ url, queue, maxInFlight: prefetch, confirmReplies }),
        new JsonRpcProtocol(),
        dispatcher,
      );
      await server.serve();
      running.push(server);
    }
    const client = new RpcClient(
      new JsonRpcProtocol(),
      new RabbitMqClientTransport({ url, routingKey: queue }),
    );
    return {
      call: () => client.call('add', [1, 2]),
      async stop() {
        await client.close();
        for (const server of running) await server.close();
        const connection = await connect(url);
        const channel = await connection.createChannel();
        await channel.deleteQueue(queue);
        await connection.close();
      },
    };
  },
});

// The machine is shared and the broker is a third process, so throughput drifts within a run:
// every contender is started first (on a queue of its own), then measured in interleaved rounds.
const scenario = (
  name: string,
  baseline: Contender,
  contenders: readonly Contender[],
  concurrency: number,
): Scenario => ({
  name,
  baseline: baseline.name,
  run: () =>
    interleavedRounds(
      name,
      [baseline, ...contenders].map((contender) => ({
        name: contender.name,
        start: () => contender.start(`tinyrpc-bench-${randomBytes(6).toString('hex')}`),
      })),
      { concurrency },
    ),
});

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => {
      done(false);
    });
    socket.once('connect', () => {
      done(true);
    });
    socket.once('error', () => {
      done(false);
    });
  });
}

const brokerUp = await reachable('127.0.0.1', 5672);
if (!brokerUp) console.log('\nskipping RabbitMQ benchmarks: no broker at 127.0.0.1:5672');

export const scenarios: Scenario[] = brokerUp
  ? [
      scenario('RabbitMQ RPC add(1, 2), 1 call in flight', raw(true), [tinyrpc(1), raw(false)], 1),
      scenario(
        'RabbitMQ RPC add(1, 2), 256 calls in flight',
        raw(true),
        [tinyrpc(1), tinyrpc(1, true)],
        256,
      ),
      scenario(
        'RabbitMQ RPC add(1, 2), 256 in flight, competing servers (in-process, one connection each)',
        tinyrpc(1),
        [tinyrpc(2), tinyrpc(4)],
        256,
      ),
    ]
  : [];
