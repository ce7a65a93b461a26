import {
  cancelMethod,
  InvalidReplyError,
  InvalidRequestError,
  ParseError,
  protocolBrand,
  setBrand,
  toErrorObject,
  type CreateRequestOptions,
  type Message,
  type Params,
  type RequestId,
  type RpcError,
  type RpcProtocol,
  type RpcResponse,
} from '@tinyrpc/core';
import {
  JsonRpcBatchRequest,
  JsonRpcBatchResponse,
  JsonRpcErrorResponse,
  JsonRpcRequest,
  JsonRpcSuccessResponse,
  jsonStringify,
  type Stringify,
} from './json-rpc-messages.ts';
import { JSON_RPC_CONTENT_TYPE } from './error-codes.ts';

/** A pair of functions that turn values into JSON text and back, in place of `JSON`. */
export interface JsonSerializer {
  /** Turns a message object into text, as `JSON.stringify`. */
  stringify(value: unknown): string;
  /** Turns text into a message object, as `JSON.parse`. */
  parse(text: string): unknown;
}

/** Options of {@link JsonRpcProtocol}. */
export interface JsonRpcProtocolOptions {
  /** Passed to `JSON.stringify`: lets dates, `bigint`s and the like cross (Python tinyrpc's `jsonext`). */
  readonly replacer?: (this: unknown, key: string, value: unknown) => unknown;
  /** Passed to `JSON.parse`: the counterpart of `replacer`. */
  readonly reviver?: (this: unknown, key: string, value: unknown) => unknown;
  /** Replaces `JSON` altogether; `replacer` and `reviver` are then ignored. */
  readonly serializer?: JsonSerializer;
  /** The most requests one batch may hold; a longer batch is one invalid-request error. Default 1000. */
  readonly maxBatchLength?: number;
}

const decoder = new TextDecoder('utf-8', { fatal: true });
const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isId = (value: unknown): value is RequestId =>
  typeof value === 'string' ||
  (typeof value === 'number' && Number.isFinite(value)) ||
  value === null;

// `$meta` is read only when it is an object of strings; anything else is ignored, as any other
// member the specification does not name.
function metaOf(value: unknown): Readonly<Record<string, string>> | undefined {
  if (!isObject(value)) return undefined;
  const entries = Object.entries(value);
  return entries.every(([, v]) => typeof v === 'string')
    ? (Object.fromEntries(entries) as Record<string, string>)
    : undefined;
}

/**
 * JSON-RPC 2.0, all of it: calls with positional or named params, notifications, batches, and the
 * specification's error codes. Messages are produced as strings.
 *
 * Invalid requests are answered with the request's id when it is a valid id, and with `null` when it
 * is not (or, for a parse error, cannot be read).
 */
export class JsonRpcProtocol implements RpcProtocol {
  readonly supportsBatch = true;
  /** `application/json`: what HTTP and other labelled transports send these messages as. */
  readonly contentType = JSON_RPC_CONTENT_TYPE;
  /** Most requests allowed in one batch. */
  readonly maxBatchLength: number;
  readonly #stringify: Stringify;
  readonly #parse: (text: string) => unknown;
  #nextId = 0;

  constructor(options: JsonRpcProtocolOptions = {}) {
    const { serializer, replacer, reviver } = options;
    this.#stringify = serializer
      ? (value) => serializer.stringify(value)
      : replacer
        ? (value) => JSON.stringify(value, replacer)
        : jsonStringify;
    this.#parse = serializer
      ? (text) => serializer.parse(text)
      : reviver
        ? (text) => JSON.parse(text, reviver) as unknown
        : (text) => JSON.parse(text) as unknown;
    this.maxBatchLength = options.maxBatchLength ?? 1000;
    setBrand(this, protocolBrand);
  }

  /** Builds a request with the next id of this protocol instance (a number), or a notification. */
  createRequest(method: string, params?: Params, options?: CreateRequestOptions): JsonRpcRequest {
    const id = options?.oneWay ? undefined : this.#newId();
    return new JsonRpcRequest(id, method, params, this.#stringify, options?.meta);
  }

  /** Builds the `$/cancelRequest` notification for call `id`: params `{ "id": id }`, as LSP's. */
  createCancelRequest(id: string | number): JsonRpcRequest {
    return new JsonRpcRequest(undefined, cancelMethod, { id }, this.#stringify, undefined);
  }

  /** Builds one batch message of `requests`. */
  createBatchRequest(requests: readonly JsonRpcRequest[]): JsonRpcBatchRequest {
    return new JsonRpcBatchRequest(requests, this.#stringify);
  }

  /** Builds an error response with id `null`, the answer to input that reached no request. */
  createErrorResponse(error: RpcError): JsonRpcErrorResponse {
    return new JsonRpcErrorResponse(null, toErrorObject(error), this.#stringify);
  }

  /**
   * Reads a request, notification or batch. Throws a {@link ParseError} or an
   * {@link InvalidRequestError} whose `response` is the error response to send back.
   */
  parseRequest(data: Message): JsonRpcRequest | JsonRpcBatchRequest {
    return this.#requestOf(this.#decodeRequest(data));
  }

  /** Reads a response or batch response; throws {@link InvalidReplyError} for anything else. */
  parseReply(data: Message): RpcResponse | JsonRpcBatchResponse {
    let value: unknown;
    try {
      value = this.#parse(typeof data === 'string' ? data : decoder.decode(data));
    } catch (cause) {
      throw new InvalidReplyError('The reply is not valid JSON', { cause });
    }
    return this.#replyOf(value);
  }

  /**
   * Reads a message that may be a request or a reply, as both travel on a connection where both
   * ends call: an object with `method` (or a batch whose first member has one) is a request, one
   * with `result` or `error` a reply. Anything else is read as a request, so it is answered with
   * the error that says what is wrong.
   */
  parseMessage(
    data: Message,
  ): JsonRpcRequest | JsonRpcBatchRequest | RpcResponse | JsonRpcBatchResponse {
    const value = this.#decodeRequest(data);
    const first: unknown = Array.isArray(value) ? value[0] : value;
    const reply =
      isObject(first) && !('method' in first) && ('result' in first || 'error' in first);
    return reply ? this.#replyOf(value) : this.#requestOf(value);
  }

  #decodeRequest(data: Message): unknown {
    try {
      return this.#parse(typeof data === 'string' ? data : decoder.decode(data));
    } catch (cause) {
      throw this.#requestError(new ParseError(undefined, { cause }), null);
    }
  }

  #requestOf(value: unknown): JsonRpcRequest | JsonRpcBatchRequest {
    if (!Array.isArray(value)) return this.#toRequest(value);
    // An empty or over-long batch is one invalid request, answered with one error (not an array).
    if (value.length === 0 || value.length > this.maxBatchLength) throw this.#invalid(null);
    const members = value.map((member: unknown) => {
      try {
        return this.#toRequest(member);
      } catch (error) {
        return error as RpcError;
      }
    });
    return new JsonRpcBatchRequest(members, this.#stringify);
  }

  #replyOf(value: unknown): RpcResponse | JsonRpcBatchResponse {
    if (!Array.isArray(value)) return this.#toResponse(value);
    if (value.length === 0) throw new InvalidReplyError('The reply is an empty batch');
    return new JsonRpcBatchResponse(value.map((member: unknown) => this.#toResponse(member)));
  }

  #toRequest(value: unknown): JsonRpcRequest {
    if (!isObject(value)) throw this.#invalid(null);
    const hasId = 'id' in value;
    const id = hasId && isId(value['id']) ? value['id'] : null;
    if (hasId && !isId(value['id'])) throw this.#invalid(null);
    if (value['jsonrpc'] !== '2.0') throw this.#invalid(id);
    const method = value['method'];
    if (typeof method !== 'string') throw this.#invalid(id);
    const params = value['params'];
    if (params !== undefined && typeof params !== 'object') throw this.#invalid(id);
    if (params === null) throw this.#invalid(id);
    return new JsonRpcRequest(
      hasId ? id : undefined,
      method,
      params as Params | undefined,
      this.#stringify,
      metaOf(value['$meta']),
    );
  }

  #toResponse(value: unknown): RpcResponse {
    if (!isObject(value)) throw new InvalidReplyError('A response must be an object');
    if (value['jsonrpc'] !== '2.0')
      throw new InvalidReplyError("A response's jsonrpc must be '2.0'");
    const id = value['id'];
    if (!('id' in value) || !isId(id))
      throw new InvalidReplyError('A response needs an id: a string, a number or null');
    const hasResult = 'result' in value;
    const error = value['error'];
    if (hasResult === (error !== undefined)) {
      throw new InvalidReplyError('A response carries exactly one of result and error');
    }
    if (hasResult) return new JsonRpcSuccessResponse(id, value['result'], this.#stringify);
    if (
      !isObject(error) ||
      !Number.isInteger(error['code']) ||
      typeof error['message'] !== 'string'
    ) {
      throw new InvalidReplyError(
        'An error response needs an error object with an integer code and a message',
      );
    }
    const object = { code: error['code'] as number, message: error['message'] };
    return new JsonRpcErrorResponse(
      id,
      'data' in error ? { ...object, data: error['data'] } : object,
      this.#stringify,
    );
  }

  // The error object is exactly the specification's: code -32600, message 'Invalid Request', no data.
  #invalid(id: RequestId): InvalidRequestError {
    return this.#requestError(new InvalidRequestError(), id);
  }

  #requestError<E extends RpcError>(error: E, id: RequestId): E {
    error.response = new JsonRpcErrorResponse(id, toErrorObject(error), this.#stringify);
    return error;
  }

  #newId(): number {
    this.#nextId = this.#nextId >= Number.MAX_SAFE_INTEGER ? 1 : this.#nextId + 1;
    return this.#nextId;
  }
}
