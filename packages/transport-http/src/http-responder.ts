import {
  InvalidRequestError,
  type ErrorHandler,
  type ListenOptions,
  type Message,
  type MessageHandler,
  type TransportContext,
} from '@tinyrpc/core';
import { InFlight, tooLargeError } from '@tinyrpc/core/transport';
import { binaryContentType, isTextContentType, toMessage } from './content-type.ts';
import { streamedContentType } from './reply-stream-framing.ts';

/**
 * An answer to an HTTP request, the same for both adapters: the `node:http` one writes it to a
 * `ServerResponse`, the Fetch one makes a `Response` of it.
 */
export interface HttpAnswer {
  readonly status: number;
  /** A flat `[name, value, …]` list (the fastest way through `writeHead`), `Content-Length` aside. */
  readonly headers: readonly string[];
  readonly body: Message | undefined;
}

/** A streamed reply whose body is under way, which `close` cuts. */
export interface StreamUnderWay {
  /** Ends the body at once, without its final reply: the caller's loop throws a `TransportError`. */
  cut(): void;
}

/** A request header as either adapter reads it. */
export type HeaderValue = string | string[] | null | undefined;

/** What {@link HttpResponder} needs of the transport's options. */
export interface HttpResponderOptions {
  readonly maxMessageSize: number;
  readonly idleTimeout: number;
  readonly allowOrigin: string | undefined;
  readonly onError: ErrorHandler | undefined;
}

const textPlain = 'text/plain; charset=utf-8';

/**
 * The one step that answers an HTTP request, whichever adapter received it: the checks before the
 * body (method, state, declared size), every refusal (each written here once), the body's decoding
 * and the handler's reply, labelled with the protocol's content type. It also counts the requests
 * in flight, so that `close()` can wait for them.
 */
export class HttpResponder {
  /** The largest request body accepted, in bytes. */
  readonly maxMessageSize: number;
  /** Requests from their first byte until their answer is written. */
  readonly inFlight = new InFlight();
  /** Streamed replies whose body began, until it ends. */
  readonly streams = new Set<StreamUnderWay>();
  readonly #idleTimeout: number;
  readonly #allowOrigin: string | undefined;
  readonly #onError: ErrorHandler | undefined;
  #handler: MessageHandler | undefined;
  #contentType: string | undefined;
  #binaryProtocol = false;
  #errorReply: ListenOptions['errorReply'];
  #closing = false;
  // The headers of a reply in the protocol's content type, made once per listen.
  #replyHeaders: readonly string[] = [];
  #replyClosingHeaders: readonly string[] = [];

  constructor(options: HttpResponderOptions) {
    this.maxMessageSize = options.maxMessageSize;
    this.#idleTimeout = options.idleTimeout;
    this.#allowOrigin = options.allowOrigin;
    this.#onError = options.onError;
  }

  /** `true` once `listen` gave a handler and until `close` began. */
  get accepting(): boolean {
    return this.#handler !== undefined && !this.#closing;
  }

  /** Answers with `handler`, labelling replies with the protocol's content type. */
  start(handler: MessageHandler, options: ListenOptions = {}): void {
    this.#handler = handler;
    this.#contentType = options.contentType;
    this.#binaryProtocol =
      options.contentType !== undefined && !isTextContentType(options.contentType);
    this.#errorReply = options.errorReply;
    if (options.contentType !== undefined) {
      this.#replyHeaders = this.#headers(false, 'content-type', options.contentType);
      this.#replyClosingHeaders = this.#headers(true, 'content-type', options.contentType);
    }
  }

  /**
   * From now on every request is answered 503 and every answer closes its connection; the streamed
   * replies under way are cut, as a closing connection cuts its streams.
   */
  stop(): void {
    this.#closing = true;
    for (const stream of this.streams) stream.cut();
  }

  /** Lets go of the handler once the requests in flight are answered. */
  release(): void {
    this.#handler = undefined;
  }

  /**
   * The answer due before any of the body is read, or `undefined` when the body is to be read:
   * 405 (or a CORS preflight) for methods other than `POST`, 503 while not listening, 413 when the
   * declared length is over `maxMessageSize`.
   */
  refuse(
    method: string | undefined,
    declaredLength: HeaderValue,
    requestType: HeaderValue,
    requestedHeaders: HeaderValue,
  ): HttpAnswer | undefined {
    if (method !== 'POST') {
      if (method === 'OPTIONS' && this.#allowOrigin !== undefined) {
        return this.#answer(
          204,
          this.#headers(
            false,
            'access-control-allow-methods',
            'POST',
            'access-control-allow-headers',
            typeof requestedHeaders === 'string' ? requestedHeaders : 'Content-Type',
            'access-control-max-age',
            '600',
          ),
        );
      }
      return this.#plain(405, 'Method not allowed: send RPC messages with POST', false, [
        'allow',
        this.#allowOrigin === undefined ? 'POST' : 'POST, OPTIONS',
      ]);
    }
    if (!this.accepting) {
      return this.#plain(503, 'Service unavailable: the RPC server is not listening', true);
    }
    if (declaredLength !== undefined && declaredLength !== null) {
      const size = Number(declaredLength);
      if (size > this.maxMessageSize) return this.tooLarge(size, requestType);
    }
    return undefined;
  }

  /**
   * Turns a body into the message the handler gets: a string for a text content type, bytes
   * otherwise, and bytes always when the protocol is binary (a label does not make bytes text).
   */
  message(body: Uint8Array, contentType: HeaderValue): Message {
    if (this.#binaryProtocol || typeof contentType !== 'string') return body;
    return toMessage(body, contentType);
  }

  /**
   * Hands a whole message to the handler. The adapter awaits it and answers with
   * {@link HttpResponder.replied} or {@link HttpResponder.failed}: one async step per request.
   */
  call(message: Message, context: TransportContext): Promise<Message | undefined> {
    const handler = this.#handler;
    if (handler === undefined) return Promise.reject(new Error('The transport is not listening'));
    return handler(message, context);
  }

  /**
   * The answer to a handler's reply: 200 labelled with the protocol's content type (without one,
   * the request's, else by the reply's kind), or 204 when no reply is due.
   */
  replied(reply: Message | undefined, requestType: HeaderValue): HttpAnswer {
    if (reply === undefined) return this.#answer(204, this.#headers(this.#closing));
    if (this.#contentType !== undefined) {
      const headers = this.#closing ? this.#replyClosingHeaders : this.#replyHeaders;
      return { status: 200, headers, body: reply };
    }
    const type =
      typeof requestType === 'string'
        ? requestType
        : typeof reply === 'string'
          ? textPlain
          : binaryContentType;
    return {
      status: 200,
      headers: this.#headers(this.#closing, 'content-type', type),
      body: reply,
    };
  }

  /**
   * The headers of a streamed reply, sent with status 200 before its first item: NDJSON for a text
   * protocol, length-prefixed frames for a binary one.
   */
  streamHeaders(text: boolean): readonly string[] {
    return this.#headers(this.#closing, 'content-type', streamedContentType(text));
  }

  /** The answer to a handler that rejected: 500, without its message, which goes to `onError`. */
  failed(error: unknown): HttpAnswer {
    this.report(error);
    return this.#plain(500, 'Internal server error', false);
  }

  /** Tells `onError` of what has no caller to go to. */
  report(error: unknown): void {
    this.#onError?.(error);
  }

  /**
   * 413 for a body over `maxMessageSize` (`size` when known), with the protocol's error response
   * (id `null`, invalid request, naming the limit) so that any client of the protocol reads an
   * error, labelled as replies are. The rest of the body stays unread, so the connection closes.
   */
  tooLarge(size: number | undefined, requestType: HeaderValue): HttpAnswer {
    const text = tooLargeError(size, this.maxMessageSize).message;
    const body = this.#errorReply?.(new InvalidRequestError(text));
    const type = this.#contentType ?? (typeof requestType === 'string' ? requestType : undefined);
    if (body === undefined || type === undefined) return this.#plain(413, text, true);
    return this.#answer(413, this.#headers(true, 'content-type', type), body);
  }

  /** 408 for a body that began and then sent nothing for `idleTimeout`; the connection closes. */
  stalled(): HttpAnswer {
    return this.#plain(
      408,
      `Request timeout: the body sent nothing for ${String(this.#idleTimeout)} ms (idleTimeout)`,
      true,
    );
  }

  /** 400 for a body that could not be read. */
  unreadable(): HttpAnswer {
    return this.#plain(400, 'Bad request: the request body could not be read', true);
  }

  /** 404 for a path the own server does not serve. */
  notFound(path: string): HttpAnswer {
    return this.#plain(404, `Not found: RPC is served at ${path}`, false);
  }

  #answer(status: number, headers: readonly string[], body?: Message): HttpAnswer {
    return { status, headers, body };
  }

  #plain(status: number, text: string, close: boolean, extra: string[] = []): HttpAnswer {
    return this.#answer(status, this.#headers(close, 'content-type', textPlain, ...extra), text);
  }

  // Every answer's headers: CORS when enabled, `Connection: close` when asked and while closing.
  #headers(close: boolean, ...headers: string[]): string[] {
    const origin = this.#allowOrigin;
    if (origin !== undefined) {
      headers.push('access-control-allow-origin', origin);
      if (origin !== '*') headers.push('vary', 'Origin');
    }
    if (close || this.#closing) headers.push('connection', 'close');
    return headers;
  }
}
