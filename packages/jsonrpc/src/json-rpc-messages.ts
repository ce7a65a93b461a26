import {
  toErrorObject,
  type ErrorRespondOptions,
  type Params,
  type RequestId,
  type RpcBatchRequest,
  type RpcBatchResponse,
  type RpcError,
  type RpcErrorObject,
  type RpcRequest,
  type RpcResponse,
} from '@tinyrpc/core';

/** Turns a JSON value into text; `JSON.stringify`, or the protocol's own serializer. */
export type Stringify = (value: unknown) => string;

/** `JSON.stringify` of one value: what a protocol with no replacer and no serializer uses. */
export const jsonStringify: Stringify = (value) => JSON.stringify(value);

/** A JSON-RPC 2.0 request or notification. */
export class JsonRpcRequest implements RpcRequest {
  readonly id: RequestId | undefined;
  readonly method: string;
  readonly params: Params | undefined;
  readonly oneWay: boolean;
  /** Metadata carried in the `$meta` member (trace context…); see the README's extension. */
  readonly meta: Readonly<Record<string, string>> | undefined;
  readonly #stringify: Stringify;

  constructor(
    id: RequestId | undefined,
    method: string,
    params: Params | undefined,
    stringify: Stringify,
    meta?: Readonly<Record<string, string>>,
  ) {
    this.id = id;
    this.method = method;
    this.params = params;
    this.oneWay = id === undefined;
    this.meta = meta;
    this.#stringify = stringify;
  }

  respond(result: unknown): JsonRpcSuccessResponse {
    return new JsonRpcSuccessResponse(this.id ?? null, result, this.#stringify);
  }

  errorRespond(error: unknown, options?: ErrorRespondOptions): JsonRpcErrorResponse {
    return new JsonRpcErrorResponse(
      this.id ?? null,
      toErrorObject(error, options?.hideMessage),
      this.#stringify,
    );
  }

  serialize(): string {
    return this.#stringify(this.toJSON());
  }

  /** The request as a plain JSON-RPC object. */
  toJSON(): Record<string, unknown> {
    const json: Record<string, unknown> = { jsonrpc: '2.0', method: this.method };
    if (this.params !== undefined) json['params'] = this.params;
    if (this.id !== undefined) json['id'] = this.id;
    if (this.meta !== undefined) json['$meta'] = this.meta;
    return json;
  }
}

/** A JSON-RPC 2.0 response carrying a result. */
export class JsonRpcSuccessResponse implements RpcResponse {
  readonly id: RequestId;
  readonly result: unknown;
  readonly error: undefined;
  readonly #stringify: Stringify;

  constructor(id: RequestId, result: unknown, stringify: Stringify) {
    this.id = id;
    // JSON has no `undefined`: a method that returns nothing answers `null`.
    this.result = result === undefined ? null : result;
    this.#stringify = stringify;
  }

  serialize(): string {
    if (this.#stringify === jsonStringify) {
      const text = successText(this.id, this.result);
      if (text !== undefined) return text;
    }
    return this.#stringify(this.toJSON());
  }

  /** The response as a plain JSON-RPC object. */
  toJSON(): Record<string, unknown> {
    return { jsonrpc: '2.0', id: this.id, result: this.result };
  }
}

// The text `JSON.stringify` makes of `{ jsonrpc, id, result }`, put together around the result's
// own text: half the work for a small result. Only where that text is the same as the result's
// text inside the object: a `toJSON` method would be passed the key `''` instead of `'result'`,
// and a function, symbol or bigint would stringify differently, so those take the whole object.
function successText(id: RequestId, result: unknown): string | undefined {
  switch (typeof result) {
    case 'string':
    case 'number':
    case 'boolean':
      break;
    case 'object':
      if (result !== null && typeof (result as { toJSON?: unknown }).toJSON === 'function')
        return undefined;
      break;
    default:
      return undefined;
  }
  return `{"jsonrpc":"2.0","id":${JSON.stringify(id)},"result":${JSON.stringify(result)}}`;
}

/** A JSON-RPC 2.0 response carrying an error. */
export class JsonRpcErrorResponse implements RpcResponse {
  readonly id: RequestId;
  readonly error: RpcErrorObject;
  readonly #stringify: Stringify;

  constructor(id: RequestId, error: RpcErrorObject, stringify: Stringify) {
    this.id = id;
    this.error = error;
    this.#stringify = stringify;
  }

  serialize(): string {
    return this.#stringify(this.toJSON());
  }

  /** The response as a plain JSON-RPC object. */
  toJSON(): Record<string, unknown> {
    return { jsonrpc: '2.0', id: this.id, error: this.error };
  }
}

/** A JSON-RPC 2.0 batch: several requests in one array. */
export class JsonRpcBatchRequest implements RpcBatchRequest {
  readonly batch = true as const;
  readonly requests: readonly (JsonRpcRequest | RpcError)[];
  readonly #stringify: Stringify;

  constructor(requests: readonly (JsonRpcRequest | RpcError)[], stringify: Stringify) {
    this.requests = requests;
    this.#stringify = stringify;
  }

  createBatchResponse(responses: readonly RpcResponse[]): JsonRpcBatchResponse {
    return new JsonRpcBatchResponse(responses);
  }

  /** The batch as one JSON array; fails for a member that could not be parsed. */
  serialize(): string {
    const members = this.requests.map((request) => {
      if (!(request instanceof JsonRpcRequest)) throw new TypeError('Cannot send a failed request');
      return request.toJSON();
    });
    return this.#stringify(members);
  }
}

/** The responses to a batch; serializes to nothing when every member was a notification. */
export class JsonRpcBatchResponse implements RpcBatchResponse {
  readonly batch = true as const;
  readonly responses: readonly RpcResponse[];

  constructor(responses: readonly RpcResponse[]) {
    this.responses = responses;
  }

  serialize(): string | undefined {
    if (this.responses.length === 0) return undefined;
    return `[${this.responses.map((response) => response.serialize() as string).join(',')}]`;
  }
}
