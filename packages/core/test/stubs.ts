// Hand-made protocol objects for tests of core that must not depend on a real protocol package.
import {
  InvalidReplyError,
  ParseError,
  protocolBrand,
  setBrand,
  toErrorObject,
  type ErrorRespondOptions,
  type Message,
  type Params,
  type RequestId,
  type RpcBatchRequest,
  type RpcBatchResponse,
  type RpcError,
  type RpcErrorObject,
  type RpcProtocol,
  type RpcRequest,
  type RpcResponse,
} from '@tinyrpc/core';

/** A response as the stubs build it: plain fields, serialized as JSON. */
export interface StubResponse extends RpcResponse {
  readonly id: RequestId;
  readonly result?: unknown;
  readonly error?: RpcErrorObject;
}

const text = (message: Message): string =>
  typeof message === 'string' ? message : new TextDecoder().decode(message);

function response(
  id: RequestId,
  fields: { result?: unknown; error?: RpcErrorObject },
): StubResponse {
  return { id, ...fields, serialize: () => JSON.stringify({ id, ...fields }) };
}

/** A request for `method` with `params` and `id` (default 1). */
export function stubRequest(method: string, params?: Params, id: RequestId = 1): RpcRequest {
  return makeRequest(method, params, id);
}

/** A notification: no id, no response due. */
export function stubNotification(method: string, params?: Params): RpcRequest {
  return makeRequest(method, params, undefined);
}

function makeRequest(
  method: string,
  params: Params | undefined,
  id: RequestId | undefined,
): RpcRequest {
  return {
    id,
    method,
    params,
    oneWay: id === undefined,
    respond: (result) => response(id ?? null, { result }),
    errorRespond: (error: unknown, options?: ErrorRespondOptions) =>
      response(id ?? null, { error: toErrorObject(error, options?.hideMessage) }),
    serialize: () => JSON.stringify({ id, method, params }),
  };
}

/** A batch of `requests` (members may be parse failures). */
export function stubBatch(requests: (RpcRequest | RpcError)[]): RpcBatchRequest {
  return {
    batch: true,
    requests,
    createBatchResponse: (responses): RpcBatchResponse => ({
      batch: true,
      responses,
      serialize: () =>
        responses.length === 0
          ? undefined
          : `[${responses.map((r) => r.serialize() as string).join(',')}]`,
    }),
    serialize: () => JSON.stringify(requests),
  };
}

/**
 * A tiny protocol: a request is `{ id?, method, params? }` as JSON, a response `{ id, result }` or
 * `{ id, error }`. No batches. Enough to drive RpcClient and RpcServer from core's own tests.
 */
export class StubProtocol implements RpcProtocol {
  #nextId = 0;

  constructor() {
    setBrand(this, protocolBrand);
  }

  createRequest(method: string, params?: Params, options?: { oneWay?: boolean }): RpcRequest {
    return makeRequest(method, params, options?.oneWay ? undefined : ++this.#nextId);
  }

  parseRequest(data: Message): RpcRequest {
    let value: { id?: RequestId; method?: unknown; params?: Params };
    try {
      value = JSON.parse(text(data)) as typeof value;
    } catch (cause) {
      const error = new ParseError(undefined, { cause });
      error.response = response(null, { error: toErrorObject(error) });
      throw error;
    }
    return makeRequest(String(value.method), value.params, value.id);
  }

  parseReply(data: Message): RpcResponse {
    try {
      const value = JSON.parse(text(data)) as {
        id: RequestId;
        result?: unknown;
        error?: RpcErrorObject;
      };
      return response(value.id, value.error ? { error: value.error } : { result: value.result });
    } catch (cause) {
      throw new InvalidReplyError('Unreadable stub reply', { cause });
    }
  }
}
