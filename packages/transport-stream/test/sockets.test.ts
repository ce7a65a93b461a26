import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  RemoteError,
  RpcClient,
  RpcDispatcher,
  RpcServer,
  TransportError,
  type CallContext,
} from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { freePort } from '@tinyrpc/test-helpers';
import {
  StreamClientTransport,
  StreamServerTransport,
  type StreamServerOptions,
} from '@tinyrpc/transport-stream';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});
const socketDir = mkdtempSync(join(tmpdir(), 'tinyrpc-stream-'));
afterAll(() => {
  rmSync(socketDir, { recursive: true, force: true });
});

const contexts: CallContext[] = [];
const aborted: string[] = [];

function dispatcher(): RpcDispatcher {
  return new RpcDispatcher()
    .add('echo', (value: unknown) => value)
    .add('repeat', (size: number) => 'x'.repeat(size))
    .add(
      'whoami',
      (context: CallContext) => {
        contexts.push(context);
        return context.transport.connectionId;
      },
      { context: true },
    )
    .add(
      'wait_for_disconnect',
      (context: CallContext) =>
        new Promise((resolve) => {
          context.signal.addEventListener('abort', () => {
            aborted.push(String(context.transport.connectionId));
            resolve('gone');
          });
        }),
      { context: true },
    );
}

async function serve(options: StreamServerOptions, errors: Error[] = []) {
  const transport = new StreamServerTransport({
    onError: (e) => errors.push(e as Error),
    ...options,
  });
  const server = new RpcServer(transport, new JsonRpcProtocol(), dispatcher());
  await server.serve();
  cleanups.push(() => server.close());
  return { transport, server, port: (transport.address as AddressInfo | null)?.port ?? 0, errors };
}

function client(transport: StreamClientTransport): RpcClient {
  const rpc = new RpcClient(new JsonRpcProtocol(), transport);
  cleanups.push(() => rpc.close());
  return rpc;
}

/** A raw socket that collects what the server sends until it closes. */
async function rawSocket(
  port: number,
): Promise<{ socket: Socket; received: () => string; closed: Promise<void> }> {
  const socket = connect({ port, host: '127.0.0.1' });
  await new Promise((resolve) => socket.once('connect', resolve));
  let data = '';
  socket.on('data', (chunk: Buffer) => (data += chunk.toString('utf8')));
  const closed = new Promise<void>((resolve) =>
    socket.once('close', () => {
      resolve();
    }),
  );
  cleanups.push(async () => socket.destroy());
  return { socket, received: () => data, closed };
}

describe('TCP', () => {
  it('tells methods who calls: connection id, remote address, and a signal that aborts on disconnect', async () => {
    const { port } = await serve({ port: 0 });
    const a = client(new StreamClientTransport({ port }));
    const b = client(new StreamClientTransport({ port }));
    const [idA, idB] = [await a.call('whoami'), await b.call('whoami')];
    expect(idA).not.toBe(idB);
    expect(contexts.at(-1)?.transport).toMatchObject({
      transport: 'stream',
      remoteAddress: expect.stringMatching(/^127\.0\.0\.1:\d+$/),
    });
    // A peer that vanishes (a reset connection) aborts the signal of its calls in flight.
    const raw = await rawSocket(port);
    const body = '{"jsonrpc":"2.0","id":1,"method":"wait_for_disconnect"}';
    raw.socket.write(`Content-Length: ${String(body.length)}\r\n\r\n${body}`);
    await expect.poll(() => contexts.length + aborted.length).toBeGreaterThan(0);
    await new Promise((resolve) => setTimeout(resolve, 20));
    raw.socket.resetAndDestroy();
    await expect.poll(() => aborted.length).toBe(1);
  });

  it('fails a connection that is refused with a TransportError', async () => {
    const port = await freePort();
    await expect(StreamClientTransport.connect({ port })).rejects.toThrow(
      new RegExp(`Cannot connect to 127\\.0\\.0\\.1:${String(port)}`),
    );
    const rpc = client(new StreamClientTransport({ port }));
    await expect(rpc.call('echo', [1])).rejects.toBeInstanceOf(TransportError);
  });

  it('fails to listen on a port in use with a TransportError', async () => {
    const { port } = await serve({ port: 0 });
    await expect(serve({ port })).rejects.toThrow(
      /Could not listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/,
    );
  });

  it('answers a frame over the limit with an error response naming it, and keeps serving others', async () => {
    const { port, errors } = await serve({ port: 0, maxMessageSize: 1000 });
    const big = client(new StreamClientTransport({ port }));
    const small = client(new StreamClientTransport({ port }));
    expect(await small.call('echo', ['before'])).toBe('before');
    // The id-null error answers the only call waiting on that connection.
    const error = await big.call('echo', ['x'.repeat(2000)]).catch((e: unknown) => e);
    expect(RemoteError.is(error)).toBe(true);
    expect((error as RemoteError).code).toBe(-32600);
    expect((error as RemoteError).message).toMatch(
      /^A message of \d+ bytes is over the limit of 1000 bytes \(maxMessageSize\)$/,
    );
    expect(errors.map(String).join()).toMatch(/over the limit of 1000 bytes \(maxMessageSize\)/);
    expect(await small.call('echo', ['after'])).toBe('after');
    // The client that failed connects again on its next call.
    expect(await big.call('echo', ['again'])).toBe('again');
  });

  it('closes the connection when a reply is over the server limit, failing the call at once', async () => {
    const { port, errors } = await serve({ port: 0, maxMessageSize: 1000 });
    const rpc = client(new StreamClientTransport({ port }));
    const error = await rpc.call('repeat', [5000]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransportError);
    expect(errors.map(String).join()).toMatch(/reply could not be sent.*maxMessageSize/);
    expect(await rpc.call('repeat', [10])).toBe('x'.repeat(10));
  });

  it('fails pending calls when a reply is over the client limit', async () => {
    const { port } = await serve({ port: 0 });
    const rpc = client(new StreamClientTransport({ port, maxMessageSize: 100 }));
    const error = await rpc.call('repeat', [1000]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransportError);
    expect(String(error)).toMatch(/over the limit of 100 bytes \(maxMessageSize\)/);
    expect(rpc.pendingCount).toBe(0);
  });

  it('rejects a send over its own limit before writing, keeping the connection', async () => {
    const { port } = await serve({ port: 0 });
    const transport = new StreamClientTransport({ port, maxMessageSize: 100 });
    const rpc = client(transport);
    await expect(rpc.call('echo', ['x'.repeat(200)])).rejects.toThrow(/maxMessageSize/);
    expect(await rpc.call('echo', ['fits'])).toBe('fits');
    expect(transport.connected).toBe(true);
  });

  it('closes a connection that sends garbage framing, and reports it', async () => {
    const { port, errors } = await serve({ port: 0 });
    const raw = await rawSocket(port);
    raw.socket.write('Content-Length: lots\r\n\r\n{}');
    await raw.closed;
    expect(errors.map(String).join()).toMatch(/Invalid Content-Length/);
    expect(await client(new StreamClientTransport({ port })).call('echo', [1])).toBe(1);
  });

  it('speaks LSP framing on the wire, and answers a peer that half-closes', async () => {
    const { port } = await serve({ port: 0 });
    const raw = await rawSocket(port);
    const body = '{"jsonrpc":"2.0","id":1,"method":"echo","params":["é"]}';
    raw.socket.end(`Content-Length: ${String(Buffer.byteLength(body))}\r\n\r\n${body}`);
    await raw.closed;
    const reply = '{"jsonrpc":"2.0","id":1,"result":"é"}';
    expect(raw.received()).toBe(
      `Content-Length: ${String(Buffer.byteLength(reply))}\r\n\r\n${reply}`,
    );
  });

  it('speaks NDJSON on the wire with newline framing, and answers garbage lines with errors', async () => {
    const { port } = await serve({ port: 0, framing: 'newline' });
    const raw = await rawSocket(port);
    raw.socket.end('{"jsonrpc":"2.0","id":1,"method":"echo","params":[1]}\r\n\nnot json\n');
    await raw.closed;
    const lines = raw.received().split('\n');
    expect(lines.at(-1)).toBe('');
    expect(
      lines
        .slice(0, -1)
        .map((l) => JSON.parse(l))
        .sort((x, y) => (x.id === null ? 1 : y.id === null ? -1 : 0)),
    ).toEqual([
      { jsonrpc: '2.0', id: 1, result: 1 },
      { jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } },
    ]);
  });

  it('refuses bytes and line breaks under newline framing', async () => {
    const { port } = await serve({ port: 0, framing: 'newline' });
    const transport = new StreamClientTransport({ port, framing: 'newline' });
    cleanups.push(() => transport.close());
    await expect(transport.send(new Uint8Array([1]))).rejects.toThrow(/text only/);
    await expect(transport.send('{"a":\n1}')).rejects.toThrow(/line break/);
  });

  it('connects again on the next call to a server that restarted on the same port', async () => {
    const first = await serve({ port: 0 });
    const port = first.port;
    const again = client(new StreamClientTransport({ port }));
    expect(await again.call('echo', [1])).toBe(1);
    await first.server.close();
    // No server: the next call makes one attempt and fails.
    await expect(again.call('echo', [2])).rejects.toThrow(/Cannot connect to/);
    await serve({ port });
    expect(await again.call('echo', [3])).toBe(3);
  });

  it('with reconnect, reconnects in the background with backoff and a waiting call goes through', async () => {
    const first = await serve({ port: 0 });
    const port = first.port;
    const transport = new StreamClientTransport({
      port,
      reconnect: { initialDelay: 20, maxDelay: 50 },
    });
    const rpc = client(transport);
    expect(await rpc.call('echo', [1])).toBe(1);
    await first.server.close();
    await expect.poll(() => transport.connected).toBe(false);
    const waiting = rpc.call('echo', ['waited'], { timeout: 5000 });
    await new Promise((resolve) => setTimeout(resolve, 150));
    await serve({ port });
    expect(await waiting).toBe('waited');
    expect(transport.connected).toBe(true);
  });

  it('with reconnect, gives up after its retries with a TransportError that counts the attempts', async () => {
    const port = await freePort();
    const rpc = client(
      new StreamClientTransport({
        port,
        reconnect: { retries: 2, initialDelay: 10, maxDelay: 20 },
      }),
    );
    await expect(rpc.call('echo', [1])).rejects.toThrow(/Cannot connect to .* \(3 attempts\)/);
  });

  it('fails pending calls when the client transport closes, and refuses sends after', async () => {
    const { port } = await serve({ port: 0 });
    const transport = new StreamClientTransport({ port });
    const rpc = client(transport);
    const pending = rpc.call('wait_for_disconnect').catch((error: unknown) => error);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await transport.close();
    expect(await pending).toBeInstanceOf(TransportError);
    await expect(rpc.call('echo', [1])).rejects.toThrow(/closed/);
    expect(rpc.pendingCount).toBe(0);
  });

  it('ends idle connections on close(), and the client sees it', async () => {
    const { port, transport, server } = await serve({ port: 0 });
    const clientTransport = new StreamClientTransport({ port });
    await client(clientTransport).call('echo', [1]);
    expect(transport.connectionCount).toBe(1);
    await server.close();
    expect(transport.connectionCount).toBe(0);
    await expect.poll(() => clientTransport.connected).toBe(false);
  });

  it('closes connections an attached net.Server accepts after close()', async () => {
    const netServer = createServer({ allowHalfOpen: true });
    await new Promise<void>((resolve) => netServer.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => netServer.close(resolve)));
    const { server } = await serve({ server: netServer });
    const { port } = netServer.address() as AddressInfo;
    await server.close();
    const raw = await rawSocket(port);
    await raw.closed;
    expect(raw.received()).toBe('');
  });
});

describe('Unix sockets', () => {
  it('serves on a socket path and removes it on close()', async () => {
    const path = join(socketDir, 'unix.sock');
    const { server } = await serve({ path });
    expect(existsSync(path)).toBe(true);
    const rpc = client(await StreamClientTransport.connect({ path }));
    expect(await rpc.call('echo', ['over unix'])).toBe('over unix');
    await server.close();
    expect(existsSync(path)).toBe(false);
    await expect(rpc.call('echo', [1])).rejects.toThrow(/Cannot connect to .*unix\.sock/);
  });
});
