import type { MessagePort } from 'node:worker_threads';
import {
  clientTransportBrand,
  serverTransportBrand,
  setBrand,
  TransportError,
  type Connection,
  type ConnectionListener,
  type ListenOptions,
  type Message,
  type MessageHandler,
  type SendOptions,
  type ServerConnection,
  type ServerTransport,
} from '@tinyrpc/core';

/**
 * The client's end of a MessageChannel: a connection. Replies, and the server's own calls, arrive
 * through `subscribe`.
 */
export class PortClientTransport implements Connection {
  readonly specificationVersion = 1;
  readonly kind = 'connection';
  readonly #port: MessagePort;
  #closed = false;

  constructor(port: MessagePort) {
    this.#port = port;
    port.once('close', () => {
      this.#closed = true;
    });
    setBrand(this, clientTransportBrand);
  }

  async send(message: Message, options: SendOptions = {}): Promise<undefined> {
    options.signal?.throwIfAborted();
    if (this.#closed) throw new TransportError('The port is closed');
    this.#port.postMessage(message);
    return undefined;
  }

  subscribe(listener: ConnectionListener): () => void {
    const onMessage = (message: Message): void => {
      listener.onMessage(message);
    };
    const onClose = (): void => {
      listener.onClose(new TransportError('The port was closed'));
    };
    this.#port.on('message', onMessage);
    this.#port.on('close', onClose);
    return () => {
      this.#port.off('message', onMessage);
      this.#port.off('close', onClose);
    };
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#port.close();
  }
}

/**
 * Serves any number of MessagePorts, one per client; each reply goes back on its request's port.
 * Every port is a connection, so the server can call its client back.
 */
export class PortServerTransport implements ServerTransport {
  readonly specificationVersion = 1;
  readonly #ports = new Map<MessagePort, ServerConnection>();
  readonly #inFlight = new Set<Promise<void>>();
  #handler: MessageHandler | undefined;
  #options: ListenOptions = {};
  #closing = false;
  #connections = 0;

  constructor() {
    setBrand(this, serverTransportBrand);
  }

  /** Serves one client's port (the other end of the client's MessageChannel). */
  accept(port: MessagePort): void {
    if (this.#closing) {
      port.close();
      return;
    }
    const gone = new AbortController();
    const connection: ServerConnection = {
      id: String(++this.#connections),
      signal: gone.signal,
      context: { transport: 'port' },
      async send(message) {
        if (gone.signal.aborted) throw new TransportError('The port is closed');
        port.postMessage(message);
      },
      async close() {
        port.close();
      },
    };
    // The same context, and the same connection in it, for every message of this port.
    const context = {
      transport: 'port',
      connectionId: connection.id,
      signal: gone.signal,
      connection,
    };
    this.#ports.set(port, connection);
    port.on('close', () => {
      this.#ports.delete(port);
      gone.abort(new TransportError('The port was closed'));
    });
    port.on('message', (message: Message) => {
      const handler = this.#handler;
      if (handler === undefined || this.#closing) return;
      // Handled concurrently: a slow call does not hold up the next one.
      const done = handler(message, context)
        .then((reply) => {
          if (reply !== undefined) port.postMessage(reply);
        })
        .catch(() => undefined)
        .finally(() => this.#inFlight.delete(done));
      this.#inFlight.add(done);
    });
    if (this.#handler !== undefined) this.#options.onConnection?.(connection);
  }

  async listen(handler: MessageHandler, options: ListenOptions = {}): Promise<void> {
    if (this.#handler !== undefined) throw new Error('Already listening');
    this.#handler = handler;
    this.#options = options;
    // Ports accepted before listening are announced now, before their first message is handled.
    for (const connection of this.#ports.values()) options.onConnection?.(connection);
  }

  /** Stops taking messages, sends the replies of calls in flight, then closes every port. */
  async close(): Promise<void> {
    this.#closing = true;
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
    for (const port of this.#ports.keys()) port.close();
  }
}
