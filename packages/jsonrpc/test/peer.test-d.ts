// Type tests for calls in both directions: vitest typecheck runs them.
import { describe, expectTypeOf, it } from 'vitest';
import {
  RpcDispatcher,
  RpcPeer,
  RpcServer,
  createMemoryTransport,
  type CallContext,
  type RpcClient,
} from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';

interface ClientApi {
  confirm(question: string): boolean;
}
interface ServerApi {
  add(a: number, b: number): number;
}

const protocol = new JsonRpcProtocol();

describe('types in both directions', () => {
  it('a handler with { context: true } finds a typed peer, or undefined', () => {
    new RpcDispatcher().add(
      'ask',
      async (context, question: string) => {
        expectTypeOf(context).toEqualTypeOf<CallContext>();
        expectTypeOf(context.peer).toEqualTypeOf<RpcClient | undefined>();
        const client = context.peer?.getProxy<ClientApi>();
        expectTypeOf(client?.confirm(question)).toEqualTypeOf<Promise<boolean> | undefined>();
        // @ts-expect-error: the client's confirm takes a string
        void client?.confirm(1);
        return true;
      },
      { context: true },
    );
  });

  it('a peer calls with the remote API type, and the server reaches its peers', () => {
    const { client, server } = createMemoryTransport();
    const peer = new RpcPeer(client, protocol);
    expectTypeOf(peer.getProxy<ServerApi>().add(1, 2)).toEqualTypeOf<Promise<number>>();
    // @ts-expect-error: add takes numbers
    void peer.getProxy<ServerApi>().add('1', 2);
    const rpcServer = new RpcServer(server, protocol, new RpcDispatcher());
    expectTypeOf(rpcServer.peers).toEqualTypeOf<readonly RpcPeer[]>();
    rpcServer.onConnection((connected) => {
      expectTypeOf(connected).toEqualTypeOf<RpcPeer>();
      expectTypeOf(connected.getProxy<ClientApi>().confirm('?')).toEqualTypeOf<Promise<boolean>>();
    });
  });

  it('RpcPeer takes only a connection', () => {
    const requestReply = {
      specificationVersion: 1 as const,
      kind: 'request-reply' as const,
      send: () => Promise.resolve(undefined),
    };
    // @ts-expect-error: a request/reply transport is not a connection
    expectTypeOf(new RpcPeer(requestReply, protocol)).toBeObject();
  });
});
