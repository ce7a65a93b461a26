import {
  clientTransportBrand,
  setBrand,
  type ClientTransport,
  type ClientTransportListener,
  type Message,
  type ReconnectOptions,
  type SendOptions,
} from '@tinyrpc/core';
import { defaultLimits, reconnectOptions } from '@tinyrpc/core/transport';
import { DealerChannel } from './dealer-channel.ts';
import { ReqChannel } from './req-channel.ts';

/** Options of {@link ZmqClientTransport}. */
export interface ZmqClientTransportOptions {
  /**
   * `'dealer'` (default): one DEALER socket, many calls in flight, replies matched by id.
   * `'req'`: a strict REQ socket, one call at a time (the rest queued), as Python tinyrpc's client.
   */
  readonly mode?: 'dealer' | 'req';
  /**
   * The {@link ZmqClientTransport.defaultTimeout} suggested to `RpcClient`: milliseconds a call may
   * take when neither the call nor the client sets a `timeout`. Default 30 000 in REQ mode (a REQ
   * socket would wait for ever on a dead server); none in DEALER mode, where `silenceTimeout`
   * notices a dead server without a clock per call. `Infinity` for none.
   */
  readonly defaultTimeout?: number;
  /**
   * DEALER mode: milliseconds the server may send nothing at all while messages await an answer
   * before every pending call fails with `RpcTimeoutError` (ZeroMQ reports no dead server). One
   * timer per socket, not per call. Default 30 000; `Infinity` for none.
   */
  readonly silenceTimeout?: number;
  /**
   * REQ mode: milliseconds to wait for the answer a server owes a notification (discarded) before
   * the socket is replaced. Default 1000. Servers of this library answer at once with an empty
   * frame; Python tinyrpc's send nothing, so each notification to one costs this wait.
   */
  readonly notificationWait?: number;
  /** Milliseconds unsent messages may linger after `close()`. Default 1000. */
  readonly linger?: number;
  /**
   * The largest message in bytes, either way. Default 1 MiB (`defaultLimits`). A larger request
   * fails at once with a `TransportError` naming the limit. A larger reply fails its call with one
   * in REQ mode; in DEALER mode, where a reply is matched to its call only once read, it fails
   * every pending call with one (the connection stays), as a WebSocket closed for it would.
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

const defaults = { timeout: 30_000, notificationWait: 1000, linger: 1000 } as const;

/**
 * A ZeroMQ client transport: a DEALER socket with many calls in flight (default), or a strict REQ
 * socket (`mode: 'req'`).
 *
 * In DEALER mode the transport is multiplexed: it implements `subscribe`, and `RpcClient` matches
 * replies to calls by id. A dropped connection (the server went away) fails every pending call
 * with `TransportError`; ZeroMQ reconnects by itself and later calls go through. In REQ mode
 * `send` resolves with the reply, and a socket whose reply never came is replaced.
 */
export class ZmqClientTransport implements ClientTransport {
  /** The endpoint this transport connects to. */
  readonly endpoint: string;
  /** `'dealer'` or `'req'`. */
  readonly mode: 'dealer' | 'req';
  /**
   * Milliseconds `RpcClient` gives a call when neither the call nor the client sets a timeout
   * (the one per-call clock is `RpcClient`'s): 30 000 in REQ mode unless set, none in DEALER mode.
   */
  readonly defaultTimeout: number | undefined;
  /**
   * Delivers every reply to `listener` (DEALER mode only; `undefined` in REQ mode, where `send`
   * resolves with the reply). Returns a function that stops delivery.
   */
  readonly subscribe?: (listener: ClientTransportListener) => () => void;
  readonly #dealer: DealerChannel | undefined;
  readonly #req: ReqChannel | undefined;

  constructor(endpoint: string, options: ZmqClientTransportOptions = {}) {
    this.endpoint = endpoint;
    this.mode = options.mode ?? 'dealer';
    const linger = options.linger ?? defaults.linger;
    const maxMessageSize = options.maxMessageSize ?? defaultLimits.maxMessageSize;
    if (!(maxMessageSize >= 1))
      throw new RangeError('ZmqClientTransport: maxMessageSize must be at least 1');
    const reconnect = reconnectOptions(options.reconnect, true);
    const defaultTimeout =
      options.defaultTimeout ?? (this.mode === 'req' ? defaults.timeout : Infinity);
    this.defaultTimeout = Number.isFinite(defaultTimeout) ? defaultTimeout : undefined;
    if (this.mode === 'req') {
      this.#req = new ReqChannel({
        endpoint,
        linger,
        maxMessageSize,
        reconnect,
        notificationWait: options.notificationWait ?? defaults.notificationWait,
      });
      this.subscribe = undefined;
    } else {
      const dealer = new DealerChannel({
        endpoint,
        silenceTimeout: options.silenceTimeout ?? defaults.timeout,
        linger,
        maxMessageSize,
        reconnect,
      });
      this.#dealer = dealer;
      this.subscribe = (listener) => dealer.subscribe(listener);
    }
    setBrand(this, clientTransportBrand);
  }

  /**
   * Sends one message. DEALER mode resolves `undefined` once the message is queued; REQ mode
   * resolves with the reply (or `undefined` for `expectReply: false`). `options.signal` ends the
   * wait (in REQ mode, and the socket is replaced).
   */
  send(message: Message, options: SendOptions = {}): Promise<Message | undefined> {
    if (this.#dealer !== undefined) return this.#dealer.send(message, options.signal);
    return (this.#req as ReqChannel).send(message, options.expectReply ?? true, options.signal);
  }

  /** Closes the socket: queued and pending calls fail with `TransportError`. */
  close(): Promise<void> {
    return this.#dealer?.close() ?? (this.#req as ReqChannel).close();
  }
}
