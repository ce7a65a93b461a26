import { clientTransportBrand, serverTransportBrand, setBrand } from './brand.ts';
import { TransportError } from './errors.ts';
import { InFlight } from './transport/in-flight.ts';
import type {
  Connection,
  ConnectionListener,
  ListenOptions,
  Message,
  MessageHandler,
  SendOptions,
  ServerConnection,
  ServerTransport,
  TransportContext,
} from './types.ts';

/**
 * How a callback transport reaches its peer: a function that sends, and one that subscribes to what
 * arrives. Fits a `MessagePort`, `worker_threads`, a browser worker or Electron IPC.
 */
export interface CallbackChannel {
  /** Sends one message to the peer. */
  send(message: Message): void | Promise<void>;
  /** Calls `listener` with every message from the peer; returns a function that unsubscribes. */
  subscribe(listener: (message: Message) => void): () => void;
  /**
   * Calls `listener` once when the channel is gone (a port closed, a worker exited); returns a
   * function that unsubscribes. Optional: without it, a lost peer is noticed only by timeouts.
   */
  onClose?(listener: (error?: Error) => void): () => void;
}

const channelClosed = (cause?: Error): TransportError =>
  new TransportError('The callback channel closed', cause === undefined ? {} : { cause });

/**
 * A server transport over any send function and message source, like Python tinyrpc's
 * `CallbackServerTransport`. Messages are handled concurrently; replies go out through `send`.
 * The channel is one connection: the server can call the other end over it. The context's
 * `signal` aborts when the channel reports that it closed.
 */
export class CallbackServerTransport implements ServerTransport {
  readonly specificationVersion = 1;
  readonly #channel: CallbackChannel;
  readonly #context: TransportContext;
  readonly #connection = new AbortController();
  readonly #inFlight = new InFlight();
  #unsubscribe: (() => void) | undefined;
  #stopWatching: (() => void) | undefined;

  constructor(channel: CallbackChannel, context: TransportContext = { transport: 'callback' }) {
    this.#channel = channel;
    const ended = this.#connection;
    const connection: ServerConnection = {
      id: 'callback',
      signal: ended.signal,
      context,
      async send(message) {
        if (ended.signal.aborted) throw channelClosed();
        await channel.send(message);
      },
      close() {
        ended.abort(channelClosed());
        return Promise.resolve();
      },
    };
    this.#context = { ...context, signal: ended.signal, connection };
    setBrand(this, serverTransportBrand);
  }

  listen(handler: MessageHandler, options?: ListenOptions): Promise<void> {
    if (this.#unsubscribe !== undefined) return Promise.reject(new Error('Already listening'));
    const { connection } = this.#context;
    if (connection !== undefined) options?.onConnection?.(connection);
    this.#unsubscribe = this.#channel.subscribe((message) => {
      void this.#inFlight.track(
        handler(message, this.#context)
          .then((reply) => (reply === undefined ? undefined : this.#channel.send(reply)))
          .catch(() => undefined),
      );
    });
    this.#stopWatching = this.#channel.onClose?.((error) => {
      this.#connection.abort(channelClosed(error));
    });
    return Promise.resolve();
  }

  async close(): Promise<void> {
    this.#unsubscribe?.();
    this.#unsubscribe = undefined;
    this.#stopWatching?.();
    this.#stopWatching = undefined;
    await this.#inFlight.drain();
  }
}

/**
 * A client transport over any send function and message source, like Python tinyrpc's
 * `CallbackClientTransport`. It is a connection: replies may come in any order and the client
 * matches them by id, so many calls can be in flight, and the other end can call this one
 * (give the client a `dispatcher`, or use `RpcPeer`).
 */
export class CallbackClientTransport implements Connection {
  readonly specificationVersion = 1;
  readonly kind = 'connection';
  /** The other end is tinyrpc's (or speaks LSP): aborted calls send `$/cancelRequest`. */
  readonly cancelRequests = true;
  readonly #channel: CallbackChannel;
  #closed = false;

  constructor(channel: CallbackChannel) {
    this.#channel = channel;
    setBrand(this, clientTransportBrand);
  }

  async send(message: Message, options: SendOptions = {}): Promise<undefined> {
    options.signal?.throwIfAborted();
    if (this.#closed) throw new TransportError('The callback transport is closed');
    await this.#channel.send(message);
    return undefined;
  }

  subscribe(listener: ConnectionListener): () => void {
    const stopMessages = this.#channel.subscribe((message) => {
      listener.onMessage(message);
    });
    const stopWatching = this.#channel.onClose?.((error) => {
      this.#closed = true;
      listener.onClose(channelClosed(error));
    });
    return () => {
      stopMessages();
      stopWatching?.();
    };
  }

  close(): Promise<void> {
    this.#closed = true;
    return Promise.resolve();
  }
}
