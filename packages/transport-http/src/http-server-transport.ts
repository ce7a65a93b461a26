import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import {
  defaultLimits,
  serverTransportBrand,
  setBrand,
  type ErrorHandler,
  type ListenOptions,
  type MessageHandler,
  type ServerLimits,
  type ServerTransport,
} from '@tinyrpc/core';
import { createFetchHandler } from './fetch-handler.ts';
import { HttpResponder } from './http-responder.ts';
import { IdleWatch } from './idle-watch.ts';
import { NodeRequestListener, writeAnswer } from './node-request-listener.ts';
import { OwnHttpServer } from './own-http-server.ts';

/** Options of {@link HttpServerTransport}. */
export interface HttpServerTransportOptions extends Pick<
  ServerLimits,
  'maxMessageSize' | 'idleTimeout'
> {
  /**
   * Port of the transport's own HTTP server; `0` picks a free one (read it from `port` after
   * `listen`). Without a port the transport has no server of its own and answers only through
   * `handle` and `fetch`.
   */
  readonly port?: number;
  /** Address the own server binds to. Default `'127.0.0.1'`: set `'0.0.0.0'` or `'::'` to accept other hosts. */
  readonly host?: string;
  /** The only path the own server answers (others get 404). Default: every path. Mounted handlers leave routing to the application. */
  readonly path?: string;
  /**
   * Answer cross-origin requests from browsers: the value of `Access-Control-Allow-Origin` (`'*'`
   * or an origin), with `OPTIONS` preflights answered. Default: no CORS headers, `OPTIONS` is 405.
   */
  readonly allowOrigin?: string;
  /** Receives what has no caller to go to: a handler that rejected (answered 500), a server error. */
  readonly onError?: ErrorHandler;
}

/**
 * Receives messages as HTTP `POST` bodies and answers each with its reply, like Python tinyrpc's
 * `WsgiServerTransport`.
 *
 * It runs its own `node:http` server when given a `port`, or mounts into an application you have:
 * {@link HttpServerTransport.handle} is a `node:http` request listener (and Express/Connect
 * middleware), {@link HttpServerTransport.fetch} a Fetch API handler (Hono, Bun, Deno, workers).
 *
 * Answers: 200 with the reply, labelled with the protocol's content type; 204 when no reply is due;
 * 405 for methods other than `POST`; 408 for a body that stalls for `idleTimeout`; 413 for a body
 * over `maxMessageSize`, with the protocol's error response; 503 before `listen` and after `close`.
 *
 * A request with the `Tinyrpc-Stream` header (`RpcClient.stream`) whose method streams is answered
 * with a streamed body once the first item goes: `application/x-ndjson` lines for a text protocol,
 * `application/vnd.tinyrpc.frames` (4-byte big-endian length, then the message) for a binary one,
 * the items first and the reply that ends the stream last. Each write waits for the client to read
 * (TCP backpressure); a client that goes away aborts `context.signal` and ends the generator.
 */
export class HttpServerTransport implements ServerTransport {
  /** The transport contract this transport implements. */
  readonly specificationVersion = 1;
  /** The largest request body accepted, in bytes. */
  readonly maxMessageSize: number;
  /** Milliseconds a body that began may send nothing before the request ends with 408; 0 = never. */
  readonly idleTimeout: number;
  /**
   * A `node:http` request listener: `http.createServer(transport.handle)`, or Express/Connect
   * middleware (`app.post('/rpc', transport.handle)`). A body already read by `express.json()`,
   * `express.text()` or `express.raw()` is taken from `request.body`.
   */
  readonly handle: (request: IncomingMessage, response: ServerResponse) => void;
  /**
   * A Fetch API handler, `(request: Request) => Promise<Response>`: `export default { fetch:
   * transport.fetch }` (Bun, Deno, workers) or `app.post('/rpc', (c) => transport.fetch(c.req.raw))`
   * (Hono). The context's `signal` is the request's.
   */
  readonly fetch: (request: Request) => Promise<Response>;
  readonly #options: HttpServerTransportOptions;
  readonly #host: string;
  readonly #responder: HttpResponder;
  readonly #watch: IdleWatch;
  #own: OwnHttpServer | undefined;
  #listening = false;
  #closed: Promise<void> | undefined;

  constructor(options: HttpServerTransportOptions = {}) {
    this.#options = options;
    this.#host = options.host ?? '127.0.0.1';
    this.maxMessageSize = options.maxMessageSize ?? defaultLimits.maxMessageSize;
    this.idleTimeout = options.idleTimeout ?? defaultLimits.idleTimeout;
    this.#watch = new IdleWatch(this.idleTimeout);
    this.#responder = new HttpResponder({
      maxMessageSize: this.maxMessageSize,
      idleTimeout: this.idleTimeout,
      allowOrigin: options.allowOrigin,
      onError: options.onError,
    });
    this.handle = new NodeRequestListener(this.#responder, this.#watch).handle;
    this.fetch = createFetchHandler(this.#responder, this.#watch);
    setBrand(this, serverTransportBrand);
  }

  /** The port the own server listens on, once it does; `undefined` for a mounted transport. */
  get port(): number | undefined {
    return this.#own?.port;
  }

  /** The URL of the own server (`http://host:port/path`), once it listens. */
  get url(): string | undefined {
    const port = this.#own?.port;
    if (port === undefined) return undefined;
    const host = this.#host.includes(':') ? `[${this.#host}]` : this.#host;
    return `http://${host}:${String(port)}${this.#options.path ?? '/'}`;
  }

  /** The own `node:http` server, once it listens; `undefined` for a mounted transport. */
  get server(): Server | undefined {
    return this.#own?.server;
  }

  /**
   * Starts answering with `handler`: binds the own server when a port was given (failing with a
   * `TransportError` when it cannot), and makes `handle` and `fetch` answer. `options` (from
   * `RpcServer`) give the content type of replies and the error response for over-size bodies.
   */
  async listen(handler: MessageHandler, options?: ListenOptions): Promise<void> {
    if (this.#closed !== undefined) throw new Error('This transport is closed');
    if (this.#listening) throw new Error('This transport is already listening');
    this.#listening = true;
    this.#responder.start(handler, options);
    const { port, path, onError } = this.#options;
    if (port !== undefined) {
      try {
        this.#own = await OwnHttpServer.listen(
          this.handle,
          (_, response) => {
            writeAnswer(response, this.#responder.notFound(path ?? '/'));
          },
          { port, host: this.#host, path, onError },
        );
      } catch (error) {
        this.#listening = false;
        this.#responder.release();
        throw error;
      }
    }
    this.#watch.start();
  }

  /**
   * Stops listening and answers new requests 503, finishes the requests in flight (their answers
   * close their connections; a body that stalls ends after `idleTimeout`; streamed replies under
   * way are cut), then closes the own server's connections.
   */
  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<void> {
    this.#responder.stop();
    const own = this.#own;
    const stopped = own?.stopAccepting();
    await this.#responder.inFlight.drain();
    this.#watch.stop();
    own?.closeIdle();
    await stopped;
    this.#responder.release();
  }
}
