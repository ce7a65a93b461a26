import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { RpcDispatcher, RpcError, RpcServer, type CallContext } from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { HttpServerTransport, type HttpServerTransportOptions } from '../src/index.ts';

/** What the test methods saw of their callers. */
export interface Seen {
  contexts: CallContext[];
  notes: string[];
  aborted: unknown[];
}

/** A dispatcher with the methods the tests call. */
export function testDispatcher(
  seen: Seen = { contexts: [], notes: [], aborted: [] },
): RpcDispatcher {
  return (
    new RpcDispatcher()
      // Code points, as Python's s[::-1] reverses them.
      // eslint-disable-next-line @typescript-eslint/no-misused-spread
      .add('reverse_string', (s: string) => [...s].reverse().join(''))
      .add('add', (a: number, b: number) => a + b, { params: ['a', 'b'] })
      .add('fail', () => {
        throw new RpcError('Out of stock', { code: 4001, data: { sku: 'x' } });
      })
      .add('count', async function* (to: number) {
        for (let i = 1; i <= to; i++) {
          await Promise.resolve();
          yield i;
        }
      })
      .add('note', (text: string) => {
        seen.notes.push(text);
      })
      .add(
        'sleep',
        (ms: number) =>
          new Promise((resolve) =>
            setTimeout(() => {
              resolve(ms);
            }, ms),
          ),
      )
      .add(
        'whoami',
        (context: CallContext) => {
          seen.contexts.push(context);
          return {
            transport: context.transport.transport,
            remoteAddress: context.transport.remoteAddress,
            header: (context.transport.headers as Record<string, string>)['x-test'],
          };
        },
        { context: true },
      )
      .add(
        'wait_for_abort',
        (context: CallContext) =>
          new Promise((resolve) => {
            const signal = context.transport.signal as AbortSignal;
            const timer = setTimeout(() => {
              resolve('not aborted');
            }, 5000);
            signal.addEventListener('abort', () => {
              clearTimeout(timer);
              seen.aborted.push(signal.reason);
              resolve('aborted');
            });
          }),
        { context: true },
      )
  );
}

/** A standalone HTTP JSON-RPC server on an ephemeral port. */
export async function startServer(
  options: HttpServerTransportOptions = {},
  seen?: Seen,
): Promise<{ transport: HttpServerTransport; server: RpcServer; url: string }> {
  const transport = new HttpServerTransport({ port: 0, ...options });
  const server = new RpcServer(transport, new JsonRpcProtocol(), testDispatcher(seen));
  await server.serve();
  return { transport, server, url: transport.url as string };
}

/** A JSON-RPC request text. */
export const request = (method: string, params: unknown[] = [], id: number | null = 1): string =>
  JSON.stringify(
    id === null ? { jsonrpc: '2.0', method, params } : { jsonrpc: '2.0', method, params, id },
  );

/** Sends raw bytes on a fresh TCP connection and resolves with everything received until it closes. */
export function rawExchange(port: number, data: string, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(text);
    }, timeoutMs);
    socket.on('data', (chunk) => (text += chunk.toString('latin1')));
    socket.on('error', reject);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(text);
    });
    socket.write(data);
  });
}

/**
 * A Fetch API handler served on a real `node:http` server, as runtimes' adapters serve one: the
 * request body is read, the response body is written chunk by chunk and waits for `drain`, and a
 * client that goes away cancels the response body and aborts the `Request`'s signal.
 */
export function fetchHandlerServer(handler: (request: Request) => Promise<Response>): Server {
  return createServer((incoming, outgoing) => {
    const gone = new AbortController();
    outgoing.on('close', () => {
      if (!outgoing.writableFinished) gone.abort(new Error('The client went away'));
    });
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      const headers = new Headers();
      for (let i = 0; i < incoming.rawHeaders.length; i += 2)
        headers.append(incoming.rawHeaders[i] as string, incoming.rawHeaders[i + 1] as string);
      const request = new Request(`http://127.0.0.1${incoming.url ?? '/'}`, {
        method: incoming.method ?? 'GET',
        headers,
        body: incoming.method === 'GET' ? null : Buffer.concat(chunks),
        signal: gone.signal,
      });
      handler(request)
        .then(async (response) => {
          const list: string[] = [];
          response.headers.forEach((value, name) => list.push(name, value));
          outgoing.writeHead(response.status, list);
          if (response.body === null) {
            outgoing.end();
            return;
          }
          const reader = response.body.getReader();
          gone.signal.addEventListener('abort', () => {
            reader.cancel(gone.signal.reason).catch(() => undefined);
          });
          for (;;) {
            const { done, value } = await reader.read();
            if (done) break;
            if (!outgoing.write(value))
              await new Promise((resolve) => {
                outgoing.once('drain', resolve);
                outgoing.once('close', resolve);
              });
          }
          outgoing.end();
        })
        // The body errored (the server cut it): break off the response, as runtimes do.
        .catch(() => outgoing.destroy());
    });
  });
}
