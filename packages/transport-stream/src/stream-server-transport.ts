import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import {
  serverTransportBrand,
  setBrand,
  TransportError,
  type MessageHandler,
  type ServerTransport,
  type TransportContext,
} from '@tinyrpc/core';
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
  FramingOptions & {
    /**
     * Called with what cannot be answered: an unreadable or over-size frame (its connection is
     * closed), a reply that cannot be sent, a failing socket.
     */
    readonly onError?: (error: Error) => void;
  };

interface Served {
  readonly connection: StreamConnection;
  readonly inFlight: Set<Promise<void>>;
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
 * `close()` stops accepting connections and messages, sends the replies of calls in flight, then
 * ends every connection. A frame it cannot read, or one over `maxMessageSize`, closes its connection
 * (so the peer's pending calls fail at once instead of waiting).
 */
export class StreamServerTransport implements ServerTransport {
  readonly #options: StreamServerOptions;
  readonly #connections = new Set<Served>();
  #handler: MessageHandler | undefined;
  #server: Server | undefined;
  #closing = false;
  #nextId = 0;

  constructor(options: StreamServerOptions) {
    this.#options = options;
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

  /** Starts serving: listens on the port or path, attaches to the server, or reads the stream. */
  async listen(handler: MessageHandler): Promise<void> {
    if (this.#handler !== undefined) throw new Error('This transport is already listening');
    if (this.#closing) throw new Error('This transport is closed');
    this.#handler = handler;
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
    const where =
      'path' in options ? options.path : `${options.host ?? '127.0.0.1'}:${String(options.port)}`;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) => {
        reject(new TransportError(`Cannot listen on ${where}: ${error.message}`, { cause: error }));
      });
      const ready = (): void => {
        server.removeAllListeners('error');
        server.on('error', (error) => {
          this.#report(error);
        });
        resolve();
      };
      if ('path' in options) server.listen({ path: options.path }, ready);
      else server.listen({ port: options.port, host: options.host ?? '127.0.0.1' }, ready);
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
    const controller = new AbortController();
    const context: TransportContext = {
      transport: 'stream',
      connectionId: String(++this.#nextId),
      signal: controller.signal,
      ...(remoteAddress === undefined ? {} : { remoteAddress }),
    };
    let closed!: () => void;
    const whenClosed = new Promise<void>((resolve) => {
      closed = resolve;
    });
    // The events below fire only later, once `served` exists.
    const connection = new StreamConnection(stream, this.#options, {
      onMessage: (message) => {
        if (this.#closing || served.ended) return;
        const done = handler(message, context)
          .then((reply) =>
            reply === undefined || connection.closed ? undefined : connection.send(reply),
          )
          .catch((error: unknown) => {
            // A reply that cannot go out (over maxMessageSize, say) would leave its caller waiting.
            const failure = error instanceof Error ? error : new TransportError(String(error));
            this.#report(failure);
            connection.destroy(
              new TransportError(`A reply could not be sent: ${failure.message}`, {
                cause: failure,
              }),
            );
          })
          .finally(() => {
            served.inFlight.delete(done);
            this.#endWhenIdle(served);
          });
        served.inFlight.add(done);
      },
      onEnd: () => {
        served.ended = true;
        this.#endWhenIdle(served);
      },
      onClose: (error) => {
        controller.abort(error ?? new TransportError('The connection closed'));
        this.#connections.delete(served);
        if (error !== undefined) this.#report(error);
        closed();
      },
    });
    const served: Served = { connection, inFlight: new Set(), closed: whenClosed, ended: false };
    this.#connections.add(served);
  }

  // A connection whose peer sends nothing more, or of a closing server, ends once its replies are out.
  #endWhenIdle(served: Served): void {
    if ((served.ended || this.#closing) && served.inFlight.size === 0) void served.connection.end();
  }

  #report(error: Error): void {
    this.#options.onError?.(error);
  }
}
