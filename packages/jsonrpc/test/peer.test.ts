// Calls in both directions over one connection: RpcPeer, a client that serves, and a server that
// calls its clients back. Over the memory transport and a MessageChannel (both connections).
import {
  MethodNotFoundError,
  RemoteError,
  RpcClient,
  RpcDispatcher,
  RpcPeer,
  RpcServer,
  TransportError,
  UnexpectedIdError,
  createMemoryTransport,
  type CallContext,
  type RpcError,
} from '@tinyrpc/core';
import { describe, expect, it } from 'vitest';
import { JsonRpcProtocol } from '../src/index.ts';
import { createChannelPair, deferred } from './channel-pair.ts';

const protocol = new JsonRpcProtocol();

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

describe('calls in both directions', () => {
  for (const [name, makePair] of [
    ['memory', () => createMemoryTransport()],
    ['callback (MessageChannel)', () => createChannelPair()],
  ] as const) {
    describe(name, () => {
      it('a handler calls back the client its request came from, while that call waits', async () => {
        const pair = makePair();
        const server = new RpcServer(pair.server, protocol, serverMethods());
        await server.serve();
        const peer = new RpcPeer(pair.client, protocol, { dispatcher: clientMethods() });
        await expect(peer.call('askBack', ['ping'])).resolves.toBe('client said ping!');
        await expect(peer.call('add', [2, 3])).resolves.toBe(5);
        expect(peer.pendingCount).toBe(0);
        await peer.close();
        await server.close();
      });

      it('RpcClient with a dispatcher answers the server too', async () => {
        const pair = makePair();
        const server = new RpcServer(pair.server, protocol, serverMethods());
        await server.serve();
        const client = new RpcClient(protocol, pair.client, { dispatcher: clientMethods() });
        await expect(client.call('askBack', ['hi'])).resolves.toBe('client said hi!');
        await client.close();
        await server.close();
      });

      it('the server pushes to a connected client at any time, through onConnection and peers', async () => {
        const pair = makePair();
        const server = new RpcServer(pair.server, protocol, serverMethods());
        const connected = deferred<RpcPeer>();
        const stop = server.onConnection((peer) => {
          connected.resolve(peer);
        });
        await server.serve();
        const received: unknown[] = [];
        const methods = clientMethods();
        methods.add('event', (value: unknown) => {
          received.push(value);
        });
        const client = new RpcPeer(pair.client, protocol, { dispatcher: methods });
        const peer = await connected.promise;
        expect(server.peers).toEqual([peer]);
        await peer.notify('event', [1]);
        await expect(peer.call('answer', ['pushed'])).resolves.toBe('pushed!');
        await expect.poll(() => received).toEqual([1]);
        const typed = peer.getProxy<{ answer(question: string): string }>();
        await expect(typed.answer('typed')).resolves.toBe('typed!');
        stop();
        await client.close();
        await server.close();
      });

      it('a call to a peer without a dispatcher is answered "method not found"', async () => {
        const pair = makePair();
        const server = new RpcServer(pair.server, protocol, serverMethods());
        await server.serve();
        const peer = new RpcPeer(pair.client, protocol);
        const error = (await peer.call('askBack', ['x']).catch((e: unknown) => e)) as RemoteError;
        expect(RemoteError.is(error)).toBe(true);
        expect(error.message).toContain(new MethodNotFoundError().message);
        await peer.close();
        await server.close();
      });
    });
  }

  it('closing fails the calls pending in both directions and aborts the running handlers', async () => {
    const pair = createMemoryTransport();
    const serverSaw = deferred<AbortSignal>();
    const clientSaw = deferred<AbortSignal>();
    const methods = serverMethods();
    methods.add(
      'hang',
      (context) => {
        serverSaw.resolve(context.signal);
        return untilAborted(context.signal);
      },
      { context: true },
    );
    methods.add(
      'callHang',
      async (context) => {
        return context.peer?.call('hangHere');
      },
      { context: true },
    );
    const server = new RpcServer(pair.server, protocol, methods);
    await server.serve();
    const own = clientMethods();
    own.add(
      'hangHere',
      (context) => {
        clientSaw.resolve(context.signal);
        return untilAborted(context.signal);
      },
      { context: true },
    );
    const peer = new RpcPeer(pair.client, protocol, { dispatcher: own });
    const toServer = peer.call('hang').catch((e: unknown) => e);
    const viaServer = peer.call('callHang').catch((e: unknown) => e);
    const [serverSignal, clientSignal] = await Promise.all([serverSaw.promise, clientSaw.promise]);
    const serverPeer = server.peers[0] as RpcPeer;
    expect(serverPeer.pendingCount).toBe(1);
    await peer.close();
    expect(TransportError.is(await toServer)).toBe(true);
    expect(TransportError.is(await viaServer)).toBe(true);
    expect(clientSignal.aborted).toBe(true);
    expect(serverSignal.aborted).toBe(true);
    expect(serverPeer.pendingCount).toBe(0);
    expect(server.peers).toEqual([]);
    await server.close();
  });

  it('a reply with an unknown id goes to onError and disturbs nothing', async () => {
    const { client, serverPort } = createChannelPair();
    const errors: RpcError[] = [];
    const peer = new RpcPeer(client, protocol, {
      dispatcher: clientMethods(),
      onError: (error) => errors.push(error),
    });
    const replies: unknown[] = [];
    serverPort.on('message', (message: string) => replies.push(JSON.parse(message)));
    serverPort.postMessage(JSON.stringify({ jsonrpc: '2.0', id: 999, result: 1 }));
    serverPort.postMessage(
      JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'answer', params: ['ok'] }),
    );
    await expect.poll(() => replies).toEqual([{ jsonrpc: '2.0', id: 7, result: 'ok!' }]);
    expect(errors).toHaveLength(1);
    expect(UnexpectedIdError.is(errors[0])).toBe(true);
    await peer.close();
    serverPort.close();
  });

  it('refuses a request/reply transport with a TypeError that says why', () => {
    const requestReply = {
      specificationVersion: 1 as const,
      kind: 'request-reply' as const,
      send: () => Promise.resolve(undefined),
    };
    expect(() => new RpcPeer(requestReply as never, protocol)).toThrow(/needs a connection/);
    expect(() => new RpcClient(protocol, requestReply, { dispatcher: clientMethods() })).toThrow(
      /request\/reply/,
    );
  });
});

it("server.close() fails the server's own calls to its clients, so a handler waiting on one ends", async () => {
  const pair = createMemoryTransport();
  const answering = deferred();
  const methods = new RpcDispatcher().add(
    'askBack',
    (context: CallContext) => context.peer?.call('answer'),
    { context: true },
  );
  const server = new RpcServer(pair.server, protocol, methods);
  await server.serve();
  const own = new RpcDispatcher().add('answer', async () => {
    await answering.promise;
    return 'too late';
  });
  const peer = new RpcPeer(pair.client, protocol, { dispatcher: own, onError: () => undefined });
  const call = peer.call('askBack').catch((e: unknown) => e);
  await expect.poll(() => server.peers[0]?.pendingCount).toBe(1);
  await server.close();
  answering.resolve();
  const error = (await call) as RemoteError;
  expect(error.message).toMatch(/Server closed/);
  await peer.close();
});
