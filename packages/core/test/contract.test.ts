import {
  clientTransportKind,
  createMemoryTransport,
  RpcClient,
  RpcDispatcher,
  RpcPeer,
  RpcServer,
  type CallContext,
  type ClientTransport,
  type Connection,
  type ConnectionListener,
  type Message,
  type MessageHandler,
  type ServerTransport,
} from '@tinyrpc/core';
import { describe, expect, it } from 'vitest';
import { StubProtocol } from './stubs.ts';

// Transports as third parties wrote them before the contract had versions: object literals with
// no `specificationVersion` and no `kind`. Core adapts them at runtime; a later version it refuses.

/** A server transport of the old contract: no version, no connections; it hands over its handler. */
function legacyServer(): { transport: ServerTransport; handler: () => MessageHandler } {
  let handler: MessageHandler | undefined;
  const transport = {
    listen(newHandler: MessageHandler) {
      handler = newHandler;
      return Promise.resolve();
    },
    close: () => Promise.resolve(),
  };
  return {
    transport: transport as unknown as ServerTransport,
    handler() {
      if (handler === undefined) throw new Error('The server is not listening');
      return handler;
    },
  };
}

async function legacyService(): Promise<{
  server: RpcServer;
  handler: () => MessageHandler;
  peers: unknown[];
}> {
  const { transport, handler } = legacyServer();
  const peers: unknown[] = [];
  const dispatcher = new RpcDispatcher()
    .add('add', (a: number, b: number) => a + b)
    .add(
      'peer',
      (context: CallContext) => {
        peers.push(context.peer);
        return context.peer === undefined ? 'none' : 'some';
      },
      { context: true },
    );
  const server = new RpcServer(transport, new StubProtocol(), dispatcher);
  await server.serve();
  return { server, handler, peers };
}

describe('a transport written against the old contract (no specificationVersion)', () => {
  it('without subscribe is a request/reply transport: send resolves the reply', async () => {
    const { server, handler, peers } = await legacyService();
    const transport = {
      send: (message: Message) => handler()(message, {}),
    } as unknown as ClientTransport;
    expect(clientTransportKind(transport)).toBe('request-reply');
    const client = new RpcClient(new StubProtocol(), transport);
    expect(await client.call('add', [2, 3])).toBe(5);
    // The old server transport has no connections: nobody to call back.
    expect(await client.call('peer')).toBe('none');
    expect(peers).toEqual([undefined]);
    expect(server.peers).toEqual([]);
    await client.close();
    await server.close();
  });

  it('with subscribe is a connection: replies arrive through the listener', async () => {
    const { server, handler } = await legacyService();
    let listener: ConnectionListener | undefined;
    const sent: Message[] = [];
    const transport = {
      // Resolves nothing, as a connection does: were it taken for request/reply, every call would
      // fail with "The transport returned no reply".
      async send(message: Message) {
        sent.push(message);
        const reply = await handler()(message, {});
        if (reply !== undefined) queueMicrotask(() => listener?.onMessage(reply));
      },
      subscribe(newListener: ConnectionListener) {
        listener = newListener;
        return () => {
          listener = undefined;
        };
      },
    } as unknown as ClientTransport;
    expect(clientTransportKind(transport)).toBe('connection');
    const client = new RpcClient(new StubProtocol(), transport);
    expect(listener).toBeDefined();
    const results = await Promise.all([client.call('add', [1, 2]), client.call('add', [3, 4])]);
    expect(results).toEqual([3, 7]);
    expect(sent).toHaveLength(2);
    expect(client.pendingCount).toBe(0);
    await client.close();
    expect(listener).toBeUndefined();
    await server.close();
  });
});

describe('a transport of a later contract version', () => {
  const later = { specificationVersion: 2 };

  it('is refused by RpcClient with a TypeError naming both versions', () => {
    const { client } = createMemoryTransport();
    const transport = {
      ...later,
      kind: 'connection',
      send: client.send,
      subscribe: client.subscribe,
    };
    const create = (): RpcClient =>
      new RpcClient(new StubProtocol(), transport as unknown as ClientTransport);
    expect(create).toThrow(TypeError);
    expect(create).toThrow(/version 2.*version 1/);
    const requestReply = { ...later, kind: 'request-reply', send: () => Promise.resolve('') };
    expect(
      () => new RpcClient(new StubProtocol(), requestReply as unknown as ClientTransport),
    ).toThrow(TypeError);
  });

  it('is refused by RpcPeer and by clientTransportKind', () => {
    const connection = {
      ...later,
      kind: 'connection',
      send: () => Promise.resolve(),
      subscribe: () => () => undefined,
    } as unknown as Connection;
    expect(() => new RpcPeer(connection, new StubProtocol())).toThrow(TypeError);
    expect(() => new RpcPeer(connection, new StubProtocol())).toThrow(/version 2/);
    expect(() => clientTransportKind(connection)).toThrow(TypeError);
  });

  it('is refused by RpcServer with a TypeError', () => {
    const transport = {
      ...later,
      listen: () => Promise.resolve(),
      close: () => Promise.resolve(),
    } as unknown as ServerTransport;
    expect(() => new RpcServer(transport, new StubProtocol(), new RpcDispatcher())).toThrow(
      TypeError,
    );
    expect(() => new RpcServer(transport, new StubProtocol(), new RpcDispatcher())).toThrow(
      /server transport implements transport contract version 2/,
    );
  });
});
