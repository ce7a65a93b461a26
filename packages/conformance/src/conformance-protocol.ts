import {
  InvalidReplyError,
  InvalidRequestError,
  ParseError,
  protocolBrand,
  setBrand,
  toErrorObject,
  type CreateRequestOptions,
  type ErrorRespondOptions,
  type Message,
  type Params,
  type RequestId,
  type RpcError,
  type RpcErrorObject,
  type RpcProtocol,
  type RpcRequest,
  type RpcResponse,
} from '@tinyrpc/core';

/** Options of {@link ConformanceProtocol}. */
export interface ConformanceProtocolOptions {
  /**
   * `'text'`: every message is a JSON string. `'binary'`: every message is a `Uint8Array` whose
   * byte values (of `Uint8Array` params and results) travel raw. Default `'text'`.
   */
  readonly encoding?: 'text' | 'binary';
}

// The first byte of every binary message, so that most garbage is recognised at once.
const MAGIC = 0xb7;
const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

type Envelope = Record<string, unknown>;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);
const isId = (value: unknown): value is string | number =>
  typeof value === 'string' || (typeof value === 'number' && Number.isFinite(value));
const onlyKey = (value: Record<string, unknown>, key: string): boolean => {
  const keys = Object.keys(value);
  return keys.length === 1 && keys[0] === key;
};

/**
 * A tiny protocol for testing transports: JSON-shaped calls whose params and results may hold
 * `Uint8Array`s, carried as text (a JSON string, bytes in base64) or as binary (a `Uint8Array`
 * whose byte values travel raw, so a transport that is not binary-safe corrupts them).
 *
 * Not meant for production. It has no batches. An object whose only key is `$bytes` or `$blob` is
 * read back as bytes.
 */
export class ConformanceProtocol implements RpcProtocol {
  readonly encoding: 'text' | 'binary';
  readonly supportsBatch = false;
  /** `application/json` for text, `application/octet-stream` for binary. */
  readonly contentType: string;
  #nextId = 0;

  constructor(options: ConformanceProtocolOptions = {}) {
    this.encoding = options.encoding ?? 'text';
    this.contentType = this.encoding === 'text' ? 'application/json' : 'application/octet-stream';
    setBrand(this, protocolBrand);
  }

  /** Builds a request with the next id of this instance (a number), or a notification. */
  createRequest(method: string, params?: Params, options?: CreateRequestOptions): RpcRequest {
    const id = options?.oneWay ? undefined : ++this.#nextId;
    return new ConformanceRequest(this, id, method, params);
  }

  /** Reads a request; throws a `ParseError` or `InvalidRequestError` carrying its error response. */
  parseRequest(data: Message): RpcRequest {
    return this.#request(this.#decodeRequest(data));
  }

  /**
   * Reads a request or a response (on a connection, where both ends call): an object with a
   * `method` is a request. Throws as `parseRequest` does for unreadable input, and an
   * `InvalidReplyError` for a malformed response.
   */
  parseMessage(data: Message): RpcRequest | RpcResponse {
    const envelope = this.#decodeRequest(data);
    return isObject(envelope) &&
      !('method' in envelope) &&
      ('result' in envelope || 'error' in envelope)
      ? this.#reply(envelope)
      : this.#request(envelope);
  }

  #decodeRequest(data: Message): unknown {
    try {
      return this.decode(data);
    } catch (cause) {
      throw this.#requestError(new ParseError(undefined, { cause }), null);
    }
  }

  #request(envelope: unknown): RpcRequest {
    if (!isObject(envelope)) throw this.#requestError(new InvalidRequestError(), null);
    const { id, method, params } = envelope;
    const hasId = 'id' in envelope;
    if (hasId && !isId(id)) throw this.#requestError(new InvalidRequestError(), null);
    const replyId = hasId ? (id as string | number) : null;
    if (typeof method !== 'string' || method === '')
      throw this.#requestError(new InvalidRequestError(), replyId);
    if (params !== undefined && typeof params !== 'object')
      throw this.#requestError(new InvalidRequestError(), replyId);
    if (params === null) throw this.#requestError(new InvalidRequestError(), replyId);
    return new ConformanceRequest(
      this,
      hasId ? (id as string | number) : undefined,
      method,
      params as Params | undefined,
    );
  }

  /** Builds an error response with id `null`, the answer to input a transport refused. */
  createErrorResponse(error: RpcError): RpcResponse {
    return new ConformanceResponse(this, null, undefined, toErrorObject(error));
  }

  /** Reads a response; throws an `InvalidReplyError` for anything else. */
  parseReply(data: Message): RpcResponse {
    let envelope: unknown;
    try {
      envelope = this.decode(data);
    } catch (cause) {
      throw new InvalidReplyError('The reply is not a message of this protocol', { cause });
    }
    return this.#reply(envelope);
  }

  #reply(envelope: unknown): RpcResponse {
    if (!isObject(envelope)) throw new InvalidReplyError('A reply must be an object');
    const { id, error } = envelope;
    if (!('id' in envelope) || !(isId(id) || id === null))
      throw new InvalidReplyError('A reply needs an id: a string, a number or null');
    const hasResult = 'result' in envelope;
    if (hasResult === (error !== undefined))
      throw new InvalidReplyError('A reply carries exactly one of result and error');
    if (hasResult) return new ConformanceResponse(this, id, envelope['result'], undefined);
    if (
      !isObject(error) ||
      !Number.isInteger(error['code']) ||
      typeof error['message'] !== 'string'
    ) {
      throw new InvalidReplyError('An error needs an integer code and a message');
    }
    const object: RpcErrorObject = { code: error['code'] as number, message: error['message'] };
    return new ConformanceResponse(
      this,
      id,
      undefined,
      'data' in error ? { ...object, data: error['data'] } : object,
    );
  }

  /** @internal Turns an envelope into a message of this protocol's encoding. */
  encode(envelope: Envelope): Message {
    if (this.encoding === 'text') {
      return JSON.stringify(envelope, function (this: Record<string, unknown>, key, value) {
        const original = this[key];
        return original instanceof Uint8Array
          ? {
              $bytes: Buffer.from(original.buffer, original.byteOffset, original.length).toString(
                'base64',
              ),
            }
          : (value as unknown);
      });
    }
    const blobs: Uint8Array[] = [];
    const body = JSON.stringify(envelope, function (this: Record<string, unknown>, key, value) {
      const original = this[key];
      if (!(original instanceof Uint8Array)) return value as unknown;
      blobs.push(original);
      return { $blob: blobs.length - 1 };
    });
    const sized = encoder.encode(
      `{"blobs":${JSON.stringify(blobs.map((blob) => blob.length))},"envelope":${body}}`,
    );
    const total = 5 + sized.length + blobs.reduce((sum, blob) => sum + blob.length, 0);
    const message = new Uint8Array(total);
    message[0] = MAGIC;
    new DataView(message.buffer).setUint32(1, sized.length);
    message.set(sized, 5);
    let offset = 5 + sized.length;
    for (const blob of blobs) {
      message.set(blob, offset);
      offset += blob.length;
    }
    return message;
  }

  /** @internal Reads a message of this protocol's encoding back into an envelope. */
  decode(data: Message): unknown {
    if (this.encoding === 'text') {
      const text = typeof data === 'string' ? data : decoder.decode(data);
      return JSON.parse(text, (_key, value: unknown) =>
        isObject(value) && onlyKey(value, '$bytes') && typeof value['$bytes'] === 'string'
          ? new Uint8Array(Buffer.from(value['$bytes'], 'base64'))
          : value,
      );
    }
    if (typeof data === 'string') throw new TypeError('A binary message arrived as text');
    if (data.length < 5 || data[0] !== MAGIC) throw new TypeError('Not a binary message');
    const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const headerLength = view.getUint32(1);
    if (5 + headerLength > data.length) throw new TypeError('Truncated header');
    const header = JSON.parse(decoder.decode(data.subarray(5, 5 + headerLength))) as unknown;
    if (!isObject(header) || !Array.isArray(header['blobs']) || !('envelope' in header))
      throw new TypeError('A header needs a blobs list and an envelope');
    const lengths = header['blobs'] as unknown[];
    const blobs: Uint8Array[] = [];
    let offset = 5 + headerLength;
    for (const length of lengths) {
      if (!Number.isInteger(length) || (length as number) < 0)
        throw new TypeError('Invalid blob length');
      const end = offset + (length as number);
      if (end > data.length) throw new TypeError('Truncated blob');
      blobs.push(data.slice(offset, end));
      offset = end;
    }
    if (offset !== data.length) throw new TypeError('Trailing bytes after the last blob');
    const revive = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(revive);
      if (!isObject(value)) return value;
      if (onlyKey(value, '$blob')) {
        const blob = blobs[value['$blob'] as number];
        if (blob === undefined) throw new TypeError('Unknown blob');
        return blob;
      }
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, revive(v)]));
    };
    return revive(header['envelope']);
  }

  #requestError<E extends RpcError>(error: E, id: RequestId): E {
    error.response = new ConformanceResponse(this, id, undefined, toErrorObject(error));
    return error;
  }
}

class ConformanceRequest implements RpcRequest {
  readonly id: string | number | undefined;
  readonly method: string;
  readonly params: Params | undefined;
  readonly oneWay: boolean;
  readonly #protocol: ConformanceProtocol;

  constructor(
    protocol: ConformanceProtocol,
    id: string | number | undefined,
    method: string,
    params: Params | undefined,
  ) {
    this.#protocol = protocol;
    this.id = id;
    this.method = method;
    this.params = params;
    this.oneWay = id === undefined;
  }

  respond(result: unknown): RpcResponse {
    return new ConformanceResponse(this.#protocol, this.id ?? null, result, undefined);
  }

  errorRespond(error: unknown, options?: ErrorRespondOptions): RpcResponse {
    return new ConformanceResponse(
      this.#protocol,
      this.id ?? null,
      undefined,
      toErrorObject(error, options?.hideMessage),
    );
  }

  serialize(): Message {
    const envelope: Envelope = { method: this.method };
    if (this.id !== undefined) envelope['id'] = this.id;
    if (this.params !== undefined) envelope['params'] = this.params;
    return this.#protocol.encode(envelope);
  }
}

class ConformanceResponse implements RpcResponse {
  readonly id: RequestId;
  readonly result: unknown;
  readonly error: RpcErrorObject | undefined;
  readonly #protocol: ConformanceProtocol;

  constructor(
    protocol: ConformanceProtocol,
    id: RequestId,
    result: unknown,
    error: RpcErrorObject | undefined,
  ) {
    this.#protocol = protocol;
    this.id = id;
    this.result = result;
    this.error = error;
  }

  serialize(): Message {
    return this.#protocol.encode(
      this.error === undefined
        ? { id: this.id, result: this.result ?? null }
        : { id: this.id, error: this.error },
    );
  }
}
