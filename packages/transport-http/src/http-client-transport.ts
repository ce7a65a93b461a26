import {
  clientTransportBrand,
  deadlineHeader,
  defaultLimits,
  setBrand,
  streamHeader,
  TransportError,
  type RequestReplyTransport,
  type Message,
  type ReplyStreamReceiver,
  type SendOptions,
} from '@tinyrpc/core';
import { CreditWindow, describeError, tooLargeError } from '@tinyrpc/core/transport';
import { binaryContentType, jsonContentType, sameMediaType } from './content-type.ts';
import { HttpTransportError } from './http-transport-error.ts';
import { joinBytes, readWebBody } from './read-web-body.ts';
import {
  streamDecoderFor,
  streamedContentType,
  type StreamDecoder,
} from './reply-stream-framing.ts';
/** Options of {@link HttpClientTransport}. */
export interface HttpClientTransportOptions {
  /** Headers sent with every request, such as `Authorization`. */
  // What `new Headers()` takes: the DOM lib's HeadersInit, which Node-only type setups lack.
  readonly headers?: ConstructorParameters<typeof Headers>[0];
  /**
   * Milliseconds a call over this transport may take when neither the call nor the `RpcClient` sets
   * a `timeout` (the transport's `defaultTimeout`). The clock is `RpcClient`'s: the transport keeps
   * no timers and ends an exchange when the call's `signal` aborts. Default: none.
   */
  readonly timeout?: number;
  /**
   * The `Content-Type` of every request, whatever the protocol's. Default: a `Content-Type` given in
   * `headers`, else the protocol's (`SendOptions.contentType`, which `RpcClient` passes), else
   * `application/json` for string messages and `application/octet-stream` for byte messages.
   */
  readonly contentType?: string;
  /**
   * The largest reply body accepted, in bytes; a larger one fails the call with a `TransportError`
   * that names the limit, and no more than the limit and one chunk of it is read. Default 1 MiB
   * (`defaultLimits.maxMessageSize`).
   */
  readonly maxMessageSize?: number;
  /** The `fetch` to use; default `globalThis.fetch`. Pass one to add a proxy, a dispatcher, retries. */
  readonly fetch?: typeof fetch;
  /** More `fetch` options for every request, such as `credentials` or `mode` in a browser. */
  readonly requestInit?: Omit<RequestInit, 'method' | 'body' | 'headers' | 'signal'>;
}

/** Longest part of an error answer's body quoted in the error message. */
const snippetLength = 200;

const decoder = new TextDecoder();

const lowerDeadlineHeader = deadlineHeader.toLowerCase();
const lowerStreamHeader = streamHeader.toLowerCase();

/**
 * Sends each message as the body of an HTTP `POST` and resolves with the body of the answer, like
 * Python tinyrpc's `HttpPostClientTransport`. Built on the platform `fetch`, so it runs in Node and
 * in browsers; Node's `fetch` keeps connections alive between calls.
 *
 * The reply is of the kind the message was: a string for a string message, bytes for bytes,
 * whatever the answer's `Content-Type` says (Python's `WsgiServerTransport` labels MessagePack
 * `application/json`). A 413 in the content type that was sent is the server's error response and
 * resolves as the reply. Any other error status, a refused or reset connection fail with
 * {@link HttpTransportError}; a reply over `maxMessageSize` with a `TransportError`; an aborted
 * `signal` with its reason. A one-way message resolves once the answer's status arrived, without
 * reading its body.
 *
 * A call's deadline (`SendOptions.deadline`, which `RpcClient` sets for every call with a timeout)
 * travels as the `Tinyrpc-Deadline` header, the milliseconds left; an aborted call closes its
 * request's connection, which aborts the server's `context.signal`.
 *
 * A streamed call (`RpcClient.stream`, `SendOptions.stream`) asks with the `Tinyrpc-Stream` header;
 * a streamed answer (`application/x-ndjson`, or `application/vnd.tinyrpc.frames` for bytes) is read
 * message by message, each item handed on as it arrives, and no further than the consumer's credit
 * allows, so TCP holds the server back. An ordinary answer (a server without streams) resolves as
 * the reply, as for any call.
 */
export class HttpClientTransport implements RequestReplyTransport {
  /** The transport contract this transport implements. */
  readonly specificationVersion = 1;
  /** A request/reply transport: `send` resolves the reply. */
  readonly kind = 'request-reply';
  /** The URL every message is posted to. */
  readonly url: string;
  /** The largest reply body accepted, in bytes. */
  readonly maxMessageSize: number;
  /** The `timeout` option: `RpcClient` applies it to calls that set none of their own. */
  readonly defaultTimeout?: number;
  /**
   * Call headers (`SendOptions.headers`: a trace context…) travel as HTTP request headers, and the
   * call's deadline as `Tinyrpc-Deadline`.
   */
  readonly supportsHeaders = true;
  /** Streamed replies travel as a streamed response body (`SendOptions.stream`). */
  readonly streams = true;
  readonly #fetch: typeof fetch;
  readonly #requestInit: HttpClientTransportOptions['requestInit'];
  readonly #headers: Record<string, string>;
  readonly #contentType: string | undefined;
  readonly #closing = new AbortController();
  // The headers of the content type sent last: RpcClient sends one content type throughout.
  #lastType: string | undefined;
  #lastHeaders: Record<string, string> = {};

  constructor(url: string | URL, options: HttpClientTransportOptions = {}) {
    this.url = String(url);
    this.maxMessageSize = options.maxMessageSize ?? defaultLimits.maxMessageSize;
    if (options.timeout !== undefined) this.defaultTimeout = options.timeout;
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#requestInit = options.requestInit;
    const headers: Record<string, string> = {};
    new Headers(options.headers).forEach((value, name) => {
      headers[name] = value;
    });
    this.#contentType = options.contentType ?? headers['content-type'];
    this.#headers = headers;
    setBrand(this, clientTransportBrand);
  }

  /** Posts `message`; resolves with the reply, or `undefined` for one-way messages and empty answers. */
  async send(message: Message, options: SendOptions = {}): Promise<Message | undefined> {
    const outer = options.signal;
    outer?.throwIfAborted();
    const closing = this.#closing.signal;
    if (closing.aborted) throw new TransportError('The HTTP client transport is closed');
    const signal = outer === undefined ? closing : AbortSignal.any([closing, outer]);
    const text = typeof message === 'string';
    const contentType =
      this.#contentType ?? options.contentType ?? (text ? jsonContentType : binaryContentType);
    try {
      const response = await this.#fetch(this.url, {
        ...this.#requestInit,
        method: 'POST',
        headers: this.#requestHeaders(contentType, options, text),
        body: message as BodyInit,
        signal,
      });
      const expectReply = options.expectReply !== false;
      if (!response.ok) {
        // Refused for its size before the protocol saw it: the body is the protocol's error response.
        const answered =
          response.status === 413 &&
          expectReply &&
          sameMediaType(response.headers.get('content-type'), contentType);
        if (!answered) throw await this.#statusError(response);
      }
      if (!expectReply || response.body === null) {
        // Let go of the body unread; the connection stays usable when it was complete already.
        response.body?.cancel().catch(() => undefined);
        return undefined;
      }
      const { stream } = options;
      const framing =
        stream === undefined
          ? undefined
          : streamDecoderFor(response.headers.get('content-type'), this.maxMessageSize);
      if (framing !== undefined && stream !== undefined)
        return await this.#readStream(response.body, framing, text, stream, signal);
      return await this.#readReply(response, text);
    } catch (error) {
      throw this.#failure(error, signal, outer);
    }
  }

  /** Aborts the exchanges in flight; later sends fail with a {@link TransportError}. */
  close(): Promise<void> {
    this.#closing.abort(new TransportError('The HTTP client transport is closed'));
    return Promise.resolve();
  }

  // The shared headers object on the hot path (no call headers, no deadline); a new one otherwise,
  // with names in lower case like the transport's own, so that a call's header (and the call's
  // deadline, RpcClient's) replaces one of another case instead of joining it as `a, b`.
  #requestHeaders(
    contentType: string,
    options: SendOptions,
    text: boolean,
  ): Record<string, string> {
    const base = this.#headersFor(contentType);
    const { headers, deadline, stream } = options;
    if (headers === undefined && deadline === undefined && stream === undefined) return base;
    const result = { ...base };
    if (headers !== undefined) {
      for (const [name, value] of Object.entries(headers)) result[name.toLowerCase()] = value;
    }
    if (deadline !== undefined) {
      result[lowerDeadlineHeader] = String(Math.max(0, Math.floor(deadline - Date.now())));
    }
    if (stream !== undefined) {
      result[lowerStreamHeader] = String(stream.credit);
      // The streamed answer, or an ordinary one (no item came, or the server does not stream).
      result['accept'] = `${streamedContentType(text)}, ${contentType}`;
    }
    return result;
  }

  #headersFor(contentType: string): Record<string, string> {
    if (contentType !== this.#lastType) {
      this.#lastType = contentType;
      this.#lastHeaders = { ...this.#headers, 'content-type': contentType };
    }
    return this.#lastHeaders;
  }

  // Reads no more than maxMessageSize and one chunk; text for a text message, bytes for bytes.
  async #readReply(response: Response, text: boolean): Promise<Message> {
    const limit = this.maxMessageSize;
    const declared = response.headers.get('content-length');
    if (declared !== null && Number(declared) > limit) {
      response.body?.cancel().catch(() => undefined);
      throw tooLargeError(Number(declared), limit);
    }
    const body = await readWebBody(response.body, limit);
    if (body === undefined) throw tooLargeError(undefined, limit);
    return text ? decoder.decode(body) : body;
  }

  // Hands each message of a streamed body to the receiver as it completes, taking one credit before
  // each (none left: the body is not read on, and TCP holds the server back), and resolves with the
  // one that is not an item. A body that ends without it, or goes on after it, is broken.
  async #readStream(
    body: ReadableStream<Uint8Array>,
    framing: StreamDecoder,
    text: boolean,
    receiver: ReplyStreamReceiver,
    signal: AbortSignal,
  ): Promise<Message> {
    const window = new CreditWindow(receiver.credit);
    receiver.onCredit((credit) => {
      window.grant(credit);
    });
    const reader = body.getReader();
    const stop = (): void => {
      window.end(signal.reason as Error);
      reader.cancel(signal.reason).catch(() => undefined);
    };
    signal.addEventListener('abort', stop, { once: true });
    let last: Message | undefined;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        for (const bytes of framing.push(value)) {
          if (last !== undefined) throw this.#broken('goes on after the reply that ends it');
          const message = text ? decoder.decode(bytes) : bytes;
          await window.take();
          if (!receiver.receive(message)) last = message;
        }
      }
      if (last === undefined || framing.buffered > 0)
        throw this.#broken('ended before the reply that ends it');
      return last;
    } catch (error) {
      reader.cancel().catch(() => undefined);
      throw error;
    } finally {
      signal.removeEventListener('abort', stop);
    }
  }

  #broken(what: string): HttpTransportError {
    return new HttpTransportError(`The streamed answer of ${this.url} ${what}`);
  }

  async #statusError(response: Response): Promise<HttpTransportError> {
    const detail = await readSnippet(response);
    const status = `${String(response.status)}${response.statusText ? ` ${response.statusText}` : ''}`;
    return new HttpTransportError(
      `HTTP request to ${this.url} answered ${status}${detail ? `: ${detail}` : ''}`,
      { status: response.status },
    );
  }

  #failure(error: unknown, signal: AbortSignal, outer: AbortSignal | undefined): unknown {
    // A status error, or a reply over the limit: this transport's own words.
    if (TransportError.is(error) && !signal.aborted) return error;
    // Whoever aborted decides what the caller sees: the caller's own reason (a timeout), or closing.
    if (outer?.aborted) return outer.reason;
    if (signal.aborted) return signal.reason;
    return new HttpTransportError(`HTTP request to ${this.url} failed: ${describeError(error)}`, {
      cause: error,
    });
  }
}

// Quotes the start of an error answer's body without reading more of it than that.
async function readSnippet(response: Response): Promise<string> {
  if (response.body === null) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < snippetLength) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } catch {
    // The body is only decoration of the error; losing it is fine.
  } finally {
    reader.cancel().catch(() => undefined);
  }
  const text = new TextDecoder().decode(joinBytes(chunks, size)).trim();
  return text.length > snippetLength ? `${text.slice(0, snippetLength)}…` : text;
}
