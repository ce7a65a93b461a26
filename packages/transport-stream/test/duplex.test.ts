// Calls in both directions over one stream connection, with real TCP sockets: a server that calls
// back the client its request came from, pushes to it, and loses it.
import { connect, type AddressInfo, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import {
  RemoteError,
  RpcClient,
  RpcDispatcher,
  RpcPeer,
  RpcServer,
  TransportError,
  UnexpectedIdError,
  type CallContext,
  type Connection,
  type RpcError,
  type RpcServerOptions,
  type ServerConnection,
} from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import {
  StreamClientTransport,
  StreamServerTransport,
  type Framing,
  type StreamServerOptions,
} from '@tinyrpc/transport-stream';

const protocol = new JsonRpcProtocol();
const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

// A handler that runs until its signal aborts, as a well-behaved long call does.
const untilAborted = (signal: AbortSignal): Promise<never> =>
  new Promise((_, reject) => {
    signal.addEventListener('abort', () => {
      reject(signal.reason as Error);
    });
  });

function serverMethods(): RpcDispatcher {
  return new RpcDispatcher()
    .add('add', (a: number, b: number) => a + b)
    .add(
      'askBack',
      async (context: CallContext, question: string) => {
        if (context.peer === undefined) throw new Error('no peer');
        const answer = await context.peer.call<string>('answer', [question]);
        return `client said ${answer}`;
      },
      { context: true },
    );
}

const clientMethods = (): RpcDispatcher =>
  new RpcDispatcher().add('answer', (question: string) => `${question}!`);

async function serve(
  options: Omit<StreamServerOptions, 'port' | 'host' | 'path' | 'server' | 'stream'>,
  methods = serverMethods(),
  errors: unknown[] = [],
  serverOptions: RpcServerOptions = {},
) {
  const transport = new StreamServerTransport({
    port: 0,
    onError: (error) => errors.push(error),
    ...options,
  });
  const server = new RpcServer(transport, protocol, methods, serverOptions);
  await server.serve();
  cleanups.push(() => server.close());
  return { transport, server, port: (transport.address as AddressInfo).port, errors };
}

function peerOn(
  port: number,
  options: { dispatcher?: RpcDispatcher; framing?: Framing; onError?: (e: RpcError) => void } = {},
): { peer: RpcPeer; transport: StreamClientTransport } {
  const transport = new StreamClientTransport({
    port,
    ...(options.framing === undefined ? {} : { framing: options.framing }),
  });
  const peer = new RpcPeer(transport, protocol, {
    dispatcher: options.dispatcher ?? clientMethods(),
    ...(options.onError === undefined ? {} : { onError: options.onError }),
  });
  cleanups.push(() => peer.close());
  return { peer, transport };
}

describe.each(['content-length', 'newline'] as const)('over TCP, %s framing', (framing) => {
  it('a handler calls back the client while the client’s call waits for it', async () => {
    const { port } = await serve({ framing });
    const { peer } = peerOn(port, { framing });
    await expect(peer.call('askBack', ['ping'])).resolves.toBe('client said ping!');
    // Many at once, each with its own call back, on one connection.
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => peer.call('askBack', [String(i)])),
    );
    expect(answers).toEqual(Array.from({ length: 20 }, (_, i) => `client said ${String(i)}!`));
    expect(peer.pendingCount).toBe(0);
  });

  it('RpcClient with a dispatcher answers the server too', async () => {
    const { port } = await serve({ framing });
    const transport = new StreamClientTransport({ port, framing });
    const client = new RpcClient(protocol, transport, { dispatcher: clientMethods() });
    cleanups.push(() => client.close());
    await expect(client.call('askBack', ['hi'])).resolves.toBe('client said hi!');
  });
});

describe('a stream server with connections', () => {
  it('one stream (as stdio) is one connection the server calls back on', async () => {
    const up = new PassThrough();
    const down = new PassThrough();
    const transport = new StreamServerTransport({ stream: { readable: up, writable: down } });
    const server = new RpcServer(transport, protocol, serverMethods());
    const connected = deferred<RpcPeer>();
    server.onConnection((p) => {
      connected.resolve(p);
    });
    await server.serve();
    cleanups.push(() => server.close());
    const peer = new RpcPeer(
      new StreamClientTransport({ stream: { readable: down, writable: up } }),
      protocol,
      { dispatcher: clientMethods() },
    );
    cleanups.push(() => peer.close());
    const serverPeer = await connected.promise;
    expect(server.peers).toEqual([serverPeer]);
    await expect(peer.call('askBack', ['stdio'])).resolves.toBe('client said stdio!');
    await expect(serverPeer.call('answer', ['pushed'])).resolves.toBe('pushed!');
  });

  it('passes one ServerConnection per socket to onConnection and with every message', async () => {
    const seen: ServerConnection[] = [];
    const methods = new RpcDispatcher().add(
      'whoami',
      (context: CallContext) => {
        const connection = context.transport.connection as ServerConnection;
        seen.push(connection);
        return connection.id;
      },
      { context: true },
    );
    const transport = new StreamServerTransport({ port: 0 });
    const accepted: ServerConnection[] = [];
    await transport.listen((message, context) => server.handle(message, context), {
      onConnection: (connection) => accepted.push(connection),
    });
    const server = new RpcServer(transport, protocol, methods);
    cleanups.push(() => transport.close());
    const port = (transport.address as AddressInfo).port;
    const a = peerOn(port).peer;
    const b = peerOn(port).peer;
    const ids = [await a.call('whoami'), await a.call('whoami'), await b.call('whoami')];
    expect(accepted).toHaveLength(2);
    expect(seen[0]).toBe(seen[1]);
    expect(seen[2]).not.toBe(seen[0]);
    expect(ids).toEqual([seen[0]?.id, seen[0]?.id, seen[2]?.id]);
    expect(accepted).toContain(seen[0]);
    expect(accepted).toContain(seen[2]);
    expect(seen[0]?.context).toMatchObject({ transport: 'stream', connectionId: seen[0]?.id });
    expect(seen[0]?.signal.aborted).toBe(false);
  });

  it('server.onConnection pushes a notification and a call to a client that has not called', async () => {
    const { server, port } = await serve({});
    const connected = deferred<RpcPeer>();
    server.onConnection((peer) => {
      connected.resolve(peer);
    });
    const events: unknown[] = [];
    const methods = clientMethods().add('event', (value: unknown) => {
      events.push(value);
    });
    const { transport } = peerOn(port, { dispatcher: methods });
    await transport.connect();
    const serverPeer = await connected.promise;
    expect(server.peers).toEqual([serverPeer]);
    await serverPeer.notify('event', ['pushed']);
    await expect(serverPeer.call('answer', ['asked'])).resolves.toBe('asked!');
    await expect.poll(() => events).toEqual(['pushed']);
  });

  it.each(['destroy', 'resetAndDestroy'] as const)(
    'losing the socket (%s) fails every pending call in both directions and aborts both sides’ handlers',
    async (how) => {
      const serverSaw = deferred<AbortSignal>();
      const clientSaw = deferred<AbortSignal>();
      const methods = serverMethods()
        .add(
          'hang',
          (context: CallContext) => {
            serverSaw.resolve(context.signal);
            return untilAborted(context.signal);
          },
          { context: true },
        )
        .add('callHang', (context: CallContext) => context.peer?.call('hangHere'), {
          context: true,
        });
      const { server, port } = await serve({}, methods);
      const own = clientMethods().add(
        'hangHere',
        (context: CallContext) => {
          clientSaw.resolve(context.signal);
          return untilAborted(context.signal);
        },
        { context: true },
      );
      // A client whose socket the test can reach: the transport over a socket it was given.
      const socket = await openSocket(port);
      const peer = new RpcPeer(new StreamClientTransport({ stream: socket }), protocol, {
        dispatcher: own,
      });
      cleanups.push(() => peer.close());
      const toServer = peer.call('hang').catch((e: unknown) => e);
      const viaServer = peer.call('callHang').catch((e: unknown) => e);
      const [serverSignal, clientSignal] = await Promise.all([
        serverSaw.promise,
        clientSaw.promise,
      ]);
      const serverPeer = server.peers[0] as RpcPeer;
      const serverCall = serverPeer.call('hangHere').catch((e: unknown) => e);
      await expect.poll(() => serverPeer.pendingCount).toBe(2);
      expect(peer.pendingCount).toBe(2);

      socket[how]();

      const outcomes = await Promise.all([toServer, viaServer, serverCall]);
      for (const outcome of outcomes)
        expect(TransportError.is(outcome), String(outcome)).toBe(true);
      expect(clientSignal.aborted).toBe(true);
      await expect.poll(() => serverSignal.aborted).toBe(true);
      expect(TransportError.is(serverSignal.reason)).toBe(true);
      expect(peer.pendingCount).toBe(0);
      expect(serverPeer.pendingCount).toBe(0);
      await expect.poll(() => server.peers).toEqual([]);
      // After the loss the server's peer refuses at once.
      await expect(serverPeer.call('answer', ['late'])).rejects.toSatisfy((e) =>
        TransportError.is(e),
      );
    },
  );

  it('a reply with an unknown id goes to onError on either side and disturbs nothing', async () => {
    // The server's side: a raw socket plays the client and answers an id the server never used.
    // On a connection the server never called, such a reply is answered as it always was (a
    // response where a request belongs: invalid request), which Python tinyrpc clients expect.
    const serverErrors: RpcError[] = [];
    const { server, port } = await serve({}, serverMethods(), [], {
      peerOptions: { onError: (e) => serverErrors.push(e) },
    });
    const socket = await openSocket(port);
    cleanups.push(async () => {
      socket.destroy();
    });
    const received: string[] = [];
    socket.on('data', (chunk: Buffer) => received.push(chunk.toString()));
    socket.write(frame({ jsonrpc: '2.0', id: 999, result: 'stray' }));
    socket.write(frame({ jsonrpc: '2.0', id: 1, method: 'add', params: [1, 2] }));
    await expect.poll(() => received.join('')).toContain('{"jsonrpc":"2.0","id":1,"result":3}');
    expect(received.join('')).toContain('"id":999,"error":{"code":-32600');
    expect(serverErrors).toHaveLength(0);

    // The client's side: the server's end writes a reply nobody asked for onto the connection.
    const clientErrors: RpcError[] = [];
    const { peer } = peerOn(port, { onError: (e) => clientErrors.push(e) });
    await expect(peer.call('add', [2, 3])).resolves.toBe(5);
    const serverPeer = server.peers.at(-1) as RpcPeer;
    await (serverPeer.transport as Connection).send(
      JSON.stringify({ jsonrpc: '2.0', id: 'nobody', result: 1 }),
    );
    await expect.poll(() => clientErrors.length).toBe(1);
    expect(UnexpectedIdError.is(clientErrors[0])).toBe(true);
    await expect(peer.call('askBack', ['still'])).resolves.toBe('client said still!');
  });

  it('a server call over maxMessageSize fails with a TransportError and the connection stays', async () => {
    const errors: unknown[] = [];
    const { server, port } = await serve({ maxMessageSize: 1000 }, serverMethods(), errors);
    const connected = deferred<RpcPeer>();
    server.onConnection((p) => {
      connected.resolve(p);
    });
    const { peer, transport } = peerOn(port);
    await transport.connect();
    const serverPeer = await connected.promise;
    const error = (await serverPeer
      .call('answer', ['x'.repeat(2000)])
      .catch((e: unknown) => e)) as Error;
    expect(TransportError.is(error)).toBe(true);
    expect(error.message).toMatch(/over the limit of 1000 bytes \(maxMessageSize\)/);
    expect(serverPeer.pendingCount).toBe(0);
    await expect(serverPeer.call('answer', ['small'])).resolves.toBe('small!');
    await expect(peer.call('askBack', ['fine'])).resolves.toBe('client said fine!');
    expect(errors).toEqual([]);
  });

  it('at maxInFlight the connection is not read, so calls back wait for peerOptions.timeout', async () => {
    // Each call holds its slot while its handler waits for the client's answer, and a connection
    // at maxInFlight is not read, answers included (the transport cannot tell them from calls):
    // the server's timeout on its own calls is what ends the wait, then the connection reads on.
    const { port } = await serve({ maxInFlight: 2 }, serverMethods(), [], {
      peerOptions: { timeout: 200 },
    });
    const { peer } = peerOn(port);
    const started = Date.now();
    const outcomes = await Promise.allSettled(
      Array.from({ length: 4 }, (_, i) => peer.call('askBack', [String(i)])),
    );
    expect(Date.now() - started).toBeLessThan(5000);
    const failures = outcomes.flatMap((o) => (o.status === 'rejected' ? [o.reason as Error] : []));
    expect(failures.length).toBeGreaterThan(0);
    for (const failure of failures) {
      expect(RemoteError.is(failure)).toBe(true);
      expect(failure.message).toMatch(/timed out after 200 ms/);
    }
    // Within the limit, calls back are answered again.
    await expect(peer.call('askBack', ['after'])).resolves.toBe('client said after!');
  });

  it('a client error for the server’s call comes back as a RemoteError', async () => {
    const { server, port } = await serve({});
    const connected = deferred<RpcPeer>();
    server.onConnection((p) => {
      connected.resolve(p);
    });
    const { transport } = peerOn(port);
    await transport.connect();
    const serverPeer = await connected.promise;
    await expect(serverPeer.call('missing')).rejects.toSatisfy((e) => RemoteError.is(e));
  });
});

function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

function frame(value: unknown): string {
  const body = JSON.stringify(value);
  return `Content-Length: ${String(Buffer.byteLength(body))}\r\n\r\n${body}`;
}
