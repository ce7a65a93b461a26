// Calls in both directions over one WebSocket (transport contract v1): the server's connections,
// RpcPeer and RpcClient({ dispatcher }) on WsClientTransport, a server that calls back and pushes.
import { afterEach, describe, expect, it } from 'vitest';
import {
  RpcClient,
  RpcDispatcher,
  RpcPeer,
  RpcServer,
  TransportError,
  UnexpectedIdError,
  type CallContext,
  type Message,
  type RpcError,
  type ServerConnection,
  type TransportContext,
} from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { WsClientTransport, WsServerTransport } from '@tinyrpc/transport-ws';
import { cleanup, rawClient, startAttachedServer, startServer, waitUntil } from './helpers.ts';

const resources = cleanup();
afterEach(() => resources.run());

const protocol = new JsonRpcProtocol();

function deferred<T>(): { promise: Promise<T>; resolve(value: T): void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => {
    resolve = done;
  });
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
  const methods = new RpcDispatcher();
  methods.add('add', (a: number, b: number) => a + b);
  methods.add(
    'askBack',
    async (context: CallContext, question: string) => {
      if (context.peer === undefined) throw new Error('no peer');
      const answer = await context.peer.call<string>('answer', [question]);
      return `client said ${answer}`;
    },
    { context: true },
  );
  return methods;
}

function clientMethods(): RpcDispatcher {
  const methods = new RpcDispatcher();
  methods.add('answer', (question: string) => `${question}!`);
  return methods;
}

describe('calls in both directions over one WebSocket', () => {
  it('a handler calls back the client its call came from, while that call waits (RpcPeer)', async () => {
    const { url, server, transport } = await startServer(serverMethods());
    resources.track(server);
    const connection = new WsClientTransport(url);
    const peer = resources.track(
      new RpcPeer(connection, protocol, { dispatcher: clientMethods() }),
    );
    const answers = await Promise.all(
      Array.from({ length: 20 }, (_, i) => peer.call<string>('askBack', [`q${String(i)}`])),
    );
    expect(answers).toEqual(Array.from({ length: 20 }, (_, i) => `client said q${String(i)}!`));
    await expect(peer.call('add', [2, 3])).resolves.toBe(5);
    expect(peer.pendingCount).toBe(0);
    expect(server.peers).toHaveLength(1);
    expect(server.peers[0]?.pendingCount).toBe(0);
    // All of it on one connection.
    expect(transport.connectionCount).toBe(1);
  });

  it('RpcClient with a dispatcher answers the server over WsClientTransport', async () => {
    const { url, server } = await startServer(serverMethods());
    resources.track(server);
    const client = resources.track(
      new RpcClient(protocol, new WsClientTransport(url), { dispatcher: clientMethods() }),
    );
    await expect(client.call('askBack', ['hi'])).resolves.toBe('client said hi!');
  });

  it('the server pushes to connected clients at any time, through onConnection and peers', async () => {
    const { url, server } = await startServer(serverMethods());
    resources.track(server);
    const connected: RpcPeer[] = [];
    const contexts: TransportContext[] = [];
    const stop = server.onConnection((peer, context) => {
      connected.push(peer);
      contexts.push(context);
    });
    const received: unknown[][] = [[], []];
    const clients = [0, 1].map((n) => {
      const methods = clientMethods();
      methods.add('event', (value: unknown) => {
        received[n]?.push(value);
      });
      const transport = new WsClientTransport(url, { headers: { 'x-client': String(n) } });
      return {
        transport,
        peer: resources.track(new RpcPeer(transport, protocol, { dispatcher: methods })),
      };
    });
    // The server knows a client once it has connected, before it sent anything.
    await clients[0]?.transport.connect();
    await waitUntil(() => connected.length === 1);
    await clients[1]?.transport.connect();
    await waitUntil(() => connected.length === 2);
    expect(server.peers).toEqual(connected);
    expect(contexts.map((c) => [c.transport, c.headers?.['x-client']])).toEqual([
      ['ws', '0'],
      ['ws', '1'],
    ]);
    expect(contexts[0]?.connectionId).not.toBe(contexts[1]?.connectionId);

    for (const peer of server.peers) await peer.notify('event', ['to all']);
    await expect(connected[1]?.call('answer', ['pushed'])).resolves.toBe('pushed!');
    const typed = connected[0]?.getProxy<{ answer(question: string): string }>();
    await expect(typed?.answer('typed')).resolves.toBe('typed!');
    await expect.poll(() => received).toEqual([['to all'], ['to all']]);

    // A client that leaves is no longer among the peers; the server's calls to it fail at once.
    await clients[0]?.peer.close();
    await waitUntil(() => server.peers.length === 1);
    expect(server.peers).toEqual([connected[1]]);
    const gone = await connected[0]?.call('answer', ['late']).catch((e: unknown) => e);
    expect(TransportError.is(gone)).toBe(true);
    stop();
  });

  it('losing the connection fails every pending call in both directions at once and aborts handler signals', async () => {
    const serverSaw = deferred<AbortSignal>();
    const clientSaw: AbortSignal[] = [];
    const methods = serverMethods();
    methods.add(
      'hang',
      (context: CallContext) => {
        serverSaw.resolve(context.signal);
        return untilAborted(context.signal);
      },
      { context: true },
    );
    methods.add('callHang', (context: CallContext) => context.peer?.call('hangHere'), {
      context: true,
    });
    const { url, server, destroySockets } = await startAttachedServer(methods);
    resources.track(server);
    const own = clientMethods();
    own.add(
      'hangHere',
      (context: CallContext) => {
        clientSaw.push(context.signal);
        return untilAborted(context.signal);
      },
      { context: true },
    );
    const peer = resources.track(
      new RpcPeer(new WsClientTransport(url), protocol, { dispatcher: own }),
    );
    const toServer = peer.call('hang').catch((e: unknown) => e);
    const viaServer = peer.call('callHang').catch((e: unknown) => e);
    const serverSignal = await serverSaw.promise;
    await waitUntil(() => server.peers.length === 1 && clientSaw.length === 1);
    const serverPeer = server.peers[0] as RpcPeer;
    // And one call the server makes on its own, not from a handler.
    const pushed = serverPeer.call('hangHere').catch((e: unknown) => e);
    await waitUntil(() => clientSaw.length === 2);
    expect(peer.pendingCount).toBe(2);
    expect(serverPeer.pendingCount).toBe(2);

    const lost = Date.now();
    destroySockets(); // no close frame, as a crash or a cut cable
    const outcomes = await Promise.all([toServer, viaServer, pushed]);
    expect(Date.now() - lost).toBeLessThan(1000);
    for (const outcome of outcomes) expect(TransportError.is(outcome)).toBe(true);
    expect((outcomes[0] as Error).message).toMatch(/closed \(code 1006\)/);
    expect(serverSignal.aborted).toBe(true);
    expect(clientSaw.map((signal) => signal.aborted)).toEqual([true, true]);
    expect(peer.pendingCount).toBe(0);
    expect(serverPeer.pendingCount).toBe(0);
    await waitUntil(() => server.peers.length === 0);
  });

  it('a reply with an unknown id goes to the client onError and disturbs nothing', async () => {
    const transport = resources.track(new WsServerTransport({ port: 0 }));
    const connections: ServerConnection[] = [];
    const fromClient: Message[] = [];
    await transport.listen(
      (message) => {
        fromClient.push(message);
        return Promise.resolve(undefined);
      },
      { onConnection: (connection) => connections.push(connection) },
    );
    const errors: RpcError[] = [];
    const client = new WsClientTransport(`ws://127.0.0.1:${String(transport.port)}/`);
    resources.track(
      new RpcPeer(client, protocol, {
        dispatcher: clientMethods(),
        onError: (error) => errors.push(error),
      }),
    );
    await client.connect();
    await waitUntil(() => connections.length === 1);
    const connection = connections[0] as ServerConnection;
    await connection.send(JSON.stringify({ jsonrpc: '2.0', id: 999, result: 1 }));
    await connection.send(
      JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'answer', params: ['ok'] }),
    );
    await waitUntil(() => fromClient.length === 1);
    expect(JSON.parse(fromClient[0] as string)).toEqual({ jsonrpc: '2.0', id: 7, result: 'ok!' });
    expect(errors).toHaveLength(1);
    expect(UnexpectedIdError.is(errors[0])).toBe(true);
  });

  it('a reply with an unknown id disturbs nothing: answered as before on a connection the server never called, to onError after it called', async () => {
    const errors: RpcError[] = [];
    const transport = new WsServerTransport({ port: 0, path: '/rpc' });
    const server = resources.track(
      new RpcServer(transport, protocol, serverMethods(), {
        peerOptions: { onError: (error) => errors.push(error) },
      }),
    );
    await server.serve();
    const raw = resources.track(await rawClient(`ws://127.0.0.1:${String(transport.port)}/rpc`));
    raw.ws.send(JSON.stringify({ jsonrpc: '2.0', id: 12345, result: 'nobody asked' }));
    raw.ws.send(JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'add', params: [1, 2] }));
    const replies = (await raw.next(2)).map((m) => JSON.parse(m.data as string) as unknown);
    expect(replies).toContainEqual({ jsonrpc: '2.0', id: 1, result: 3 });
    expect(replies).toContainEqual({
      jsonrpc: '2.0',
      id: 12345,
      error: { code: -32600, message: 'Invalid Request' },
    });
    expect(errors).toHaveLength(0);
    // Once the server has called this client, a stray reply goes to the peer's onError instead.
    const peer = server.peers[0];
    void peer?.notify('hello');
    void peer?.call('ping', [], { timeout: 5000 }).catch(() => undefined);
    raw.ws.send(JSON.stringify({ jsonrpc: '2.0', id: 'nobody', result: 'stray' }));
    await waitUntil(() => errors.length === 1);
    expect(UnexpectedIdError.is(errors[0])).toBe(true);
  });
});

describe('WsServerTransport connections (contract v1)', () => {
  it('announces each connection before its first message and passes the same one with every message', async () => {
    const transport = resources.track(new WsServerTransport({ port: 0 }));
    const events: string[] = [];
    const announced: ServerConnection[] = [];
    const seen: (ServerConnection | undefined)[] = [];
    await transport.listen(
      (message, context) => {
        events.push(`message ${String(message)}`);
        seen.push(context.connection);
        return Promise.resolve(message);
      },
      {
        onConnection: (connection) => {
          events.push('connection');
          announced.push(connection);
        },
      },
    );
    const raw = resources.track(await rawClient(`ws://127.0.0.1:${String(transport.port)}/`));
    raw.ws.send('a');
    raw.ws.send('b');
    await raw.next(2);
    expect(events).toEqual(['connection', 'message a', 'message b']);
    const [connection] = announced as [ServerConnection];
    expect(seen).toEqual([connection, connection]);
    expect(seen[0]).toBe(seen[1]);
    expect(typeof connection.id).toBe('string');
    expect(connection.context).toMatchObject({
      transport: 'ws',
      remoteAddress: '127.0.0.1',
      connectionId: connection.id,
    });
    expect(connection.signal.aborted).toBe(false);
  });

  it('connection.send reaches the peer in the frame type given, refuses one over maxMessageSize, and fails after the close', async () => {
    const transport = resources.track(new WsServerTransport({ port: 0, maxMessageSize: 1024 }));
    const connections: ServerConnection[] = [];
    await transport.listen(() => Promise.resolve(undefined), {
      onConnection: (connection) => connections.push(connection),
    });
    const raw = resources.track(await rawClient(`ws://127.0.0.1:${String(transport.port)}/`));
    await waitUntil(() => connections.length === 1);
    const connection = connections[0] as ServerConnection;
    await connection.send('text');
    await connection.send(new Uint8Array([1, 2, 3]));
    const tooLarge = await connection.send('x'.repeat(1025)).catch((e: unknown) => e);
    expect(TransportError.is(tooLarge)).toBe(true);
    expect((tooLarge as Error).message).toMatch(/1025 bytes is over the limit of 1024 bytes/);
    // The refused message cost nothing: the connection goes on.
    await connection.send('after');
    const messages = await raw.next(3);
    expect(messages).toEqual([
      { data: 'text', binary: false },
      { data: new Uint8Array([1, 2, 3]), binary: true },
      { data: 'after', binary: false },
    ]);

    await connection.close();
    expect((await raw.closed).code).toBe(1000);
    expect(connection.signal.aborted).toBe(true);
    expect(TransportError.is(connection.signal.reason)).toBe(true);
    const late = await connection.send('late').catch((e: unknown) => e);
    expect(TransportError.is(late)).toBe(true);
    expect(transport.connectionCount).toBe(0);
  });

  it('aborts the connection signal with a TransportError naming the code when the peer goes', async () => {
    const transport = resources.track(new WsServerTransport({ port: 0 }));
    const connections: ServerConnection[] = [];
    await transport.listen(() => Promise.resolve(undefined), {
      onConnection: (connection) => connections.push(connection),
    });
    const raw = await rawClient(`ws://127.0.0.1:${String(transport.port)}/`);
    await waitUntil(() => connections.length === 1);
    raw.ws.close(4000, 'bye');
    const connection = connections[0] as ServerConnection;
    await waitUntil(() => connection.signal.aborted);
    const reason = connection.signal.reason as TransportError;
    expect(TransportError.is(reason)).toBe(true);
    expect(reason.message).toBe('The WebSocket connection closed (code 4000: bye)');
    expect(reason.data).toEqual({ code: 4000, reason: 'bye' });
  });

  it('close() fails the server’s own waiting call to its client, so the handler ends and close() does not hang', async () => {
    const methods = new RpcDispatcher();
    const started = deferred<undefined>();
    methods.add(
      'slowAsk',
      async (context: CallContext) => {
        started.resolve(undefined);
        const answer = await context.peer?.call<string>('answer', ['during close']);
        return `got ${String(answer)}`;
      },
      { context: true },
    );
    const { url, server } = await startServer(methods);
    const own = new RpcDispatcher();
    const asked = deferred<undefined>();
    const release = deferred<undefined>();
    own.add('answer', async (question: string) => {
      asked.resolve(undefined);
      await release.promise;
      return `${question}!`;
    });
    const peer = resources.track(
      new RpcPeer(new WsClientTransport(url), protocol, {
        dispatcher: own,
        onError: () => undefined,
      }),
    );
    const call = peer.call('slowAsk');
    await started.promise;
    await asked.promise;
    const closing = server.close();
    // The server's call to the client fails at once; the handler's error is its answer.
    await expect(call).rejects.toThrow(/Server closed/);
    await closing;
    release.resolve(undefined);
  });
});
