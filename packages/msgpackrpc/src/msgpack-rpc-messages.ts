import {
  toErrorObject,
  type ErrorRespondOptions,
  type Params,
  type RpcErrorObject,
  type RpcRequest,
  type RpcResponse,
} from '@tinyrpc/core';
import type { MsgpackCodec } from './msgpack-codec.ts';
import { MsgpackRpcMessageType } from './message-type.ts';

/** A MessagePack-RPC request (`[0, msgid, method, params]`) or notification (`[2, method, params]`). */
export class MsgpackRpcRequest implements RpcRequest {
  /** The msgid; `undefined` for a notification. */
  readonly id: number | undefined;
  readonly method: string;
  readonly params: Params | undefined;
  readonly oneWay: boolean;
  readonly #codec: MsgpackCodec;

  constructor(
    id: number | undefined,
    method: string,
    params: Params | undefined,
    codec: MsgpackCodec,
  ) {
    this.id = id;
    this.method = method;
    this.params = params;
    this.oneWay = id === undefined;
    this.#codec = codec;
  }

  respond(result: unknown): MsgpackRpcSuccessResponse {
    return new MsgpackRpcSuccessResponse(this.id ?? null, result, this.#codec);
  }

  errorRespond(error: unknown, options?: ErrorRespondOptions): MsgpackRpcErrorResponse {
    return new MsgpackRpcErrorResponse(
      this.id ?? null,
      toErrorObject(error, options?.hideMessage),
      this.#codec,
    );
  }

  /** The request as bytes; throws a `TypeError` when the params hold a value MessagePack cannot carry. */
  serialize(): Uint8Array {
    return this.#codec.encode(this.toArray());
  }

  /** The request as the array that travels; absent params travel as an empty array. */
  toArray(): unknown[] {
    const params = this.params ?? [];
    return this.id === undefined
      ? [MsgpackRpcMessageType.Notification, this.method, params]
      : [MsgpackRpcMessageType.Request, this.id, this.method, params];
  }
}

/** A MessagePack-RPC response carrying a result: `[1, msgid, nil, result]`. */
export class MsgpackRpcSuccessResponse implements RpcResponse {
  /** The msgid of the request answered. */
  readonly id: number | null;
  readonly result: unknown;
  readonly error: undefined;
  readonly #codec: MsgpackCodec;

  constructor(id: number | null, result: unknown, codec: MsgpackCodec) {
    this.id = id;
    // A method that returns nothing answers nil.
    this.result = result === undefined ? null : result;
    this.#codec = codec;
  }

  serialize(): Uint8Array {
    return this.#codec.encode(this.toArray());
  }

  /** The response as the array that travels. */
  toArray(): unknown[] {
    return [MsgpackRpcMessageType.Response, this.id, null, this.result];
  }
}

/**
 * A MessagePack-RPC response carrying an error: `[1, msgid, [code, message], nil]`, as Python tinyrpc
 * writes it (`[code, message, data]` when the protocol's `errorData` option is on and there is data).
 * `msgid` is nil when the request was unreadable.
 */
export class MsgpackRpcErrorResponse implements RpcResponse {
  /** The msgid of the request answered; `null` when it could not be read. */
  readonly id: number | null;
  readonly result: undefined;
  readonly error: RpcErrorObject;
  readonly #codec: MsgpackCodec;

  constructor(id: number | null, error: RpcErrorObject, codec: MsgpackCodec) {
    this.id = id;
    this.error = error;
    this.#codec = codec;
  }

  serialize(): Uint8Array {
    return this.#codec.encode(this.toArray());
  }

  /** The response as the array that travels. */
  toArray(): unknown[] {
    const { code, message, data } = this.error;
    const error =
      this.#codec.errorData && data !== undefined ? [code, message, data] : [code, message];
    return [MsgpackRpcMessageType.Response, this.id, error, null];
  }
}
