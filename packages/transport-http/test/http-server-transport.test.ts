import { createServer as createNetServer, connect, type Socket } from 'node:net';
import * as fc from 'fast-check';
import { afterEach, describe, expect, test } from 'vitest';
import {
  defaultLimits,
  isServerTransport,
  RemoteError,
  RpcClient,
  RpcServer,
  TransportError,
  type MessageHandler,
} from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { HttpClientTransport, HttpServerTransport } from '../src/index.ts';
import { rawExchange, request, startServer, type Seen } from './support.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serve(...args: Parameters<typeof startServer>) {
  const started = await startServer(...args);
  cleanups.push(() => started.server.close());
  return started;
}

function post(url: string, body: BodyInit, contentType = 'application/json'): Promise<Response> {
  return fetch(url, { method: 'POST', body, headers: { 'content-type': contentType } });
}

describe('standalone server', () => {
  test('answers a call from RpcClient over HttpClientTransport', async () => {
    const { url, transport } = await serve();
    expect(isServerTransport(transport)).toBe(true);
    expect(transport.port).toBeGreaterThan(0);
    expect(url).toBe(`http://127.0.0.1:${String(transport.port)}/`);
    const client = new RpcClient(new JsonRpcProtocol(), new HttpClientTransport(url));
    const remote = client.getProxy<{ reverse_string(s: string): string }>();
    expect(await remote.reverse_string('Hello, World!')).toBe('!dlroW ,olleH');
    expect(await client.call('add', { a: 2, b: 3 })).toBe(5);
    await expect(client.call('fail')).rejects.toMatchObject({
      name: 'RemoteError',
      code: 4001,
      message: 'Out of stock',
      data: { sku: 'x' },
    });
    await client.close();
  });

  test('answers 200 application/json with the reply', async () => {
    const { url } = await serve();
    const response = await post(url, request('add', [1, 2]));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(response.headers.get('content-length')).toBe('35');
    expect(response.headers.get('transfer-encoding')).toBeNull();
    expect(await response.json()).toEqual({ jsonrpc: '2.0', id: 1, result: 3 });
  });

  test('answers 204 with no body to a notification, and runs it', async () => {
    const seen: Seen = { contexts: [], notes: [], aborted: [] };
    const { url } = await serve({}, seen);
    const response = await post(url, request('note', ['hi'], null));
    expect(response.status).toBe(204);
    expect(await response.text()).toBe('');
    expect(seen.notes).toEqual(['hi']);
  });

  test('answers other methods 405 with Allow: POST', async () => {
    const { url } = await serve();
    for (const method of ['GET', 'PUT', 'DELETE', 'OPTIONS']) {
      const response = await fetch(url, { method });
      expect(response.status).toBe(405);
      expect(response.headers.get('allow')).toBe('POST');
      expect(await response.text()).toMatch(/POST/);
    }
  });

  test('answers 413 above maxMessageSize, declared or chunked, and keeps serving', async () => {
    const { url } = await serve({ maxMessageSize: 100 });
    const big = request('reverse_string', ['x'.repeat(200)]);
    const declared = await post(url, big);
    expect(declared.status).toBe(413);
    expect(declared.headers.get('content-type')).toBe('application/json');
    expect(declared.headers.get('connection')).toBe('close');
    // The protocol's error response, so that any JSON-RPC client reads an error.
    expect(await declared.json()).toEqual({
      jsonrpc: '2.0',
      id: null,
      error: {
        code: -32600,
        message: `A message of ${String(big.length)} bytes is over the limit of 100 bytes (maxMessageSize)`,
      },
    });
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big.slice(0, 60)));
        controller.enqueue(new TextEncoder().encode(big.slice(60)));
        controller.close();
      },
    });
    const chunked = await fetch(url, {
      method: 'POST',
      body: stream,
      duplex: 'half',
      headers: { 'content-type': 'application/json' },
    } as RequestInit);
    expect(chunked.status).toBe(413);
    expect(await chunked.json()).toMatchObject({
      id: null,
      error: { code: -32600, message: 'A message is over the limit of 100 bytes (maxMessageSize)' },
    });
    const client = new RpcClient(new JsonRpcProtocol(), new HttpClientTransport(url));
    const error = await client.call('reverse_string', ['x'.repeat(200)]).catch((e: unknown) => e);
    expect(RemoteError.is(error)).toBe(true);
    expect(error).toMatchObject({
      code: -32600,
      message: expect.stringMatching(/limit of 100 bytes/),
    });
    expect(await client.call('add', [1, 1])).toBe(2);
    const small = await post(url, request('add', [1, 1]));
    expect(await small.json()).toMatchObject({ result: 2 });
  });

  test('stops reading a huge body early', async () => {
    const { transport } = await serve({ maxMessageSize: 1000 });
    // Declares 100 MB, sends 2 KB and waits: the answer must come without the rest.
    const answer = await rawExchange(
      transport.port as number,
      `POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100000000\r\n\r\n${'x'.repeat(2000)}`,
      2000,
    );
    expect(answer).toMatch(/^HTTP\/1\.1 413/);
    const chunked = await rawExchange(
      transport.port as number,
      `POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n7d0\r\n${'x'.repeat(2000)}\r\n`,
      2000,
    );
    expect(chunked).toMatch(/^HTTP\/1\.1 413/);
    expect(chunked).toMatch(/connection: close/i);
  });

  test('has a documented default body limit of 1 MiB', () => {
    expect(defaultLimits.maxMessageSize).toBe(1024 * 1024);
    expect(new HttpServerTransport().maxMessageSize).toBe(defaultLimits.maxMessageSize);
  });

  test('answers unreadable bodies with JSON-RPC errors, never a crash', async () => {
    const { url } = await serve();
    const parseError = await post(url, '{"jsonrpc": "2.0", "method"');
    expect(await parseError.json()).toMatchObject({ id: null, error: { code: -32700 } });
    const invalidUtf8 = await post(url, new Uint8Array([0x22, 0xff, 0xfe, 0x22]));
    expect(await invalidUtf8.json()).toMatchObject({ id: null, error: { code: -32700 } });
    const empty = await post(url, '');
    expect(await empty.json()).toMatchObject({ error: { code: -32700 } });
  });

  test('property: any body gets a 200 JSON-RPC answer or a 204', async () => {
    const { url } = await serve();
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.uint8Array({ maxLength: 64 }),
          fc.string({ maxLength: 64 }).map((s) => s),
        ),
        fc.constantFrom('application/json', 'application/octet-stream', 'text/plain'),
        async (body, contentType) => {
          const response = await post(url, body, contentType);
          if (response.status === 204) return;
          expect(response.status).toBe(200);
          const answer = await response.json();
          expect(answer).toBeTypeOf('object');
        },
      ),
      { numRuns: 60 },
    );
  });

  test('serves only `path` when given one', async () => {
    const { url, transport } = await serve({ path: '/rpc' });
    expect(url).toMatch(/\/rpc$/);
    expect((await post(url, request('add', [1, 2]))).status).toBe(200);
    expect((await post(`${url}?x=1`, request('add', [1, 2]))).status).toBe(200);
    const other = await post(`http://127.0.0.1:${String(transport.port)}/other`, request('add'));
    expect(other.status).toBe(404);
  });

  test('passes string bodies for text content types and bytes otherwise', async () => {
    const seen: unknown[] = [];
    const transport = new HttpServerTransport({ port: 0 });
    await transport.listen(async (message, context) => {
      seen.push(message);
      expect(context.transport).toBe('http');
      return message;
    });
    cleanups.push(() => transport.close());
    const url = transport.url as string;
    // Without a protocol's content type (no RpcServer), a reply is labelled as its request was.
    const json = await post(url, 'héllo', 'application/json; charset=utf-8');
    expect(json.headers.get('content-type')).toBe('application/json; charset=utf-8');
    expect(await json.text()).toBe('héllo');
    const msgpack = await post(url, new Uint8Array([0x93, 1, 2, 3]), 'application/msgpack');
    expect(msgpack.headers.get('content-type')).toBe('application/msgpack');
    expect(new Uint8Array(await msgpack.arrayBuffer())).toEqual(new Uint8Array([0x93, 1, 2, 3]));
    const untyped = await fetch(url, { method: 'POST', body: new Uint8Array([1, 2]) });
    expect(untyped.headers.get('content-type')).toBe('application/octet-stream');
    expect(seen[0]).toBe('héllo');
    expect(seen[1]).toBeInstanceOf(Uint8Array);
    expect(typeof seen[2]).not.toBe('string');
  });

  test("labels replies with the protocol's content type, and gives a binary protocol bytes", async () => {
    const seen: unknown[] = [];
    const transport = new HttpServerTransport({ port: 0 });
    await transport.listen(
      async (message) => {
        seen.push(message);
        return typeof message === 'string' ? 'text' : new Uint8Array([0x91, 1]);
      },
      { contentType: 'application/msgpack' },
    );
    cleanups.push(() => transport.close());
    const url = transport.url as string;
    // MessagePack labelled JSON (as Python's clients may send it) stays bytes.
    const labelled = await post(url, new Uint8Array([0x93, 0x41, 0x42, 0x43]), 'application/json');
    expect(labelled.headers.get('content-type')).toBe('application/msgpack');
    expect(new Uint8Array(await labelled.arrayBuffer())).toEqual(new Uint8Array([0x91, 1]));
    expect(seen[0]).toBeInstanceOf(Uint8Array);
    const json = new HttpServerTransport({ port: 0 });
    await json.listen(async () => new Uint8Array([0x7b, 0x7d]), {
      contentType: 'application/json',
    });
    cleanups.push(() => json.close());
    const bytes = await fetch(json.url as string, { method: 'POST', body: new Uint8Array([1]) });
    expect(bytes.headers.get('content-type')).toBe('application/json');
  });

  test('gives handlers transport, remoteAddress and headers', async () => {
    const { url } = await serve();
    const client = new RpcClient(
      new JsonRpcProtocol(),
      new HttpClientTransport(url, { headers: { 'X-Test': 'yes' } }),
    );
    expect(await client.call('whoami')).toEqual({
      transport: 'http',
      remoteAddress: '127.0.0.1',
      header: 'yes',
    });
  });

  test("aborts the context's signal when the client goes away", async () => {
    const seen: Seen = { contexts: [], notes: [], aborted: [] };
    const { url } = await serve({}, seen);
    const controller = new AbortController();
    const pending = fetch(url, {
      method: 'POST',
      body: request('wait_for_abort'),
      signal: controller.signal,
    }).catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(seen.aborted).toHaveLength(0);
    controller.abort();
    expect(await pending).toMatchObject({ name: 'AbortError' });
    await waitUntil(() => seen.aborted.length === 1);
    expect(TransportError.is(seen.aborted[0])).toBe(true);
    expect((seen.aborted[0] as Error).message).toMatch(/went away/);
  });

  test('survives a client that sends half a body and disconnects', async () => {
    const { transport, url, server } = await startServer();
    const port = transport.port as number;
    for (let i = 0; i < 5; i++) {
      await new Promise<void>((resolve) => {
        const socket: Socket = connect(port, '127.0.0.1', () => {
          socket.write(
            `POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 500\r\n\r\n{"jsonrpc":"2.0",`,
            () => {
              setTimeout(() => {
                socket.destroy();
                resolve();
              }, 20);
            },
          );
        });
        socket.on('error', () => undefined);
      });
    }
    const response = await post(url, request('add', [20, 22]));
    expect(await response.json()).toMatchObject({ result: 42 });
    // Nothing of the abandoned requests is still counted in flight: close() does not wait for them.
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(1000);
  });

  test('survives a client that disconnects while its call runs', async () => {
    const { transport, url } = await serve();
    const socket = connect(transport.port as number, '127.0.0.1');
    socket.on('error', () => undefined);
    const body = request('sleep', [100]);
    socket.write(
      `POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${String(body.length)}\r\n\r\n${body}`,
    );
    await new Promise((resolve) => setTimeout(resolve, 30));
    socket.destroy();
    await new Promise((resolve) => setTimeout(resolve, 150));
    const response = await post(url, request('add', [1, 2]));
    expect(await response.json()).toMatchObject({ result: 3 });
  });

  test('close() finishes the call in flight, then stops listening', async () => {
    const { url, server, transport } = await startServer();
    const client = new RpcClient(new JsonRpcProtocol(), new HttpClientTransport(url));
    const slow = client.call('sleep', [300]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const closed = server.close();
    expect(await slow).toBe(300);
    await closed;
    expect(transport.server?.listening).toBe(false);
    await expect(client.call('add', [1, 2])).rejects.toMatchObject({ name: 'HttpTransportError' });
  });

  test('close() resolves promptly with idle keep-alive connections open', async () => {
    const { url, server } = await startServer();
    const client = new RpcClient(new JsonRpcProtocol(), new HttpClientTransport(url));
    expect(await client.call('add', [1, 2])).toBe(3);
    const started = Date.now();
    await server.close();
    expect(Date.now() - started).toBeLessThan(1000);
  });

  test('answers a call in flight during close() with Connection: close', async () => {
    const transport = new HttpServerTransport({ port: 0 });
    let release: () => void = () => undefined;
    await transport.listen(
      () =>
        new Promise((resolve) => {
          release = () => {
            resolve('"done"');
          };
        }),
    );
    const port = transport.port as number;
    const socket = connect(port, '127.0.0.1');
    let received = '';
    socket.on('data', (chunk) => (received += chunk.toString()));
    const send = (): void => {
      socket.write(`POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}`);
    };
    await new Promise((resolve) => socket.once('connect', resolve));
    send();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const closed = transport.close();
    release();
    await waitUntil(() => received.includes('"done"'));
    expect(received).toMatch(/connection: close/i);
    await closed;
    await waitUntil(
      () => socket.destroyed || socket.readyState === 'closed' || socket.readableEnded,
    );
    socket.destroy();
  });

  test('answers 500 when a handler rejects, and tells onError', async () => {
    const errors: unknown[] = [];
    const transport = new HttpServerTransport({ port: 0, onError: (e) => errors.push(e) });
    const failing: MessageHandler = () => Promise.reject(new Error('secret detail'));
    await transport.listen(failing);
    cleanups.push(() => transport.close());
    const response = await post(transport.url as string, '{}');
    expect(response.status).toBe(500);
    expect(await response.text()).not.toMatch(/secret/);
    expect(errors).toMatchObject([{ message: 'secret detail' }]);
  });

  test('fails listen with a TransportError when the port is taken', async () => {
    const blocker = createNetServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    cleanups.push(() => new Promise((resolve) => blocker.close(resolve)));
    const transport = new HttpServerTransport({ port });
    const error = await transport.listen(async () => undefined).catch((e: unknown) => e);
    expect(TransportError.is(error)).toBe(true);
    expect((error as Error).message).toMatch(/EADDRINUSE/);
    expect((error as Error).cause).toMatchObject({ code: 'EADDRINUSE' });
  });

  test('refuses to listen twice or after close', async () => {
    const transport = new HttpServerTransport({ port: 0 });
    await transport.listen(async () => undefined);
    await expect(transport.listen(async () => undefined)).rejects.toThrow(/already listening/);
    await transport.close();
    await transport.close();
    await expect(transport.listen(async () => undefined)).rejects.toThrow(/closed/);
    const server = new RpcServer(
      new HttpServerTransport({ port: 0 }),
      new JsonRpcProtocol(),
      (await import('./support.ts')).testDispatcher(),
    );
    await server.close();
  });

  test('answers CORS preflights and marks answers when allowOrigin is set', async () => {
    const { url } = await serve({ allowOrigin: 'https://app.example' });
    const preflight = await fetch(url, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type, authorization',
      },
    });
    expect(preflight.status).toBe(204);
    expect(preflight.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(preflight.headers.get('access-control-allow-methods')).toBe('POST');
    expect(preflight.headers.get('access-control-allow-headers')).toBe(
      'content-type, authorization',
    );
    const answer = await post(url, request('add', [1, 2]));
    expect(answer.headers.get('access-control-allow-origin')).toBe('https://app.example');
    expect(answer.headers.get('vary')).toBe('Origin');
    const get = await fetch(url);
    expect(get.headers.get('allow')).toBe('POST, OPTIONS');
  });
});

async function waitUntil(condition: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
