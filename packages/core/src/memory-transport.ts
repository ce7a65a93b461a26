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

/** The two ends of {@link createMemoryTransport}. */
export interface MemoryTransportPair {
  /** The first client's end: a connection, so the server can call back over it. */
  readonly client: Connection;
  readonly server: ServerTransport;
  /** Opens one more connection to the same server, for another client. */
  connect(): Connection;
}

// Bytes are copied on the way, as a real transport would, so neither side sees the other's changes.
const copy = (message: Message): Message =>
  typeof message === 'string' ? message : new Uint8Array(message);

// A handler never rejects (RpcServer.handle does not); this keeps a third-party one from escaping.
const ignore = (): undefined => undefined;

/**
 * Connected client and server transports in one process: for tests, and for running a service
 * in-process behind the same interface as a remote one. Each client end is a connection: the server
 * can call it back. `connect()` opens more of them.
 *
 * A send before the server listens, or after either end closed, fails with a
 * {@link TransportError}. The server's `close()` answers the calls in flight, then closes every
 * connection.
 */
export function createMemoryTransport(): MemoryTransportPair {
  let handler: MessageHandler | undefined;
  let listenOptions: ListenOptions | undefined;
  const inFlight = new InFlight();
  const open = new Set<MemoryConnection>();
  let count = 0;

  interface MemoryConnection {
    readonly server: ServerConnection;
    readonly context: TransportContext;
    readonly listeners: Set<ConnectionListener>;
    announced: boolean;
    end(error: TransportError): void;
  }

  const connect = (): Connection => {
    const ended = new AbortController();
    const listeners = new Set<ConnectionListener>();
    const id = `memory-${String((count += 1))}`;
    // Delivered a turn later, as from a socket: a reply never arrives inside the send that caused it.
    const toClient = (message: Message): void => {
      const data = copy(message);
      queueMicrotask(() => {
        if (!ended.signal.aborted) for (const listener of listeners) listener.onMessage(data);
      });
    };
    const server: ServerConnection = {
      id,
      signal: ended.signal,
      context: { transport: 'memory', connectionId: id },
      send(message) {
        if (ended.signal.aborted)
          return Promise.reject(new TransportError('The memory connection is closed'));
        toClient(message);
        return Promise.resolve();
      },
      close() {
        connection.end(new TransportError('The memory server closed the connection'));
        return Promise.resolve();
      },
    };
    const connection: MemoryConnection = {
      server,
      context: { ...server.context, signal: ended.signal, connection: server },
      listeners,
      announced: false,
      end(error) {
        if (ended.signal.aborted) return;
        ended.abort(error);
        open.delete(connection);
        for (const listener of listeners) listener.onClose(error);
      },
    };
    open.add(connection);
    const client: Connection = {
      specificationVersion: 1,
      kind: 'connection',
      cancelRequests: true,
      send(message, options = {}) {
        if (options.signal?.aborted === true) return Promise.reject(options.signal.reason as Error);
        const current = handler;
        if (current === undefined || ended.signal.aborted)
          return Promise.reject(new TransportError('The memory server is not listening'));
        announce(connection);
        void inFlight.track(
          current(copy(message), connection.context).then((reply) => {
            if (reply !== undefined) toClient(reply);
          }, ignore),
        );
        return Promise.resolve();
      },
      subscribe(listener) {
        listeners.add(listener);
        return () => {
          listeners.delete(listener);
        };
      },
      close() {
        connection.end(new TransportError('The memory client closed'));
        return Promise.resolve();
      },
    };
    setBrand(client, clientTransportBrand);
    if (handler !== undefined) announce(connection);
    return client;
  };

  const announce = (connection: MemoryConnection): void => {
    if (connection.announced) return;
    connection.announced = true;
    listenOptions?.onConnection?.(connection.server);
  };

  const server: ServerTransport = {
    specificationVersion: 1,
    listen(newHandler: MessageHandler, options?: ListenOptions) {
      if (handler !== undefined) return Promise.reject(new Error('Already listening'));
      handler = newHandler;
      listenOptions = options;
      for (const connection of open) announce(connection);
      return Promise.resolve();
    },
    async close() {
      handler = undefined;
      await inFlight.drain();
      for (const connection of [...open])
        connection.end(new TransportError('The memory server closed'));
      listenOptions = undefined;
    },
  };
  setBrand(server, serverTransportBrand);

  // The first client is opened when it is first asked for, so a pair used only through connect()
  // has no connection nobody answers.
  let first: Connection | undefined;
  return {
    get client() {
      return (first ??= connect());
    },
    server,
    connect,
  };
}
