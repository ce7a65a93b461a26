// RPC through NATS at 127.0.0.1:4222: tinyrpc's transports against the raw NATS client doing the
// same JSON parse/call/stringify with request/reply (its own muxed inbox), with 1 and 256 calls in
// flight; then tinyrpc with 1, 2 and 4 server processes in one queue group on one subject.
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { RpcClient, RpcDispatcher, RpcServer } from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { startReadyProcess, tcpReachable, type ReadyProcess } from '@tinyrpc/test-helpers';
import { NatsClientTransport, NatsServerTransport } from '@tinyrpc/transport-nats';
import { connect } from 'nats';
import type { Scenario } from '../measure.ts';
import { interleavedRounds, type RoundContender } from '../rounds.ts';

const servers = '127.0.0.1:4222';
const add = (a: number, b: number): number => a + b;
const subjectFor = (label: string): string =>
  `tinyrpc.bench.${label}.${randomBytes(6).toString('hex')}`;

// The limit: the NATS client alone, a queue subscriber that parses, calls and stringifies, and a
// client on `request` (one muxed inbox, a timer per request).
const raw: RoundContender = {
  name: 'raw nats request/reply',
  async start() {
    const subject = subjectFor('raw');
    const serverConnection = await connect({ servers });
    serverConnection.subscribe(subject, {
      queue: 'bench',
      callback: (error, msg) => {
        if (error !== null) return;
        const r = JSON.parse(msg.string()) as { id: number; params: [number, number] };
        msg.respond(JSON.stringify({ jsonrpc: '2.0', id: r.id, result: add(...r.params) }));
      },
    });
    await serverConnection.flush();
    const clientConnection = await connect({ servers });
    let next = 0;
    return {
      async call() {
        const request = JSON.stringify({
          jsonrpc: '2.0',
          method: 'add',
          params: [1, 2],
          id: ++next,
        });
        const reply = await clientConnection.request(subject, request, { timeout: 5000 });
        return (JSON.parse(reply.string()) as { result: unknown }).result;
      },
      async stop() {
        await clientConnection.close();
        await serverConnection.drain();
      },
    };
  },
};

const tinyrpc = (service: boolean): RoundContender => ({
  name: service
    ? '@tinyrpc/transport-nats (services framework)'
    : '@tinyrpc/transport-nats, service: false',
  async start() {
    const subject = subjectFor('tinyrpc');
    const server = new RpcServer(
      new NatsServerTransport({ servers, subject, ...(service ? {} : { service: false }) }),
      new JsonRpcProtocol(),
      new RpcDispatcher().add('add', add),
    );
    await server.serve();
    return addClient(subject, () => server.close());
  },
});

const serverScript = fileURLToPath(new URL('../nats-bench-server.ts', import.meta.url));
const benchRoot = fileURLToPath(new URL('../..', import.meta.url));

// Starts a server process and resolves once it serves.
const startServerProcess = (subject: string): Promise<ReadyProcess> =>
  startReadyProcess(
    process.execPath,
    ['--import', 'tsx', '--conditions=@tinyrpc/source', serverScript, servers, subject],
    { cwd: benchRoot, ready: /READY/ },
  );

// A client on `subject` calling add(1, 2), and what else to stop with it.
function addClient(subject: string, stopServers: () => Promise<void>) {
  const client = new RpcClient(
    new JsonRpcProtocol(),
    new NatsClientTransport({ servers, subject }),
    { timeout: 5000 },
  );
  return {
    call: () => client.call('add', [1, 2]),
    async stop() {
      await client.close();
      await stopServers();
    },
  };
}

const processes = (count: number): RoundContender => ({
  name: `@tinyrpc/transport-nats, ${String(count)} server process${count === 1 ? '' : 'es'}`,
  async start() {
    const subject = subjectFor('processes');
    const children = await Promise.all(
      Array.from({ length: count }, () => startServerProcess(subject)),
    );
    return addClient(subject, async () => {
      for (const { child } of children) child.kill('SIGTERM');
      await Promise.all(children.map(({ exited }) => exited));
    });
  },
});

const scenario = (
  name: string,
  contenders: readonly RoundContender[],
  concurrency: number,
): Scenario => ({
  name,
  baseline: (contenders[0] as RoundContender).name,
  run: () => interleavedRounds(name, contenders, { concurrency }),
});

const natsUp = await tcpReachable('127.0.0.1', 4222);
if (!natsUp) console.log('\nskipping NATS benchmarks: no NATS server at 127.0.0.1:4222');

export const scenarios: Scenario[] = natsUp
  ? [
      scenario(
        'NATS request/reply add(1, 2), 1 call in flight',
        [raw, tinyrpc(true), tinyrpc(false)],
        1,
      ),
      scenario(
        'NATS request/reply add(1, 2), 256 calls in flight',
        [raw, tinyrpc(true), tinyrpc(false)],
        256,
      ),
      scenario(
        'NATS add(1, 2), 256 in flight, server processes in one queue group',
        [processes(1), processes(2), processes(4)],
        256,
      ),
    ]
  : [];
