import { TransportError, type Message, type ServerConnection } from '@tinyrpc/core';
import type { ZmqTransportContext } from './zmq-server-transport.ts';

/**
 * One DEALER peer of a ROUTER, seen as a connection: the server sends its own calls to the peer
 * through `write`. ZeroMQ never says that a peer left, so the transport ends the connection itself
 * (see `ZmqServerTransport`); `end` aborts the signal once and tells the transport to forget it.
 */
export class RouterConnection implements ServerConnection {
  readonly id: string;
  readonly signal: AbortSignal;
  /** What is known of the peer: its routing id, in hexadecimal, as `peerId` and `connectionId`. */
  readonly context: ZmqTransportContext;
  /** The context of every message from the peer: the same object each time. */
  readonly messageContext: ZmqTransportContext;
  readonly #ended = new AbortController();
  readonly #write: (message: Message) => Promise<void>;
  readonly #onEnd: (connection: RouterConnection) => void;

  constructor(
    peerId: string,
    write: (message: Message) => Promise<void>,
    onEnd: (connection: RouterConnection) => void,
  ) {
    this.id = peerId;
    this.signal = this.#ended.signal;
    this.#write = write;
    this.#onEnd = onEnd;
    this.context = { transport: 'zmq', peerId, connectionId: peerId };
    this.messageContext = { ...this.context, signal: this.signal, connection: this };
  }

  /** Sends `message` to the peer; rejects with a `TransportError` once the connection ended. */
  send(message: Message): Promise<void> {
    if (this.signal.aborted) return Promise.reject(this.signal.reason as TransportError);
    return this.#write(message);
  }

  /**
   * Ends the connection on the server's side. ZeroMQ cannot drop one peer of a ROUTER, so the peer
   * is not told; a later message from it opens a new connection.
   */
  close(): Promise<void> {
    this.end(new TransportError(`The ZeroMQ server closed the connection to peer ${this.id}`));
    return Promise.resolve();
  }

  /** Aborts the signal with `error` (once) and has the transport forget the connection. */
  end(error: TransportError): void {
    if (this.signal.aborted) return;
    this.#ended.abort(error);
    this.#onEnd(this);
  }
}
