import { clientTransportBrand, serverTransportBrand, setBrand } from './brand.ts';
import { TransportError } from './errors.ts';
import { InFlight } from './transport/in-flight.ts';
import type {
  Connection,
  ConnectionListener,
  ListenOptions,
  Message,
  MessageHandler,
  ServerConnection,
  ServerTransport,
  TransportContext,
} from './types.ts';

// A handler never rejects (RpcServer.handle does not); this keeps a third-party one from escaping.
const ignore = (): undefined => undefined;

/** The two ends of {@link createMemoryTransport}. */
export interface MemoryTransportPair {
  /** The client's end: a connection, so the server can call back over it. */
  readonly client: Connection;
  readonly server: ServerTransport;
}

// Bytes are copied on the way, as a real transport would, so neither side sees the other's changes.
const copy = (message: Message): Message =>
  typeof message === 'string' ? message : new Uint8Array(message);

/**
 * A connected client and server transport in one process: for tests, and for running a service
 * in-process behind the same interface as a remote one. The client end is one connection: the
 * server can call it back.
 *
 * A send before the server listens, or after either end closed, fails with a
 * {@link TransportError}.
 */
export function createMemoryTransport(): MemoryTransportPair {
  let handler: MessageHandler | undefined;
  const clientListeners = new Set<ConnectionListener>();
  let closed: AbortController | undefined;
  const inFlight = new InFlight();
  let context: TransportContext = { transport: 'memory' };

  // Delivered a turn later, as from a socket: a reply never arrives inside the send that caused it.
  const toClient = (message: Message): void => {
    const data = copy(message);
    queueMicrotask(() => {
      for (const listener of clientListeners) listener.onMessage(data);
    });
  };

  const open = (): ServerConnection => {
    const ended = new AbortController();
    closed = ended;
    const connection: ServerConnection = {
      id: 'memory',
      signal: ended.signal,
      get context() {
        return context;
      },
      send(message) {
        if (ended.signal.aborted)
          return Promise.reject(new TransportError('The memory connection is closed'));
        toClient(message);
        return Promise.resolve();
      },
      close() {
        end(new TransportError('The memory server closed the connection'));
        return Promise.resolve();
      },
    };
    context = { transport: 'memory', connectionId: 'memory', signal: ended.signal, connection };
    return connection;
  };

  const end = (error: TransportError): void => {
    if (closed === undefined || closed.signal.aborted) return;
    closed.abort(error);
    for (const listener of clientListeners) listener.onClose(error);
  };

  const server: ServerTransport = {
    specificationVersion: 1,
    listen(newHandler: MessageHandler, options?: ListenOptions) {
      if (handler !== undefined) return Promise.reject(new Error('Already listening'));
      handler = newHandler;
      options?.onConnection?.(open());
      return Promise.resolve();
    },
    async close() {
      handler = undefined;
      end(new TransportError('The memory server closed'));
      await inFlight.drain();
    },
  };
  setBrand(server, serverTransportBrand);

  const client: Connection = {
    specificationVersion: 1,
    kind: 'connection',
    send(message, options = {}) {
      options.signal?.throwIfAborted();
      if (handler === undefined || closed?.signal.aborted === true)
        return Promise.reject(new TransportError('The memory server is not listening'));
      void inFlight.track(
        handler(copy(message), context).then((reply) => {
          if (reply !== undefined && closed?.signal.aborted !== true) toClient(reply);
        }, ignore),
      );
      return Promise.resolve();
    },
    subscribe(listener) {
      clientListeners.add(listener);
      return () => {
        clientListeners.delete(listener);
      };
    },
    close() {
      end(new TransportError('The memory client closed'));
      return Promise.resolve();
    },
  };
  setBrand(client, clientTransportBrand);

  return { client, server };
}
