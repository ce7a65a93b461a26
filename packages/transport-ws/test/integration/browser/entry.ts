// The page's script in the browser test, bundled by esbuild for the browser: it imports the packages
// by name, so the `browser` export condition decides which client it gets.
import { RpcClient, RpcDispatcher, RpcPeer, TransportError } from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { WsClientTransport } from '@tinyrpc/transport-ws';

interface Outcome {
  readonly ok: boolean;
  readonly value?: unknown;
  readonly name?: string;
  readonly code?: number;
  readonly message?: string;
  readonly isTransportError?: boolean;
}

const settle = (promise: Promise<unknown>): Promise<Outcome> =>
  promise.then(
    (value) => ({ ok: true, value }),
    (error: unknown) => {
      const e = error as { name?: string; code?: number; message?: string };
      return {
        ok: false,
        name: e.name,
        code: e.code,
        message: e.message,
        isTransportError: TransportError.is(error),
      };
    },
  );

let client: RpcClient | undefined;
let hanging: Promise<Outcome> | undefined;

async function runCalls(url: string): Promise<Record<string, unknown>> {
  const types: string[] = [];
  const rpc = new RpcClient(new JsonRpcProtocol(), new WsClientTransport(url), {
    trace: (direction, _context, message) => {
      if (direction === '<--') types.push(typeof message);
    },
  });
  client = rpc;
  const remote = rpc.getProxy<{ reverse_string(s: string): string }>();
  return {
    platformWebSocket: typeof WebSocket,
    add: await rpc.call('add', [1, 2]),
    named: await rpc.call('add', { a: 40, b: 2 }),
    reversed: await remote.reverse_string('Hello, World!'),
    error: await settle(rpc.call('fail', ['broken in the browser'])),
    missing: await settle(rpc.call('no_such_method')),
    batch: await rpc.batch([
      { method: 'add', params: [1, 1] },
      { method: 'add', params: [2, 2], oneWay: true },
      { method: 'reverse_string', params: ['abc'] },
    ]),
    concurrent: await Promise.all(
      Array.from({ length: 50 }, (_, i) => rpc.call<number>('sleep', [50 - i, i])),
    ),
    replyTypes: [...new Set(types)],
  };
}

function startHanging(): void {
  hanging = settle(client?.call('sleep', [60_000, 'never']) ?? Promise.resolve());
}

async function hangingOutcome(): Promise<Outcome | undefined> {
  return hanging;
}

async function afterLoss(): Promise<Outcome> {
  // Without reconnect, the next call opens a new connection.
  return settle(client?.call('add', [5, 5]) ?? Promise.resolve());
}

// The page serves methods that the Node server calls, over the connection it opened.
const pageEvents: unknown[] = [];

async function servePage(url: string): Promise<Outcome> {
  const methods = new RpcDispatcher();
  methods.add('pageAnswer', (question: string) => `the page says ${question}`);
  methods.add('pageEvent', (value: unknown) => {
    pageEvents.push(value);
  });
  methods.add('pageUserAgent', () => navigator.userAgent);
  const transport = new WsClientTransport(url);
  const peer = new RpcPeer(transport, new JsonRpcProtocol(), { dispatcher: methods });
  await transport.connect();
  // The server's handler calls the page back while this call waits.
  return settle(peer.call('askPage', ['hello']));
}

function servedEvents(): unknown[] {
  return pageEvents;
}

// Iterates streams from the Node server: one to its end, one left with break, one that fails.
async function streamItems(url: string): Promise<Record<string, unknown>> {
  const rpc = new RpcClient(new JsonRpcProtocol(), new WsClientTransport(url));
  const all: number[] = [];
  for await (const item of rpc.stream<number>('countTo', [200], { highWaterMark: 8 }))
    all.push(item);
  const untilBreak: number[] = [];
  for await (const item of rpc.stream<number>('countTo', [1_000_000], { highWaterMark: 4 })) {
    untilBreak.push(item);
    if (item === 5) break;
  }
  const beforeError: number[] = [];
  const failure = await settle(
    (async () => {
      for await (const item of rpc.stream<number>('failAfter', [3])) beforeError.push(item);
    })(),
  );
  const after = await rpc.call('add', [2, 3]);
  await rpc.close();
  return { all, untilBreak, beforeError, failure, after };
}

Object.assign(globalThis, {
  runCalls,
  startHanging,
  hangingOutcome,
  afterLoss,
  servePage,
  servedEvents,
  streamItems,
});
