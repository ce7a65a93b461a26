// Cancellation and deadlines over real HTTP: RpcClient's timeout travels as `Tinyrpc-Deadline`, the
// handler's context.deadline and signal follow it, and an aborted fetch (a signal or a timeout)
// closes its request, which aborts the handler's signal. Each server mode: its own port, `handle`
// mounted on a node:http server, and the `fetch` handler (reached through the client's `fetch`).
import { createServer } from 'node:http';
import { afterEach, describe, expect, test } from 'vitest';
import {
  deadlineHeader,
  RpcClient,
  RpcDispatcher,
  RpcServer,
  RpcTimeoutError,
  TransportError,
  type CallContext,
} from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { sleep, waitUntil } from '@tinyrpc/test-helpers';
import { HttpClientTransport, HttpServerTransport } from '../src/index.ts';
import { request } from './support.ts';

/** How late a handler's signal may abort after the moment it should (the machine is busy). */
const bound = 2000;

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** What one call's handler saw. */
interface Seen {
  readonly startedAt: number;
  readonly deadline: number | undefined;
  readonly header: unknown;
  /** When `context.signal` aborted, and why. */
  aborted?: { at: number; reason: unknown };
  /** When the transport's own signal (the request's connection) aborted. */
  gone?: number;
}

function dispatcher(seen: Seen[], ran: { count: number }): RpcDispatcher {
  const look = (context: CallContext): Seen => {
    const entry: Seen = {
      startedAt: Date.now(),
      deadline: context.deadline,
      header: context.transport.headers?.[deadlineHeader.toLowerCase()],
    };
    seen.push(entry);
    return entry;
  };
  return new RpcDispatcher()
    .add('count', () => ++ran.count)
    .add(
      'deadline',
      (context: CallContext) => {
        const entry = look(context);
        return { deadline: entry.deadline ?? null, header: entry.header ?? null };
      },
      { context: true },
    )
    .add(
      'wait',
      // Answers once context.signal aborts; with `linger`, only once the request is gone, so that
      // an answer sent at the deadline cannot beat the client's closing of the request.
      (context: CallContext, linger = false) => {
        const entry = look(context);
        const transportSignal = context.transport.signal as AbortSignal;
        return new Promise((resolve) => {
          const timer = setTimeout(() => {
            resolve('not aborted');
          }, 10_000);
          const end = (): void => {
            clearTimeout(timer);
            resolve('aborted');
          };
          transportSignal.addEventListener(
            'abort',
            () => {
              entry.gone = Date.now();
              if (linger) end();
            },
            { once: true },
          );
          context.signal.addEventListener(
            'abort',
            () => {
              entry.aborted = { at: Date.now(), reason: context.signal.reason };
              if (!linger) end();
            },
            { once: true },
          );
        });
      },
      { context: true },
    );
}

interface Setup {
  readonly url: string;
  readonly fetch?: typeof fetch;
}

async function start(
  transport: HttpServerTransport,
  seen: Seen[],
  ran: { count: number },
): Promise<void> {
  const server = new RpcServer(transport, new JsonRpcProtocol(), dispatcher(seen, ran));
  await server.serve();
  cleanups.push(() => server.close());
}

const setups: Record<string, (seen: Seen[], ran: { count: number }) => Promise<Setup>> = {
  'own port': async (seen, ran) => {
    const transport = new HttpServerTransport({ port: 0 });
    await start(transport, seen, ran);
    return { url: transport.url as string };
  },
  'handle on node:http': async (seen, ran) => {
    const transport = new HttpServerTransport();
    await start(transport, seen, ran);
    const http = createServer(transport.handle);
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    cleanups.push(
      () =>
        new Promise((resolve) => {
          http.closeAllConnections();
          http.close(resolve);
        }),
    );
    return { url: `http://127.0.0.1:${String((http.address() as { port: number }).port)}/rpc` };
  },
  // The Request is the client's: its signal is the one the client aborts, as a runtime's would be.
  'fetch handler': async (seen, ran) => {
    const transport = new HttpServerTransport();
    await start(transport, seen, ran);
    return {
      url: 'http://127.0.0.1/rpc',
      fetch: (input, init) => transport.fetch(new Request(input, init)),
    };
  },
};

describe.each(Object.keys(setups))('%s', (name) => {
  async function setUp() {
    const seen: Seen[] = [];
    const ran = { count: 0 };
    const setup = await (setups[name] as (typeof setups)[string])(seen, ran);
    const transport = new HttpClientTransport(
      setup.url,
      setup.fetch === undefined ? {} : { fetch: setup.fetch },
    );
    const client = new RpcClient(new JsonRpcProtocol(), transport);
    cleanups.push(() => client.close());
    return { seen, ran, transport, client };
  }

  test("RpcClient's timeout travels as Tinyrpc-Deadline and is the handler's context.deadline", async () => {
    const { client } = await setUp();
    const before = Date.now();
    const timed = await client.call<{ deadline: number; header: string }>('deadline', [], {
      timeout: 4000,
    });
    const after = Date.now();
    expect(timed.header).toMatch(/^\d+$/);
    expect(Number(timed.header)).toBeLessThanOrEqual(4000);
    expect(Number(timed.header)).toBeGreaterThan(4000 - bound);
    expect(timed.deadline).toBeGreaterThan(before + 4000 - bound);
    expect(timed.deadline).toBeLessThanOrEqual(after + 4000);
    // No timeout: nothing travels, and the handler has no deadline.
    expect(await client.call('deadline')).toEqual({ deadline: null, header: null });
  });

  test("the handler's signal aborts at the deadline, while the request is still open", async () => {
    const { seen, transport } = await setUp();
    const sentAt = Date.now();
    // No signal: only the deadline can stop the handler; the client waits for its answer.
    const reply = await transport.send(request('wait'), { deadline: sentAt + 300 });
    expect(JSON.parse(String(reply))).toMatchObject({ result: 'aborted' });
    const [entry] = seen;
    expect(entry?.aborted?.reason).toMatchObject({ name: 'TimeoutError' });
    expect(entry?.aborted?.at).toBeGreaterThanOrEqual(sentAt + 290);
    expect(entry?.aborted?.at).toBeLessThan(sentAt + 300 + bound);
    expect(entry?.gone).toBeUndefined();
  });

  test('a call that arrives past its deadline is answered -32800 without running', async () => {
    const { ran, transport, client } = await setUp();
    const late = await transport.send(request('count'), { deadline: Date.now() - 1 });
    expect(JSON.parse(String(late))).toMatchObject({ id: 1, error: { code: -32800 } });
    expect(ran.count).toBe(0);
    expect(await client.call('count', [], { timeout: 5000 })).toBe(1);
  });

  test("an aborted call closes its request: the handler's signal aborts", async () => {
    const { seen, client } = await setUp();
    const controller = new AbortController();
    const call = client.call('wait', [], { signal: controller.signal }).catch((e: unknown) => e);
    await waitUntil(() => seen.length === 1, 5000);
    await sleep(50);
    expect(seen[0]?.aborted).toBeUndefined();
    const abortedAt = Date.now();
    controller.abort(new Error('changed my mind'));
    expect(await call).toMatchObject({ message: 'changed my mind' });
    await waitUntil(() => seen[0]?.aborted !== undefined, bound + 1000);
    const entry = seen[0] as Seen;
    expect(entry.deadline).toBeUndefined();
    // node:http tells of the closed connection; a Request's signal carries its own reason.
    if (name === 'fetch handler')
      expect(entry.aborted?.reason).toMatchObject({ message: 'changed my mind' });
    else expect(entry.aborted?.reason).toMatchObject({ message: 'The HTTP client went away' });
    expect(TransportError.is(entry.aborted?.reason)).toBe(name !== 'fetch handler');
    expect(entry.aborted?.at).toBeLessThan(abortedAt + bound);
  });

  test("a timed-out call closes its request and its deadline passes: the handler's signal aborts", async () => {
    const { seen, client } = await setUp();
    const sentAt = Date.now();
    const error = await client.call('wait', [true], { timeout: 300 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RpcTimeoutError);
    await waitUntil(
      () => seen[0]?.aborted !== undefined && seen[0].gone !== undefined,
      bound + 1000,
    );
    const entry = seen[0] as Seen;
    expect(entry.deadline).toBeDefined();
    // Whichever came first, the deadline or the closed request, it came near the timeout.
    expect(entry.aborted?.at).toBeLessThan(sentAt + 300 + bound);
    expect(entry.gone).toBeLessThan(sentAt + 300 + bound);
  });
});

test('a past deadline sent by hand is answered -32800 by both adapters', async () => {
  const ran = { count: 0 };
  const transport = new HttpServerTransport({ port: 0 });
  await start(transport, [], ran);
  for (const send of [
    (init: RequestInit) => fetch(transport.url as string, init),
    (init: RequestInit) => transport.fetch(new Request('http://127.0.0.1/', init)),
  ]) {
    const response = await send({
      method: 'POST',
      body: request('count'),
      headers: { 'content-type': 'application/json', [deadlineHeader]: '0' },
    });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ error: { code: -32800 } });
  }
  expect(ran.count).toBe(0);
});

test('the call deadline replaces a Tinyrpc-Deadline header set by hand, whatever its case', async () => {
  const sent: Record<string, string>[] = [];
  const transport = new HttpClientTransport('http://127.0.0.1/rpc', {
    headers: { 'TINYRPC-DEADLINE': '99999', authorization: 'Bearer x' },
    fetch: (_input, init) => {
      sent.push(init?.headers as Record<string, string>);
      return Promise.resolve(new Response('{"jsonrpc":"2.0","id":1,"result":0}'));
    },
  });
  const headers = { [deadlineHeader]: '88888', 'x-call': 'yes' };
  await transport.send(request('count'), { headers, deadline: Date.now() + 1000 });
  await transport.send(request('count'), { headers });
  const [timed, untimed] = sent.map((each) => new Headers(each));
  expect(Number(timed?.get(deadlineHeader))).toBeLessThanOrEqual(1000);
  expect(Number(timed?.get(deadlineHeader))).toBeGreaterThan(1000 - bound);
  expect(timed?.get('authorization')).toBe('Bearer x');
  expect(timed?.get('x-call')).toBe('yes');
  // Without a deadline the call's header replaces the transport's, whatever the case of its name.
  expect(untimed?.get(deadlineHeader)).toBe('88888');
});
