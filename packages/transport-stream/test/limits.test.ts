import { connect, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { defaultLimits, RpcClient, RpcDispatcher, RpcServer } from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import {
  StreamClientTransport,
  StreamServerTransport,
  type StreamServerOptions,
} from '@tinyrpc/transport-stream';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const mb = (bytes: number): number => Math.round(bytes / 1024 / 1024);
const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

async function serve(dispatcher: RpcDispatcher, options: Partial<StreamServerOptions> = {}) {
  const errors: unknown[] = [];
  const transport = new StreamServerTransport({
    port: 0,
    onError: (error) => errors.push(error),
    ...options,
  });
  const server = new RpcServer(transport, new JsonRpcProtocol(), dispatcher);
  await server.serve();
  cleanups.push(() => server.close());
  return { transport, server, port: (transport.address as AddressInfo).port, errors };
}

async function rawSocket(port: number): Promise<Socket> {
  const socket = connect({ port, host: '127.0.0.1' });
  socket.on('error', () => undefined);
  await new Promise((resolve) => socket.once('connect', resolve));
  cleanups.push(() => socket.destroy());
  return socket;
}

const frame = (body: string): string =>
  `Content-Length: ${String(Buffer.byteLength(body))}\r\n\r\n${body}`;

function client(port: number, framing: 'content-length' | 'newline' = 'content-length'): RpcClient {
  const rpc = new RpcClient(new JsonRpcProtocol(), new StreamClientTransport({ port, framing }));
  cleanups.push(() => rpc.close());
  return rpc;
}

describe('a client that sends and never reads', () => {
  it('is no longer read once its replies back up: server memory stays bounded', async () => {
    const { port, transport } = await serve(new RpcDispatcher().add('echo', (v: unknown) => v));
    const before = process.memoryUsage();
    const socket = await rawSocket(port);
    socket.pause(); // never reads a reply
    // 64 KiB echoes, written as fast as the server takes them, never faster: a bounded loop that
    // stops once the server has read nothing for a second. 1.5 GB of requests took the server from
    // 51 to 1,826 MB before; the loop sends at most 512 MB.
    const request = frame(
      JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'echo', params: ['y'.repeat(64 * 1024)] }),
    );
    const limit = 512 * 1024 * 1024;
    let sent = 0;
    let blocked = false;
    const deadline = Date.now() + 30_000;
    while (sent < limit && Date.now() < deadline) {
      if (!socket.write(request)) {
        const drained = await Promise.race([
          new Promise<boolean>((resolve) =>
            socket.once('drain', () => {
              resolve(true);
            }),
          ),
          sleep(1000).then(() => false),
        ]);
        if (!drained) {
          blocked = true;
          break;
        }
      }
      sent += request.length;
    }
    const after = process.memoryUsage();
    console.info(
      `stream client that never reads: server stopped reading after ${String(mb(sent))} MB of requests; ` +
        `rss ${String(mb(before.rss))} -> ${String(mb(after.rss))} MB, heap ${String(mb(before.heapUsed))} -> ${String(mb(after.heapUsed))} MB`,
    );
    expect(blocked).toBe(true);
    expect(sent).toBeLessThan(64 * 1024 * 1024);
    expect(after.rss - before.rss).toBeLessThan(100 * 1024 * 1024);
    // Another client is served at once meanwhile.
    const started = Date.now();
    expect(await client(port).call('echo', ['other'])).toBe('other');
    expect(Date.now() - started).toBeLessThan(1000);
    expect(transport.connectionCount).toBe(2);
    // Reading again, the client gets its replies and the server reads on.
    let received = 0;
    socket.on('data', (chunk: Buffer) => (received += chunk.length));
    socket.resume();
    await expect.poll(() => received, { timeout: 20_000 }).toBeGreaterThanOrEqual(sent);
  }, 60_000);
});

describe('maxInFlight', () => {
  it('runs at most maxInFlight calls of a connection, reads on as they finish, and serves others', async () => {
    let running = 0;
    let most = 0;
    const release: (() => void)[] = [];
    let released = false;
    const dispatcher = new RpcDispatcher()
      .add('echo', (v: unknown) => v)
      .add(
        'slow',
        (id: number) =>
          new Promise((resolve) => {
            running++;
            most = Math.max(most, running);
            const done = (): void => {
              running--;
              resolve(id);
            };
            if (released) done();
            else release.push(done);
          }),
      );
    const { port, transport } = await serve(dispatcher, { maxInFlight: 100, framing: 'newline' });
    const socket = await rawSocket(port);
    let replies = 0;
    socket.on('data', (chunk: Buffer) => {
      for (const byte of chunk) if (byte === 0x0a) replies++;
    });
    const count = 20_000;
    let batch = '';
    for (let id = 0; id < count; id++)
      batch += `{"jsonrpc":"2.0","id":${String(id)},"method":"slow","params":[${String(id)}]}\n`;
    socket.write(batch);
    await expect.poll(() => running).toBe(100);
    await sleep(200);
    expect(most).toBe(100);
    expect(transport.inFlight).toBe(100);
    const started = Date.now();
    expect(await client(port, 'newline').call('echo', ['other'])).toBe('other');
    expect(Date.now() - started).toBeLessThan(1000);
    released = true;
    for (const done of release.splice(0)) done();
    await expect.poll(() => replies, { timeout: 20_000 }).toBe(count);
    expect(most).toBe(100);
  }, 30_000);
});

describe('idleTimeout', () => {
  it('closes connections stalled inside a frame; an idle one between frames stays open', async () => {
    const { port, transport, errors } = await serve(
      new RpcDispatcher().add('echo', (v: unknown) => v),
      {
        idleTimeout: 500,
      },
    );
    const idle = client(port);
    expect(await idle.call('echo', [1])).toBe(1);
    // 300 half frames: before idleTimeout, 300 of 300 were still open after 76 s.
    const sockets = await Promise.all(Array.from({ length: 300 }, () => rawSocket(port)));
    const closed = sockets.map(
      (socket) =>
        new Promise<void>((resolve) =>
          socket.once('close', () => {
            resolve();
          }),
        ),
    );
    for (const socket of sockets) socket.write('Content-Length: 100\r\n\r\n{"jsonrpc":');
    await expect.poll(() => transport.connectionCount).toBe(301);
    const started = Date.now();
    await Promise.all(closed);
    const took = Date.now() - started;
    console.info(
      `idleTimeout 500 ms: 300 of 300 half-frame connections closed within ${String(took)} ms`,
    );
    expect(took).toBeLessThan(5000);
    await expect.poll(() => transport.connectionCount).toBe(1);
    expect(String(errors[0])).toMatch(/nothing more of it came for 500 ms \(idleTimeout\)/);
    await sleep(600);
    expect(await idle.call('echo', [2])).toBe(2);
  }, 20_000);

  it('defaults to defaultLimits.idleTimeout and 0 turns it off', async () => {
    expect(defaultLimits.idleTimeout).toBe(30_000);
    const { port, transport } = await serve(new RpcDispatcher(), { idleTimeout: 0 });
    const socket = await rawSocket(port);
    socket.write('Content-Length: 100\r\n\r\n{');
    await sleep(300);
    expect(transport.connectionCount).toBe(1);
  });
});

describe('over-size messages', () => {
  for (const framing of ['content-length', 'newline'] as const) {
    it(`answers a ${framing} frame over maxMessageSize with an id-null error, after the calls before it, then ends the connection`, async () => {
      const { port, errors } = await serve(
        new RpcDispatcher().add('echo', (v: unknown) => v),
        { maxMessageSize: 1000, framing },
      );
      const socket = await rawSocket(port);
      let received = '';
      socket.on('data', (chunk: Buffer) => (received += chunk.toString()));
      const ended = new Promise<void>((resolve) =>
        socket.once('end', () => {
          resolve();
        }),
      );
      const first = '{"jsonrpc":"2.0","id":1,"method":"echo","params":["before"]}';
      const big = `{"jsonrpc":"2.0","id":2,"method":"echo","params":["${'x'.repeat(2000)}"]}`;
      socket.write(framing === 'newline' ? `${first}\n${big}\n` : frame(first) + frame(big));
      await ended;
      const bodies =
        framing === 'newline'
          ? received.split('\n').filter((line) => line !== '')
          : received.split(/Content-Length: \d+\r\n\r\n/).filter((body) => body !== '');
      // The error goes out at once; the call before it is answered when it finishes.
      expect(bodies.map((body) => JSON.parse(body) as unknown)).toHaveLength(2);
      expect(bodies.map((body) => JSON.parse(body) as unknown)).toEqual(
        expect.arrayContaining([
          { jsonrpc: '2.0', id: 1, result: 'before' },
          {
            jsonrpc: '2.0',
            id: null,
            error: {
              code: -32600,
              message: 'A message of 2054 bytes is over the limit of 1000 bytes (maxMessageSize)',
            },
          },
        ]),
      );
      expect(String(errors[0])).toMatch(/maxMessageSize/);
      // Others are still served.
      expect(await client(port, framing).call('echo', [3])).toBe(3);
    });
  }

  it('ends the connection once its calls in flight are answered: our client fails the over-size call', async () => {
    const { port } = await serve(
      new RpcDispatcher()
        .add('echo', (v: unknown) => v)
        .add('nap', (ms: number) => sleep(ms).then(() => 'rested')),
      { maxMessageSize: 1000 },
    );
    const rpc = client(port);
    const napping = rpc.call('nap', [300]);
    await sleep(20);
    const started = Date.now();
    const error = await rpc.call('echo', ['x'.repeat(2000)]).catch((e: unknown) => e);
    expect(String(error)).toMatch(/TransportError/);
    expect(await napping).toBe('rested');
    expect(Date.now() - started).toBeLessThan(3000);
    // The next call connects again.
    expect(await rpc.call('echo', ['again'])).toBe('again');
  });
});
