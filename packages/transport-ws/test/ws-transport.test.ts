import { createServer } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import {
  isClientTransport,
  isServerTransport,
  RemoteError,
  RpcClient,
  RpcDispatcher,
  RpcServer,
  TransportError,
  type Message,
  type TransportContext,
} from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { WsClientTransport, WsServerTransport } from '@tinyrpc/transport-ws';
import { WebSocket, WebSocketServer } from 'ws';
import {
  cleanup,
  newClient,
  rawClient,
  startAttachedServer,
  startServer,
  testDispatcher,
  waitUntil,
} from './helpers.ts';

const resources = cleanup();
afterEach(() => resources.run());

describe('WsServerTransport + WsClientTransport', () => {
  it('carries calls, named params, notifications and error responses', async () => {
    const { url, server } = await startServer();
    resources.track(server);
    const client = resources.track(newClient(url));
    expect(await client.call('add', [1, 2])).toBe(3);
    expect(await client.call('add', { a: 2, b: 5 })).toBe(7);
    await client.notify('echo', ['ignored']);
    const error = await client.call('fail', ['it failed']).catch((e: unknown) => e);
    expect(RemoteError.is(error)).toBe(true);
    expect((error as RemoteError).message).toBe('it failed');
    const missing = await client.call('nope').catch((e: unknown) => e);
    expect((missing as RemoteError).code).toBe(-32601);
  });

  it('carries brands and exposes the bound port for port 0', async () => {
    const transport = new WsServerTransport({ port: 0 });
    expect(isServerTransport(transport)).toBe(true);
    expect(isClientTransport(new WsClientTransport('ws://127.0.0.1:1/'))).toBe(true);
    expect(transport.port).toBeUndefined();
    await transport.listen(() => Promise.resolve(undefined));
    resources.track(transport);
    expect(transport.port).toBeGreaterThan(0);
  });

  it('fails listen with a TransportError when the port is taken', async () => {
    const { transport, server } = await startServer();
    resources.track(server);
    const second = new WsServerTransport({ port: transport.port });
    await expect(second.listen(() => Promise.resolve(undefined))).rejects.toThrow(
      /Could not listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/,
    );
    await second.close();
  });

  it('rejects options with neither or both of port and server', () => {
    expect(() => new WsServerTransport({})).toThrow(TypeError);
    expect(() => new WsServerTransport({ port: 0, server: createServer() })).toThrow(TypeError);
  });

  it('runs many calls in flight on one connection, replies matched by id out of order', async () => {
    const { url, server, transport } = await startServer();
    resources.track(server);
    const client = resources.track(newClient(url));
    // Later calls sleep less, so replies come back in reverse order.
    const order: number[] = [];
    const calls = Array.from({ length: 50 }, (_, i) =>
      client.call('sleep', [200 - i * 4, i]).then((value) => {
        order.push(value as number);
        return value;
      }),
    );
    expect(await Promise.all(calls)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(order[0]).toBeGreaterThan(order[49]!);
    expect(transport.connectionCount).toBe(1);
    expect(client.pendingCount).toBe(0);
  });

  it('handles the requests of one socket concurrently', async () => {
    let running = 0;
    let most = 0;
    const dispatcher = new RpcDispatcher().add('slow', async () => {
      running++;
      most = Math.max(most, running);
      await new Promise((resolve) => setTimeout(resolve, 50));
      running--;
      return 'done';
    });
    const { url, server } = await startServer(dispatcher);
    resources.track(server);
    const client = resources.track(newClient(url));
    const started = Date.now();
    await Promise.all(Array.from({ length: 20 }, () => client.call('slow')));
    expect(most).toBe(20);
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('answers text frames with text and takes JSON in binary frames', async () => {
    const { url, server } = await startServer();
    resources.track(server);
    const raw = resources.track(await rawClient(url));
    raw.ws.send('{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1}');
    raw.ws.send(new TextEncoder().encode('{"jsonrpc":"2.0","method":"add","params":[3,4],"id":2}'));
    const replies = await raw.next(2);
    expect(replies.map((r) => r.binary)).toEqual([false, false]);
    expect(replies.map((r) => JSON.parse(r.data as string)).sort((a, b) => a.id - b.id)).toEqual([
      { jsonrpc: '2.0', id: 1, result: 3 },
      { jsonrpc: '2.0', id: 2, result: 7 },
    ]);
  });

  it('delivers what arrived: text as string, binary frames as Uint8Array, both ways', async () => {
    const received: Message[] = [];
    const transport = new WsServerTransport({ port: 0 });
    await transport.listen((message) => {
      received.push(message);
      // Echo in the other frame type, so the client sees both kinds.
      return Promise.resolve(
        typeof message === 'string'
          ? new TextEncoder().encode(message)
          : new TextDecoder().decode(message),
      );
    });
    resources.track(transport);
    const client = resources.track(
      new WsClientTransport(`ws://127.0.0.1:${String(transport.port)}/`),
    );
    const delivered: Message[] = [];
    client.subscribe({ onMessage: (m) => delivered.push(m), onClose: () => undefined });
    await expect(client.send('héllo')).resolves.toBeUndefined();
    await client.send(new Uint8Array([0, 1, 2, 255]));
    await waitUntil(() => delivered.length === 2);
    expect(received[0]).toBe('héllo');
    expect(received[1]).toBeInstanceOf(Uint8Array);
    expect([...(received[1] as Uint8Array)]).toEqual([0, 1, 2, 255]);
    expect(delivered[0]).toBeInstanceOf(Uint8Array);
    expect(new TextDecoder().decode(delivered[0] as Uint8Array)).toBe('héllo');
    expect(typeof delivered[1]).toBe('string');
  });

  it('reads JSON-RPC replies that arrive in binary frames (as Python tinyrpc sends them)', async () => {
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    resources.track({
      close: () =>
        new Promise<void>((resolve) => {
          wss.close(() => {
            resolve();
          });
        }),
    });
    await new Promise((resolve) => {
      wss.once('listening', resolve);
    });
    wss.on('connection', (ws) => {
      ws.on('message', (data: Buffer) => {
        const request = JSON.parse(data.toString());
        ws.send(
          Buffer.from(JSON.stringify({ jsonrpc: '2.0', id: request.id, result: 'binary ok' })),
        );
      });
    });
    const port = (wss.address() as { port: number }).port;
    const types: string[] = [];
    const client = resources.track(
      new RpcClient(
        new JsonRpcProtocol(),
        new WsClientTransport(`ws://127.0.0.1:${String(port)}`),
        {
          trace: (direction, _context, message) => {
            if (direction === '<--') types.push(typeof message === 'string' ? 'text' : 'bytes');
          },
        },
      ),
    );
    expect(await client.call('anything')).toBe('binary ok');
    expect(types).toEqual(['bytes']);
  });

  it('gives each message a context with a per-connection signal', async () => {
    const contexts: TransportContext[] = [];
    const dispatcher = new RpcDispatcher().add('who', (context: unknown) => context);
    const transport = new WsServerTransport({ port: 0, path: '/rpc' });
    const server = resources.track(
      new RpcServer(
        {
          specificationVersion: 1,
          listen: (handler) =>
            transport.listen((message, context) => {
              contexts.push(context);
              return handler(message, context);
            }),
          close: () => transport.close(),
        },
        new JsonRpcProtocol(),
        dispatcher,
      ),
    );
    await server.serve();
    const url = `ws://127.0.0.1:${String(transport.port)}/rpc?x=1`;
    const a = newClient(url, { headers: { 'x-test': 'yes' } });
    const b = newClient(url);
    await a.notify('who', [1]);
    await b.notify('who', [2]);
    await a.notify('who', [3]);
    await waitUntil(() => contexts.length === 3);
    const [first, second, third] = contexts as [
      TransportContext,
      TransportContext,
      TransportContext,
    ];
    expect(first.transport).toBe('ws');
    expect(first.remoteAddress).toBe('127.0.0.1');
    expect(first.headers?.['x-test']).toBe('yes');
    expect(first.connectionId).toBe(third.connectionId);
    expect(first.connectionId).not.toBe(second.connectionId);
    expect(first.signal?.aborted).toBe(false);
    await a.close();
    await waitUntil(() => first.signal?.aborted === true);
    expect(second.signal?.aborted).toBe(false);
    await b.close();
  });

  it('shares a port with an HTTP server, taking upgrades only at its path', async () => {
    const http = createServer((_request, response) => {
      response.end('plain http');
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    resources.track({
      close: () =>
        new Promise<void>((resolve) => {
          http.closeAllConnections();
          http.close(() => {
            resolve();
          });
        }),
    });
    const port = (http.address() as { port: number }).port;
    const transport = new WsServerTransport({ server: http, path: '/ws' });
    const server = resources.track(
      new RpcServer(transport, new JsonRpcProtocol(), testDispatcher()),
    );
    await server.serve();
    expect(transport.port).toBe(port);
    const response = await fetch(`http://127.0.0.1:${String(port)}/anything`);
    expect(await response.text()).toBe('plain http');
    const client = resources.track(newClient(`ws://127.0.0.1:${String(port)}/ws`));
    expect(await client.call('add', [20, 22])).toBe(42);
    const wrongPath = newClient(`ws://127.0.0.1:${String(port)}/other`);
    const error = await wrongPath.call('add', [1, 1]).catch((e: unknown) => e);
    expect(TransportError.is(error)).toBe(true);
    await wrongPath.close();
    // Closing the transport leaves the HTTP server running.
    await server.close();
    expect(http.listening).toBe(true);
    expect(await (await fetch(`http://127.0.0.1:${String(port)}/`)).text()).toBe('plain http');
  });

  it('refuses upgrades at another path of its own server with 404, plain HTTP with 426', async () => {
    const { transport, server } = await startServer();
    resources.track(server);
    const port = String(transport.port);
    await expect(rawClient(`ws://127.0.0.1:${port}/wrong`)).rejects.toThrow(/404/);
    const response = await fetch(`http://127.0.0.1:${port}/rpc`);
    expect(response.status).toBe(426);
  });
});

describe('WsClientTransport connection handling', () => {
  it('connects lazily on the first send, or explicitly with connect()', async () => {
    const { url, server, transport } = await startServer();
    resources.track(server);
    const lazy = resources.track(new WsClientTransport(url));
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(transport.connectionCount).toBe(0);
    expect(lazy.connected).toBe(false);
    const client = new RpcClient(new JsonRpcProtocol(), lazy);
    expect(await client.call('add', [1, 1])).toBe(2);
    expect(lazy.connected).toBe(true);
    const eager = resources.track(new WsClientTransport(url));
    await eager.connect();
    expect(eager.connected).toBe(true);
    await waitUntil(() => transport.connectionCount === 2);
  });

  it('connects with the WebSocket class given in options (the WHATWG API of ws here)', async () => {
    const { url, server } = await startServer();
    resources.track(server);
    const transport = new WsClientTransport(url, { WebSocket });
    const client = resources.track(new RpcClient(new JsonRpcProtocol(), transport));
    expect(await client.call('add', [1, 2])).toBe(3);
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) => client.call('sleep', [40 - i * 2, i])),
    );
    expect(results).toEqual(Array.from({ length: 20 }, (_, i) => i));
    const received: Message[] = [];
    transport.subscribe({ onMessage: (m) => received.push(m), onClose: () => undefined });
    // A binary JSON-RPC request: the reply is text; and the platform path delivers bytes as bytes.
    await transport.send(
      new TextEncoder().encode('{"jsonrpc":"2.0","method":"add","params":[2,2],"id":"b"}'),
    );
    await waitUntil(() => received.length === 1);
    expect(received[0]).toBe('{"jsonrpc":"2.0","id":"b","result":4}');
  });

  it('says clearly when the runtime has no WebSocket (browser entry in Node 20)', async () => {
    const { WsClientTransport: PlatformClient } = await import('../src/browser.ts');
    const transport = new PlatformClient('ws://127.0.0.1:1/');
    if ('WebSocket' in globalThis) return; // Node 22+: there is one
    await expect(transport.send('{}')).rejects.toThrow(/No WebSocket implementation/);
  });

  it('fails a call with a TransportError when nothing listens', async () => {
    const { url, server } = await startServer();
    await server.close();
    const client = resources.track(newClient(url));
    const error = await client.call('add', [1, 2]).catch((e: unknown) => e);
    expect(TransportError.is(error)).toBe(true);
    expect((error as Error).message).toMatch(/Could not connect/);
  });

  it('bounds the wait for a connection with connectTimeout', async () => {
    // A TCP server that accepts but never answers the handshake.
    const { createServer: createTcpServer } = await import('node:net');
    const sockets = new Set<import('node:net').Socket>();
    const silent = createTcpServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    resources.track({
      close: () =>
        new Promise<void>((resolve) => {
          for (const s of sockets) s.destroy();
          silent.close(() => {
            resolve();
          });
        }),
    });
    const port = (silent.address() as { port: number }).port;
    const client = resources.track(
      newClient(`ws://127.0.0.1:${String(port)}/`, { connectTimeout: 200 }),
    );
    const started = Date.now();
    const error = await client.call('add', [1, 2]).catch((e: unknown) => e);
    expect(TransportError.is(error)).toBe(true);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('fails every pending call at once when the connection is lost', async () => {
    const { url, server, transport, destroySockets } = await startAttachedServer();
    resources.track(server);
    const client = resources.track(newClient(url));
    const calls = Array.from({ length: 10 }, () =>
      client.call('sleep', [10_000, 'never']).catch((e: unknown) => e),
    );
    await waitUntil(() => client.pendingCount === 10 && transport.connectionCount === 1);
    const started = Date.now();
    // Terminate the server side of every socket, as a crashed peer would.
    destroySockets();
    const errors = await Promise.all(calls);
    expect(Date.now() - started).toBeLessThan(1000);
    for (const error of errors) expect(TransportError.is(error)).toBe(true);
    expect((errors[0] as Error).message).toMatch(/closed \(code 1006\)/);
    expect(client.pendingCount).toBe(0);
  });

  it('connects again on the next call after a loss without reconnect', async () => {
    const { url, server, destroySockets } = await startAttachedServer();
    resources.track(server);
    const transport = new WsClientTransport(url);
    const client = resources.track(new RpcClient(new JsonRpcProtocol(), transport));
    expect(await client.call('add', [1, 2])).toBe(3);
    destroySockets();
    await waitUntil(() => !transport.connected);
    expect(await client.call('add', [2, 2])).toBe(4);
  });

  it('reconnects with backoff after the server comes back, and a waiting call goes through', async () => {
    const first = await startServer();
    const port = first.transport.port as number;
    const transport = new WsClientTransport(first.url, {
      reconnect: { retries: 20, initialDelay: 20, maxDelay: 100 },
      connectTimeout: 5000,
    });
    const client = resources.track(new RpcClient(new JsonRpcProtocol(), transport));
    expect(await client.call('add', [1, 2])).toBe(3);
    const pending = client.call('sleep', [10_000, 'lost']).catch((e: unknown) => e);
    await waitUntil(() => client.pendingCount === 1);
    await first.server.close();
    expect(TransportError.is(await pending)).toBe(true);
    // A call made while the server is down waits for the reconnection.
    const waiting = client.call('add', [40, 2]);
    await new Promise((resolve) => setTimeout(resolve, 150));
    const second = await startServer(testDispatcher(), { port });
    resources.track(second.server);
    expect(await waiting).toBe(42);
    expect(transport.connected).toBe(true);
  });

  it('gives up reconnecting after its retries with a clear TransportError', async () => {
    const { url, server } = await startServer();
    await server.close();
    const client = resources.track(
      newClient(url, { reconnect: { retries: 2, initialDelay: 10, maxDelay: 20 } }),
    );
    const error = await client.call('add', [1, 2]).catch((e: unknown) => e);
    expect(TransportError.is(error)).toBe(true);
    expect((error as Error).message).toMatch(/Could not connect to .* \(3 attempts\)/);
  });

  it('aborts a call waiting for a connection with its signal', async () => {
    const { url, server } = await startServer();
    await server.close();
    const client = resources.track(
      newClient(url, { reconnect: { retries: 100, initialDelay: 50, maxDelay: 50 } }),
    );
    const controller = new AbortController();
    const call = client.call('add', [1, 2], { signal: controller.signal }).catch((e: unknown) => e);
    setTimeout(() => {
      controller.abort(new Error('changed my mind'));
    }, 50);
    expect(((await call) as Error).message).toBe('changed my mind');
    expect(client.pendingCount).toBe(0);
  });

  it('close() fails pending calls and later sends', async () => {
    const { url, server } = await startServer();
    resources.track(server);
    const transport = new WsClientTransport(url);
    const client = new RpcClient(new JsonRpcProtocol(), transport);
    const pending = client.call('sleep', [10_000, 'x']).catch((e: unknown) => e);
    await waitUntil(() => client.pendingCount === 1 && transport.connected);
    await transport.close();
    expect(TransportError.is(await pending)).toBe(true);
    await expect(transport.send('{}')).rejects.toThrow(/closed/);
    await transport.close();
  });
});

describe('WsServerTransport close, limits and liveness', () => {
  it('close() sends in-flight replies, then closes sockets with 1001', async () => {
    const { url, server } = await startServer();
    const raw = resources.track(await rawClient(url));
    raw.ws.send(JSON.stringify({ jsonrpc: '2.0', method: 'work', params: [200, 'late'], id: 7 }));
    await new Promise((resolve) => setTimeout(resolve, 50));
    const closing = server.close();
    const [reply] = await raw.next(1);
    expect(JSON.parse(reply!.data as string)).toEqual({ jsonrpc: '2.0', id: 7, result: 'late' });
    expect((await raw.closed).code).toBe(1001);
    await closing;
  });

  it('closes a connection whose frame is over maxMessageSize with 1009', async () => {
    const { url, server, transport } = await startServer(testDispatcher(), {
      maxMessageSize: 1024,
    });
    resources.track(server);
    const client = resources.track(newClient(url));
    expect(await client.call('echo', ['x'.repeat(900)])).toHaveLength(900);
    const error = await client.call('echo', ['x'.repeat(2000)]).catch((e: unknown) => e);
    expect(TransportError.is(error)).toBe(true);
    expect((error as TransportError).data).toMatchObject({ code: 1009 });
    await waitUntil(() => transport.connectionCount === 0);
    // The server goes on serving.
    expect(await client.call('add', [1, 2])).toBe(3);
  });

  it('answers a non-JSON frame with a parse error and keeps the socket usable', async () => {
    const { url, server } = await startServer();
    resources.track(server);
    const raw = resources.track(await rawClient(url));
    raw.ws.send('this is not json');
    raw.ws.send(new Uint8Array([0xff, 0xfe, 0x00]));
    const errors = await raw.next(2);
    for (const e of errors) {
      expect(JSON.parse(e.data as string)).toEqual({
        jsonrpc: '2.0',
        id: null,
        error: { code: -32700, message: 'Parse error' },
      });
    }
    raw.ws.send(JSON.stringify({ jsonrpc: '2.0', method: 'add', params: [2, 3], id: 'after' }));
    const [, , after] = await raw.next(3);
    expect(JSON.parse(after!.data as string)).toEqual({ jsonrpc: '2.0', id: 'after', result: 5 });
  });

  it('terminates a peer that stops answering pings', async () => {
    const { url, server, transport } = await startServer(testDispatcher(), {
      heartbeatInterval: 100,
    });
    resources.track(server);
    const alive = resources.track(await rawClient(url));
    const dead = resources.track(await rawClient(url, { autoPong: false }));
    await waitUntil(() => transport.connectionCount === 2);
    const { code } = await dead.closed;
    expect(code).toBe(1006);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(alive.ws.readyState).toBe(alive.ws.OPEN);
    expect(transport.connectionCount).toBe(1);
  });

  it('terminates a client that never reads once its unread replies pass maxBufferedAmount', async () => {
    const { url, server, transport } = await startServer(testDispatcher(), {
      maxBufferedAmount: 256 * 1024,
    });
    resources.track(server);
    const reader = resources.track(await rawClient(url));
    const raw = resources.track(await rawClient(url));
    // Stop reading: the kernel's buffers fill first, then the server's queue for this peer.
    raw.ws.pause();
    const request = JSON.stringify({
      jsonrpc: '2.0',
      method: 'echo',
      params: ['y'.repeat(64 * 1024)],
      id: 1,
    });
    const limit = 1000; // 64 MB of replies: far more than kernel buffers and the limit hold
    let sent = 0;
    const deadline = Date.now() + 15_000;
    while (sent < limit && Date.now() < deadline && transport.connectionCount === 2) {
      raw.ws.send(request);
      sent++;
      if (sent % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await waitUntil(() => transport.connectionCount === 1, 5000);
    expect(sent).toBeLessThan(limit);
    // Reading again, the client finds the replies that had reached it, then a dropped connection.
    raw.ws.resume();
    expect((await raw.closed).code).toBe(1006);
    expect(raw.messages.length).toBeLessThan(sent);
    // A client that reads gets the same load answered in full, and stays connected; so does one
    // whose small requests, arriving at once, are answered in one burst far over the limit.
    for (let i = 0; i < sent + 20; i++) reader.ws.send(request);
    const replies = await reader.next(sent + 20, 15_000);
    expect(replies).toHaveLength(sent + 20);
    const small = JSON.stringify({ jsonrpc: '2.0', method: 'repeat', params: [64 * 1024], id: 3 });
    for (let i = 0; i < 64; i++) reader.ws.send(small);
    expect(await reader.next(sent + 20 + 64, 15_000)).toHaveLength(sent + 84);
    expect(reader.ws.readyState).toBe(reader.ws.OPEN);
    expect(transport.connectionCount).toBe(1);
  });
});
