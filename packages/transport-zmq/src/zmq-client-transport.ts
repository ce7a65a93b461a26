import {
  clientTransportBrand,
  setBrand,
  type ClientTransport,
  type ClientTransportListener,
  type Message,
  type SendOptions,
} from '@tinyrpc/core';
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
   * Milliseconds without a reply after which calls fail with `RpcTimeoutError`; default 30 000,
   * `Infinity` for none. In REQ mode it limits each call from the moment it is sent. In DEALER mode
   * the transport keeps no per-call state: when the server has sent nothing at all for this long
   * since a message went out, every pending call fails. Use `RpcClient`'s `timeout` for a per-call
   * limit; in REQ mode the shorter of the two wins.
   */
  readonly timeout?: number;
  /**
   * REQ mode: milliseconds to wait for the answer a server owes a notification (discarded) before
   * the socket is replaced. Default 1000. Servers of this library answer at once with an empty
   * frame; Python tinyrpc's send nothing, so each notification to one costs this wait.
   */
  readonly notificationWait?: number;
  /** Milliseconds unsent messages may linger after `close()`. Default 1000. */
  readonly linger?: number;
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
   * Delivers every reply to `listener` (DEALER mode only; `undefined` in REQ mode, where `send`
   * resolves with the reply). Returns a function that stops delivery.
   */
  readonly subscribe?: (listener: ClientTransportListener) => () => void;
  readonly #dealer: DealerChannel | undefined;
  readonly #req: ReqChannel | undefined;

  constructor(endpoint: string, options: ZmqClientTransportOptions = {}) {
    this.endpoint = endpoint;
    this.mode = options.mode ?? 'dealer';
    const timeout = options.timeout ?? defaults.timeout;
    const linger = options.linger ?? defaults.linger;
    if (this.mode === 'req') {
      this.#req = new ReqChannel({
        endpoint,
        timeout,
        linger,
        notificationWait: options.notificationWait ?? defaults.notificationWait,
      });
      this.subscribe = undefined;
    } else {
      const dealer = new DealerChannel({ endpoint, timeout, linger });
      this.#dealer = dealer;
      this.subscribe = (listener) => dealer.subscribe(listener);
    }
    setBrand(this, clientTransportBrand);
  }

  /**
   * Sends one message. DEALER mode resolves `undefined` once the message is queued; REQ mode
   * resolves with the reply (or `undefined` for `expectReply: false`).
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
