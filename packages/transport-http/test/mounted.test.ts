import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { express } from './load-express.ts';
import { afterEach, describe, expect, test } from 'vitest';
import { RpcClient, RpcServer } from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { HttpClientTransport, HttpServerTransport } from '../src/index.ts';
import { request, testDispatcher, type Seen } from './support.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A mounted transport (no port of its own) behind an RpcServer. */
async function mounted(seen?: Seen) {
  const transport = new HttpServerTransport();
  const server = new RpcServer(transport, new JsonRpcProtocol(), testDispatcher(seen));
  await server.serve();
  cleanups.push(() => server.close());
  expect(transport.port).toBeUndefined();
  expect(transport.url).toBeUndefined();
  return { transport, server };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  );
  return `http://127.0.0.1:${String((server.address() as { port: number }).port)}`;
}

const client = (url: string) => new RpcClient(new JsonRpcProtocol(), new HttpClientTransport(url));

describe('handle: a node:http request listener', () => {
  test('serves http.createServer(transport.handle)', async () => {
    const { transport } = await mounted();
    const url = await listen(createServer(transport.handle));
    expect(await client(`${url}/anything`).call('reverse_string', ['abc'])).toBe('cba');
    const get = await fetch(url);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
  });

  test('answers 503 before listen and after close', async () => {
    const transport = new HttpServerTransport();
    const url = await listen(createServer(transport.handle));
    const before = await fetch(url, { method: 'POST', body: request('add', [1, 2]) });
    expect(before.status).toBe(503);
    const server = new RpcServer(transport, new JsonRpcProtocol(), testDispatcher());
    await server.serve();
    expect(await client(url).call('add', [1, 2])).toBe(3);
    await server.close();
    const after = await fetch(url, { method: 'POST', body: request('add', [1, 2]) });
    expect(after.status).toBe(503);
  });

  test('close() waits for a mounted call in flight', async () => {
    const transport = new HttpServerTransport();
    const server = new RpcServer(transport, new JsonRpcProtocol(), testDispatcher());
    await server.serve();
    const url = await listen(createServer(transport.handle));
    const slow = client(url).call('sleep', [200]);
    await new Promise((resolve) => setTimeout(resolve, 50));
    let closed = false;
    const closing = server.close().then(() => (closed = true));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(closed).toBe(false);
    expect(await slow).toBe(200);
    await closing;
    expect(closed).toBe(true);
  });
});

describe('handle: Express middleware', () => {
  test('serves a route of an Express 5 app', async () => {
    const seen: Seen = { contexts: [], notes: [], aborted: [] };
    const { transport } = await mounted(seen);
    const app = express();
    app.get('/health', (_, response) => {
      response.send('ok');
    });
    app.post('/rpc', transport.handle);
    app.use('/mounted', transport.handle);
    const url = await listen(createServer(app));
    expect(await client(`${url}/rpc`).call('add', [2, 3])).toBe(5);
    expect(await client(`${url}/mounted`).call('add', { a: 4, b: 5 })).toBe(9);
    await expect(client(`${url}/rpc`).call('fail')).rejects.toMatchObject({ code: 4001 });
    await client(`${url}/rpc`).notify('note', ['from express']);
    expect(seen.notes).toEqual(['from express']);
    expect(await (await fetch(`${url}/health`)).text()).toBe('ok');
    expect((await fetch(`${url}/mounted`)).status).toBe(405);
  });

  test('streams behind Express, also when express.json() read the body', async () => {
    const { transport } = await mounted();
    const app = express();
    app.post('/rpc', transport.handle);
    app.post('/json', express.json(), transport.handle);
    const url = await listen(createServer(app));
    for (const path of ['/rpc', '/json']) {
      const items: number[] = [];
      for await (const item of client(`${url}${path}`).stream<number>('count', [100]))
        items.push(item);
      expect(items).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
    }
  });

  test('takes bodies that express.json(), express.text() or express.raw() already read', async () => {
    const { transport } = await mounted();
    const app = express();
    app.post('/json', express.json(), transport.handle);
    app.post('/text', express.text({ type: '*/*' }), transport.handle);
    app.post('/raw', express.raw({ type: '*/*' }), transport.handle);
    const url = await listen(createServer(app));
    for (const path of ['/json', '/text', '/raw']) {
      expect(await client(`${url}${path}`).call('reverse_string', ['Hello'])).toBe('olleH');
    }
  });

  test('answers 413 above the limit behind Express', async () => {
    const transport = new HttpServerTransport({ maxMessageSize: 64 });
    const server = new RpcServer(transport, new JsonRpcProtocol(), testDispatcher());
    await server.serve();
    cleanups.push(() => server.close());
    const app = express();
    app.post('/rpc', transport.handle);
    const url = await listen(createServer(app));
    const response = await fetch(`${url}/rpc`, {
      method: 'POST',
      body: request('reverse_string', ['x'.repeat(100)]),
    });
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({ id: null, error: { code: -32600 } });
  });
});

describe('handle: a body Express already read, over maxMessageSize', () => {
  test('answers 413 with the protocol error response, and serves the next', async () => {
    const transport = new HttpServerTransport({ maxMessageSize: 64 });
    const server = new RpcServer(transport, new JsonRpcProtocol(), testDispatcher());
    await server.serve();
    cleanups.push(() => server.close());
    const app = express();
    app.post('/text', express.text({ type: '*/*' }), transport.handle);
    const url = await listen(createServer(app));
    const big = request('reverse_string', ['x'.repeat(100)]);
    const response = await fetch(`${url}/text`, { method: 'POST', body: big });
    expect(response.status).toBe(413);
    expect(await response.json()).toMatchObject({
      id: null,
      error: {
        code: -32600,
        message: `A message of ${String(big.length)} bytes is over the limit of 64 bytes (maxMessageSize)`,
      },
    });
    expect(await client(`${url}/text`).call('add', [1, 2])).toBe(3);
  });
});

describe('fetch: a Fetch API handler', () => {
  const endpoint = 'http://rpc.test/rpc';

  test('answers a Request directly', async () => {
    const { transport } = await mounted();
    const response = await transport.fetch(
      new Request(endpoint, {
        method: 'POST',
        body: request('reverse_string', ['Hello, World!']),
        headers: { 'content-type': 'application/json', 'x-test': 'yes' },
      }),
    );
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('application/json');
    expect(await response.json()).toEqual({ jsonrpc: '2.0', id: 1, result: '!dlroW ,olleH' });
  });

  test('gives handlers transport, headers and the request signal', async () => {
    const seen: Seen = { contexts: [], notes: [], aborted: [] };
    const { transport } = await mounted(seen);
    const response = await transport.fetch(
      new Request(endpoint, {
        method: 'POST',
        body: request('whoami'),
        headers: { 'x-test': 'fetch' },
      }),
    );
    expect(await response.json()).toMatchObject({
      result: { transport: 'http', header: 'fetch' },
    });

    const controller = new AbortController();
    const waiting = transport.fetch(
      new Request(endpoint, {
        method: 'POST',
        body: request('wait_for_abort'),
        signal: controller.signal,
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    controller.abort();
    expect(await (await waiting).json()).toMatchObject({ result: 'aborted' });
    expect(seen.aborted).toHaveLength(1);
  });

  test('answers 204, 405, 413 and 503 like the node handler', async () => {
    const transport = new HttpServerTransport({ maxMessageSize: 50 });
    const notListening = await transport.fetch(
      new Request(endpoint, { method: 'POST', body: '{}' }),
    );
    expect(notListening.status).toBe(503);
    const server = new RpcServer(transport, new JsonRpcProtocol(), testDispatcher());
    await server.serve();

    const notification = await transport.fetch(
      new Request(endpoint, { method: 'POST', body: request('note', ['x'], null) }),
    );
    expect(notification.status).toBe(204);
    expect(notification.body).toBeNull();

    const get = await transport.fetch(new Request(endpoint));
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');

    const big = request('reverse_string', ['x'.repeat(100)]);
    const declared = await transport.fetch(new Request(endpoint, { method: 'POST', body: big }));
    expect(declared.status).toBe(413);
    expect(declared.headers.get('content-type')).toBe('application/json');
    // A Request made here declares no length: the limit is found by reading.
    expect(await declared.json()).toEqual({
      jsonrpc: '2.0',
      id: null,
      error: { code: -32600, message: 'A message is over the limit of 50 bytes (maxMessageSize)' },
    });
    const encoder = new TextEncoder();
    const streamed = await transport.fetch(
      new Request(endpoint, {
        method: 'POST',
        body: new ReadableStream<Uint8Array>({
          pull(controller) {
            // An endless body: the handler must stop reading at the limit.
            controller.enqueue(encoder.encode('x'.repeat(20)));
          },
        }),
        duplex: 'half',
      } as RequestInit),
    );
    expect(streamed.status).toBe(413);
    expect(await streamed.json()).toMatchObject({ id: null, error: { code: -32600 } });

    await server.close();
    const closed = await transport.fetch(new Request(endpoint, { method: 'POST', body: '{}' }));
    expect(closed.status).toBe(503);
  });

  test('echoes binary content types and reads bytes for them', async () => {
    const transport = new HttpServerTransport();
    const received: unknown[] = [];
    await transport.listen(async (message) => {
      received.push(message);
      return message;
    });
    cleanups.push(() => transport.close());
    const response = await transport.fetch(
      new Request(endpoint, {
        method: 'POST',
        body: new Uint8Array([0x93, 0, 1, 2]),
        headers: { 'content-type': 'application/msgpack' },
      }),
    );
    expect(response.headers.get('content-type')).toBe('application/msgpack');
    expect(new Uint8Array(await response.arrayBuffer())).toEqual(new Uint8Array([0x93, 0, 1, 2]));
    expect(received[0]).toBeInstanceOf(Uint8Array);
  });

  test('serves a real client through a plain node:http bridge', async () => {
    const { transport } = await mounted();
    // The few lines any runtime's adapter does: Request in, Response out.
    const bridge = createServer((incoming: IncomingMessage, outgoing: ServerResponse) => {
      const chunks: Buffer[] = [];
      incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
      incoming.on('end', () => {
        const headers = new Headers();
        for (const [name, value] of Object.entries(incoming.headers)) {
          if (typeof value === 'string') headers.set(name, value);
        }
        const body = incoming.method === 'GET' ? null : Buffer.concat(chunks);
        void transport
          .fetch(
            new Request(`http://x${incoming.url ?? '/'}`, {
              method: incoming.method,
              headers,
              body,
            }),
          )
          .then(async (response) => {
            outgoing.writeHead(response.status, Object.fromEntries(response.headers));
            outgoing.end(Buffer.from(await response.arrayBuffer()));
          });
      });
    });
    const url = await listen(bridge);
    expect(await client(url).call('reverse_string', ['bridge'])).toBe('egdirb');
    await expect(client(url).call('missing')).rejects.toMatchObject({ code: -32601 });
  });
});
