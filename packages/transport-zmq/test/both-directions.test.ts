// Calls in both directions over ROUTER/DEALER: the server calls its DEALER clients back by routing
// id; REQ peers get no connection. Real sockets on 127.0.0.1.
import { describe, expect, it } from 'vitest';
import {
  RpcClient,
  RpcDispatcher,
  RpcPeer,
  RpcServer,
  TransportError,
  type CallContext,
  type RpcPeer as Peer,
  type ServerConnection,
} from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { Dealer, Request } from 'zeromq';
import { ZmqClientTransport, ZmqReqClientTransport, ZmqServerTransport } from '../src/index.ts';
import { defer, delay, owned, receiveWithin, request, startServer } from './helpers.ts';

const protocol = new JsonRpcProtocol();

/** Server methods: `greet` asks the caller back for its salute; `whoCalls` reports the peer. */
function serverMethods(): RpcDispatcher {
  return new RpcDispatcher()
    .add('add', (a: number, b: number) => a + b)
    .add(
      'greet',
      async ({ peer }: CallContext, name: string) => {
        if (peer === undefined) throw new Error('no peer to ask');
        return `${await peer.call<string>('salute')} ${name}`;
      },
      { context: true },
    )
    .add('whoCalls', ({ peer }: CallContext) => (peer === undefined ? 'nobody' : 'a peer'), {
      context: true,
    });
}

/** A DEALER RpcClient that serves `methods` to the server; closed after the test. */
function dealerClient(endpoint: string, methods: RpcDispatcher): RpcClient {
  const client = new RpcClient(protocol, new ZmqClientTransport(endpoint), {
    dispatcher: methods,
    timeout: 5000,
  });
  defer(() => client.close());
  return client;
}

/** Resolves once `signal` aborts; rejects after `ms`, so no test waits for ever. */
function aborted(signal: AbortSignal, ms: number): Promise<unknown> {
  if (signal.aborted) return Promise.resolve(signal.reason);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      reject(new Error(`not aborted within ${String(ms)} ms`));
    }, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve(signal.reason);
    });
  });
}

describe('ZmqServerTransport, calls in both directions', () => {
  it('a handler calls the DEALER client back by routing id while its call is in flight', async () => {
    const { endpoint } = await startServer(serverMethods());
    const ada = dealerClient(
      endpoint,
      new RpcDispatcher().add('salute', () => 'Hello'),
    );
    const bob = dealerClient(
      endpoint,
      new RpcDispatcher().add('salute', () => 'Hi'),
    );
    // Each call back goes to the client whose call is waiting, not to the other one.
    const answers = await Promise.all([
      ada.call('greet', ['Ada']),
      bob.call('greet', ['Bob']),
      ada.call('greet', ['Ada again']),
    ]);
    expect(answers).toEqual(['Hello Ada', 'Hi Bob', 'Hello Ada again']);
    expect(await ada.call('whoCalls')).toBe('a peer');
    expect(ada.pendingCount).toBe(0);
  });

  it('an RpcPeer on ZmqClientTransport serves and calls over one DEALER socket', async () => {
    const { endpoint } = await startServer(serverMethods());
    const peer = new RpcPeer(new ZmqClientTransport(endpoint), protocol, {
      dispatcher: new RpcDispatcher().add('salute', () => 'Hey'),
      timeout: 5000,
    });
    defer(() => peer.close());
    expect(await peer.call('greet', ['you'])).toBe('Hey you');
  });

  it('server.onConnection pushes to a DEALER client, and server.peers reaches it later', async () => {
    const { server, endpoint } = await startServer(serverMethods());
    const pushed: unknown[] = [];
    const connected: Peer[] = [];
    server.onConnection((peer) => {
      connected.push(peer);
      void peer.notify('pushed', ['welcome']);
    });
    const client = dealerClient(
      endpoint,
      new RpcDispatcher()
        .add('pushed', (text: string) => pushed.push(text))
        .add('double', (n: number) => n * 2),
    );
    // ZeroMQ tells a ROUTER of a DEALER only with its first message.
    expect(await client.call('add', [1, 2])).toBe(3);
    for (let i = 0; i < 100 && pushed.length === 0; i++) await delay(10);
    expect(pushed).toEqual(['welcome']);
    expect(connected).toHaveLength(1);
    expect(server.peers).toEqual(connected);
    expect(await connected[0]?.call('double', [21])).toBe(42);
  });

  it('a REQ client works as before; its handlers see no peer and it gets no connection', async () => {
    const { server, endpoint } = await startServer(serverMethods());
    const connections: unknown[] = [];
    server.onConnection((peer) => connections.push(peer));
    const client = new RpcClient(protocol, new ZmqReqClientTransport(endpoint), { timeout: 5000 });
    defer(() => client.close());
    expect(await client.call('add', [2, 3])).toBe(5);
    expect(await client.call('whoCalls')).toBe('nobody');
    await expect(client.call('greet', ['Ada'])).rejects.toMatchObject({
      message: 'no peer to ask',
    });
    await client.notify('add', [1, 1]);
    expect(await client.call('add', [4, 4])).toBe(8);
    expect(connections).toEqual([]);
    expect(server.peers).toEqual([]);
    // A REQ transport cannot serve the server at all.
    expect(
      () =>
        new RpcClient(protocol, new ZmqReqClientTransport(endpoint), {
          dispatcher: new RpcDispatcher(),
        }),
    ).toThrow(TypeError);
  });
});

describe('ZmqServerTransport connections, at the transport level', () => {
  /** A transport echoing every message, recording the connections it announces. */
  async function echoServer(maxMessageSize?: number) {
    const transport = new ZmqServerTransport({
      endpoint: 'tcp://127.0.0.1:0',
      ...(maxMessageSize === undefined ? {} : { maxMessageSize }),
    });
    defer(() => transport.close());
    const announced: ServerConnection[] = [];
    const seen: (ServerConnection | undefined)[] = [];
    await transport.listen(
      (message, context) => {
        seen.push(context.connection);
        return Promise.resolve(message);
      },
      { onConnection: (connection) => announced.push(connection) },
    );
    return { transport, endpoint: transport.endpoint as string, announced, seen };
  }

  function dealer(endpoint: string): Dealer {
    const socket = owned(new Dealer());
    socket.connect(endpoint);
    return socket;
  }

  it('announces one connection per DEALER, before its first message, and none for REQ or delimited peers', async () => {
    const { endpoint, announced, seen } = await echoServer();
    const socket = dealer(endpoint);
    await socket.send('one');
    await socket.send('two');
    expect(await receiveWithin(socket, 2000)).toEqual(['one']);
    expect(await receiveWithin(socket, 2000)).toEqual(['two']);
    expect(announced).toHaveLength(1);
    expect(seen).toEqual([announced[0], announced[0]]);

    // A REQ peer, and a DEALER that frames like one, could not take a message they did not ask for.
    const reqSocket = owned(new Request());
    reqSocket.connect(endpoint);
    await reqSocket.send('three');
    expect(await receiveWithin(reqSocket, 2000)).toEqual(['three']);
    const delimited = dealer(endpoint);
    await delimited.send(['', 'four']);
    expect(await receiveWithin(delimited, 2000)).toEqual(['', 'four']);
    expect(announced).toHaveLength(1);
    expect(seen.slice(2)).toEqual([undefined, undefined]);
  });

  it('connection.send reaches the DEALER as one frame, and refuses a message over maxMessageSize', async () => {
    const { endpoint, announced } = await echoServer(1024);
    const socket = dealer(endpoint);
    await socket.send('hello');
    expect(await receiveWithin(socket, 2000)).toEqual(['hello']);
    const connection = announced[0] as ServerConnection;
    await connection.send('from the server');
    await connection.send(new TextEncoder().encode('bytes too'));
    expect(await receiveWithin(socket, 2000)).toEqual(['from the server']);
    expect(await receiveWithin(socket, 2000)).toEqual(['bytes too']);
    const tooLarge = connection.send('x'.repeat(2000));
    await expect(tooLarge).rejects.toBeInstanceOf(TransportError);
    await expect(tooLarge).rejects.toThrow(/maxMessageSize/);
    // The connection stays.
    expect(connection.signal.aborted).toBe(false);
    await connection.send('still here');
    expect(await receiveWithin(socket, 2000)).toEqual(['still here']);
  });

  it('ends a connection whose DEALER left: its signal aborts and a send fails with TransportError', async () => {
    const { endpoint, announced } = await echoServer();
    const socket = dealer(endpoint);
    await socket.send('hello');
    expect(await receiveWithin(socket, 2000)).toEqual(['hello']);
    const stays = dealer(endpoint);
    await stays.send('me too');
    expect(await receiveWithin(stays, 2000)).toEqual(['me too']);
    const [gone, staying] = announced as [ServerConnection, ServerConnection];
    socket.linger = 0;
    socket.close();
    const reason = await aborted(gone.signal, 2000);
    expect(reason).toBeInstanceOf(TransportError);
    await expect(gone.send('anyone?')).rejects.toBeInstanceOf(TransportError);
    // The other peer's connection stays. A raw DEALER sees the empty probe frames that found the
    // gone peer (ZmqClientTransport skips them) before the message.
    expect(staying.signal.aborted).toBe(false);
    await staying.send('ok');
    const frames: string[][] = [];
    for (let i = 0; i < 3; i++) {
      const next = await receiveWithin(stays, 500);
      if (next === undefined) break;
      frames.push(next);
      if (next[0] === 'ok') break;
    }
    expect(frames[frames.length - 1]).toEqual(['ok']);
    expect(frames.slice(0, -1).every((f) => f.length === 1 && f[0] === '')).toBe(true);
  });

  it('a send to a peer ZeroMQ no longer routes fails with TransportError at once', async () => {
    const { endpoint, announced } = await echoServer();
    const socket = dealer(endpoint);
    await socket.send('hello');
    expect(await receiveWithin(socket, 2000)).toEqual(['hello']);
    const connection = announced[0] as ServerConnection;
    socket.linger = 0;
    socket.close();
    // Without waiting for the disconnect check: the send itself finds the peer gone.
    let failure: unknown;
    for (let i = 0; i < 100 && failure === undefined; i++) {
      failure = await connection.send('x').then(
        () => delay(5),
        (error: unknown) => error,
      );
    }
    expect(failure).toBeInstanceOf(TransportError);
    expect(connection.signal.aborted).toBe(true);
  });

  it('close() and connection.close() end connections; a later message opens a new one', async () => {
    const { transport, endpoint, announced } = await echoServer();
    const socket = dealer(endpoint);
    await socket.send('a');
    expect(await receiveWithin(socket, 2000)).toEqual(['a']);
    const first = announced[0] as ServerConnection;
    await first.close();
    expect(first.signal.aborted).toBe(true);
    await expect(first.send('x')).rejects.toBeInstanceOf(TransportError);
    await socket.send('b');
    expect(await receiveWithin(socket, 2000)).toEqual(['b']);
    expect(announced).toHaveLength(2);
    const second = announced[1] as ServerConnection;
    expect(second.id).toBe(first.id);
    await transport.close();
    expect(second.signal.reason).toBeInstanceOf(TransportError);
    await expect(second.send('x')).rejects.toBeInstanceOf(TransportError);
  });
});

describe('RpcServer over ZeroMQ, when a client goes or the server closes', () => {
  it('a call to a DEALER client that left fails with TransportError instead of hanging', async () => {
    const { server, endpoint } = await startServer(serverMethods());
    const peers: Peer[] = [];
    server.onConnection((peer) => peers.push(peer));
    const client = new RpcClient(protocol, new ZmqClientTransport(endpoint), {
      dispatcher: new RpcDispatcher().add('never', () => new Promise(() => undefined)),
    });
    expect(await client.call('add', [1, 1])).toBe(2);
    const peer = peers[0] as Peer;
    const waiting = peer.call('never');
    await delay(50);
    await client.close();
    await expect(waiting).rejects.toBeInstanceOf(TransportError);
    await expect(peer.call('never')).rejects.toBeInstanceOf(TransportError);
    expect(server.peers).toEqual([]);
  });

  it('close() does not wait for a handler that waits on a client call: that call fails', async () => {
    const transport = new ZmqServerTransport({ endpoint: 'tcp://127.0.0.1:0' });
    const failures: unknown[] = [];
    const methods = new RpcDispatcher().add(
      'stall',
      async ({ peer }: CallContext) => {
        try {
          return await peer?.call('never');
        } catch (error) {
          failures.push(error);
          return 'gave up';
        }
      },
      { context: true },
    );
    const server = new RpcServer(transport, protocol, methods);
    await server.serve();
    const client = dealerClient(
      transport.endpoint as string,
      new RpcDispatcher().add('never', () => new Promise(() => undefined)),
    );
    const stalled = client.call('stall');
    for (let i = 0; i < 100 && server.peers.length === 0; i++) await delay(10);
    await delay(50);
    const started = performance.now();
    await server.close();
    expect(performance.now() - started).toBeLessThan(2000);
    expect(failures).toHaveLength(1);
    expect(failures[0]).toBeInstanceOf(TransportError);
    // The handler's answer left before the socket closed.
    expect(await stalled).toBe('gave up');
  });

  it('a raw DEALER peer gets the server’s calls as single frames it can answer', async () => {
    const { server, endpoint } = await startServer(serverMethods());
    const peers: Peer[] = [];
    server.onConnection((peer) => peers.push(peer));
    const socket = owned(new Dealer());
    socket.connect(endpoint);
    await socket.send(request('add', [1, 2], 1));
    expect(JSON.parse((await receiveWithin(socket, 2000))?.[0] ?? 'null')).toMatchObject({
      id: 1,
      result: 3,
    });
    const answer = (peers[0] as Peer).call('salute');
    const frames = await receiveWithin(socket, 2000);
    expect(frames).toHaveLength(1);
    const call = JSON.parse(frames?.[0] ?? 'null') as { id: number; method: string };
    expect(call.method).toBe('salute');
    await socket.send(JSON.stringify({ jsonrpc: '2.0', id: call.id, result: 'Yo' }));
    expect(await answer).toBe('Yo');
  });
});
