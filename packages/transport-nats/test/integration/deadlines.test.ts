// Deadlines over the real NATS server at 127.0.0.1:4222: RpcClient's timeout reaches the handler as
// context.deadline, its signal aborts then (NATS has no connection per call to close, so the
// deadline is what stops it), and the server reads the header exactly as core's deadlineOf does.
import { afterEach, describe, expect, it } from 'vitest';
import {
  deadlineHeader,
  RpcClient,
  RpcDispatcher,
  RpcServer,
  RpcTimeoutError,
  type CallContext,
} from '@tinyrpc/core';
import { deadlineOf } from '@tinyrpc/core/transport';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import {
  deadlineHeader as natsDeadlineHeader,
  NatsClientTransport,
  NatsServerTransport,
  type NatsTransportContext,
} from '@tinyrpc/transport-nats';
import { connect, headers } from 'nats';
import { waitUntil } from '@tinyrpc/test-helpers';
import { natsAvailable, servers, uniqueSubject } from './nats.ts';

const available = await natsAvailable();

/** How late a handler's signal may abort after the moment it should (the machine is busy). */
const bound = 2000;

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step().catch(() => undefined);
});

interface Seen {
  readonly context: NatsTransportContext;
  readonly deadline: number | undefined;
  aborted?: { at: number; reason: unknown };
}

async function serve(subject: string, seen: Seen[]): Promise<void> {
  const dispatcher = new RpcDispatcher()
    .add(
      'look',
      (context: CallContext) => {
        seen.push({
          context: context.transport as NatsTransportContext,
          deadline: context.deadline,
        });
        return 'seen';
      },
      { context: true },
    )
    .add(
      'wait',
      (context: CallContext) => {
        const entry: Seen = {
          context: context.transport as NatsTransportContext,
          deadline: context.deadline,
        };
        seen.push(entry);
        return new Promise((resolve) => {
          const timer = setTimeout(() => {
            resolve('not aborted');
          }, 10_000);
          context.signal.addEventListener(
            'abort',
            () => {
              entry.aborted = { at: Date.now(), reason: context.signal.reason };
              clearTimeout(timer);
              resolve('aborted');
            },
            { once: true },
          );
        });
      },
      { context: true },
    );
  const server = new RpcServer(
    new NatsServerTransport({ servers, subject }),
    new JsonRpcProtocol(),
    dispatcher,
  );
  await server.serve();
  cleanup.push(() => server.close());
}

describe.skipIf(!available)('NATS deadlines', () => {
  it("the handler's signal aborts at the deadline of RpcClient's timeout", async () => {
    const subject = uniqueSubject('deadline-abort');
    const seen: Seen[] = [];
    await serve(subject, seen);
    const client = new RpcClient(
      new JsonRpcProtocol(),
      new NatsClientTransport({ servers, subject }),
    );
    cleanup.push(() => client.close());
    const sentAt = Date.now();
    const error = await client.call('wait', [], { timeout: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RpcTimeoutError);
    await waitUntil(() => seen[0]?.aborted !== undefined, bound + 1000);
    const entry = seen[0] as Seen;
    expect(entry.deadline).toBeGreaterThan(sentAt);
    expect(entry.deadline).toBeLessThanOrEqual(sentAt + 300 + bound);
    // The context's deadline is core's: the handler's CallContext has the same value.
    expect(entry.context.deadline).toBe(entry.deadline);
    expect(entry.aborted?.reason).toMatchObject({ name: 'TimeoutError' });
    expect(entry.aborted?.at).toBeGreaterThanOrEqual(sentAt + 250);
    expect(entry.aborted?.at).toBeLessThan(sentAt + 300 + bound);
  });

  it('reads Tinyrpc-Deadline as deadlineOf does: whole ms, either spelling; anything else is no deadline', async () => {
    const subject = uniqueSubject('deadline-parse');
    const seen: Seen[] = [];
    await serve(subject, seen);
    const nc = await connect({ servers });
    cleanup.push(() => nc.close());
    const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'look', params: [] });
    const cases: [string, string][] = [
      [deadlineHeader, '3000'],
      ['tinyrpc-deadline', '3000'],
      [deadlineHeader, '-5'],
      [deadlineHeader, '1.5'],
      [deadlineHeader, '1e4'],
      [deadlineHeader, '3000ms'],
      [deadlineHeader, 'soon'],
    ];
    for (const [name, value] of cases) {
      const h = headers();
      h.set(name, value);
      const before = Date.now();
      const reply = await nc.request(subject, body, { headers: h, timeout: 5000 });
      expect(reply.string()).toContain('"result":"seen"');
      const entry = seen.at(-1) as Seen;
      const expected = deadlineOf({ transport: 'nats', headers: { [name]: value } }, before);
      if (expected === undefined) {
        expect({ name, value, deadline: entry.deadline }).toEqual({
          name,
          value,
          deadline: undefined,
        });
      } else {
        expect(entry.deadline).toBeGreaterThanOrEqual(expected);
        expect(entry.deadline).toBeLessThanOrEqual(Date.now() + 3000);
      }
      expect(entry.context.deadline).toBe(entry.deadline);
    }
    // Only the two whole-ms values made deadlines.
    expect(seen.filter((entry) => entry.deadline !== undefined)).toHaveLength(2);
  });

  it("its deadlineHeader is core's", () => {
    // eslint-disable-next-line @typescript-eslint/no-deprecated -- the old export still works
    expect(natsDeadlineHeader).toBe(deadlineHeader);
  });
});
