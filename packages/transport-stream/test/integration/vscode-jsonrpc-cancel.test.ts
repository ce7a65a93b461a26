// Cancellation between vscode-jsonrpc and us, both ways: its CancellationTokenSource aborts our
// handler's signal ($/cancelRequest over TCP), and our abort or timeout fires its handler's
// CancellationToken (a child process over stdio). Content-Length framing, as LSP frames messages.
// The latencies are logged, not asserted: they depend on the machine.
import { spawn } from 'node:child_process';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, type TestContext } from 'vitest';
import rpc from 'vscode-jsonrpc/node.js';
import {
  RequestCancelledError,
  RpcClient,
  RpcDispatcher,
  RpcPeer,
  RpcServer,
  type CallContext,
} from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { StreamClientTransport, StreamServerTransport } from '@tinyrpc/transport-stream';

const protocol = new JsonRpcProtocol();
const fixture = fileURLToPath(new URL('../fixtures/vscode-jsonrpc-peer.mjs', import.meta.url));
const calls = 100;
const bound = 2_000; // ms a cancellation may take to arrive before the test fails

/** A promise with its resolve, keyed by call tag. */
function deferreds<T>() {
  const map = new Map<number | string, { promise: Promise<T>; resolve: (value: T) => void }>();
  return (tag: number | string) => {
    let entry = map.get(tag);
    if (!entry) {
      let resolve!: (value: T) => void;
      const promise = new Promise<T>((r) => (resolve = r));
      entry = { promise, resolve };
      map.set(tag, entry);
    }
    return entry;
  };
}

/** `promise`, or a rejection naming `what` after {@link bound} ms. */
function within<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`${what} took more than ${String(bound)} ms`));
    }, bound);
  });
  return Promise.race([promise, late]).finally(() => {
    clearTimeout(timer);
  });
}

function report(label: string, samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)] ?? NaN;
  const worst = sorted.at(-1) ?? NaN;
  console.log(
    `${label}: n=${String(sorted.length)} median=${median.toFixed(3)} ms worst=${worst.toFixed(3)} ms`,
  );
}

describe('a vscode-jsonrpc client cancels its call to our RpcServer over TCP', () => {
  it("its CancellationTokenSource aborts our handler's signal; its call rejects with -32800", async (test: TestContext) => {
    const started = deferreds<undefined>();
    const aborted = deferreds<{ at: number; reason: unknown }>();
    const methods = new RpcDispatcher().add(
      'hang',
      (context: CallContext, tag: number) =>
        new Promise((_, reject) => {
          context.signal.addEventListener(
            'abort',
            () => {
              aborted(tag).resolve({ at: performance.now(), reason: context.signal.reason });
              reject(context.signal.reason as Error);
            },
            { once: true },
          );
          started(tag).resolve(undefined);
        }),
      { context: true },
    );
    const transport = new StreamServerTransport({ port: 0, framing: 'content-length' });
    const server = new RpcServer(transport, protocol, methods);
    await server.serve();
    test.onTestFinished(() => server.close());
    const socket = await new Promise<Socket>((resolve, reject) => {
      const s = connect({ port: (transport.address as AddressInfo).port, host: '127.0.0.1' });
      s.once('connect', () => {
        resolve(s);
      });
      s.once('error', reject);
    });
    // vscode-jsonrpc writes a message's header and body separately: with Nagle on, each call waits
    // ~40 ms for the server's delayed ACK (measured: 43 ms median to reach our handler, 0.3 ms
    // without). Our own sockets set this too.
    socket.setNoDelay(true);
    const connection = rpc.createMessageConnection(
      new rpc.StreamMessageReader(socket),
      new rpc.StreamMessageWriter(socket),
    );
    test.onTestFinished(() => {
      connection.dispose();
      socket.destroy();
    });
    connection.listen();

    const latencies: number[] = [];
    for (let tag = 0; tag < calls; tag++) {
      const source = new rpc.CancellationTokenSource();
      const call = connection.sendRequest('hang', tag, source.token).then(
        (value: unknown) => ({ value }),
        (error: unknown) => ({ error }),
      );
      await within(started(tag).promise, `call ${String(tag)} reaching our handler`);
      const cancelledAt = performance.now();
      source.cancel();
      const { at, reason } = await within(aborted(tag).promise, `our signal ${String(tag)}`);
      latencies.push(at - cancelledAt);
      expect(RequestCancelledError.is(reason)).toBe(true);
      // vscode-jsonrpc keeps a cancelled call pending until it is answered; ours answers -32800,
      // which reaches it as a ResponseError (LSP's RequestCancelled).
      const settled = await within(call, `its call ${String(tag)} settling`);
      expect(settled).toHaveProperty('error');
      const error = (settled as { error: rpc.ResponseError<unknown> }).error;
      expect(error).toBeInstanceOf(rpc.ResponseError);
      expect(error.code).toBe(-32800);
      source.dispose();
    }
    report('vscode-jsonrpc cancel -> our context.signal aborts', latencies);
    expect(server.peers[0]?.pendingCount ?? 0).toBe(0);
  });
});

describe('we cancel our call to a vscode-jsonrpc server in a child process over stdio', () => {
  function startChild(test: TestContext) {
    const child = spawn(process.execPath, [fixture], {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    test.onTestFinished(() => {
      child.kill();
    });
    return {
      child,
      transport: () =>
        new StreamClientTransport({
          stream: { readable: child.stdout, writable: child.stdin },
          framing: 'content-length',
        }),
    };
  }

  /** An RpcPeer on the child that hears its 'waiting' and 'cancelSeen' notifications. */
  function peerOnChild(test: TestContext) {
    const { transport } = startChild(test);
    const waiting = deferreds<undefined>();
    const seen = deferreds<{ at: number; cancelled: boolean; heardAt: number }>();
    const methods = new RpcDispatcher()
      .add('waiting', (tag: number | string) => {
        waiting(tag).resolve(undefined);
      })
      .add('cancelSeen', (tag: number | string, at: number, cancelled: boolean) => {
        seen(tag).resolve({ at, cancelled, heardAt: performance.now() });
      });
    const peer = new RpcPeer(transport(), protocol, { dispatcher: methods, timeout: 10_000 });
    test.onTestFinished(() => peer.close());
    return { peer, waiting, seen };
  }

  it("our AbortController fires its handler's CancellationToken", async (test) => {
    const { peer, waiting, seen } = peerOnChild(test);
    const oneWay: number[] = [];
    const roundTrip: number[] = [];
    for (let tag = 0; tag < calls; tag++) {
      const controller = new AbortController();
      const call = peer.call('waitCancel', [tag], { signal: controller.signal });
      const outcome = call.then(
        () => 'resolved',
        (error: unknown) => error,
      );
      await within(waiting(tag).promise, `call ${String(tag)} reaching its handler`);
      const abortedAt = performance.now();
      const abortedAtWall = performance.timeOrigin + abortedAt;
      controller.abort(new Error('user gave up'));
      expect(await outcome).toEqual(new Error('user gave up'));
      const { at, cancelled, heardAt } = await within(
        seen(tag).promise,
        `its token ${String(tag)}`,
      );
      expect(cancelled).toBe(true);
      // Both processes' clocks: performance.timeOrigin + now() on one machine.
      oneWay.push(at - abortedAtWall);
      roundTrip.push(heardAt - abortedAt);
    }
    report('our abort -> vscode-jsonrpc token fires (one way, two clocks)', oneWay);
    report('our abort -> its cancelSeen notification back (round trip)', roundTrip);
    // Its late answers to the cancelled calls are dropped: nothing is left pending.
    await expect(peer.call('wasCancelled', [calls - 1])).resolves.toBe(true);
    expect(peer.pendingCount).toBe(0);
  });

  it("our timeout fires its handler's CancellationToken", async (test) => {
    const { peer, waiting, seen } = peerOnChild(test);
    // The child is up first, so the timeout cannot pass before its handler runs.
    await expect(peer.call('wasCancelled', ['timeout'])).resolves.toBe(false);
    const call = peer.call('waitCancel', ['timeout'], { timeout: 200 });
    await within(waiting('timeout').promise, 'the call reaching its handler');
    await expect(call).rejects.toThrow(/timed out/);
    const { cancelled } = await within(seen('timeout').promise, 'its token');
    expect(cancelled).toBe(true);
  });

  it('an RpcClient on the stream transport cancels too (its cancelRequests hint is true)', async (test) => {
    const { transport } = startChild(test);
    const client = new RpcClient(protocol, transport(), { timeout: 10_000 });
    test.onTestFinished(() => client.close());
    // No dispatcher: the child's notifications are not for us, so ask it afterwards.
    await expect(client.call('wasCancelled', ['client'])).resolves.toBe(false);
    await expect(client.call('waitCancel', ['client'], { timeout: 300 })).rejects.toThrow(
      /timed out/,
    );
    await expect
      .poll(() => client.call('wasCancelled', ['client']), { timeout: bound, interval: 20 })
      .toBe(true);
  });
});
