import {
  clientTransportBrand,
  RpcTimeoutError,
  setBrand,
  TransportError,
  type ClientTransport,
  type Message,
  type SendOptions,
} from '@tinyrpc/core';
import { binaryContentType, isTextContentType, jsonContentType } from './content-type.ts';
import { HttpTransportError } from './http-transport-error.ts';

/** Options of {@link HttpClientTransport}. */
export interface HttpClientTransportOptions {
  /** Headers sent with every request, such as `Authorization`. */
  // What `new Headers()` takes: the DOM lib's HeadersInit, which Node-only type setups lack.
  readonly headers?: ConstructorParameters<typeof Headers>[0];
  /** Milliseconds an exchange may take, reply body included, before it fails with {@link RpcTimeoutError}. */
  readonly timeout?: number;
  /**
   * The `Content-Type` of every request. Default: `application/json` for string messages and
   * `application/octet-stream` for byte messages (or a `Content-Type` given in `headers`).
   */
  readonly contentType?: string;
  /** The `fetch` to use; default `globalThis.fetch`. Pass one to add a proxy, a dispatcher, retries. */
  readonly fetch?: typeof fetch;
  /** More `fetch` options for every request, such as `credentials` or `mode` in a browser. */
  readonly requestInit?: Omit<RequestInit, 'method' | 'body' | 'headers' | 'signal'>;
}

/** Longest part of an error answer's body quoted in the error message. */
const snippetLength = 200;

/**
 * Sends each message as the body of an HTTP `POST` and resolves with the body of the answer, like
 * Python tinyrpc's `HttpPostClientTransport`. Built on the platform `fetch`, so it runs in Node and
 * in browsers; Node's `fetch` keeps connections alive between calls.
 *
 * The reply is a string when the answer's content type is text (JSON, `text/*`) and bytes otherwise.
 * An error status, a refused or reset connection fail with {@link HttpTransportError}; a timeout with
 * {@link RpcTimeoutError}; an aborted `signal` with its reason. A one-way message resolves once the
 * answer's status arrived, without reading its body.
 */
export class HttpClientTransport implements ClientTransport {
  /** The URL every message is posted to. */
  readonly url: string;
  readonly #fetch: typeof fetch;
  readonly #timeout: number | undefined;
  readonly #requestInit: HttpClientTransportOptions['requestInit'];
  readonly #textHeaders: Record<string, string>;
  readonly #binaryHeaders: Record<string, string>;
  readonly #closing = new AbortController();

  constructor(url: string | URL, options: HttpClientTransportOptions = {}) {
    this.url = String(url);
    this.#fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.#timeout = options.timeout;
    this.#requestInit = options.requestInit;
    const headers: Record<string, string> = {};
    new Headers(options.headers).forEach((value, name) => {
      headers[name] = value;
    });
    const given = options.contentType ?? headers['content-type'];
    this.#textHeaders = { ...headers, 'content-type': given ?? jsonContentType };
    this.#binaryHeaders = { ...headers, 'content-type': given ?? binaryContentType };
    setBrand(this, clientTransportBrand);
  }

  /** Posts `message`; resolves with the reply, or `undefined` for one-way messages and empty answers. */
  async send(message: Message, options: SendOptions = {}): Promise<Message | undefined> {
    const outer = options.signal;
    outer?.throwIfAborted();
    if (this.#closing.signal.aborted)
      throw new TransportError('The HTTP client transport is closed');
    const timeout = this.#timeout;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let timeoutSignal: AbortSignal | undefined;
    if (timeout !== undefined) {
      const controller = new AbortController();
      timeoutSignal = controller.signal;
      timer = setTimeout(() => {
        controller.abort(
          new RpcTimeoutError(`HTTP request to ${this.url} timed out after ${String(timeout)} ms`),
        );
      }, timeout);
    }
    const signals = [this.#closing.signal];
    if (outer !== undefined) signals.push(outer);
    if (timeoutSignal !== undefined) signals.push(timeoutSignal);
    const signal = signals.length === 1 ? this.#closing.signal : AbortSignal.any(signals);
    try {
      const response = await this.#fetch(this.url, {
        ...this.#requestInit,
        method: 'POST',
        headers: typeof message === 'string' ? this.#textHeaders : this.#binaryHeaders,
        body: message as BodyInit,
        signal,
      });
      if (!response.ok) throw await this.#statusError(response);
      if (options.expectReply === false || response.body === null) {
        // Let go of the body unread; the connection stays usable when it was complete already.
        response.body?.cancel().catch(() => undefined);
        return undefined;
      }
      return isTextContentType(response.headers.get('content-type'))
        ? await response.text()
        : new Uint8Array(await response.arrayBuffer());
    } catch (error) {
      throw this.#failure(error, signal, outer);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Aborts the exchanges in flight; later sends fail with a {@link TransportError}. */
  close(): Promise<void> {
    this.#closing.abort(new TransportError('The HTTP client transport is closed'));
    return Promise.resolve();
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
    if (error instanceof HttpTransportError) return error;
    // Whoever aborted decides what the caller sees: the caller's own reason, a timeout, or closing.
    if (outer?.aborted) return outer.reason;
    if (signal.aborted) return signal.reason;
    return new HttpTransportError(`HTTP request to ${this.url} failed: ${describe(error)}`, {
      cause: error,
    });
  }
}

// fetch reports network failures as `TypeError: fetch failed` with the real reason as its cause.
function describe(error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined;
  const inner = cause instanceof Error ? cause : error instanceof Error ? error : undefined;
  if (inner === undefined) return String(error);
  const code = (inner as { code?: unknown }).code;
  return typeof code === 'string' && !inner.message.includes(code)
    ? `${inner.message} (${code})`
    : inner.message;
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
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  const text = new TextDecoder().decode(bytes).trim();
  return text.length > snippetLength ? `${text.slice(0, snippetLength)}…` : text;
}
