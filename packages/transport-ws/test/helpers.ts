import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { createServer } from 'node:http';
import { fileURLToPath } from 'node:url';
import type { Duplex, Readable } from 'node:stream';
import { RpcClient, RpcDispatcher, RpcServer, type CallContext } from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { WebSocket } from 'ws';
import {
  WsClientTransport,
  WsServerTransport,
  type WsClientTransportOptions,
  type WsServerTransportOptions,
} from '@tinyrpc/transport-ws';

interface Closable {
  close(): unknown;
}

/** Closes everything registered with `track` (call it in afterEach). */
export function cleanup(): {
  track<T extends Closable>(item: T): T;
  run(): Promise<void>;
} {
  const items: Closable[] = [];
  return {
    track(item) {
      items.push(item);
      return item;
    },
    async run() {
      const all = items.splice(0).reverse();
      for (const item of all) await item.close();
    },
  };
}

/** A dispatcher with the methods the tests call. */
export function testDispatcher(): RpcDispatcher {
  const dispatcher = new RpcDispatcher();
  dispatcher.add('add', (a: number, b: number) => a + b, { params: ['a', 'b'] });
  dispatcher.add('echo', (value: unknown) => value);
  dispatcher.add('repeat', (length: number) => 'x'.repeat(length));
  dispatcher.add('reverse_string', (s: string) => Array.from(s).reverse().join(''));
  dispatcher.add('fail', (message: string) => {
    throw new Error(message);
  });
  // Answers after `ms` milliseconds with `value`, so replies can overtake each other; gives up when
  // the server closes or the caller's connection goes away.
  dispatcher.add(
    'sleep',
    (context: CallContext, ms: number, value: unknown) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          resolve(value);
        }, ms);
        context.signal.addEventListener(
          'abort',
          () => {
            clearTimeout(timer);
            reject(new Error('sleep aborted'));
          },
          { once: true },
        );
      }),
    { context: true },
  );
  // Like sleep, but finishes even while the server closes.
  dispatcher.add(
    'work',
    (ms: number, value: unknown) =>
      new Promise((resolve) => {
        setTimeout(() => {
          resolve(value);
        }, ms);
      }),
  );
  return dispatcher;
}

export interface Started {
  readonly transport: WsServerTransport;
  readonly server: RpcServer;
  readonly url: string;
}

/** Serves `dispatcher` with JSON-RPC on a WsServerTransport at port 0, path /rpc. */
export async function startServer(
  dispatcher: RpcDispatcher = testDispatcher(),
  options: Partial<WsServerTransportOptions> = {},
): Promise<Started> {
  const transport = new WsServerTransport({ port: 0, path: '/rpc', ...options });
  const server = new RpcServer(transport, new JsonRpcProtocol(), dispatcher);
  await server.serve();
  return { transport, server, url: `ws://127.0.0.1:${String(transport.port)}/rpc` };
}

/**
 * Like {@link startServer}, attached to an http.Server of the test's own, so the test can destroy
 * the raw sockets as a crashed server would (no close frame). `server.close()` closes both.
 */
export async function startAttachedServer(
  dispatcher: RpcDispatcher = testDispatcher(),
): Promise<Started & { destroySockets(): void }> {
  const http = createServer();
  const sockets = new Set<Duplex>();
  http.on('upgrade', (_request, socket: Duplex) => {
    sockets.add(socket);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const transport = new WsServerTransport({ server: http, path: '/rpc' });
  const rpc = new RpcServer(transport, new JsonRpcProtocol(), dispatcher);
  await rpc.serve();
  const port = (http.address() as { port: number }).port;
  // The server itself (its private fields need the real instance), with a close that ends both.
  const closeRpc = rpc.close.bind(rpc);
  rpc.close = async () => {
    await closeRpc();
    http.closeAllConnections();
    await new Promise<void>((resolve) =>
      http.close(() => {
        resolve();
      }),
    );
  };
  return {
    transport,
    server: rpc,
    url: `ws://127.0.0.1:${String(port)}/rpc`,
    destroySockets() {
      for (const socket of sockets) socket.destroy();
      sockets.clear();
    },
  };
}

export function newClient(url: string, options: WsClientTransportOptions = {}): RpcClient {
  return new RpcClient(new JsonRpcProtocol(), new WsClientTransport(url, options));
}

/** A raw `ws` client, for sending frames exactly as a test needs them. */
export async function rawClient(
  url: string,
  options: { autoPong?: boolean } = {},
): Promise<RawClient> {
  const ws = new WebSocket(url, { autoPong: options.autoPong ?? true });
  const messages: { data: string | Uint8Array; binary: boolean }[] = [];
  const waiters = new Set<() => void>();
  ws.on('message', (data: Buffer, binary: boolean) => {
    messages.push({ data: binary ? new Uint8Array(data) : data.toString(), binary });
    for (const waiter of waiters) waiter();
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => {
    ws.on('close', (code, reason) => {
      resolve({ code, reason: reason.toString() });
      for (const waiter of waiters) waiter();
    });
  });
  ws.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => {
      resolve();
    });
    ws.once('error', reject);
  });
  return {
    ws,
    messages,
    closed,
    next(count = messages.length + 1, timeoutMs = 5000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          if (messages.length >= count) {
            done();
            resolve(messages.slice(0, count));
          } else if (ws.readyState === WebSocket.CLOSED) {
            done();
            reject(
              new Error(`closed after ${String(messages.length)} of ${String(count)} messages`),
            );
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`only ${String(messages.length)} of ${String(count)} messages`));
        }, timeoutMs);
        const done = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
    close() {
      if (ws.readyState !== WebSocket.CLOSED) ws.terminate();
      return closed.then(() => undefined);
    },
  };
}

export interface RawClient {
  readonly ws: WebSocket;
  readonly messages: { data: string | Uint8Array; binary: boolean }[];
  readonly closed: Promise<{ code: number; reason: string }>;
  /** Resolves with the first `count` messages once that many arrived. */
  next(
    count?: number,
    timeoutMs?: number,
  ): Promise<{ data: string | Uint8Array; binary: boolean }[]>;
  close(): Promise<void>;
}

/** Resolves when `predicate` holds, checking every 10 ms; rejects after `timeoutMs`. */
export async function waitUntil(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/**
 * Runs `script` (an ES module) in a child Node process from the package folder, so it resolves `ws`
 * from its node_modules; `close()` kills it. Its stdout is piped for the test to read.
 */
export function startNodeChild(
  script: string,
  args: readonly string[] = [],
): ChildProcessByStdio<null, Readable, null> & Closable {
  const child = spawn(process.execPath, ['--input-type=module', '-e', script, ...args], {
    cwd: fileURLToPath(new URL('..', import.meta.url)),
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return Object.assign(child, {
    close: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null || child.signalCode !== null) resolve();
        else {
          child.once('exit', () => {
            resolve();
          });
          child.kill('SIGKILL');
        }
      }),
  });
}
