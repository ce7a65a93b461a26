import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server as HttpServer } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { Duplex } from 'node:stream';
import {
  defaultLimits,
  serverTransportBrand,
  setBrand,
  TransportError,
  type ErrorHandler,
  type ListenOptions,
  type Message,
  type MessageHandler,
  type ServerConnection,
  type ServerLimits,
  type ServerTransport,
  type TransportContext,
} from '@tinyrpc/core';
import {
  describeError,
  InFlight,
  listenNodeServer,
  messageSize,
  tooLargeError,
} from '@tinyrpc/core/transport';
import { WebSocket, WebSocketServer } from 'ws';
import { batchedSender, type FrameSender } from './batched-sender.ts';

/** Options of {@link WsServerTransport}: `port` for a server of its own, or `server` to attach. */
export interface WsServerTransportOptions extends Omit<ServerLimits, 'idleTimeout'> {
  /** Port of a server of its own; `0` picks a free one (see {@link WsServerTransport.port}). */
  readonly port?: number;
  /** Interface of a server of its own. Default `'127.0.0.1'`; `'::'` or `'0.0.0.0'` for all. */
  readonly host?: string;
  /**
   * An `http.Server` or `https.Server` to attach to: WebSocket upgrades at `path` are taken, all
   * other requests are left to the server (an `HttpServerTransport`, Express…). It is neither
   * started nor closed by this transport.
   */
  readonly server?: HttpServer | HttpsServer;
  /** The only path whose upgrades are accepted (query ignored). Default: any path. */
  readonly path?: string;
  /**
   * Largest incoming message in bytes; a larger one closes its connection with 1009 (message too
   * big), as ws finds it before it buffers the message. Default `defaultLimits.maxMessageSize` (1 MiB).
   */
  readonly maxMessageSize?: number;
  /**
   * Calls of one connection running at once. Past it the transport stops reading that connection
   * (ws `pause()`) until calls finish, so one flooding peer costs bounded memory and the others are
   * still read. Default `defaultLimits.maxInFlight` (1000).
   */
  readonly maxInFlight?: number;
  /**
   * Milliseconds between pings; a peer that answered neither the last ping nor sent anything since
   * is terminated. `0` turns the heartbeat off. Default 30000. It is this transport's idle clock
   * too: a peer stalled inside a frame cannot answer a ping, so it is gone within two intervals.
   */
  readonly heartbeatInterval?: number;
  /**
   * Bytes of replies a peer may leave unread: when more than this from earlier ticks is still
   * queued for a connection as a reply is due, the peer is not reading and its connection is
   * terminated (no close frame could get through). Keeps memory bounded. Default 8 MiB.
   */
  readonly maxBufferedAmount?: number;
  /** Accept permessage-deflate compression. Default `false` (it costs CPU and memory per socket). */
  readonly perMessageDeflate?: boolean;
  /**
   * Answer each message that has no reply (a notification) with an empty message. Python tinyrpc's
   * WebSocket client reads one message after every send, notifications included, and waits forever
   * without one; every client of this package ignores empty messages. Default `false`.
   */
  readonly answerNotifications?: boolean;
  /** Called with what has no caller to go to: a handler that rejected, a peer's bad or over-size frame. */
  readonly onError?: ErrorHandler;
}

const defaults = {
  host: '127.0.0.1',
  heartbeatInterval: 30_000,
  maxBufferedAmount: 8 * 1024 * 1024,
} as const;

/** How long `close()` waits for a peer to answer the close frame before it terminates the socket. */
const closeWait = 2000;

const sent: Promise<void> = Promise.resolve();

// One accepted WebSocket as this transport keeps it (the server sees its ServerConnection).
interface Accepted {
  readonly ws: WebSocket;
  readonly sender: FrameSender;
  readonly controller: AbortController;
  /** Its calls running now, limited by `maxInFlight`. */
  readonly calls: InFlight;
  /** Messages read while `calls` was full (the rest of a chunk ws had read); started as calls end. */
  readonly waiting: Message[];
  alive: boolean;
}

interface Settlers {
  readonly onReply: (reply: Message | undefined) => void;
  readonly onFailure: (error: unknown) => void;
}

/**
 * A WebSocket server transport: on a port of its own, or attached to an existing `http.Server` at a
 * path so it shares the port with an HTTP server.
 *
 * Every frame, text or binary, is one message; its reply goes back on the same connection, in the
 * frame type the protocol produced (a string as text, bytes as binary). Messages of one connection
 * are handled concurrently. The context of each carries `transport: 'ws'`, `remoteAddress`, the
 * handshake `headers`, a `connectionId`, a `signal` that aborts when the connection closes, and the
 * `connection` itself: a `ServerConnection` (contract v1) through which the server sends its own calls
 * to that peer, so calls go both ways on one WebSocket. Each accepted connection is passed to
 * `ListenOptions.onConnection` before its first message is handled.
 */
export class WsServerTransport implements ServerTransport {
  /** The transport contract this transport implements. */
  readonly specificationVersion = 1;
  readonly #options: WsServerTransportOptions;
  readonly #maxBufferedAmount: number;
  readonly #maxMessageSize: number;
  readonly #maxInFlight: number;
  readonly #connections = new Set<Accepted>();
  // Every call of every connection, for close() to wait for.
  readonly #calls = new InFlight();
  #wss: WebSocketServer | undefined;
  #server: HttpServer | HttpsServer | undefined;
  #heartbeat: ReturnType<typeof setInterval> | undefined;
  #handler: MessageHandler | undefined;
  #listenOptions: ListenOptions | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: WsServerTransportOptions) {
    if (options.server === undefined && options.port === undefined)
      throw new TypeError('WsServerTransport needs a port (0 for any free one) or a server');
    if (options.server !== undefined && options.port !== undefined)
      throw new TypeError('WsServerTransport takes a port or a server, not both');
    this.#options = options;
    this.#maxBufferedAmount = options.maxBufferedAmount ?? defaults.maxBufferedAmount;
    this.#maxMessageSize = options.maxMessageSize ?? defaultLimits.maxMessageSize;
    this.#maxInFlight = options.maxInFlight ?? defaultLimits.maxInFlight;
    if (!(this.#maxInFlight >= 1)) throw new RangeError('maxInFlight must be at least 1');
    setBrand(this, serverTransportBrand);
  }

  /** The port connections are accepted on, once listening (the bound one for port 0). */
  get port(): number | undefined {
    const address = this.#server?.address();
    return typeof address === 'object' && address !== null ? address.port : undefined;
  }

  /** How many connections are open. */
  get connectionCount(): number {
    return this.#connections.size;
  }

  /** How many calls run now, on every connection. */
  get inFlight(): number {
    return this.#calls.size;
  }

  /**
   * Starts accepting connections; resolves once the port is bound (or at once when attached).
   * `options.onConnection` receives each connection as it is accepted.
   */
  async listen(handler: MessageHandler, options?: ListenOptions): Promise<void> {
    if (this.#handler !== undefined) throw new Error('This transport is already listening');
    if (this.#closing !== undefined) throw new Error('This transport is closed');
    this.#handler = handler;
    this.#listenOptions = options;
    this.#wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.#maxMessageSize,
      perMessageDeflate: this.#options.perMessageDeflate ?? false,
      clientTracking: false,
    });
    const attached = this.#options.server;
    const server =
      attached ??
      createServer((_request, response) => {
        response.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' });
        response.end('This is a WebSocket endpoint\n');
      });
    if (attached === undefined) {
      try {
        await listenNodeServer(server, {
          port: this.#options.port ?? 0,
          host: this.#options.host ?? defaults.host,
        });
      } catch (error) {
        this.#handler = undefined;
        throw error;
      }
    }
    this.#server = server;
    server.on('upgrade', this.#onUpgrade);
    const interval = this.#options.heartbeatInterval ?? defaults.heartbeatInterval;
    if (interval > 0) {
      this.#heartbeat = setInterval(() => {
        this.#beat();
      }, interval);
      this.#heartbeat.unref();
    }
  }

  /**
   * Stops accepting connections, waits for the replies in flight to be sent, then closes every
   * connection with 1001 (going away). A server of its own is closed too; an attached one is left
   * running. Messages that arrive meanwhile are still handed to the handler, as one may be the
   * reply a running call waits for (a handler that called its client back), but the close does not
   * wait for them.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    clearInterval(this.#heartbeat);
    const server = this.#server;
    server?.off('upgrade', this.#onUpgrade);
    const own = server !== undefined && server !== this.#options.server;
    const serverClosed =
      own && server.listening
        ? new Promise<void>((resolve) =>
            server.close(() => {
              resolve();
            }),
          )
        : Promise.resolve();
    await this.#calls.drain();
    await Promise.all([...this.#connections].map((c) => closeConnection(c.ws)));
    if (own) server.closeAllConnections();
    await serverClosed;
    this.#wss?.close();
  }

  readonly #onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer): void => {
    const { path } = this.#options;
    if (path !== undefined && pathOf(request.url) !== path) {
      // Other upgrade listeners of a shared server may take it; when there are none, answer 404.
      if (this.#server?.listenerCount('upgrade') === 1) refuse(socket, '404 Not Found');
      return;
    }
    if (this.#closing !== undefined) {
      refuse(socket, '503 Service Unavailable');
      return;
    }
    this.#wss?.handleUpgrade(request, socket, head, (ws) => {
      this.#accept(ws, request);
    });
  };

  #accept(ws: WebSocket, request: IncomingMessage): void {
    const handler = this.#handler;
    // A handshake that completed after close() began: close() no longer sees this connection.
    if (handler === undefined || this.#closing !== undefined) {
      void closeConnection(ws);
      return;
    }
    const controller = new AbortController();
    const waiting: Message[] = [];
    const calls = new InFlight({
      limit: this.#maxInFlight,
      onFull: () => {
        ws.pause();
      },
      onAvailable: () => {
        while (!calls.full && waiting.length > 0) start(waiting.shift() as Message);
        if (!calls.full && ws.readyState === WebSocket.OPEN) {
          accepted.alive = true; // it could not answer pings while paused
          ws.resume();
        }
      },
    });
    const id = randomUUID();
    const peerContext: TransportContext = Object.freeze({
      transport: 'ws',
      remoteAddress: request.socket.remoteAddress,
      headers: request.headers,
      connectionId: id,
      signal: controller.signal,
    });
    const connection: ServerConnection = Object.freeze({
      id,
      signal: controller.signal,
      context: peerContext,
      send: (message: Message) => this.#push(accepted, message),
      close: () => closeConnection(ws, 1000, ''),
    });
    const accepted: Accepted = {
      ws,
      sender: batchedSender(ws),
      controller,
      calls,
      waiting,
      alive: true,
    };
    // The same object with every message, as the contract asks: the server keys its peers on it.
    const context: TransportContext = Object.freeze({ ...peerContext, connection });
    this.#connections.add(accepted);
    const answerNotifications = this.#options.answerNotifications === true;
    // Calls begun after close() started are not waited for (see close), so they are not counted in
    // #calls: a peer that keeps sending cannot hold the close open.
    const settlers = (counted: boolean): Settlers => {
      const finish = (): void => {
        if (counted) this.#calls.finish();
        calls.finish();
      };
      return {
        onReply: (reply: Message | undefined): void => {
          finish();
          if (reply !== undefined) this.#send(accepted, reply);
          else if (answerNotifications) this.#send(accepted, '');
        },
        onFailure: (error: unknown): void => {
          finish();
          this.#options.onError?.(error);
          // A client that reads one message per send would wait for ever.
          if (answerNotifications) this.#send(accepted, '');
        },
      };
    };
    const serving = settlers(true);
    const draining = settlers(false);
    const start = (message: Message): void => {
      const counted = this.#closing === undefined;
      if (counted) this.#calls.start();
      calls.start();
      const { onReply, onFailure } = counted ? serving : draining;
      handler(message, context).then(onReply, onFailure);
    };
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      accepted.alive = true;
      const message = isBinary
        ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength)
        : data.toString();
      if (calls.full) waiting.push(message);
      else start(message);
    });
    ws.on('pong', () => {
      accepted.alive = true;
    });
    // Protocol errors of a peer (an over-size frame, bad UTF-8): ws closes the connection itself.
    ws.on('error', (error: Error & { code?: string }) => {
      this.#options.onError?.(
        error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'
          ? tooLargeError(undefined, this.#maxMessageSize)
          : new TransportError(`A WebSocket peer broke the protocol: ${describeError(error)}`, {
              cause: error,
            }),
      );
    });
    ws.once('close', (code: number, reason: Buffer) => {
      this.#connections.delete(accepted);
      waiting.length = 0;
      const text = reason.toString();
      controller.abort(
        new TransportError(
          `The WebSocket connection closed (code ${String(code)}${text === '' ? '' : `: ${text}`})`,
          { data: { code, reason: text } },
        ),
      );
    });
    try {
      this.#listenOptions?.onConnection?.(connection);
    } catch (error) {
      this.#options.onError?.(error);
    }
  }

  // The server's own message to a peer (a call, a notification): the replies' path, with the size
  // limit checked first, as a peer with the same limit would close the connection over it.
  #push(accepted: Accepted, message: Message): Promise<void> {
    if (accepted.controller.signal.aborted || accepted.ws.readyState !== WebSocket.OPEN)
      return Promise.reject(new TransportError('The WebSocket connection is closed'));
    const size = messageSize(message);
    if (size > this.#maxMessageSize)
      return Promise.reject(tooLargeError(size, this.#maxMessageSize));
    if (!this.#send(accepted, message))
      return Promise.reject(
        new TransportError(
          'The WebSocket peer left too much unread (maxBufferedAmount); its connection was terminated',
        ),
      );
    return sent;
  }

  // `false` when the message could not go out: the socket is closing, or the peer stopped reading.
  #send({ ws, sender }: Accepted, reply: Message): boolean {
    if (ws.readyState !== WebSocket.OPEN) return false;
    // A peer that left this much unread is not reading: drop it before it costs more memory. What
    // this tick has queued so far does not count: a burst of replies is not the peer's fault.
    if (sender.backlog > this.#maxBufferedAmount) {
      ws.terminate();
      return false;
    }
    sender.send(reply);
    return true;
  }

  #beat(): void {
    for (const accepted of this.#connections) {
      // Paused at maxInFlight, it cannot read the peer's pong: the wait is ours, not the peer's.
      if (accepted.calls.full) continue;
      if (!accepted.alive) {
        accepted.ws.terminate();
      } else {
        accepted.alive = false;
        accepted.ws.ping();
      }
    }
  }
}

function pathOf(url: string | undefined): string {
  if (url === undefined) return '/';
  const query = url.indexOf('?');
  return query === -1 ? url : url.slice(0, query);
}

function refuse(socket: Duplex, status: string): void {
  socket.on('error', () => undefined);
  socket.end(`HTTP/1.1 ${status}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
}

function closeConnection(ws: WebSocket, code = 1001, reason = 'Server closing'): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      ws.terminate();
    }, closeWait);
    ws.once('close', () => {
      clearTimeout(timer);
      resolve();
    });
    // A connection paused at maxInFlight must be read again to see the peer's close frame.
    if (ws.isPaused) ws.resume();
    ws.close(code, reason);
  });
}
