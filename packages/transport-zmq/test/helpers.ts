import { afterEach } from 'vitest';
import {
  RpcClient,
  RpcDispatcher,
  RpcServer,
  type CallContext,
  type RpcClientOptions,
} from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { freePort } from '@tinyrpc/test-helpers';
import type { Dealer, Request, Router } from 'zeromq';
import {
  ZmqClientTransport,
  ZmqReqClientTransport,
  type ZmqReqClientTransportOptions,
  ZmqServerTransport,
  type ZmqClientTransportOptions,
  type ZmqServerTransportOptions,
} from '../src/index.ts';

const cleanups: (() => unknown)[] = [];

/** Runs `fn` after the current test, newest first. */
export function defer(fn: () => unknown): void {
  cleanups.push(fn);
}

afterEach(async () => {
  for (let fn = cleanups.pop(); fn !== undefined; fn = cleanups.pop()) await fn();
});

/** A dispatcher with the methods the tests call. */
export function testDispatcher(): RpcDispatcher {
  return (
    new RpcDispatcher()
      .add('add', (a: number, b: number) => a + b)
      .add('echo', (value: unknown) => value)
      // Ends early, with its value, when the server closes.
      .add(
        'sleep',
        (context: CallContext, ms: number, value: unknown) =>
          new Promise((resolve) => {
            const timer = setTimeout(() => {
              resolve(value);
            }, ms);
            context.signal.addEventListener('abort', () => {
              clearTimeout(timer);
              resolve(value);
            });
          }),
        { context: true },
      )
      .add('fail', () => {
        throw new Error('it failed');
      })
  );
}

/** An RpcServer on a ZmqServerTransport bound to a free port; closed after the test. */
export async function startServer(
  dispatcher: RpcDispatcher = testDispatcher(),
  options: Partial<ZmqServerTransportOptions> = {},
): Promise<{ server: RpcServer; transport: ZmqServerTransport; endpoint: string }> {
  const transport = new ZmqServerTransport({ endpoint: 'tcp://127.0.0.1:0', ...options });
  const server = new RpcServer(transport, new JsonRpcProtocol(), dispatcher);
  await server.serve();
  defer(() => server.close());
  return { server, transport, endpoint: transport.endpoint as string };
}

/**
 * An RpcServer bound again to `endpoint` after the server there closed; closed after the test.
 * ZeroMQ releases a closed socket's port in its I/O thread a moment after `close()`, so it binds
 * again until the port is free, for up to about two seconds, as a restarted server would.
 */
export async function restartServerOn(endpoint: string): Promise<RpcServer> {
  for (let attempt = 0; ; attempt++) {
    const server = new RpcServer(
      new ZmqServerTransport({ endpoint }),
      new JsonRpcProtocol(),
      testDispatcher(),
    );
    try {
      await server.serve();
      defer(() => server.close());
      return server;
    } catch (error) {
      if (attempt >= 40 || !/EADDRINUSE/.test(String(error))) throw error;
      await delay(50);
    }
  }
}

/**
 * An RpcClient on a ZmqClientTransport (DEALER), or on a ZmqReqClientTransport for `mode: 'req'`
 * (a shorthand of these tests: the transports have no such option); closed after the test.
 */
export function connect(
  endpoint: string,
  options: ZmqClientTransportOptions &
    ZmqReqClientTransportOptions & { mode?: 'req' | 'dealer' } = {},
  clientOptions: RpcClientOptions = {},
): { client: RpcClient; transport: ZmqClientTransport | ZmqReqClientTransport } {
  const { mode, ...rest } = options;
  const transport =
    mode === 'req'
      ? new ZmqReqClientTransport(endpoint, rest)
      : new ZmqClientTransport(endpoint, rest);
  const client = new RpcClient(new JsonRpcProtocol(), transport, clientOptions);
  defer(() => client.close());
  return { client, transport };
}

/** A zeromq socket closed (without lingering) after the test. */
export function owned<S extends Dealer | Request | Router>(socket: S): S {
  defer(() => {
    if (socket.closed) return;
    socket.linger = 0;
    socket.close();
  });
  return socket;
}

/** The next message on `socket` as strings, or `undefined` when none comes within `ms`. */
export async function receiveWithin(
  socket: Dealer | Request | Router,
  ms: number,
): Promise<string[] | undefined> {
  socket.receiveTimeout = ms;
  try {
    return (await socket.receive()).map((frame) => frame.toString());
  } catch (error) {
    if ((error as { code?: string }).code === 'EAGAIN') return undefined;
    throw error;
  } finally {
    if (!socket.closed) socket.receiveTimeout = -1;
  }
}

/** A TCP endpoint on 127.0.0.1 that nobody binds (a port that was free a moment ago). */
export async function unboundEndpoint(): Promise<string> {
  return `tcp://127.0.0.1:${String(await freePort())}`;
}

export const delay = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

/** JSON-RPC request text. */
export const request = (method: string, params: unknown[], id?: number): string =>
  JSON.stringify(
    id === undefined ? { jsonrpc: '2.0', method, params } : { jsonrpc: '2.0', method, params, id },
  );
