// Three server processes in one queue group, 2,000 calls in flight, one server killed with SIGKILL
// mid-load. NATS core delivers at most once: the dead server's unanswered calls are not handed to
// another server, so they must fail by their timeout; every other call is answered exactly once.
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { RpcClient, RpcTimeoutError } from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { NatsClientTransport } from '@tinyrpc/transport-nats';
import { connect, RequestStrategy } from 'nats';
import { sleep, startReadyProcess, type ReadyProcess } from '@tinyrpc/test-helpers';
import { natsAvailable, servers, uniqueSubject } from './nats.ts';

const available = await natsAvailable();
const packageRoot = fileURLToPath(new URL('../..', import.meta.url));
const script = fileURLToPath(new URL('../fixtures/server.ts', import.meta.url));

const children: ReadyProcess[] = [];
const clients: RpcClient[] = [];
afterEach(async () => {
  for (const client of clients.splice(0)) await client.close();
  for (const child of children.splice(0)) await child.kill();
});

async function startServerProcess(subject: string, name: string): Promise<ReadyProcess> {
  const child = await startReadyProcess(
    process.execPath,
    ['--import', 'tsx', '--conditions=@tinyrpc/source', script, servers, subject, name],
    { cwd: packageRoot, ready: /READY \d+/ },
  );
  children.push(child);
  return child;
}

interface Answer {
  readonly id: number;
  readonly pid: number;
}

/** How many requests each of the `instances` live instances of service `name` took, by its STATS. */
async function requestsByInstance(name: string, instances: number): Promise<number[]> {
  const nc = await connect({ servers });
  try {
    const counts: number[] = [];
    for await (const stats of await nc.services
      .client({ strategy: RequestStrategy.Count, maxMessages: instances, maxWait: 2000 })
      .stats(name)) {
      counts.push(stats.endpoints?.[0]?.num_requests ?? -1);
    }
    return counts;
  } finally {
    await nc.close();
  }
}

describe.skipIf(!available)('three server processes in one queue group', () => {
  it('answers every call exactly once or fails it by its timeout when a server is SIGKILLed under load', async () => {
    const subject = uniqueSubject('faults');
    const name = `tinyrpc-faults-${subject.split('.').pop() ?? ''}`;
    const processes = await Promise.all([0, 1, 2].map(() => startServerProcess(subject, name)));
    const victim = processes[0] as ReadyProcess;
    const transport = new NatsClientTransport({ servers, subject });
    const client = new RpcClient(new JsonRpcProtocol(), transport);
    clients.push(client);
    const timeout = 3000;

    // 2,000 calls at once, each 50–600 ms of work, so the kill at 300 ms finds some answered and
    // many running on every server.
    const total = 2000;
    const started = Date.now();
    const calls = Array.from({ length: total }, (_, id) =>
      client.call('work', [id, 50 + ((id * 37) % 551)], { timeout }).then(
        (value) => ({ ok: true as const, answer: value as Answer }),
        (error: unknown) => ({ ok: false as const, error }),
      ),
    );
    await sleep(300);
    await victim.kill();
    const results = await Promise.all(calls);
    const elapsed = Date.now() - started;

    const answers = results.flatMap((r) => (r.ok ? [r.answer] : []));
    const failures = results.flatMap((r) => (r.ok ? [] : [r.error]));
    // None hangs: everything settled by the timeout (and slack for a loaded, shared machine).
    expect(elapsed).toBeLessThan(timeout + 5000);
    expect(answers.length + failures.length).toBe(total);
    // Exactly once: every id answered at most once, and each answer is the right call's.
    expect(new Set(answers.map((a) => a.id)).size).toBe(answers.length);
    expect(answers.every((a) => a.id >= 0 && a.id < total)).toBe(true);
    // Every failure is the call's own timeout, a clear error.
    for (const error of failures) {
      expect(RpcTimeoutError.is(error)).toBe(true);
      expect((error as Error).message).toBe(`Call timed out after ${String(timeout)} ms`);
    }
    // Answers came from more than one server; the victim's calls it had not answered are lost.
    const byPid = new Map<number, number>();
    for (const a of answers) byPid.set(a.pid, (byPid.get(a.pid) ?? 0) + 1);
    expect(byPid.size).toBeGreaterThanOrEqual(2);
    expect(failures.length).toBeGreaterThan(0);
    expect(transport.pendingCount).toBe(0);

    // The survivors are not stuck: 200 more calls, all answered by them at once.
    const after = await Promise.all(
      Array.from({ length: 200 }, (_, i) => client.call('work', [total + i, 1], { timeout })),
    );
    const survivors = new Set(processes.slice(1).map((p) => p.pid));
    expect((after as Answer[]).every((a) => survivors.has(a.pid))).toBe(true);

    // Each survivor took (STATS num_requests) every call it answered, and the calls it took but
    // did not answer in time are among the timeouts: no call ran on two servers.
    const counts = (await requestsByInstance(name, 2)).sort((a, b) => a - b);
    const answered = [...survivors]
      .map((pid) => (byPid.get(pid) ?? 0) + (after as Answer[]).filter((a) => a.pid === pid).length)
      .sort((a, b) => a - b);
    expect(counts).toHaveLength(2);
    const late = counts.reduce((sum, n) => sum + n, 0) - answered.reduce((sum, n) => sum + n, 0);
    expect(late).toBeGreaterThanOrEqual(0);
    expect(late).toBeLessThanOrEqual(failures.length);
    expect(Math.min(...counts)).toBeGreaterThanOrEqual(Math.min(...answered));

    console.log(
      `queue-group faults: ${String(total)} calls, ${String(answers.length)} answered ` +
        `(${[...byPid.entries()].map(([pid, n]) => `${pid === victim.pid ? 'victim' : 'survivor'} ${String(n)}`).join(', ')}), ` +
        `${String(failures.length)} failed by their ${String(timeout)} ms timeout, all settled in ${String(elapsed)} ms; ` +
        `survivors' STATS ${counts.join(' + ')} requests for ${answered.join(' + ')} answers`,
    );
  });
});
