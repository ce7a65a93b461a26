import { clientTransportBrand, serverTransportBrand, setBrand } from './brand.ts';
import { TransportError } from './errors.ts';
import { InFlight } from './transport/in-flight.ts';
import type {
  ClientTransport,
  ClientTransportListener,
  Message,
  MessageHandler,
  SendOptions,
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
 * The context's `signal` aborts when the channel reports that it closed.
 */
export class CallbackServerTransport implements ServerTransport {
  readonly #channel: CallbackChannel;
  readonly #context: TransportContext;
  readonly #connection = new AbortController();
  readonly #inFlight = new InFlight();
  #unsubscribe: (() => void) | undefined;
  #stopWatching: (() => void) | undefined;

  constructor(channel: CallbackChannel, context: TransportContext = { transport: 'callback' }) {
    this.#channel = channel;
    this.#context = { ...context, signal: this.#connection.signal };
    setBrand(this, serverTransportBrand);
  }

  listen(handler: MessageHandler): Promise<void> {
    if (this.#unsubscribe !== undefined) return Promise.reject(new Error('Already listening'));
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
 * `CallbackClientTransport`. It is multiplexed: replies may come in any order and the client
 * matches them by id, so many calls can be in flight.
 */
export class CallbackClientTransport implements ClientTransport {
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

  subscribe(listener: ClientTransportListener): () => void {
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
