// A real peer of another library: json-rpc-2.0's JSONRPCServerAndClient on a `ws` WebSocket, in a
// child process. It calls our server; our server calls it back from a handler and on its own
// (onConnection); killing it fails what is pending both ways. The package is a devDependency, so
// this always runs.
import { afterEach, describe, expect, it } from 'vitest';
import {
  RemoteError,
  RpcDispatcher,
  TransportError,
  type CallContext,
  type RpcPeer,
} from '@tinyrpc/core';
import { cleanup, startNodeChild, startServer, waitUntil } from '../helpers.ts';

const resources = cleanup();
afterEach(() => resources.run());

// The peer: serves `answer`, `event`, `fail` and `hangHere`; calls `add`, `askBack`, then `hang`.
const peerScript = `
import { WebSocket } from 'ws';
import { JSONRPCClient, JSONRPCServer, JSONRPCServerAndClient } from 'json-rpc-2.0';
const ws = new WebSocket(process.argv[1]);
const peer = new JSONRPCServerAndClient(
  new JSONRPCServer({ errorListener: () => {} }), // its 'fail' is meant to fail
  new JSONRPCClient((request) => { ws.send(JSON.stringify(request)); }),
);
peer.addMethod('answer', ([question]) => question + '!');
peer.addMethod('event', (params) => { console.log('EVENT ' + JSON.stringify(params)); });
peer.addMethod('fail', () => { throw new Error('json-rpc-2.0 says no'); });
peer.addMethod('hangHere', () => new Promise(() => {}));
ws.on('message', (data) => { void peer.receiveAndSend(JSON.parse(String(data))); });
ws.on('close', (code) => { peer.rejectAllPendingRequests('closed ' + code); });
ws.on('open', async () => {
  const results = {
    add: await peer.request('add', [2, 3]),
    askBack: await peer.request('askBack', ['from json-rpc-2.0']),
  };
  console.log('RESULT ' + JSON.stringify(results));
  peer.request('hang', []).catch(() => {});
  console.log('HANGING');
});
`;

function lines(child: ReturnType<typeof startNodeChild>): string[] {
  const seen: string[] = [];
  let text = '';
  child.stdout.on('data', (chunk: Buffer) => {
    text += chunk.toString();
    const parts = text.split('\n');
    text = parts.pop() ?? '';
    seen.push(...parts);
  });
  return seen;
}

describe("json-rpc-2.0's JSONRPCServerAndClient as the other end of a WebSocket", () => {
  it('calls our server, is called back from a handler and via onConnection, and loses both ways at once', async () => {
    const signals: AbortSignal[] = [];
    const methods = new RpcDispatcher();
    methods.add('add', (a: number, b: number) => a + b);
    methods.add(
      'askBack',
      async (context: CallContext, question: string) =>
        `it said ${String(await context.peer?.call('answer', [question]))}`,
      { context: true },
    );
    methods.add(
      'hang',
      (context: CallContext) =>
        new Promise((_, reject) => {
          signals.push(context.signal);
          context.signal.addEventListener('abort', () => {
            reject(context.signal.reason as Error);
          });
        }),
      { context: true },
    );
    const { url, server } = await startServer(methods);
    resources.track(server);
    const pushed: Promise<unknown>[] = [];
    let connected: RpcPeer | undefined;
    server.onConnection((peer) => {
      connected = peer;
      const settle = (p: Promise<unknown>): Promise<unknown> => p.catch((e: unknown) => e);
      pushed.push(
        settle(peer.call('answer', ['pushed'])),
        settle(peer.call('fail')),
        settle(peer.call('no_such_method')),
        settle(peer.notify('event', { n: 1 })),
      );
    });

    const child = resources.track(startNodeChild(peerScript, [url]));
    const output = lines(child);
    await waitUntil(() => output.includes('HANGING'), 10_000);
    expect(JSON.parse(output.find((l) => l.startsWith('RESULT '))?.slice(7) ?? 'null')).toEqual({
      add: 5,
      askBack: 'it said from json-rpc-2.0!',
    });
    const [answer, failed, missing, notified] = await Promise.all(pushed);
    expect(answer).toBe('pushed!');
    expect(RemoteError.is(failed)).toBe(true);
    expect((failed as RemoteError).message).toBe('json-rpc-2.0 says no');
    expect(RemoteError.is(missing)).toBe(true);
    expect((missing as RemoteError).code).toBe(-32601);
    expect(notified).toBeUndefined();
    await waitUntil(() => output.includes('EVENT {"n":1}'));

    // Pending both ways: its call to `hang`, our call to its `hangHere`. Killing it ends both.
    await waitUntil(() => signals.length === 1);
    const ours = connected?.call('hangHere').catch((e: unknown) => e);
    await waitUntil(() => connected?.pendingCount === 1);
    const killed = Date.now();
    child.kill('SIGKILL');
    const outcome = await ours;
    expect(Date.now() - killed).toBeLessThan(2000);
    expect(TransportError.is(outcome)).toBe(true);
    expect(signals[0]?.aborted).toBe(true);
    expect(TransportError.is(signals[0]?.reason)).toBe(true);
    await waitUntil(() => server.peers.length === 0);
  });
});
