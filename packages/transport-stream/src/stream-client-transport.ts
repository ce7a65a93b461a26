import { connect as netConnect, type Socket } from 'node:net';
import {
  clientTransportBrand,
  setBrand,
  TransportError,
  type ClientTransport,
  type ClientTransportListener,
  type Message,
  type SendOptions,
} from '@tinyrpc/core';
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
    /** For sockets: open a new connection on the next send after one was lost. Default `true`. */
    readonly reconnect?: boolean;
    /** For sockets: milliseconds a connection attempt may take. Default 10000. */
    readonly connectTimeout?: number;
  };

function raceAbort<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      reject(signal.reason as Error);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * A multiplexed client transport over a byte stream: a child process's stdio, a TCP or a Unix
 * socket. Many calls travel at once; replies come back in any order and the client matches them.
 *
 * A lost connection fails every pending call with a `TransportError`. For sockets the next send
 * connects again (unless `reconnect: false`); a stream you passed in cannot be reopened.
 */
export class StreamClientTransport implements ClientTransport {
  readonly #options: StreamClientOptions;
  readonly #listeners = new Set<ClientTransportListener>();
  #connection: StreamConnection | undefined;
  #connecting: Promise<StreamConnection> | undefined;
  #lastError: TransportError | undefined;
  #closed = false;

  constructor(options: StreamClientOptions) {
    this.#options = options;
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
    const connection = await raceAbort(this.#ensure(), options.signal);
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
    const options = this.#options;
    if ('stream' in options || (current !== undefined && options.reconnect === false)) {
      return Promise.reject(
        new TransportError('The connection is closed', { cause: this.#lastError }),
      );
    }
    this.#connecting ??= this.#dial().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
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
      },
    });
    this.#connection = connection;
    return connection;
  }
}
