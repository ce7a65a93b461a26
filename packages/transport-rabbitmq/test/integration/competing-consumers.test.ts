import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { RpcClient } from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { RabbitMqClientTransport } from '@tinyrpc/transport-rabbitmq';
import { brokerAvailable, deleteQueues, uniqueQueue, url, waitUntil } from './broker.ts';

const available = await brokerAvailable();
const packageRoot = fileURLToPath(new URL('../..', import.meta.url));
const script = fileURLToPath(new URL('../fixtures/server.ts', import.meta.url));

interface ServerProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  readonly exited: Promise<void>;
}

const children: ServerProcess[] = [];
const clients: RpcClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
  for (const { child, exited } of children.splice(0)) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  }
});
afterAll(deleteQueues);

// Starts the fixture server in its own Node process and waits until it consumes.
async function startServerProcess(
  queue: string,
  prefetch: number,
  confirm = false,
): Promise<ServerProcess> {
  const args = [script, url, queue, String(prefetch), ...(confirm ? ['confirm'] : [])];
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=@tinyrpc/source', ...args],
    { cwd: packageRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      resolve();
    }),
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const entry: ServerProcess = { child, pid: child.pid ?? -1, exited };
  children.push(entry);
  await waitUntil(() => {
    if (child.exitCode !== null) throw new Error(`server process exited:\n${output}`);
    return /READY \d+/.test(output);
  }, 15_000);
  return entry;
}

interface Answer {
  readonly id: number;
  readonly pid: number;
  readonly redelivered: boolean;
}

describe.skipIf(!available)('competing server processes', () => {
  it.each([
    ['replies published, then acknowledged', false],
    ['replies confirmed, then acknowledged', true],
  ])(
    'answers every call exactly once when a server is killed under load (%s)',
    async (_, confirm) => {
      const queue = uniqueQueue('kill');
      const [victim, survivor] = await Promise.all([
        startServerProcess(queue, 8, confirm),
        startServerProcess(queue, 8, confirm),
      ]);
      const transport = new RabbitMqClientTransport({
        url,
        routingKey: queue,
        defaultTimeout: 15_000,
      });
      const client = new RpcClient(new JsonRpcProtocol(), transport);
      clients.push(client);
      // 600 calls of 20 ms over 2 × 8 slots: about 0.75 s of work, so the kill lands early in it even
      // when this machine is busy.
      const total = 600;
      const answers = new Map<number, Answer[]>();
      let answered = 0;
      const calls = Array.from({ length: total }, (_, id) =>
        client.call<Answer>('work', [id, 20]).then((answer) => {
          answers.set(id, [...(answers.get(id) ?? []), answer]);
          answered++;
          // Kill one server while both hold a full window of unacknowledged calls.
          if (answered === 40) {
            victim.child.kill('SIGKILL');
          }
        }),
      );
      const outcomes = await Promise.allSettled(calls);
      await victim.exited;
      expect(victim.child.signalCode).toBe('SIGKILL');

      expect(outcomes.filter((o) => o.status === 'rejected')).toEqual([]);
      expect(answers.size).toBe(total);
      for (let id = 0; id < total; id++) {
        const list = answers.get(id) ?? [];
        expect(list).toHaveLength(1);
        expect(list[0]?.id).toBe(id);
      }
      const all = [...answers.values()].flat();
      const byVictim = all.filter((a) => a.pid === victim.pid).length;
      const bySurvivor = all.filter((a) => a.pid === survivor.pid).length;
      expect(byVictim).toBeGreaterThan(0);
      expect(byVictim + bySurvivor).toBe(total);
      const redelivered = all.filter((a) => a.redelivered);
      for (const answer of redelivered) expect(answer.pid).toBe(survivor.pid);
      // The calls the victim held unacknowledged went to the survivor. When the victim had already
      // published a call's reply, the client took that one and dropped the survivor's second answer.
      const stats = await client.call<{ pid: number; redeliveries: number }>('stats');
      expect(stats.pid).toBe(survivor.pid);
      expect(stats.redeliveries).toBeGreaterThan(0);
      expect(stats.redeliveries).toBeLessThanOrEqual(8);
    },
  );

  it('drains its calls and exits cleanly on SIGTERM', async () => {
    const queue = uniqueQueue('term');
    const server = await startServerProcess(queue, 8);
    const client = new RpcClient(
      new JsonRpcProtocol(),
      new RabbitMqClientTransport({ url, routingKey: queue, defaultTimeout: 10_000 }),
    );
    clients.push(client);
    const calls = Array.from({ length: 8 }, (_, id) => client.call<Answer>('work', [id, 200]));
    await new Promise((resolve) => setTimeout(resolve, 100));
    server.child.kill('SIGTERM');
    const answers = await Promise.all(calls);
    await server.exited;
    expect(answers.map((a) => a.id)).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(answers.every((a) => a.pid === server.pid && !a.redelivered)).toBe(true);
    expect(server.child.exitCode).toBe(0);
  });
});
