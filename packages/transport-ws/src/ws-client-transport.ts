import {
  clientTransportBrand,
  defaultLimits,
  setBrand,
  TransportError,
  type Connection,
  type ClientTransportListener,
  type Message,
  type ReconnectOptions,
  type SendOptions,
} from '@tinyrpc/core';
import { Backoff, raceSignal, reconnectOptions, tooLargeError } from '@tinyrpc/core/transport';
import {
  openPlatformSocket,
  type ClientSocket,
  type OpenSocket,
  type SocketEvents,
  type WebSocketConstructor,
} from './client-socket.ts';

/** Options of {@link WsClientTransport}. */
export interface WsClientTransportOptions {
  /**
   * The `WebSocket` class to connect with. Default: in Node the `ws` package (faster than Node's own,
   * and it takes `headers`), elsewhere the global `WebSocket`.
   */
  readonly WebSocket?: WebSocketConstructor;
  /** Subprotocols offered in the handshake. */
  readonly protocols?: string | string[];
  /** Milliseconds one connection attempt may take before it counts as failed. Default 10000. */
  readonly connectTimeout?: number;
  /**
   * Reconnect with the backoff of `ReconnectOptions` (core's defaults: `retries: Infinity`,
   * `initialDelay: 100`, `maxDelay: 5000`, `jitter: 0.2`): after the connection is lost the
   * transport reconnects at once in the background, and a failed attempt is retried. A call waits
   * for the connection until its own timeout or signal. Default `false`: one attempt per call that
   * finds no connection.
   */
  readonly reconnect?: boolean | ReconnectOptions;
  /** Extra handshake headers (Node's `ws` only; browsers do not allow them). */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * Largest incoming message in bytes (Node's `ws` only): a larger reply closes the connection
   * with 1009 and pending calls fail with a `TransportError` naming the limit. Default
   * `defaultLimits.maxMessageSize` (1 MiB).
   */
  readonly maxMessageSize?: number;
  /** Offer permessage-deflate compression (Node's `ws` only). Default `false`. */
  readonly perMessageDeflate?: boolean;
}

const defaultConnectTimeout = 10_000;

// The code of ws's error for a message over its maxPayload, found by this side's own receiver.
const ownLimitCode = 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH';

const isNode = (): boolean =>
  typeof process !== 'undefined' &&
  typeof process.versions === 'object' &&
  'node' in process.versions;

/**
 * A WebSocket client transport: one connection, many calls in flight, replies matched by the
 * protocol's id. Text messages travel as text frames and bytes as binary frames; what arrives is
 * delivered as it came (a binary frame as a `Uint8Array`, a text frame as a string).
 *
 * It connects on the first send (or on {@link WsClientTransport.connect}). When the connection is
 * lost, every pending call fails at once with a `TransportError`. It keeps no per-call timers: a
 * call's `signal` (RpcClient's `timeout`) is its only clock. Empty messages are ignored: a
 * `WsServerTransport` with `answerNotifications` sends one for every notification.
 */
export class WsClientTransport implements Connection {
  /** The transport contract this transport implements. */
  readonly specificationVersion = 1;
  /** A connection: replies and calls from the other end arrive through `subscribe`. */
  readonly kind = 'connection';
  /** The server's URL (`ws:` or `wss:`). */
  readonly url: string;
  /** The options it was made with. */
  readonly options: WsClientTransportOptions;
  readonly #connectTimeout: number;
  readonly #reconnect: Required<ReconnectOptions> | undefined;
  /** Largest incoming message in bytes (Node's `ws`); named in the error of a reply over it. */
  protected readonly maxMessageSize: number;
  readonly #listeners = new Set<ClientTransportListener>();
  #open: OpenSocket | undefined;
  #socket: ClientSocket | undefined;
  #connecting: Promise<ClientSocket> | undefined;
  // Aborts the connection attempts under way (on close).
  readonly #attempts = new AbortController();
  #closed = false;

  constructor(url: string | URL, options: WsClientTransportOptions = {}) {
    this.url = String(url);
    this.options = options;
    this.#connectTimeout = options.connectTimeout ?? defaultConnectTimeout;
    this.#reconnect = reconnectOptions(options.reconnect, false);
    this.maxMessageSize = options.maxMessageSize ?? defaultLimits.maxMessageSize;
    setBrand(this, clientTransportBrand);
  }

  /** `true` while a connection is open. */
  get connected(): boolean {
    return this.#socket !== undefined;
  }

  /** Connects now instead of on the first send; resolves once the connection is open. */
  async connect(options: { readonly signal?: AbortSignal } = {}): Promise<void> {
    await this.#waitForSocket(options.signal);
  }

  /**
   * Sends one message; resolves `undefined` once the frame is written (Node) or queued (browsers).
   * Replies arrive through {@link WsClientTransport.subscribe}. `options.signal` ends a wait for the
   * connection; it is not read when the socket is open.
   */
  send(message: Message, options?: SendOptions): Promise<undefined> {
    const socket = this.#socket;
    // The signal is read only when the send waits for a connection: RpcClient makes it on demand.
    if (socket !== undefined) return socket.send(message);
    return this.#sendWhenConnected(message, options?.signal);
  }

  /** Delivers every incoming message and the loss of the connection to `listener`. */
  subscribe(listener: ClientTransportListener): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /** Closes the connection (code 1000) and stops reconnecting; pending calls fail. Final. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#attempts.abort(new TransportError('The WebSocket transport is closed'));
    const socket = this.#socket;
    this.#socket = undefined;
    this.#notifyClose(new TransportError('The WebSocket transport was closed'));
    await socket?.close(1000, '');
  }

  /**
   * Chooses how to open connections: `options.WebSocket`, else the global `WebSocket`. The
   * package's Node entry overrides this to use `ws` in Node.
   */
  protected createOpener(): OpenSocket {
    const { WebSocket = platformWebSocket() } = this.options;
    if (WebSocket === undefined) {
      throw new TransportError(
        'No WebSocket implementation: this runtime has no global WebSocket; pass options.WebSocket',
      );
    }
    return openPlatformSocket(WebSocket, this.url, this.options.protocols);
  }

  async #sendWhenConnected(message: Message, signal: AbortSignal | undefined): Promise<undefined> {
    signal?.throwIfAborted();
    const socket = await this.#waitForSocket(signal);
    return socket.send(message);
  }

  // Waits for the shared connection attempt; the caller's signal is its only clock.
  #waitForSocket(signal: AbortSignal | undefined): Promise<ClientSocket> {
    if (this.#closed)
      return Promise.reject(new TransportError('The WebSocket transport is closed'));
    if (this.#socket !== undefined) return Promise.resolve(this.#socket);
    return raceSignal(this.#connect(), signal);
  }

  // One round of attempts at a time, shared by every caller that waits for it.
  #connect(): Promise<ClientSocket> {
    if (this.#connecting === undefined) {
      const connecting = this.#attemptAll().finally(() => {
        if (this.#connecting === connecting) this.#connecting = undefined;
      });
      // A background reconnect may fail with nobody waiting: that is not an unhandled rejection.
      connecting.catch(() => undefined);
      this.#connecting = connecting;
    }
    return this.#connecting;
  }

  async #attemptAll(): Promise<ClientSocket> {
    // No WebSocket implementation at all is not worth retrying, and says so itself.
    const open = (this.#open ??= this.createOpener());
    const backoff = this.#reconnect === undefined ? undefined : new Backoff(this.#reconnect);
    for (let attempt = 1; ; attempt++) {
      try {
        const socket = await this.#attemptOne(open);
        this.#socket = socket;
        return socket;
      } catch (error) {
        if (this.#closed) throw new TransportError('The WebSocket transport is closed');
        const delay = backoff?.next();
        if (delay === undefined) {
          throw new TransportError(
            `Could not connect to ${this.url}` +
              (attempt > 1 ? ` (${String(attempt)} attempts)` : ''),
            { cause: error },
          );
        }
        await this.#sleep(delay);
      }
    }
  }

  async #attemptOne(open: OpenSocket): Promise<ClientSocket> {
    const timeout = AbortSignal.timeout(this.#connectTimeout);
    const signal = AbortSignal.any([this.#attempts.signal, timeout]);
    // Set once open: a late close event of an older socket must not end a newer one.
    const opened: { socket?: ClientSocket } = {};
    const events: SocketEvents = {
      message: (message) => {
        // The answer of a server with answerNotifications to a notification: nothing to deliver.
        if ((typeof message === 'string' ? message.length : message.byteLength) === 0) return;
        for (const listener of this.#listeners) listener.onMessage(message);
      },
      close: (code, reason, cause) => {
        if (opened.socket !== undefined && opened.socket === this.#socket)
          this.#lost(code, reason, cause);
      },
    };
    const socket = await open(events, signal);
    opened.socket = socket;
    if (this.#closed) {
      await socket.close(1000, '');
      throw new TransportError('The WebSocket transport is closed');
    }
    return socket;
  }

  #lost(code: number, reason: string, cause: unknown): void {
    this.#socket = undefined;
    const closed = `WebSocket connection to ${this.url} closed (code ${String(code)}${reason === '' ? '' : `: ${reason}`})`;
    const ownLimit = (cause as { code?: unknown } | undefined)?.code === ownLimitCode;
    const message = ownLimit
      ? `${tooLargeError(undefined, this.maxMessageSize).message}: a reply was refused, the ${closed}`
      : code === 1009
        ? `A message was over the server's limit (maxMessageSize): the ${closed}`
        : closed;
    this.#notifyClose(new TransportError(message, { cause, data: { code, reason } }));
    if (this.#reconnect !== undefined && !this.#closed) void this.#connect();
  }

  #notifyClose(error: TransportError): void {
    for (const listener of [...this.#listeners]) listener.onClose(error);
  }

  // Waits between attempts; close() cuts the wait short.
  #sleep(ms: number): Promise<void> {
    const signal = this.#attempts.signal;
    return new Promise<void>((resolve, reject) => {
      const onAbort = (): void => {
        clearTimeout(timer);
        reject(signal.reason as Error);
      };
      const timer = setTimeout(() => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }
}

function platformWebSocket(): WebSocketConstructor | undefined {
  return (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
}

/** Internal: `true` when running in Node (or a runtime that presents itself as Node). */
export { isNode };
