import { connect as netConnect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { RpcClient, TransportError } from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { WsClientTransport } from '@tinyrpc/transport-ws';
import {
  cleanup,
  newClient,
  rawClient,
  startNodeChild,
  startServer,
  testDispatcher,
  waitUntil,
} from './helpers.ts';

const resources = cleanup();
afterEach(() => resources.run());

const mb = (bytes: number): number => Math.round(bytes / 1024 / 1024);

// Sends `count` requests for `slow` on one connection as fast as ws takes them, then waits.
const floodScript = `
import { WebSocket } from 'ws';
const [url, count] = process.argv.slice(1);
const ws = new WebSocket(url, { perMessageDeflate: false });
ws.on('error', () => undefined);
ws.on('open', () => {
  for (let id = 0; id < Number(count); id++)
    ws.send('{"jsonrpc":"2.0","method":"slow","id":' + id + '}');
  console.log('QUEUED');
});
`;

function startFlood(url: string, count: number): Promise<void> {
  const child = resources.track(startNodeChild(floodScript, [url, String(count)]));
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error('the flooding client did not queue its requests within 60 s'));
    }, 60_000);
    child.stdout.on('data', (chunk: Buffer) => {
      if (chunk.toString().includes('QUEUED')) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
}

describe('WsServerTransport maxInFlight', () => {
  it('stops reading a flooding connection at maxInFlight; memory stays bounded and others are served', async () => {
    let running = 0;
    let most = 0;
    // Runs until the test releases it: a flood of calls that do not finish while it measures.
    const release: (() => void)[] = [];
    let released = false;
    const dispatcher = testDispatcher().add(
      'slow',
      () =>
        new Promise((resolve) => {
          running++;
          most = Math.max(most, running);
          const done = (): void => {
            running--;
            resolve('done');
          };
          if (released) done();
          else release.push(done);
        }),
    );
    const { url, server, transport } = await startServer(dispatcher, { maxInFlight: 1000 });
    resources.track(server);
    const before = process.memoryUsage();
    // 200,000 slow calls on one WebSocket took the server from 56 to 421 MB before maxInFlight.
    await startFlood(url, 200_000);
    await waitUntil(() => running === 1000, 30_000);
    // Give the flood time to push whatever the kernel lets through.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    const after = process.memoryUsage();
    expect(most).toBe(1000);
    expect(transport.inFlight).toBe(1000);
    // A second connection is read and answered at once.
    const other = resources.track(newClient(url));
    const started = Date.now();
    for (let i = 0; i < 20; i++) expect(await other.call('add', [i, 1])).toBe(i + 1);
    const elapsed = Date.now() - started;
    expect(elapsed).toBeLessThan(2000);
    const grown = after.rss - before.rss;
    console.info(
      `ws flood of 200,000 slow calls, maxInFlight 1000: rss ${String(mb(before.rss))} -> ${String(mb(after.rss))} MB, ` +
        `heap ${String(mb(before.heapUsed))} -> ${String(mb(after.heapUsed))} MB, ${String(most)} running at most, ` +
        `20 calls on a second connection in ${String(elapsed)} ms`,
    );
    expect(grown).toBeLessThan(100 * 1024 * 1024);
    expect(after.heapUsed - before.heapUsed).toBeLessThan(64 * 1024 * 1024);
    // Closing answers the calls that run, reads no more of the flood, and ends its connection.
    released = true;
    for (const done of release.splice(0)) done();
    await server.close();
    expect(transport.connectionCount).toBe(0);
  }, 90_000);

  it('reads a paused connection again as its calls finish, in order, and answers all', async () => {
    const { url, server, transport } = await startServer(testDispatcher(), { maxInFlight: 3 });
    resources.track(server);
    const raw = resources.track(await rawClient(url));
    let most = 0;
    const watch = setInterval(() => {
      most = Math.max(most, transport.inFlight);
    }, 1);
    resources.track({
      close: () => {
        clearInterval(watch);
      },
    });
    for (let id = 0; id < 30; id++)
      raw.ws.send(JSON.stringify({ jsonrpc: '2.0', method: 'work', params: [20, id], id }));
    const replies = await raw.next(30, 10_000);
    const ids = replies.map((reply) => (JSON.parse(reply.data as string) as { id: number }).id);
    expect(ids.sort((a, b) => a - b)).toEqual(Array.from({ length: 30 }, (_, i) => i));
    expect(most).toBeLessThanOrEqual(3);
  });

  it('rejects a maxInFlight below 1', () => {
    expect(() => startServer(testDispatcher(), { maxInFlight: 0 })).rejects.toThrow(RangeError);
  });
});

describe('over-size messages', () => {
  it('closes with 1009 and our client says the message was over the server limit', async () => {
    const { url, server } = await startServer(testDispatcher(), { maxMessageSize: 1000 });
    resources.track(server);
    const client = resources.track(newClient(url));
    const pending = client.call('sleep', [5000, 'pending']).catch((e: unknown) => e);
    const error = await client.call('echo', ['x'.repeat(2000)]).catch((e: unknown) => e);
    expect(TransportError.is(error)).toBe(true);
    expect((error as Error).message).toMatch(
      /^A message was over the server's limit \(maxMessageSize\): the WebSocket connection to .* closed \(code 1009\)/,
    );
    // Every pending call fails at once, with the same reason.
    expect(((await pending) as Error).message).toMatch(/over the server's limit/);
  });

  it('refuses a reply over the client limit with a TransportError naming it', async () => {
    const { url, server } = await startServer();
    resources.track(server);
    const client = resources.track(newClient(url, { maxMessageSize: 500 }));
    expect(await client.call('repeat', [100])).toHaveLength(100);
    const error = await client.call('repeat', [1000]).catch((e: unknown) => e);
    expect(TransportError.is(error)).toBe(true);
    expect((error as Error).message).toMatch(
      /^A message is over the limit of 500 bytes \(maxMessageSize\): a reply was refused/,
    );
    expect(client.pendingCount).toBe(0);
  });

  it('reports the over-size frame to onError and serves the next connection', async () => {
    const errors: unknown[] = [];
    const { url, server } = await startServer(testDispatcher(), {
      maxMessageSize: 1000,
      onError: (error) => errors.push(error),
    });
    resources.track(server);
    const raw = resources.track(await rawClient(url));
    raw.ws.send('x'.repeat(1001));
    expect((await raw.closed).code).toBe(1009);
    await waitUntil(() => errors.length === 1);
    expect(String(errors[0])).toMatch(/over the limit of 1000 bytes \(maxMessageSize\)/);
    expect(await resources.track(newClient(url)).call('add', [1, 2])).toBe(3);
  });
});

describe('answerNotifications', () => {
  const notification = '{"jsonrpc":"2.0","method":"echo","params":["note"]}';
  const call = '{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1}';

  it('answers each notification with an empty message when asked to', async () => {
    const { url, server } = await startServer(testDispatcher(), { answerNotifications: true });
    resources.track(server);
    const raw = resources.track(await rawClient(url));
    raw.ws.send(notification);
    expect(await raw.next(1)).toEqual([{ data: '', binary: false }]);
    raw.ws.send(call);
    const [, reply] = await raw.next(2);
    expect(JSON.parse(reply!.data as string)).toEqual({ jsonrpc: '2.0', id: 1, result: 3 });
  });

  it('answers nothing to a notification by default', async () => {
    const { url, server } = await startServer();
    resources.track(server);
    const raw = resources.track(await rawClient(url));
    raw.ws.send(notification);
    raw.ws.send(call);
    const [first] = await raw.next(1);
    expect(JSON.parse(first!.data as string)).toMatchObject({ id: 1 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(raw.messages).toHaveLength(1);
  });

  it('our client ignores the empty answers', async () => {
    const { url, server } = await startServer(testDispatcher(), { answerNotifications: true });
    resources.track(server);
    const errors: unknown[] = [];
    const transport = new WsClientTransport(url);
    const client = resources.track(
      new RpcClient(new JsonRpcProtocol(), transport, { onError: (error) => errors.push(error) }),
    );
    for (let i = 0; i < 5; i++) await client.notify('echo', [i]);
    expect(await client.call('add', [2, 3])).toBe(5);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(errors).toEqual([]);
  });
});

describe('a peer stalled inside a frame', () => {
  it('is terminated by the heartbeat within two intervals; a quiet peer between frames is not', async () => {
    const { url, server, transport } = await startServer(testDispatcher(), {
      heartbeatInterval: 200,
    });
    resources.track(server);
    const quiet = resources.track(await rawClient(url));
    // A handshake by hand, then the first 5 bytes of a masked 100-byte text frame, then nothing.
    const { port } = new URL(url);
    const socket: Socket = netConnect({ port: Number(port), host: '127.0.0.1' });
    resources.track({ close: () => socket.destroy() });
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(
      'GET /rpc HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
    );
    await new Promise((resolve) => socket.once('data', resolve));
    await waitUntil(() => transport.connectionCount === 2);
    socket.write(Buffer.from([0x81, 0x80 | 100, 1, 2, 3]));
    const closed = new Promise((resolve) => socket.once('close', resolve));
    const started = Date.now();
    await closed;
    expect(Date.now() - started).toBeLessThan(1500);
    await waitUntil(() => transport.connectionCount === 1);
    expect(quiet.ws.readyState).toBe(quiet.ws.OPEN);
  });
});
