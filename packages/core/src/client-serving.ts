import { RunningCalls } from './cancellation.ts';
import type { RpcDispatcher } from './dispatcher.ts';
import { RpcError } from './errors.ts';
import { Responder } from './responder.ts';
import type { Serving, ServingHost } from './serving.ts';
import type { Connection, RpcProtocol } from './types.ts';

/**
 * Internal: sets up a client to serve `dispatcher` on its connection. Reached only through the
 * dispatcher (see `createServing`), so a client that serves nothing carries none of this.
 */
export function serveOnClient(
  dispatcher: RpcDispatcher,
  protocol: RpcProtocol,
  host: ServingHost,
): Serving {
  if (!host.connection)
    throw new TypeError(
      'Only a connection (WebSocket, stream, ZeroMQ DEALER, callback) carries calls from the server; this transport is request/reply',
    );
  if (protocol.parseMessage === undefined)
    throw new TypeError(
      'Calls in both directions (RpcPeer, a dispatcher on a client) need a protocol with parseMessage()',
    );
  const transport = host.transport as Connection;
  // The client traces what it sends and receives itself, served replies included.
  const responder = new Responder(protocol, dispatcher, {
    hideErrorMessages: host.hideErrorMessages,
    onError: (error) => {
      host.report(
        RpcError.is(error) ? error : new RpcError('A served call failed', { cause: error }),
      );
    },
    interceptors: [],
    // Read at each call: after a loss the connection recovers from (ZeroMQ), calls start afresh.
    get signal() {
      return host.signal;
    },
  });
  return { responder, running: new RunningCalls((message) => transport.send(message)) };
}
