import { connect as netConnect, type Socket } from 'node:net';
import {
  clientTransportBrand,
  setBrand,
  TransportError,
  type Connection,
  type ClientTransportListener,
  type Message,
  type ReconnectOptions,
  type SendOptions,
} from '@tinyrpc/core';
import { Backoff, describeError, raceSignal, reconnectOptions } from '@tinyrpc/core/transport';
import type { FramingOptions } from './framing.ts';
import { StreamConnection, type ByteStream } from './stream-connection.ts';

/** Where a {@link StreamClientTransport} sends: a stream you opened, or a TCP or Unix socket it opens. */
export type StreamClientTarget =
  /** A stream that is already open, such as a child process's stdio. */
  | { readonly stream: ByteStream }
  /** A TCP server; `host` defaults to `'127.0.0.1'`. */
  | { readonly port: number; readonly host?: string }
  /** A Unix domain socket (or a Windows named pipe). */
  | { readonly path: string };

/** Options of {@link StreamClientTransport}. */
export type StreamClientOptions = StreamClientTarget &
  FramingOptions & {
    /**
     * For sockets: reconnect with the backoff of `ReconnectOptions` (core's defaults: `retries:
     * Infinity`, `initialDelay: 100`, `maxDelay: 5000`, `jitter: 0.2`): after a loss the transport
     * reconnects at once in the background and retries failed attempts; a call waits for the
     * connection until its own timeout or signal. Default `false`: one attempt per send that finds
     * no connection.
     */
    readonly reconnect?: boolean | ReconnectOptions;
    /** For sockets: milliseconds one connection attempt may take. Default 10000. */
    readonly connectTimeout?: number;
  };

/**
 * A multiplexed client transport over a byte stream: a child process's stdio, a TCP or a Unix
 * socket. Many calls travel at once; replies come back in any order and the client matches them.
 *
 * A lost connection fails every pending call with a `TransportError`. For sockets the next send
 * connects again (or, with `reconnect`, the transport does at once, with backoff); a stream you
 * passed in cannot be reopened. It keeps no per-call timers: a call's `signal` is its only clock.
 */
export class StreamClientTransport implements Connection {
  /** The transport contract this transport implements. */
  readonly specificationVersion = 1;
  /** A connection: replies and calls from the other end arrive through `subscribe`. */
  readonly kind = 'connection';
  /**
   * Aborted calls send `$/cancelRequest` by default: the other end of a stream is tinyrpc's or
   * LSP-style (vscode-jsonrpc), and both understand it.
   */
  readonly cancelRequests = true;
  readonly #options: StreamClientOptions;
  readonly #reconnect: Required<ReconnectOptions> | undefined;
  readonly #listeners = new Set<ClientTransportListener>();
  // Aborts the waits between connection attempts (on close).
  readonly #attempts = new AbortController();
  #connection: StreamConnection | undefined;
  #connecting: Promise<StreamConnection> | undefined;
  #lastError: TransportError | undefined;
  #closed = false;

  constructor(options: StreamClientOptions) {
    this.#options = options;
    this.#reconnect = reconnectOptions(options.reconnect, false);
    if ('stream' in options) this.#open(options.stream);
    setBrand(this, clientTransportBrand);
  }

  /** Creates a transport and waits until its connection is open; rejects with a `TransportError`. */
  static async connect(options: StreamClientOptions): Promise<StreamClientTransport> {
    const transport = new StreamClientTransport(options);
    await transport.connect();
    return transport;
  }

  /** `true` while a connection is open. */
  get connected(): boolean {
    return this.#connection !== undefined && !this.#connection.ending;
  }

  /** Opens the connection now instead of on the first send; resolves at once if it is open. */
  async connect(): Promise<void> {
    await this.#ensure();
  }

  /** Writes one message; resolves `undefined` once it is written (replies go to `subscribe`). */
  async send(message: Message, options: SendOptions = {}): Promise<undefined> {
    options.signal?.throwIfAborted();
    const connection = await raceSignal(this.#ensure(), options.signal);
    options.signal?.throwIfAborted();
    await connection.send(message);
    return undefined;
  }

  /** Delivers every incoming message to `listener`, and the loss of the connection. */
  subscribe(listener: ClientTransportListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /**
   * Fails whatever is pending with a `TransportError`, then ends the connection; resolves once
   * what was sent is flushed. Later sends fail.
   */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#attempts.abort(new TransportError('The client transport is closed'));
      const reason = new TransportError('The client transport is closed');
      for (const listener of this.#listeners) listener.onClose(reason);
    }
    const connection =
      this.#connection ?? (await this.#connecting?.catch(() => undefined)) ?? undefined;
    await connection?.end();
  }

  #ensure(): Promise<StreamConnection> {
    if (this.#closed) return Promise.reject(new TransportError('The client transport is closed'));
    const current = this.#connection;
    if (current !== undefined && !current.closed) {
      return current.ending
        ? Promise.reject(new TransportError('The connection is closing'))
        : Promise.resolve(current);
    }
    if ('stream' in this.#options) {
      return Promise.reject(
        new TransportError('The connection is closed', { cause: this.#lastError }),
      );
    }
    if (this.#connecting === undefined) {
      const connecting = this.#dialAll().finally(() => {
        this.#connecting = undefined;
      });
      // A background reconnect may fail with nobody waiting: that is not an unhandled rejection.
      connecting.catch(() => undefined);
      this.#connecting = connecting;
    }
    return this.#connecting;
  }

  // One attempt, or with `reconnect` attempts with backoff until one succeeds or retries run out.
  async #dialAll(): Promise<StreamConnection> {
    const backoff = this.#reconnect === undefined ? undefined : new Backoff(this.#reconnect);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.#dial();
      } catch (error) {
        const delay = this.#closed ? undefined : backoff?.next();
        if (delay === undefined) {
          if (attempt === 1) throw error;
          throw new TransportError(`${describeError(error)} (${String(attempt)} attempts)`, {
            cause: error,
          });
        }
        await this.#sleep(delay);
      }
    }
  }

  // Waits between attempts; close() cuts the wait short (the unref'd timer then holds nothing).
  #sleep(ms: number): Promise<void> {
    const waited = new Promise<void>((resolve) => setTimeout(resolve, ms).unref());
    return raceSignal(waited, this.#attempts.signal);
  }

  #dial(): Promise<StreamConnection> {
    const options = this.#options as Exclude<StreamClientOptions, { stream: ByteStream }>;
    const where =
      'path' in options ? options.path : `${options.host ?? '127.0.0.1'}:${String(options.port)}`;
    return new Promise<StreamConnection>((resolve, reject) => {
      const socket: Socket =
        'path' in options
          ? netConnect({ path: options.path })
          : netConnect({ port: options.port, host: options.host ?? '127.0.0.1' });
      const fail = (error: Error): void => {
        socket.destroy();
        reject(
          new TransportError(`Cannot connect to ${where}: ${error.message}`, { cause: error }),
        );
      };
      socket.setTimeout(options.connectTimeout ?? 10_000, () => {
        fail(new Error('timed out'));
      });
      socket.once('error', fail);
      socket.once('connect', () => {
        socket.off('error', fail);
        socket.setTimeout(0);
        socket.setNoDelay(true);
        if (this.#closed) {
          socket.destroy();
          reject(new TransportError('The client transport is closed'));
          return;
        }
        resolve(this.#open(socket));
      });
    });
  }

  #open(stream: ByteStream): StreamConnection {
    const connection: StreamConnection = new StreamConnection(stream, this.#options, {
      onMessage: (message) => {
        if (this.#closed) return;
        for (const listener of this.#listeners) listener.onMessage(message);
      },
      // The server will answer nothing more: whatever is pending is lost.
      onEnd: () => {
        connection.destroy(new TransportError('The server closed the connection'));
      },
      onClose: (error) => {
        const reason = error ?? new TransportError('The connection closed');
        this.#lastError = reason;
        if (this.#closed) return; // close() told the listeners already
        for (const listener of this.#listeners) listener.onClose(reason);
        if (this.#reconnect !== undefined && !('stream' in this.#options)) void this.#ensure();
      },
    });
    this.#connection = connection;
    return connection;
  }
}
