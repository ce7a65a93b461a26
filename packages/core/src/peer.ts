import { RpcClient, type RpcClientOptions } from './client.ts';
import { clientTransportKind } from './contract.ts';
import { RpcDispatcher } from './dispatcher.ts';
import { TransportError } from './errors.ts';
import type { Connection, RpcProtocol, ServerConnection } from './types.ts';

/** Options of {@link RpcPeer}. */
export interface RpcPeerOptions extends RpcClientOptions {
  /**
   * The methods this end serves to the other. Default: none, so every call from the other end is
   * answered "method not found".
   */
  readonly dispatcher?: RpcDispatcher;
}

/**
 * Both ends of a call at once, over one connection: calls the other end (`call`, `notify`,
 * `batch`, `getProxy`) and serves `dispatcher` to it. The other end may be a server that calls back,
 * a client, or another peer.
 *
 * `close()` fails the calls waiting in both directions with a `TransportError`, aborts the signals
 * of the calls it is running and closes the connection; losing the connection does the same.
 *
 * @example
 * ```ts
 * import { RpcDispatcher, RpcPeer, RpcServer, createMemoryTransport } from '@tinyrpc/core';
 * import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
 *
 * const protocol = new JsonRpcProtocol();
 * const { client: connection, server: serverTransport } = createMemoryTransport();
 * const methods = new RpcDispatcher();
 * methods.add('greet', async ({ peer }, name: string) => `${await peer?.call('salute')} ${name}`, {
 *   context: true,
 * });
 * const server = new RpcServer(serverTransport, protocol, methods);
 * await server.serve();
 *
 * const own = new RpcDispatcher().add('salute', () => 'Hello');
 * const peer = new RpcPeer(connection, protocol, { dispatcher: own });
 * console.log(await peer.call('greet', ['Ada'])); // Hello Ada
 * await peer.close();
 * await server.close();
 * ```
 */
export class RpcPeer extends RpcClient {
  constructor(connection: Connection, protocol: RpcProtocol, options: RpcPeerOptions = {}) {
    if (clientTransportKind(connection) !== 'connection') {
      throw new TypeError(
        'RpcPeer needs a connection (WebSocket, stream, ZeroMQ DEALER, callback, memory); use RpcClient over a request/reply transport',
      );
    }
    super(protocol, connection, {
      ...options,
      dispatcher: options.dispatcher ?? noMethods,
      cancelRequests: options.cancelRequests ?? true,
    });
  }
}

const noMethods = new RpcDispatcher();

/**
 * The peer a server makes of one of its connections: its calls go out on the connection, and the
 * server hands it the replies that come back. It serves nothing itself; the server does.
 */
export function peerOfServerConnection(
  connection: ServerConnection,
  protocol: RpcProtocol,
  options: RpcClientOptions = {},
): RpcPeer {
  const channel: Connection = {
    specificationVersion: 1,
    kind: 'connection',
    send: (message) => connection.send(message),
    subscribe(listener) {
      const onAbort = (): void => {
        const reason: unknown = connection.signal.reason;
        listener.onClose(
          reason instanceof TransportError
            ? reason
            : new TransportError('The connection closed', { cause: reason }),
        );
      };
      if (connection.signal.aborted) {
        queueMicrotask(onAbort);
        return () => undefined;
      }
      connection.signal.addEventListener('abort', onAbort, { once: true });
      return () => {
        connection.signal.removeEventListener('abort', onAbort);
      };
    },
    close: () => connection.close(),
  };
  return new RpcPeer(channel, protocol, options);
}
