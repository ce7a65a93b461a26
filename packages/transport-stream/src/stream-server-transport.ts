import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import {
  defaultLimits,
  InvalidRequestError,
  serverTransportBrand,
  setBrand,
  TransportError,
  type ErrorHandler,
  type ListenOptions,
  type MessageHandler,
  type ServerConnection,
  type ServerLimits,
  type ServerTransport,
  type TransportContext,
} from '@tinyrpc/core';
import { describeError, InFlight, listenNodeServer } from '@tinyrpc/core/transport';
import type { FramingOptions } from './framing.ts';
import { StreamConnection, type ByteStream } from './stream-connection.ts';

/** Where a {@link StreamServerTransport} serves. */
export type StreamServerTarget =
  /** One stream that is already open, such as this process's stdin and stdout. */
  | { readonly stream: ByteStream }
  /** A TCP port of its own (0 picks a free one; see `address`); `host` defaults to `'127.0.0.1'`. */
  | { readonly port: number; readonly host?: string }
  /** A Unix domain socket (or a Windows named pipe) of its own. */
  | { readonly path: string }
  /**
   * The connections of a `net.Server` you create, listen on and close yourself. After `close()`,
   * connections it still accepts are closed at once. Create it with `allowHalfOpen: true` so a
   * peer that half-closes still gets its replies.
   */
  | { readonly server: Server };

/** Options of {@link StreamServerTransport}. */
export type StreamServerOptions = StreamServerTarget &
  FramingOptions &
  ServerLimits & {
    /**
     * Called with what has no caller to go to: an unreadable or over-size frame, a connection
     * closed by `idleTimeout`, a reply that cannot be sent, a failing socket.
     */
    readonly onError?: ErrorHandler;
  };

interface Served {
  readonly connection: StreamConnection;
  /** Its calls running now, limited by `maxInFlight`. */
  readonly calls: InFlight;
  readonly closed: Promise<void>;
  ended: boolean;
}

const formatAddress = (socket: Socket): string | undefined => {
  const { remoteAddress, remotePort } = socket;
  if (remoteAddress === undefined) return undefined;
  const host = remoteAddress.includes(':') ? `[${remoteAddress}]` : remoteAddress;
  return remotePort === undefined ? host : `${host}:${String(remotePort)}`;
};

/**
 * A server transport over byte streams: one stream (this process's stdio), or every connection of
 * a TCP or Unix socket server. Messages of one connection are handled concurrently and each reply
 * goes back on the connection its request came on.
 *
 * Each connection is a `ServerConnection` (passed to `onConnection` and as `context.connection`),
 * so the server can call the client back on it. Its `signal` aborts when the connection is gone,
 * and as soon as the peer ends its side or is no longer read, since no reply can come then.
 *
 * `close()` stops accepting connections and messages, sends the replies of calls in flight, then
 * ends every connection. A frame over `maxMessageSize` is answered with an error response (id
 * `null`) and its connection ends once the calls before it are answered; a frame it cannot read
 * closes its connection. A connection is not read while it has `maxInFlight` calls running or
 * while its peer leaves replies unread, and one stalled inside a frame for `idleTimeout` is closed.
 */
export class StreamServerTransport implements ServerTransport {
  /** The transport contract this transport implements. */
  readonly specificationVersion = 1;
  readonly #options: StreamServerOptions;
  readonly #maxInFlight: number;
  readonly #connections = new Set<Served>();
  // Every call of every connection, for close() to wait for.
  readonly #calls = new InFlight();
  #handler: MessageHandler | undefined;
  #listenOptions: ListenOptions = {};
  #server: Server | undefined;
  #closing = false;
  #nextId = 0;

  constructor(options: StreamServerOptions) {
    this.#options = options;
    this.#maxInFlight = options.maxInFlight ?? defaultLimits.maxInFlight;
    if (!(this.#maxInFlight >= 1)) throw new RangeError('maxInFlight must be at least 1');
    setBrand(this, serverTransportBrand);
  }

  /** The address the server listens on (a port's `AddressInfo`, a socket path), once listening. */
  get address(): AddressInfo | string | null {
    return this.#server?.address() ?? null;
  }

  /** How many connections are open. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** How many calls run now, on every connection. */
  get inFlight(): number {
    return this.#calls.size;
  }

  /**
   * Starts serving: listens on the port or path, attaches to the server, or reads the stream.
   * `listenOptions.errorReply` (which `RpcServer` passes) encodes the answer to an over-size frame.
   */
  async listen(handler: MessageHandler, listenOptions: ListenOptions = {}): Promise<void> {
    if (this.#handler !== undefined) throw new Error('This transport is already listening');
    if (this.#closing) throw new Error('This transport is closed');
    this.#handler = handler;
    this.#listenOptions = listenOptions;
    const options = this.#options;
    if ('stream' in options) {
      this.#accept(options.stream, undefined);
      return;
    }
    if ('server' in options) {
      this.#server = options.server;
      options.server.on('connection', this.#onConnection);
      return;
    }
    const server = createServer({ allowHalfOpen: true }, this.#onConnection);
    this.#server = server;
    await listenNodeServer(server, 'path' in options ? { path: options.path } : options);
    server.on('error', (error) => {
      this.#report(error);
    });
  }

  /**
   * Stops accepting connections and messages, waits for the replies of calls in flight, ends every
   * connection and, for a port or path of its own, stops listening.
   */
  async close(): Promise<void> {
    if (!this.#closing) {
      // An attached net.Server keeps our listener, which closes what it still accepts at once.
      this.#closing = true;
      for (const served of this.#connections) this.#endWhenIdle(served);
    }
    const owned =
      this.#server !== undefined && !('server' in this.#options) ? this.#server : undefined;
    await Promise.all([
      this.#calls.drain(),
      ...[...this.#connections].map((served) => served.closed),
      owned?.listening === true
        ? new Promise<void>((resolve) =>
            owned.close(() => {
              resolve();
            }),
          )
        : undefined,
    ]);
  }

  readonly #onConnection = (socket: Socket): void => {
    if (this.#closing) {
      socket.destroy();
      return;
    }
    socket.setNoDelay(true);
    this.#accept(socket, formatAddress(socket));
  };

  #accept(stream: ByteStream, remoteAddress: string | undefined): void {
    const handler = this.#handler as MessageHandler;
    // Aborts the signals of its calls in flight: the connection is gone.
    const controller = new AbortController();
    // Aborts the connection's own signal, which fails the server's calls waiting on it: the
    // connection is gone, or the peer ended its side or is no longer read, so no reply can come.
    const answerable = new AbortController();
    const noMoreReplies = (why: string): void => {
      answerable.abort(new TransportError(`${why}; no reply to a call of the server can come`));
    };
    const id = String(++this.#nextId);
    const peerContext: TransportContext = {
      transport: 'stream',
      connectionId: id,
      ...(remoteAddress === undefined ? {} : { remoteAddress }),
    };
    // The server's own calls and notifications to the peer: through the writer the replies use,
    // so they share its framing, size limit, coalescing and backpressure.
    const peer: ServerConnection = {
      id,
      signal: answerable.signal,
      context: peerContext,
      send: (message) => connection.send(message),
      close: () => connection.end(),
    };
    const context: TransportContext = {
      ...peerContext,
      signal: controller.signal,
      connection: peer,
    };
    let closed!: () => void;
    const whenClosed = new Promise<void>((resolve) => {
      closed = resolve;
    });
    const options = this.#options;
    // The events below fire only later, once `served` exists.
    const connection = new StreamConnection(
      stream,
      {
        ...options,
        idleTimeout: options.idleTimeout ?? defaultLimits.idleTimeout,
        holdWhileBacklogged: true,
      },
      {
        onMessage: (message) => {
          if (this.#closing || served.ended) return;
          this.#calls.start();
          served.calls.start();
          handler(message, context)
            .then((reply) =>
              reply === undefined || connection.closed ? undefined : connection.send(reply),
            )
            .catch((error: unknown) => {
              // A reply that cannot go out (over maxMessageSize, say) would leave its caller waiting.
              const failure = new TransportError(
                `A reply could not be sent: ${describeError(error)}`,
                {
                  cause: error,
                },
              );
              this.#report(failure);
              connection.destroy(failure);
            })
            .finally(() => {
              this.#calls.finish();
              served.calls.finish();
              this.#endWhenIdle(served);
            });
        },
        onTooLarge: (error) => {
          // The caller's id is unknown: answer with id null, which a peer that makes one call at a
          // time reads as its answer, then end the connection once the calls before it are answered,
          // so a multiplexed peer's pending calls fail at once instead of waiting for their timeout.
          this.#report(error);
          const reply = this.#listenOptions.errorReply?.(new InvalidRequestError(error.message));
          if (reply !== undefined) connection.send(reply).catch(() => undefined);
          served.ended = true;
          noMoreReplies('The connection is not read after an over-size message');
          this.#endWhenIdle(served);
        },
        onEnd: () => {
          served.ended = true;
          noMoreReplies('The peer ended its side of the connection');
          this.#endWhenIdle(served);
        },
        onClose: (error) => {
          const reason = error ?? new TransportError('The connection closed');
          answerable.abort(reason);
          controller.abort(reason);
          this.#connections.delete(served);
          if (error !== undefined) this.#report(error);
          closed();
        },
      },
    );
    const calls = new InFlight({
      limit: this.#maxInFlight,
      onFull: () => {
        connection.pause();
      },
      onAvailable: () => {
        connection.resume();
      },
    });
    const served: Served = { connection, calls, closed: whenClosed, ended: false };
    this.#connections.add(served);
    // Before any message of it is read: the data events fire on a later turn.
    try {
      this.#listenOptions.onConnection?.(peer);
    } catch (error) {
      this.#report(error);
    }
  }

  // A connection whose peer sends nothing more, or of a closing server, ends once its replies are out.
  #endWhenIdle(served: Served): void {
    if ((served.ended || this.#closing) && served.calls.size === 0) void served.connection.end();
  }

  #report(error: unknown): void {
    this.#options.onError?.(error);
  }
}
