import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import {
  serverTransportBrand,
  setBrand,
  TransportError,
  type Message,
  type MessageHandler,
  type ServerTransport,
  type TransportContext,
} from '@tinyrpc/core';
import {
  binaryContentType,
  isTextContentType,
  jsonContentType,
  toMessage,
} from './content-type.ts';
import { readWebBody } from './read-web-body.ts';

/** Options of {@link HttpServerTransport}. */
export interface HttpServerTransportOptions {
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
  /** Largest request body accepted, in bytes; a longer one is answered 413 unread. Default 1 MiB. */
  readonly maxBodySize?: number;
  /**
   * Answer cross-origin requests from browsers: the value of `Access-Control-Allow-Origin` (`'*'`
   * or an origin), with `OPTIONS` preflights answered. Default: no CORS headers, `OPTIONS` is 405.
   */
  readonly allowOrigin?: string;
}

/** The request body limit when `maxBodySize` is not given: 1 MiB. */
export const defaultMaxBodySize = 1024 * 1024;

type Headers = Record<string, string>;

const textPlain = 'text/plain; charset=utf-8';

const readingKey = Symbol('tinyrpc.http.reading');

/** A request whose body `handle` is reading. */
type Reading = IncomingMessage & {
  [readingKey]?:
    | {
        readonly transport: HttpServerTransport;
        readonly handler: MessageHandler;
        readonly response: ServerResponse;
        readonly chunks: Buffer[];
        size: number;
      }
    | undefined;
};

/**
 * Receives messages as HTTP `POST` bodies and answers each with its reply, like Python tinyrpc's
 * `WsgiServerTransport`.
 *
 * It runs its own `node:http` server when given a `port`, or mounts into an application you have:
 * {@link HttpServerTransport.handle} is a `node:http` request listener (and Express/Connect
 * middleware), {@link HttpServerTransport.fetch} a Fetch API handler (Hono, Bun, Deno, workers).
 *
 * Answers: 200 with the reply (`application/json` for string replies; for byte replies the
 * request's own binary content type, else `application/octet-stream`), 204 when no reply is due,
 * 405 for methods other than `POST`, 413 for bodies over `maxBodySize`, 503 before `listen` and
 * after `close`.
 */
export class HttpServerTransport implements ServerTransport {
  /** The largest request body accepted, in bytes. */
  readonly maxBodySize: number;
  readonly #port: number | undefined;
  readonly #host: string;
  readonly #path: string | undefined;
  readonly #allowOrigin: string | undefined;
  readonly #textHeaders: string[];
  readonly #textClosingHeaders: string[];
  #handler: MessageHandler | undefined;
  #server: Server | undefined;
  readonly #sockets = new Set<Socket>();
  #boundPort: number | undefined;
  #closing = false;
  #closed: Promise<void> | undefined;
  #active = 0;
  #onIdle: (() => void) | undefined;

  constructor(options: HttpServerTransportOptions = {}) {
    this.#port = options.port;
    this.#host = options.host ?? '127.0.0.1';
    this.#path = options.path;
    this.maxBodySize = options.maxBodySize ?? defaultMaxBodySize;
    this.#allowOrigin = options.allowOrigin;
    // Flat [name, value, …] lists: the fastest way through writeHead.
    this.#textHeaders = Object.entries(this.#withCors({ 'content-type': jsonContentType })).flat();
    this.#textClosingHeaders = [...this.#textHeaders, 'connection', 'close'];
    setBrand(this, serverTransportBrand);
  }

  /** The port the own server listens on, once it does; `undefined` for a mounted transport. */
  get port(): number | undefined {
    return this.#boundPort;
  }

  /** The URL of the own server (`http://host:port/path`), once it listens. */
  get url(): string | undefined {
    if (this.#boundPort === undefined) return undefined;
    const host = this.#host.includes(':') ? `[${this.#host}]` : this.#host;
    return `http://${host}:${String(this.#boundPort)}${this.#path ?? '/'}`;
  }

  /** The own `node:http` server, once it listens; `undefined` for a mounted transport. */
  get server(): Server | undefined {
    return this.#server;
  }

  /**
   * Starts answering with `handler`: binds the own server when a port was given (failing with a
   * {@link TransportError} when it cannot), and makes `handle` and `fetch` answer.
   */
  async listen(handler: MessageHandler): Promise<void> {
    if (this.#closing) throw new Error('This transport is closed');
    if (this.#handler !== undefined) throw new Error('This transport is already listening');
    this.#handler = handler;
    const port = this.#port;
    if (port === undefined) return;
    try {
      // Loaded here, not at the top, so that bundling the package for a browser (for the client)
      // needs no Node modules.
      const { createServer } = await import(/* webpackIgnore: true */ 'node:http');
      const path = this.#path;
      const server = createServer(
        path === undefined
          ? this.handle
          : (request, response) => {
              const url = request.url ?? '/';
              const query = url.indexOf('?');
              if ((query === -1 ? url : url.slice(0, query)) === path)
                this.handle(request, response);
              else this.#plain(response, 404, `Not found: RPC is served at ${path}`);
            },
      );
      server.on('connection', (socket: Socket) => {
        this.#sockets.add(socket);
        socket.once('close', () => this.#sockets.delete(socket));
      });
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, this.#host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      // Later server errors (a failed accept, say, when out of file descriptors) must not bring the
      // process down; the server keeps listening.
      server.on('error', ignore);
      this.#server = server;
      this.#boundPort = (server.address() as AddressInfo).port;
    } catch (cause) {
      this.#handler = undefined;
      throw new TransportError(
        `Could not listen on ${this.#host}:${String(port)}: ${(cause as Error).message}`,
        { cause },
      );
    }
  }

  /**
   * Stops listening and answers new requests 503, finishes the requests in flight (their answers
   * close their connections), then closes the own server's connections.
   */
  close(): Promise<void> {
    this.#closed ??= this.#close();
    return this.#closed;
  }

  async #close(): Promise<void> {
    this.#closing = true;
    const server = this.#server;
    const stopped =
      server === undefined
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            server.close(() => {
              resolve();
            });
          });
    if (this.#active > 0) {
      await new Promise<void>((resolve) => {
        this.#onIdle = resolve;
      });
    }
    // Nothing is in flight: what is left is idle keep-alive, connections that never sent a request,
    // and answers still being flushed (those said `Connection: close` and end themselves).
    for (const socket of this.#sockets) {
      if (socket.writableLength === 0) socket.destroy();
    }
    await stopped;
    this.#handler = undefined;
  }

  /**
   * A `node:http` request listener: `http.createServer(transport.handle)`, or Express/Connect
   * middleware (`app.post('/rpc', transport.handle)`). A body already read by `express.json()`,
   * `express.text()` or `express.raw()` is taken from `request.body`.
   */
  readonly handle = (request: IncomingMessage, response: ServerResponse): void => {
    if (request.method !== 'POST') {
      this.#refuseMethod(request, response);
      return;
    }
    const handler = this.#handler;
    if (handler === undefined || this.#closing) {
      this.#unavailable(response);
      return;
    }
    const declared = request.headers['content-length'];
    if (declared !== undefined && Number(declared) > this.maxBodySize) {
      this.#tooLarge(response);
      return;
    }
    this.#active++;
    const parsed = (request as { body?: unknown }).body;
    if (parsed !== undefined && request.readableEnded) {
      void this.#respond(handler, request, response, fromParsedBody(parsed, request));
      return;
    }
    // The listeners are shared by all requests and find their state on the request: no closures
    // to allocate per request on the hot path.
    (request as Reading)[readingKey] = { transport: this, handler, response, chunks: [], size: 0 };
    request.on('data', HttpServerTransport.#onData);
    request.on('end', HttpServerTransport.#onEnd);
    request.on('close', HttpServerTransport.#onClose);
  };

  static #onData(this: IncomingMessage, chunk: Buffer): void {
    const reading = (this as Reading)[readingKey];
    if (reading === undefined) return;
    reading.size += chunk.length;
    if (reading.size <= reading.transport.maxBodySize) {
      reading.chunks.push(chunk);
      return;
    }
    (this as Reading)[readingKey] = undefined;
    this.pause();
    reading.transport.#tooLarge(reading.response);
    reading.transport.#done();
  }

  static #onEnd(this: IncomingMessage): void {
    const reading = (this as Reading)[readingKey];
    if (reading === undefined) return;
    (this as Reading)[readingKey] = undefined;
    const { chunks } = reading;
    const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, reading.size);
    const message = toMessage(body, this.headers['content-type']);
    void reading.transport.#respond(reading.handler, this, reading.response, message);
  }

  // Closed before the body was complete: the client went away (or someone destroyed the request),
  // and nobody is left to answer. Without 'error' listeners, Node does not emit the abort error.
  static #onClose(this: IncomingMessage): void {
    const reading = (this as Reading)[readingKey];
    if (reading === undefined) return;
    (this as Reading)[readingKey] = undefined;
    reading.transport.#done();
  }

  /**
   * A Fetch API handler, `(request: Request) => Promise<Response>`: `export default { fetch:
   * transport.fetch }` (Bun, Deno, workers) or `app.post('/rpc', (c) => transport.fetch(c.req.raw))`
   * (Hono). The context's `signal` is the request's.
   */
  readonly fetch = async (request: Request): Promise<Response> => {
    if (request.method !== 'POST') return this.#webRefuseMethod(request);
    const handler = this.#handler;
    if (handler === undefined || this.#closing) {
      return this.#webPlain(503, 'Service unavailable: the RPC server is not listening', true);
    }
    const declared = request.headers.get('content-length');
    if (declared !== null && Number(declared) > this.maxBodySize) {
      request.body?.cancel().catch(ignore);
      return this.#webTooLarge();
    }
    this.#active++;
    try {
      let body: Uint8Array | undefined;
      try {
        body = await readWebBody(request.body, this.maxBodySize);
      } catch {
        return this.#webPlain(400, 'Bad request: the request body could not be read', true);
      }
      if (body === undefined) return this.#webTooLarge();
      const contentType = request.headers.get('content-type');
      const context: TransportContext = {
        transport: 'http',
        headers: Object.fromEntries(request.headers),
        signal: request.signal,
      };
      let reply: Message | undefined;
      try {
        reply = await handler(toMessage(body, contentType), context);
      } catch {
        return this.#webPlain(500, 'Internal server error', this.#closing);
      }
      if (reply === undefined) return new Response(null, { status: 204, headers: this.#extra() });
      const headers = this.#extra({ 'content-type': replyContentType(reply, contentType) });
      return new Response(reply as BodyInit, { status: 200, headers });
    } finally {
      this.#done();
    }
  };

  // Never rejects: whatever happens ends in an answer (or none, when the client is gone).
  async #respond(
    handler: MessageHandler,
    request: IncomingMessage,
    response: ServerResponse,
    message: Message,
  ): Promise<void> {
    try {
      const reply = await handler(message, new NodeHttpContext(request, response));
      this.#reply(request, response, reply);
    } catch {
      this.#plain(response, 500, 'Internal server error');
    } finally {
      this.#done();
    }
  }

  #reply(request: IncomingMessage, response: ServerResponse, reply: Message | undefined): void {
    // The client is gone: there is nobody to answer.
    if (response.destroyed) return;
    if (reply === undefined) {
      response.writeHead(204, this.#extra());
      response.end();
    } else if (typeof reply === 'string') {
      const headers = this.#closing ? this.#textClosingHeaders : this.#textHeaders;
      response.writeHead(200, [...headers, 'content-length', String(Buffer.byteLength(reply))]);
      response.end(reply);
    } else {
      const contentType = replyContentType(reply, request.headers['content-type']);
      response.writeHead(
        200,
        this.#extra({ 'content-type': contentType, 'content-length': String(reply.byteLength) }),
      );
      response.end(reply);
    }
  }

  #done(): void {
    this.#active--;
    if (this.#active === 0 && this.#onIdle !== undefined) {
      const onIdle = this.#onIdle;
      this.#onIdle = undefined;
      onIdle();
    }
  }

  #refuseMethod(request: IncomingMessage, response: ServerResponse): void {
    if (request.method === 'OPTIONS' && this.#allowOrigin !== undefined) {
      response.writeHead(
        204,
        this.#preflightHeaders(request.headers['access-control-request-headers']),
      );
      response.end();
      return;
    }
    this.#plain(response, 405, 'Method not allowed: send RPC messages with POST', {
      allow: this.#allowed(),
    });
  }

  #webRefuseMethod(request: Request): Response {
    if (request.method === 'OPTIONS' && this.#allowOrigin !== undefined) {
      const requested = request.headers.get('access-control-request-headers') ?? undefined;
      return new Response(null, { status: 204, headers: this.#preflightHeaders(requested) });
    }
    return new Response('Method not allowed: send RPC messages with POST', {
      status: 405,
      headers: this.#extra({ 'content-type': textPlain, allow: this.#allowed() }),
    });
  }

  #tooLarge(response: ServerResponse): void {
    // The rest of the body stays unread, so the connection cannot carry another request.
    this.#plain(
      response,
      413,
      `Payload too large: the limit is ${String(this.maxBodySize)} bytes`,
      {
        connection: 'close',
      },
    );
  }

  #webTooLarge(): Response {
    return this.#webPlain(
      413,
      `Payload too large: the limit is ${String(this.maxBodySize)} bytes`,
      true,
    );
  }

  #unavailable(response: ServerResponse): void {
    this.#plain(response, 503, 'Service unavailable: the RPC server is not listening', {
      connection: 'close',
    });
  }

  #plain(response: ServerResponse, status: number, text: string, headers: Headers = {}): void {
    if (response.headersSent || response.destroyed) return;
    response.writeHead(
      status,
      this.#extra({
        'content-type': textPlain,
        'content-length': String(Buffer.byteLength(text)),
        ...headers,
      }),
    );
    response.end(text);
  }

  #webPlain(status: number, text: string, close: boolean): Response {
    const headers: Headers = { 'content-type': textPlain };
    if (close) headers['connection'] = 'close';
    return new Response(text, { status, headers: this.#extra(headers) });
  }

  #allowed(): string {
    return this.#allowOrigin === undefined ? 'POST' : 'POST, OPTIONS';
  }

  #preflightHeaders(requested: string | undefined): Headers {
    return this.#withCors({
      'access-control-allow-methods': 'POST',
      'access-control-allow-headers': requested ?? 'Content-Type',
      'access-control-max-age': '600',
    });
  }

  // Headers every answer carries: CORS when enabled, `Connection: close` while closing.
  #extra(headers: Headers = {}): Headers {
    const all = this.#withCors(headers);
    if (this.#closing) all['connection'] = 'close';
    return all;
  }

  #withCors(headers: Headers): Headers {
    if (this.#allowOrigin === undefined) return headers;
    headers['access-control-allow-origin'] = this.#allowOrigin;
    if (this.#allowOrigin !== '*') headers['vary'] = 'Origin';
    return headers;
  }
}

function ignore(): void {
  // Deliberately empty: the error has nobody left to tell.
}

// String replies are JSON text in every protocol we ship; byte replies keep the request's binary
// content type (application/msgpack answers application/msgpack).
function replyContentType(reply: Message, requestType: string | null | undefined): string {
  if (typeof reply === 'string') return jsonContentType;
  return requestType && !isTextContentType(requestType) ? requestType : binaryContentType;
}

function fromParsedBody(parsed: unknown, request: IncomingMessage): Message {
  if (typeof parsed === 'string') return parsed;
  if (parsed instanceof Uint8Array) return toMessage(parsed, request.headers['content-type']);
  // express.json() parsed it: JSON text again is what the protocol reads.
  return JSON.stringify(parsed);
}

/**
 * What `handle` tells a handler about a request. A class rather than an object literal with a
 * getter: V8 builds literals with accessors slowly, and this runs for every request. `signal` is
 * made on first use only, since most methods never look at it.
 */
class NodeHttpContext implements TransportContext {
  readonly [key: string]: unknown;
  readonly transport = 'http';
  readonly remoteAddress: string | undefined;
  readonly headers: IncomingMessage['headers'];
  readonly #request: IncomingMessage;
  readonly #response: ServerResponse;
  #controller: AbortController | undefined;

  constructor(request: IncomingMessage, response: ServerResponse) {
    this.remoteAddress = request.socket.remoteAddress;
    this.headers = request.headers;
    this.#request = request;
    this.#response = response;
  }

  /** Aborts when the client goes away before its answer was sent. */
  get signal(): AbortSignal {
    if (this.#controller !== undefined) return this.#controller.signal;
    const controller = new AbortController();
    this.#controller = controller;
    const response = this.#response;
    const gone = (): void => {
      controller.abort(new TransportError('The HTTP client went away'));
    };
    if (response.writableFinished) return controller.signal;
    if (response.destroyed || this.#request.socket.destroyed) gone();
    else {
      response.once('close', () => {
        if (!response.writableFinished) gone();
      });
    }
    return controller.signal;
  }
}
