import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, test } from 'vitest';
import {
  defaultLimits,
  InvalidReplyError,
  RemoteError,
  isClientTransport,
  RpcClient,
  RpcTimeoutError,
  TransportError,
} from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { freePort } from '@tinyrpc/test-helpers';
import { HttpClientTransport, HttpTransportError } from '../src/index.ts';
import { startServer } from './support.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Seen {
  readonly url: string;
  readonly requests: { headers: IncomingMessage['headers']; body: Buffer }[];
  connections: number;
}

/** A plain node:http server whose answers the test writes. */
async function httpServer(
  answer: (request: IncomingMessage, response: ServerResponse, body: Buffer) => void,
): Promise<Seen> {
  const sockets = new Set<Socket>();
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      seen.requests.push({ headers: request.headers, body });
      answer(request, response, body);
    });
  });
  server.on('connection', (socket: Socket) => {
    seen.connections++;
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  const seen: Seen = { url: `http://127.0.0.1:${String(port)}/rpc`, requests: [], connections: 0 };
  cleanups.push(
    () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(resolve);
      }),
  );
  return seen;
}

const json = (text: string) => (_: IncomingMessage, response: ServerResponse) => {
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end(text);
};

describe('HttpClientTransport', () => {
  test('is branded as a client transport', () => {
    expect(isClientTransport(new HttpClientTransport('http://127.0.0.1:1/'))).toBe(true);
  });

  test('posts the message and resolves with the reply body as a string', async () => {
    const seen = await httpServer(json('{"ok":true}'));
    const transport = new HttpClientTransport(seen.url);
    expect(await transport.send('{"x":1}')).toBe('{"ok":true}');
    const [first] = seen.requests;
    expect(first?.body.toString()).toBe('{"x":1}');
    expect(first?.headers['content-type']).toBe('application/json');
  });

  test('sends bytes as application/octet-stream and reads binary replies as bytes', async () => {
    const seen = await httpServer((request, response, body) => {
      response.writeHead(200, { 'content-type': 'application/msgpack' });
      response.end(body);
    });
    const transport = new HttpClientTransport(seen.url);
    const reply = await transport.send(new Uint8Array([0x93, 1, 2, 3]));
    expect(reply).toBeInstanceOf(Uint8Array);
    expect(reply).toEqual(new Uint8Array([0x93, 1, 2, 3]));
    expect(seen.requests[0]?.headers['content-type']).toBe('application/octet-stream');
  });

  test('returns the kind of message it sent, whatever the answer is labelled', async () => {
    let type: string | undefined = 'text/plain; charset=utf-8';
    const seen = await httpServer((_, response) => {
      if (type !== undefined) response.setHeader('content-type', type);
      response.end('abc');
    });
    const transport = new HttpClientTransport(seen.url);
    const bytes = new TextEncoder().encode('abc');
    for (type of ['text/plain; charset=utf-8', 'application/octet-stream', undefined]) {
      expect(await transport.send('x')).toBe('abc');
      expect(await transport.send(new Uint8Array([1]))).toEqual(bytes);
    }
    // Python's WsgiServerTransport labels MessagePack replies application/json.
    type = 'application/json';
    expect(
      await transport.send(new Uint8Array([1]), { contentType: 'application/msgpack' }),
    ).toEqual(bytes);
  });

  test("sends the protocol's content type, unless the options name one", async () => {
    const seen = await httpServer((_, response) => {
      response.end();
    });
    await new HttpClientTransport(seen.url).send(new Uint8Array([1]), {
      contentType: 'application/msgpack',
    });
    await new HttpClientTransport(seen.url, { contentType: 'application/x-mine' }).send('a', {
      contentType: 'application/json',
    });
    const client = new RpcClient(new JsonRpcProtocol(), new HttpClientTransport(seen.url));
    await client.notify('x');
    expect(seen.requests.map((r) => r.headers['content-type'])).toEqual([
      'application/msgpack',
      'application/x-mine',
      'application/json',
    ]);
  });

  test('sends custom headers and the contentType option', async () => {
    const seen = await httpServer(json('{}'));
    const transport = new HttpClientTransport(seen.url, {
      headers: { Authorization: 'Bearer t', 'X-Trace': '1' },
      contentType: 'application/msgpack',
    });
    await transport.send('a');
    await transport.send(new Uint8Array([1]));
    for (const request of seen.requests) {
      expect(request.headers['authorization']).toBe('Bearer t');
      expect(request.headers['x-trace']).toBe('1');
      expect(request.headers['content-type']).toBe('application/msgpack');
    }
  });

  test('uses a Content-Type from headers when no contentType is given', async () => {
    const seen = await httpServer(json('{}'));
    const transport = new HttpClientTransport(seen.url, {
      headers: new Headers({ 'Content-Type': 'application/json-rpc' }),
    });
    await transport.send('a');
    expect(seen.requests[0]?.headers['content-type']).toBe('application/json-rpc');
  });

  test('keeps the connection alive between calls', async () => {
    const { transport, server, url } = await startServer();
    cleanups.push(() => server.close());
    let connections = 0;
    transport.server?.on('connection', () => connections++);
    const client = new RpcClient(new JsonRpcProtocol(), new HttpClientTransport(url));
    for (let i = 0; i < 50; i++) expect(await client.call('add', [i, 1])).toBe(i + 1);
    // Node's fetch (undici) may open a second connection when the next call starts in the same tick
    // as the previous reply was read; after that both are reused. Without keep-alive this were 50.
    expect(connections).toBeGreaterThanOrEqual(1);
    expect(connections).toBeLessThanOrEqual(2);
  });

  test('turns an error status into an HttpTransportError with the status', async () => {
    const seen = await httpServer((_, response) => {
      response.writeHead(404, { 'content-type': 'text/plain' });
      response.end('no RPC here');
    });
    const transport = new HttpClientTransport(seen.url);
    const error = await transport.send('{}').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpTransportError);
    expect(TransportError.is(error)).toBe(true);
    expect(error).toMatchObject({ status: 404 });
    expect((error as Error).message).toMatch(/404 Not Found: no RPC here/);
    const client = new RpcClient(new JsonRpcProtocol(), transport);
    await expect(client.call('x')).rejects.toMatchObject({
      name: 'HttpTransportError',
      status: 404,
    });
  });

  test('quotes only the start of a long error body', async () => {
    const seen = await httpServer((_, response) => {
      response.writeHead(500);
      response.end('e'.repeat(100_000));
    });
    const error = await new HttpClientTransport(seen.url).send('{}').catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 500 });
    expect((error as Error).message.length).toBeLessThan(400);
  });

  test('turns a refused connection into an HttpTransportError with the cause', async () => {
    const port = await freePort();
    const transport = new HttpClientTransport(`http://127.0.0.1:${String(port)}/`);
    const error = await transport.send('{}').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpTransportError);
    expect(error).toMatchObject({ status: undefined });
    expect((error as Error).message).toMatch(/ECONNREFUSED/);
    expect((error as Error).cause).toBeInstanceOf(Error);
  });

  test('turns a reset connection into an HttpTransportError', async () => {
    const server = createNetServer((socket) => {
      socket.once('data', () => socket.resetAndDestroy());
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const { port } = server.address() as { port: number };
    const error = await new HttpClientTransport(`http://127.0.0.1:${String(port)}/`)
      .send('{}')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpTransportError);
    expect((error as HttpTransportError).status).toBeUndefined();
    expect((error as Error).cause).toBeDefined();
  });

  test('turns a body cut short into an HttpTransportError', async () => {
    const seen = await httpServer((request, response) => {
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': '100' });
      response.write('{"partial":', () => {
        request.socket.destroy();
      });
    });
    const error = await new HttpClientTransport(seen.url).send('{}').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(HttpTransportError);
  });

  test('hands `timeout` to RpcClient as its default and keeps no timer of its own', async () => {
    const seen = await httpServer(() => {
      // never answers
    });
    const transport = new HttpClientTransport(seen.url, { timeout: 100 });
    expect(transport.defaultTimeout).toBe(100);
    expect(new HttpClientTransport(seen.url).defaultTimeout).toBeUndefined();
    const client = new RpcClient(new JsonRpcProtocol(), transport);
    const started = Date.now();
    const error = await client.call('x').catch((e: unknown) => e);
    expect(RpcTimeoutError.is(error)).toBe(true);
    expect(Date.now() - started).toBeLessThan(2000);

    // A send in flight holds no timer: the call's signal is the only clock.
    const timers = (): number =>
      process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    const controller = new AbortController();
    const sending = transport.send('{}', { signal: controller.signal });
    await new Promise((resolve) => setImmediate(resolve));
    expect(timers()).toBe(before);
    controller.abort(new Error('enough'));
    await expect(sending).rejects.toThrow('enough');
  });

  test('rejects with the reason of an aborted signal', async () => {
    const seen = await httpServer(() => {
      // never answers
    });
    const transport = new HttpClientTransport(seen.url);
    const controller = new AbortController();
    const sending = transport.send('{}', { signal: controller.signal });
    setTimeout(() => {
      controller.abort(new Error('changed my mind'));
    }, 50);
    await expect(sending).rejects.toThrow('changed my mind');
    await expect(transport.send('{}', { signal: controller.signal })).rejects.toThrow(
      'changed my mind',
    );
  });

  test('works with the call timeout of RpcClient', async () => {
    const seen = await httpServer(() => {
      // never answers
    });
    const client = new RpcClient(new JsonRpcProtocol(), new HttpClientTransport(seen.url));
    await expect(client.call('x', [], { timeout: 100 })).rejects.toBeInstanceOf(RpcTimeoutError);
  });

  test('resolves a one-way message once the status arrived, without the body', async () => {
    const seen = await httpServer((_, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.write('{"never":'); // the body never ends
    });
    const transport = new HttpClientTransport(seen.url);
    await expect(transport.send('{}', { expectReply: false })).resolves.toBeUndefined();
  });

  test('resolves a 204 answer as undefined; RpcClient calls it an invalid reply', async () => {
    const seen = await httpServer((_, response) => {
      response.writeHead(204);
      response.end();
    });
    const transport = new HttpClientTransport(seen.url);
    expect(await transport.send('{}')).toBeUndefined();
    expect(await transport.send('{}', { expectReply: false })).toBeUndefined();
    const client = new RpcClient(new JsonRpcProtocol(), transport);
    await expect(client.call('x')).rejects.toBeInstanceOf(InvalidReplyError);
    await expect(client.notify('x')).resolves.toBeUndefined();
  });

  test('reports an error status for one-way messages too', async () => {
    const seen = await httpServer((_, response) => {
      response.writeHead(503);
      response.end('down');
    });
    const client = new RpcClient(new JsonRpcProtocol(), new HttpClientTransport(seen.url));
    await expect(client.notify('x')).rejects.toMatchObject({ status: 503 });
  });

  test('close() aborts exchanges in flight and refuses later ones', async () => {
    const seen = await httpServer(() => {
      // never answers
    });
    const transport = new HttpClientTransport(seen.url);
    const sending = transport.send('{}');
    await new Promise((resolve) => setTimeout(resolve, 50));
    await transport.close();
    await expect(sending).rejects.toSatisfy((e: unknown) => TransportError.is(e));
    await expect(transport.send('{}')).rejects.toThrow(/closed/);
  });

  test('uses the fetch and requestInit it is given', async () => {
    const seen = await httpServer(json('"ok"'));
    const calls: RequestInit[] = [];
    const transport = new HttpClientTransport(new URL(seen.url), {
      fetch: (input, init) => {
        calls.push(init ?? {});
        return fetch(input, init);
      },
      requestInit: { redirect: 'error' },
    });
    expect(await transport.send('{}')).toBe('"ok"');
    expect(calls[0]).toMatchObject({ method: 'POST', redirect: 'error', body: '{}' });
  });

  test("reads a 413 in the content type it sent as the server's error response", async () => {
    let type = 'application/json';
    const seen = await httpServer((_, response) => {
      response.writeHead(413, { 'content-type': type, connection: 'close' });
      response.end('{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"too big"}}');
    });
    const client = new RpcClient(new JsonRpcProtocol(), new HttpClientTransport(seen.url));
    const error = await client.call('x').catch((e: unknown) => e);
    expect(RemoteError.is(error)).toBe(true);
    expect(error).toMatchObject({ code: -32600, message: 'too big' });
    // A one-way message has nobody to read the response: the status fails it.
    await expect(client.notify('x')).rejects.toMatchObject({ status: 413 });
    // Any other label: a plain status error.
    type = 'text/html';
    await expect(client.call('x')).rejects.toMatchObject({
      name: 'HttpTransportError',
      status: 413,
    });
  });

  test('refuses a reply over maxMessageSize with a TransportError naming the limit', async () => {
    let length: number | undefined;
    const seen = await httpServer((_, response) => {
      if (length !== undefined) response.setHeader('content-length', String(length));
      // write() before end(): chunked, unless a length was set.
      response.write('x'.repeat(length ?? 101));
      response.end();
    });
    const transport = new HttpClientTransport(seen.url, { maxMessageSize: 100 });
    expect(transport.maxMessageSize).toBe(100);
    expect(new HttpClientTransport(seen.url).maxMessageSize).toBe(defaultLimits.maxMessageSize);
    // Chunked, so only reading tells.
    const streamed = await transport.send('x').catch((e: unknown) => e);
    expect(TransportError.is(streamed)).toBe(true);
    expect((streamed as Error).message).toBe(
      'A message is over the limit of 100 bytes (maxMessageSize)',
    );
    length = 5000;
    const declared = await transport.send('x').catch((e: unknown) => e);
    expect((declared as Error).message).toBe(
      'A message of 5000 bytes is over the limit of 100 bytes (maxMessageSize)',
    );
    length = 100;
    expect(await transport.send('x')).toBe('x'.repeat(100));
  });

  test('registers HttpTransportError, so a second installed copy recognises it', async () => {
    // A second copy of this package: the same sources loaded from another folder (inside the
    // package, so that it finds the same @tinyrpc/core), every class a different object.
    const folder = mkdtempSync(join(fileURLToPath(new URL('..', import.meta.url)), '.copy-'));
    cleanups.push(async () => {
      rmSync(folder, { recursive: true, force: true });
    });
    cpSync(fileURLToPath(new URL('../src', import.meta.url)), folder, { recursive: true });
    const other = (await import(/* @vite-ignore */ join(folder, 'index.ts'))) as {
      HttpTransportError: typeof HttpTransportError;
    };
    expect(other.HttpTransportError).not.toBe(HttpTransportError);
    const theirs = new other.HttpTransportError('x', { status: 500 });
    const ours = new HttpTransportError('y');
    expect(theirs).not.toBeInstanceOf(HttpTransportError);
    expect(HttpTransportError.is(theirs)).toBe(true);
    expect(other.HttpTransportError.is(ours)).toBe(true);
    expect(TransportError.is(theirs)).toBe(true);
    expect(HttpTransportError.is(new TransportError('z'))).toBe(false);
    expect(theirs.name).toBe('HttpTransportError');
  });
});
