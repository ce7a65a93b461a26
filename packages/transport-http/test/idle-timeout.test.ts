// idleTimeout: a request whose body began and then stalls ends with 408 and its connection closes,
// while a normal client is unaffected. Before, such a request held its connection for Node's 300 s.
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { afterEach, describe, expect, test } from 'vitest';
import { defaultLimits, RpcClient } from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { HttpClientTransport, HttpServerTransport } from '../src/index.ts';
import { request, startServer } from './support.ts';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const idleTimeout = 300;
// The stall is found within 1.25 idleTimeouts; the rest is a loaded machine's scheduling.
const margin = 700;

/** Sends headers and 10 of 1,000 body bytes, then nothing; resolves with what came back and when. */
function stall(port: number): Promise<{ received: string; closedAfter: number }> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1');
    let received = '';
    const give = setTimeout(() => {
      socket.destroy();
      reject(new Error(`still open after 10 s; received ${JSON.stringify(received)}`));
    }, 10_000);
    socket.on('data', (chunk) => (received += chunk.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(give);
      resolve({ received, closedAfter: Date.now() - started });
    });
    socket.write(
      'POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n' +
        '{"jsonrpc"',
    );
  });
}

describe('idleTimeout', () => {
  test('defaults to 30 s', () => {
    expect(new HttpServerTransport().idleTimeout).toBe(defaultLimits.idleTimeout);
    expect(defaultLimits.idleTimeout).toBe(30_000);
    expect(() => new HttpServerTransport({ idleTimeout: -1 })).toThrow(RangeError);
  });

  test('a stalled body ends with 408 and a closed connection; other clients carry on', async () => {
    const { transport, server, url } = await startServer({ idleTimeout });
    cleanups.push(() => server.close());
    const client = new RpcClient(new JsonRpcProtocol(), new HttpClientTransport(url));
    // The first fetch of a process loads undici, which holds the event loop for a while: not now.
    expect(await client.call('add', [0, 0])).toBe(0);
    const stalled = stall(transport.port as number);
    // A normal client calls while the stalled request waits.
    for (let i = 0; i < 5; i++) {
      expect(await client.call('add', [i, 1])).toBe(i + 1);
      await new Promise((resolve) => setTimeout(resolve, 40));
    }
    const { received, closedAfter } = await stalled;
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
    expect(received).toMatch(/connection: close/i);
    expect(received).toMatch(/idleTimeout/);
    expect(closedAfter).toBeGreaterThanOrEqual(idleTimeout - 20);
    expect(closedAfter).toBeLessThan(idleTimeout * 1.25 + margin);
    console.log(`stalled body: 408 and closed after ${String(closedAfter)} ms (idleTimeout 300)`);
    expect(await client.call('add', [20, 22])).toBe(42);
    // Nothing of the stalled request is counted in flight any more: close() does not wait for it.
    const closing = Date.now();
    await server.close();
    expect(Date.now() - closing).toBeLessThan(1000);
  });

  test('a slow body that keeps sending is not cut', async () => {
    const { transport, server } = await startServer({ idleTimeout });
    cleanups.push(() => server.close());
    const body = request('add', [2, 3]);
    const answer = await new Promise<string>((resolve, reject) => {
      const socket = connect(transport.port as number, '127.0.0.1');
      let received = '';
      socket.on('data', (chunk) => {
        received += chunk.toString();
        if (received.includes('"result"')) {
          socket.destroy();
          resolve(received);
        }
      });
      socket.on('error', reject);
      socket.write(
        `POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${String(body.length)}\r\n\r\n`,
      );
      // One byte every 100 ms, so the whole body takes far longer than idleTimeout.
      let sent = 0;
      const timer = setInterval(() => {
        socket.write(body.slice(sent, sent + 1));
        if (++sent === body.length) clearInterval(timer);
      }, 100);
    });
    expect(answer).toMatch(/^HTTP\/1\.1 200 /);
    expect(answer).toMatch(/"result":5/);
  }, 15_000);

  test('idleTimeout 0 waits for a stalled body', async () => {
    const { transport, server } = await startServer({ idleTimeout: 0 });
    const socket = connect(transport.port as number, '127.0.0.1');
    socket.on('error', () => undefined);
    let closed = false;
    socket.on('close', () => (closed = true));
    socket.write('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n\r\n{"jsonrpc"');
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect(closed).toBe(false);
    socket.destroy();
    await server.close();
  });

  test('mounted, handle answers a stalled body 408 too', async () => {
    const transport = new HttpServerTransport({ idleTimeout });
    await transport.listen(async () => undefined);
    const app = createServer(transport.handle);
    await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => {
      await transport.close();
      app.closeAllConnections();
      await new Promise((resolve) => app.close(resolve));
    });
    const { received, closedAfter } = await stall((app.address() as { port: number }).port);
    expect(received).toMatch(/^HTTP\/1\.1 408 /);
    expect(closedAfter).toBeLessThan(idleTimeout * 1.25 + margin);
  });

  test('fetch answers a stalled body 408', async () => {
    const transport = new HttpServerTransport({ idleTimeout });
    await transport.listen(async () => undefined);
    cleanups.push(() => transport.close());
    const started = Date.now();
    const response = await transport.fetch(
      new Request('http://rpc.test/', {
        method: 'POST',
        body: new ReadableStream<Uint8Array>({
          start(controller) {
            controller.enqueue(new TextEncoder().encode('{"jsonrpc"'));
            // ... and nothing more, ever.
          },
        }),
        duplex: 'half',
      } as RequestInit),
    );
    expect(response.status).toBe(408);
    expect(Date.now() - started).toBeLessThan(idleTimeout * 1.25 + margin);
  });
});
