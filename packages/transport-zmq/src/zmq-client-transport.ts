import {
  clientTransportBrand,
  setBrand,
  type Connection,
  type ConnectionListener,
  type Message,
  type ReconnectOptions,
  type SendOptions,
} from '@tinyrpc/core';
import { defaultLimits, reconnectOptions } from '@tinyrpc/core/transport';
import { DealerChannel } from './dealer-channel.ts';

const noOptions: SendOptions = Object.freeze({});

/** What both ZeroMQ client transports take. */
export interface ZmqSocketOptions {
  /** Milliseconds unsent messages may linger after `close()`. Default 1000. */
  readonly linger?: number;
  /**
   * The largest message in bytes, either way. Default 1 MiB (`defaultLimits`). A larger request
   * fails at once with a `TransportError` naming the limit. A larger reply fails its call with one
   * over REQ; over DEALER, where a reply is matched to its call only once read, it fails every
   * pending call with one (the connection stays), as a WebSocket closed for it would.
   */
  readonly maxMessageSize?: number;
  /**
   * How ZeroMQ reconnects after a lost connection: `true` (default) or a policy, `false` for never.
   * ZeroMQ does the reconnecting: `initialDelay` is its first interval, doubled after each failed
   * attempt up to `maxDelay`; it has no retry count and no jitter, so `retries` and `jitter` have
   * no effect here.
   */
  readonly reconnect?: boolean | ReconnectOptions;
}

/** Options of {@link ZmqClientTransport}. */
export interface ZmqClientTransportOptions extends ZmqSocketOptions {
  /**
   * The {@link ZmqClientTransport.defaultTimeout} suggested to `RpcClient`: milliseconds a call may
   * take when neither the call nor the client sets a `timeout`. Default none: `silenceTimeout`
   * notices a dead server without a clock per call.
   */
  readonly defaultTimeout?: number;
  /**
   * Milliseconds the server may send nothing at all while messages await an answer before every
   * pending call fails with `RpcTimeoutError` (ZeroMQ reports no dead server). One timer per
   * socket, not per call. Default 30 000; `Infinity` for none.
   */
  readonly silenceTimeout?: number;
}

/** Defaults both ZeroMQ client transports share. */
export const zmqDefaults = { timeout: 30_000, notificationWait: 1000, linger: 1000 } as const;

/** Reads the options both ZeroMQ client transports take, with their defaults. */
export function socketOptionsOf(options: ZmqSocketOptions, name: string) {
  const maxMessageSize = options.maxMessageSize ?? defaultLimits.maxMessageSize;
  if (!(maxMessageSize >= 1)) throw new RangeError(`${name}: maxMessageSize must be at least 1`);
  return {
    linger: options.linger ?? zmqDefaults.linger,
    maxMessageSize,
    reconnect: reconnectOptions(options.reconnect, true),
  };
}

/**
 * A ZeroMQ client transport over a DEALER socket: a connection, with many calls in flight and
 * replies matched by id, over which the server (a ROUTER) can call back. A dropped connection (the
 * server went away) fails every pending call with `TransportError`; ZeroMQ reconnects by itself and
 * later calls go through. For a strict REQ socket, as Python tinyrpc's client, see
 * {@link ZmqReqClientTransport}.
 */
export class ZmqClientTransport implements Connection {
  /** The transport contract this transport implements. */
  readonly specificationVersion = 1;
  /** A connection: replies and calls from the server arrive through `subscribe`. */
  readonly kind = 'connection';
  /** The endpoint this transport connects to. */
  readonly endpoint: string;
  /**
   * Milliseconds `RpcClient` gives a call when neither the call nor the client sets a timeout
   * (the one per-call clock is `RpcClient`'s): none unless set.
   */
  readonly defaultTimeout: number | undefined;
  readonly #dealer: DealerChannel;

  constructor(endpoint: string, options: ZmqClientTransportOptions = {}) {
    this.endpoint = endpoint;
    const defaultTimeout = options.defaultTimeout ?? Infinity;
    this.defaultTimeout = Number.isFinite(defaultTimeout) ? defaultTimeout : undefined;
    this.#dealer = new DealerChannel({
      endpoint,
      silenceTimeout: options.silenceTimeout ?? zmqDefaults.timeout,
      ...socketOptionsOf(options, 'ZmqClientTransport'),
    });
    setBrand(this, clientTransportBrand);
  }

  /** Delivers every message from the server to `listener`; returns a function that stops it. */
  subscribe(listener: ConnectionListener): () => void {
    return this.#dealer.subscribe(listener);
  }

  /**
   * Sends one message; resolves `undefined` once it is queued. `options.signal` withdraws a message
   * still waiting in the transport's queue (the socket took no more).
   */
  send(message: Message, options: SendOptions = noOptions): Promise<undefined> {
    return this.#dealer.send(message, options);
  }

  /** Closes the socket: pending calls fail with `TransportError`. */
  close(): Promise<void> {
    return this.#dealer.close();
  }
}
