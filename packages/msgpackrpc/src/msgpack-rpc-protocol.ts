import {
  cancelMethod,
  InvalidParamsError,
  InvalidReplyError,
  InvalidRequestError,
  ParseError,
  protocolBrand,
  setBrand,
  toErrorObject,
  type CreateRequestOptions,
  type Message,
  type Params,
  type RpcError,
  type RpcProtocol,
} from '@tinyrpc/core';
import {
  defaultMsgpackrOptions,
  messageOf,
  MsgpackCodec,
  type MsgpackrOptions,
} from './msgpack-codec.ts';
import {
  MsgpackRpcErrorResponse,
  MsgpackRpcRequest,
  MsgpackRpcSuccessResponse,
} from './msgpack-rpc-messages.ts';
import { MsgpackRpcMessageType } from './message-type.ts';
import { readError } from './read-error.ts';
import { MSGPACK_RPC_CONTENT_TYPE } from './error-codes.ts';

/** Options of {@link MsgpackRpcProtocol}. */
export interface MsgpackRpcProtocolOptions {
  /**
   * msgpackr options, laid over {@link defaultMsgpackrOptions}. Turning on records, structures or
   * other msgpackr extensions makes messages that only msgpackr peers (with the same options) read.
   */
  readonly msgpackr?: MsgpackrOptions;
  /**
   * Send an error's `data` as a third element, `[code, message, data]`. Default `false`: Python
   * tinyrpc writes `[code, message]` and reads any other shape as a bare message without a code.
   */
  readonly errorData?: boolean;
  /**
   * Let params be a map (named params) on both sides. Default `false`: the specification and Python
   * tinyrpc have positional params only, so the client refuses an object and the server answers a
   * map with invalid params (-32602).
   */
  readonly namedParams?: boolean;
  /**
   * Write whole numbers beyond 32 bits (up to 2^53) as MessagePack integers, not as the float64
   * msgpackr writes them, so other languages read integers. Default `true`; `false` skips a walk
   * over the values sent.
   */
  readonly largeIntegersAsInt64?: boolean;
  /** The msgid of the first request, an unsigned 32-bit integer. Default 1. */
  readonly firstId?: number;
}

const UINT32_LIMIT = 2 ** 32;

// A peer's msgid: the specification says unsigned 32-bit; like Python tinyrpc we take any integer
// and echo it back unchanged.
const isMsgid = (value: unknown): value is number =>
  typeof value === 'number' && Number.isSafeInteger(value);

const isRecord = (value: unknown): value is Record<string, unknown> => {
  if (typeof value !== 'object' || value === null) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
};

/**
 * MessagePack-RPC (the msgpack-rpc specification) for tinyrpc, wire-compatible with Python tinyrpc's
 * `MSGPACKRPCProtocol`. Messages are `Uint8Array`s; there are no batches.
 *
 * Requests the server cannot read are answered with an error response: parse error (-32700) or
 * invalid request (-32600) with msgid nil, or, where the msgid could be read, with that msgid.
 */
export class MsgpackRpcProtocol implements RpcProtocol {
  /** MessagePack-RPC has no batches: `RpcClient.batch` refuses, `callAll` works. */
  readonly supportsBatch = false;
  /** `application/msgpack`: what HTTP and other labelled transports send these messages as. */
  readonly contentType = MSGPACK_RPC_CONTENT_TYPE;
  /** Whether maps are accepted and sent as named params. */
  readonly namedParams: boolean;
  readonly #codec: MsgpackCodec;
  #nextId: number;

  constructor(options: MsgpackRpcProtocolOptions = {}) {
    const firstId = options.firstId ?? 1;
    if (!Number.isInteger(firstId) || firstId < 0 || firstId >= UINT32_LIMIT) {
      throw new RangeError(`firstId must be an unsigned 32-bit integer, not ${String(firstId)}`);
    }
    this.#nextId = firstId;
    this.namedParams = options.namedParams ?? false;
    this.#codec = new MsgpackCodec(
      { ...defaultMsgpackrOptions, ...options.msgpackr },
      options.errorData ?? false,
      options.largeIntegersAsInt64 ?? true,
    );
    setBrand(this, protocolBrand);
  }

  /** Builds an error response with msgid nil, the answer to input that reached no request. */
  createErrorResponse(error: RpcError): MsgpackRpcErrorResponse {
    return new MsgpackRpcErrorResponse(null, toErrorObject(error), this.#codec);
  }

  /**
   * Builds a request with the next msgid (unsigned 32-bit, wrapping to 0), or a notification.
   * Throws {@link InvalidParamsError} for named params unless `namedParams` is on.
   */
  createRequest(
    method: string,
    params?: Params,
    options?: CreateRequestOptions,
  ): MsgpackRpcRequest {
    if (params !== undefined && !Array.isArray(params) && !this.namedParams) {
      throw new InvalidParamsError(
        'MessagePack-RPC passes params by position: give an array (or turn on namedParams)',
      );
    }
    const id = options?.oneWay ? undefined : this.#newId();
    return new MsgpackRpcRequest(id, method, params, this.#codec);
  }

  /** Builds the `$/cancelRequest` notification for call `id`: `[2, "$/cancelRequest", [id]]`. */
  createCancelRequest(id: string | number): MsgpackRpcRequest {
    return new MsgpackRpcRequest(undefined, cancelMethod, [id], this.#codec);
  }

  /**
   * Reads a request or notification. Throws a {@link ParseError} or an {@link InvalidRequestError}
   * or {@link InvalidParamsError} whose `response` is the error response to send back.
   */
  parseRequest(data: Message): MsgpackRpcRequest {
    return this.#requestOf(this.#decodeRequest(data));
  }

  /**
   * Reads a message that may be a request or a reply, as both travel on a connection where both
   * ends call: type 1 is a response, anything else is read as a request (and answered with the
   * error that says what is wrong with it).
   */
  parseMessage(
    data: Message,
  ): MsgpackRpcRequest | MsgpackRpcSuccessResponse | MsgpackRpcErrorResponse {
    const value = this.#decodeRequest(data);
    return Array.isArray(value) && value[0] === MsgpackRpcMessageType.Response
      ? this.#replyOf(value)
      : this.#requestOf(value);
  }

  #requestOf(value: unknown): MsgpackRpcRequest {
    if (!Array.isArray(value)) {
      throw this.#invalid(null, 'a message is an array such as [0, msgid, method, params]');
    }
    const items = value as unknown[];
    switch (items[0]) {
      case MsgpackRpcMessageType.Request: {
        const msgid = isMsgid(items[1]) ? items[1] : null;
        if (items.length !== 4) {
          throw this.#invalid(msgid, `a request has 4 elements, not ${String(items.length)}`);
        }
        if (msgid === null) throw this.#invalid(null, 'the msgid must be an integer');
        return this.#toRequest(msgid, items[2], items[3]);
      }
      case MsgpackRpcMessageType.Notification:
        if (items.length !== 3) {
          throw this.#invalid(null, `a notification has 3 elements, not ${String(items.length)}`);
        }
        return this.#toRequest(undefined, items[1], items[2]);
      case MsgpackRpcMessageType.Response:
        throw this.#invalid(null, 'a response arrived where a request was expected');
      default:
        throw this.#invalid(null, 'the message type must be 0 (request) or 2 (notification)');
    }
  }

  /** Reads a response; throws {@link InvalidReplyError} for anything else. */
  parseReply(data: Message): MsgpackRpcSuccessResponse | MsgpackRpcErrorResponse {
    if (typeof data === 'string') {
      throw new InvalidReplyError('MessagePack-RPC replies are binary, but text arrived');
    }
    let value: unknown;
    try {
      value = this.#codec.decode(data);
    } catch (cause) {
      throw new InvalidReplyError(`The reply is not MessagePack: ${messageOf(cause)}`, { cause });
    }
    return this.#replyOf(value);
  }

  #replyOf(value: unknown): MsgpackRpcSuccessResponse | MsgpackRpcErrorResponse {
    if (!Array.isArray(value) || value[0] !== MsgpackRpcMessageType.Response) {
      throw new InvalidReplyError('A reply must be a response: [1, msgid, error, result]');
    }
    const items = value as unknown[];
    if (items.length !== 4) {
      throw new InvalidReplyError(`A response has 4 elements, not ${String(items.length)}`);
    }
    const [, msgid, error, result] = items;
    // Any error member that is not nil makes an error response, even with a result beside it.
    if (error !== null && error !== undefined) {
      // nil answers a request the server could not read; the client takes it as its call's answer.
      if (msgid !== null && !isMsgid(msgid)) {
        throw new InvalidReplyError('The msgid of a response must be an integer or nil');
      }
      return new MsgpackRpcErrorResponse(msgid, readError(error), this.#codec);
    }
    if (!isMsgid(msgid)) throw new InvalidReplyError('The msgid of a response must be an integer');
    return new MsgpackRpcSuccessResponse(msgid, result, this.#codec);
  }

  #decodeRequest(data: Message): unknown {
    if (typeof data === 'string') {
      throw this.#requestError(
        new ParseError('Parse error: MessagePack-RPC messages are binary, but text arrived'),
        null,
      );
    }
    try {
      return this.#codec.decode(data);
    } catch (cause) {
      throw this.#requestError(new ParseError(undefined, { cause }), null);
    }
  }

  #toRequest(msgid: number | undefined, method: unknown, params: unknown): MsgpackRpcRequest {
    const id = msgid ?? null;
    if (typeof method !== 'string') throw this.#invalid(id, 'the method must be a string');
    // The specification wants an array; nil is taken as no params, as early Python tinyrpc did.
    if (params === null || params === undefined) {
      return new MsgpackRpcRequest(msgid, method, undefined, this.#codec);
    }
    if (Array.isArray(params) || (this.namedParams && isRecord(params))) {
      return new MsgpackRpcRequest(msgid, method, params as Params, this.#codec);
    }
    throw this.#requestError(
      new InvalidParamsError(
        this.namedParams
          ? 'Invalid params: params must be an array or a map'
          : 'Invalid params: params must be an array',
      ),
      id,
    );
  }

  #invalid(msgid: number | null, detail: string): InvalidRequestError {
    return this.#requestError(new InvalidRequestError(`Invalid request: ${detail}`), msgid);
  }

  #requestError<E extends RpcError>(error: E, msgid: number | null): E {
    error.response = new MsgpackRpcErrorResponse(msgid, toErrorObject(error), this.#codec);
    return error;
  }

  #newId(): number {
    const id = this.#nextId;
    this.#nextId = (id + 1) % UINT32_LIMIT;
    return id;
  }
}
