import type { RpcResponse } from './types.ts';

const rpcErrorBrand = Symbol.for('@tinyrpc/core/RpcError');

/** Options of {@link RpcError} and its subclasses. */
export interface RpcErrorOptions extends ErrorOptions {
  /** The error code that travels in the error response. */
  readonly code?: number;
  /** Extra data that travels in the error response. */
  readonly data?: unknown;
  /** The error response a protocol built for this error, sent back as it is. */
  readonly response?: RpcResponse;
}

/**
 * The root of every error tinyrpc raises, and the error a method throws to choose what the caller sees.
 *
 * `throw new RpcError('Out of stock', { code: 4001, data: { sku } })` answers with exactly that code,
 * message and data. Recognise these errors with {@link RpcError.isRpcError}, which works across two
 * installed copies of this package where `instanceof` does not.
 */
export class RpcError extends Error {
  /** The code sent in the error response: -32000 (server error) unless a subclass or the thrower chose one. */
  readonly code: number;
  /** Data sent with the error response, if any. */
  readonly data: unknown;
  /** For errors raised while parsing a request: the error response to send back. */
  response: RpcResponse | undefined;

  constructor(message?: string, options: RpcErrorOptions = {}) {
    super(
      message ?? (new.target as unknown as { defaultMessage?: string }).defaultMessage,
      options,
    );
    this.name = new.target.name;
    this.code = options.code ?? (new.target as unknown as { defaultCode: number }).defaultCode;
    this.data = options.data;
    this.response = options.response;
  }

  /** The code used when the thrower names none. */
  static defaultCode = -32000;
  /** The message used when the thrower gives none. */
  static defaultMessage = 'Server error';

  /** `true` for any tinyrpc error, from this or any other installed copy of `@tinyrpc/core`. */
  static isRpcError(value: unknown): value is RpcError {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as Record<symbol, unknown>)[rpcErrorBrand] === true
    );
  }

  /** `true` when `value` is a tinyrpc error of this class (or, across installed copies, of this name). */
  static is<T extends typeof RpcError>(this: T, value: unknown): value is InstanceType<T> {
    if (!RpcError.isRpcError(value)) return false;
    return value instanceof this || (value as Error).name === this.name;
  }
}
Object.defineProperty(RpcError.prototype, rpcErrorBrand, { value: true });

/** `true` for any tinyrpc error; the same as {@link RpcError.isRpcError}. */
export const isRpcError = (value: unknown): value is RpcError => RpcError.isRpcError(value);

/** A request the server could not accept. */
export class BadRequestError extends RpcError {
  static override defaultCode = -32600;
  static override defaultMessage = 'Invalid Request';
}

/** The request was not readable at all (JSON-RPC -32700). */
export class ParseError extends BadRequestError {
  static override defaultCode = -32700;
  static override defaultMessage = 'Parse error';
}

/** The request was readable but is not a valid request (JSON-RPC -32600). */
export class InvalidRequestError extends BadRequestError {}

/** No method of that name is registered (JSON-RPC -32601). */
export class MethodNotFoundError extends RpcError {
  static override defaultCode = -32601;
  static override defaultMessage = 'Method not found';
}

/** The parameters do not fit the method (JSON-RPC -32602). */
export class InvalidParamsError extends RpcError {
  static override defaultCode = -32602;
  static override defaultMessage = 'Invalid params';
}

/** The server failed in a way that is not the method's doing (JSON-RPC -32603). */
export class InternalError extends RpcError {
  static override defaultCode = -32603;
  static override defaultMessage = 'Internal error';
}

/** The method failed; the answer to any error a method throws that is not an {@link RpcError}. */
export class ServerError extends RpcError {}

/** A reply the client could not accept. */
export class BadReplyError extends RpcError {
  static override defaultCode = -32603;
  static override defaultMessage = 'Invalid reply';
}

/** The reply is malformed: unreadable, or not a response of the protocol. */
export class InvalidReplyError extends BadReplyError {}

/** The reply answers no call this client is waiting for. */
export class UnexpectedIdError extends BadReplyError {
  static override defaultMessage = 'Reply id matches no pending call';
}

/** A call took longer than its timeout; nothing of it is left pending. */
export class RpcTimeoutError extends RpcError {
  static override defaultCode = -32603;
  static override defaultMessage = 'Call timed out';
}

/** The transport failed: refused or lost connection, an HTTP error status, an over-size message. */
export class TransportError extends RpcError {
  static override defaultCode = -32603;
  static override defaultMessage = 'Transport failed';
}

/**
 * The server answered a call with an error response.
 *
 * `code`, `message` and `data` are the server's, as they arrived.
 */
export class RemoteError extends RpcError {}
