import {
  clientTransportBrand,
  setBrand,
  type Message,
  type RequestReplyTransport,
  type SendOptions,
} from '@tinyrpc/core';
import { ReqChannel } from './req-channel.ts';
import { socketOptionsOf, zmqDefaults, type ZmqSocketOptions } from './zmq-client-transport.ts';

/** Options of {@link ZmqReqClientTransport}. */
export interface ZmqReqClientTransportOptions extends ZmqSocketOptions {
  /**
   * The {@link ZmqReqClientTransport.defaultTimeout} suggested to `RpcClient`: milliseconds a call
   * may take when neither the call nor the client sets a `timeout`. Default 30 000 (a REQ socket
   * would wait for ever on a dead server); `Infinity` for none.
   */
  readonly defaultTimeout?: number;
  /**
   * Milliseconds to wait for the answer a server owes a notification (discarded) before the socket
   * is replaced. Default 1000. Servers of this library answer at once with an empty frame; Python
   * tinyrpc's send nothing, so each notification to one costs this wait.
   */
  readonly notificationWait?: number;
}

/**
 * A ZeroMQ client transport over a strict REQ socket, as Python tinyrpc's client: one call at a
 * time (the rest queued), `send` resolves with the reply, and a socket whose reply never came is
 * replaced. Request/reply: no message can follow a request, so the server cannot call back over it.
 */
export class ZmqReqClientTransport implements RequestReplyTransport {
  /** The transport contract this transport implements. */
  readonly specificationVersion = 1;
  /** A request/reply transport: `send` resolves the reply. */
  readonly kind = 'request-reply';
  /** The endpoint this transport connects to. */
  readonly endpoint: string;
  /** Milliseconds `RpcClient` gives a call when neither the call nor the client sets a timeout. */
  readonly defaultTimeout: number | undefined;
  readonly #req: ReqChannel;

  constructor(endpoint: string, options: ZmqReqClientTransportOptions = {}) {
    this.endpoint = endpoint;
    const defaultTimeout = options.defaultTimeout ?? zmqDefaults.timeout;
    this.defaultTimeout = Number.isFinite(defaultTimeout) ? defaultTimeout : undefined;
    this.#req = new ReqChannel({
      endpoint,
      ...socketOptionsOf(options, 'ZmqReqClientTransport'),
      notificationWait: options.notificationWait ?? zmqDefaults.notificationWait,
    });
    setBrand(this, clientTransportBrand);
  }

  /**
   * Sends one message and resolves with the reply (or `undefined` for `expectReply: false`).
   * `options.signal` ends the wait, and the socket is replaced.
   */
  send(message: Message, options: SendOptions = {}): Promise<Message | undefined> {
    return this.#req.send(message, options.expectReply ?? true, options.signal);
  }

  /** Closes the socket: queued and pending calls fail with `TransportError`. */
  close(): Promise<void> {
    return this.#req.close();
  }
}
