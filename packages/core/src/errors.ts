import { ErrorCode } from './error-codes.ts';
import type { RpcResponse } from './types.ts';

/** Options of {@link RpcError} and its subclasses. */
export interface RpcErrorOptions extends ErrorOptions {
  /** The error code that travels in the error response. */
  readonly code?: number;
  /** Extra data that travels in the error response. */
  readonly data?: unknown;
  /** The error response a protocol built for this error, sent back as it is. */
  readonly response?: RpcResponse;
}

// Each error class marks its prototype with a symbol from the global registry, named after the
// class. Subclass prototypes inherit their ancestors' marks, so `TransportError.is(e)` holds for a
// subclass too, and two installed copies of this package share every mark.
const markPrefix = '@tinyrpc/core/error:';
const markOf = (name: string): symbol => Symbol.for(markPrefix + name);

interface ErrorClass {
  readonly prototype: object;
}

/**
 * Gives an error class its name and its marker, so `Class.is()` recognises its errors from any
 * installed copy. Core's classes are registered already; a plugin calls this once for each error
 * class it exports (a class it does not register is registered by its constructor's name on first use).
 */
export function registerErrorClass(Class: ErrorClass, name: string): void {
  Object.defineProperty(Class.prototype, 'name', {
    value: name,
    writable: true,
    configurable: true,
  });
  Object.defineProperty(Class.prototype, markOf(name), { value: true });
}

const ownName = (prototype: object): string | undefined =>
  Object.hasOwn(prototype, 'name') ? ((prototype as { name: unknown }).name as string) : undefined;

/**
 * The root of every error tinyrpc raises, and the error a method throws to choose what the caller sees.
 *
 * `throw new RpcError('Out of stock', { code: 4001, data: { sku } })` answers with exactly that code,
 * message and data. Recognise errors with `Class.is(error)` ({@link RpcError.is}), which works across
 * two installed copies of this package where `instanceof` does not.
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
    if (ownName(new.target.prototype) === undefined)
      registerErrorClass(new.target, new.target.name);
    this.code = options.code ?? (new.target as unknown as { defaultCode: number }).defaultCode;
    this.data = options.data;
    this.response = options.response;
  }

  /** The code used when the thrower names none. */
  static defaultCode: number = ErrorCode.ServerError;
  /** The message used when the thrower gives none. */
  static defaultMessage = 'Server error';

  /**
   * `true` when the error came from the other side, as an error response ({@link RemoteError});
   * `false` for what failed here: a transport, a timeout, an abort, an unreadable reply. Tells a
   * remote internal error (-32603) from a local failure without `instanceof`.
   */
  get remote(): boolean {
    return false;
  }

  /**
   * `true` when `value` is an error of this class or a subclass, made by this or any other installed
   * copy of `@tinyrpc/core`: `RpcError.is(e)` for any tinyrpc error, `TransportError.is(e)` for
   * transport failures, and so on.
   */
  static is<T extends abstract new (...args: never[]) => RpcError>(
    this: T,
    value: unknown,
  ): value is InstanceType<T> {
    if (typeof value !== 'object' || value === null) return false;
    const name = ownName(this.prototype as object) ?? this.name;
    return (value as Record<symbol, unknown>)[markOf(name)] === true;
  }
}

/** A request the server could not accept. */
export class BadRequestError extends RpcError {
  static override defaultCode: number = ErrorCode.InvalidRequest;
  static override defaultMessage = 'Invalid Request';
}

/** The request was not readable at all (JSON-RPC -32700). */
export class ParseError extends BadRequestError {
  static override defaultCode: number = ErrorCode.ParseError;
  static override defaultMessage = 'Parse error';
}

/** The request was readable but is not a valid request (JSON-RPC -32600). */
export class InvalidRequestError extends BadRequestError {}

/** No method of that name is registered (JSON-RPC -32601). */
export class MethodNotFoundError extends RpcError {
  static override defaultCode: number = ErrorCode.MethodNotFound;
  static override defaultMessage = 'Method not found';
}

/** The parameters do not fit the method (JSON-RPC -32602). */
export class InvalidParamsError extends RpcError {
  static override defaultCode: number = ErrorCode.InvalidParams;
  static override defaultMessage = 'Invalid params';
}

/** The server failed in a way that is not the method's doing (JSON-RPC -32603). */
export class InternalError extends RpcError {
  static override defaultCode: number = ErrorCode.InternalError;
  static override defaultMessage = 'Internal error';
}

/** The method failed; the answer to any error a method throws that is not an {@link RpcError}. */
export class ServerError extends RpcError {}

/** A reply the client could not accept. */
export class BadReplyError extends RpcError {
  static override defaultCode: number = ErrorCode.InternalError;
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
  static override defaultCode: number = ErrorCode.InternalError;
  static override defaultMessage = 'Call timed out';
}

/**
 * The server stopped the call before it answered: its caller cancelled it (`$/cancelRequest`), its
 * deadline passed, or it ran past the server's `maxDuration` (-32800, LSP's request cancelled).
 */
export class RequestCancelledError extends RpcError {
  static override defaultCode: number = ErrorCode.RequestCancelled;
  static override defaultMessage = 'Request cancelled';
}

/** The transport failed: refused or lost connection, an HTTP error status, an over-size message. */
export class TransportError extends RpcError {
  static override defaultCode: number = ErrorCode.InternalError;
  static override defaultMessage = 'Transport failed';
}

/**
 * The server answered a call with an error response.
 *
 * `code`, `message` and `data` are the server's, as they arrived; `remote` is `true`.
 */
export class RemoteError extends RpcError {
  override get remote(): boolean {
    return true;
  }
}

// Explicit names survive bundlers that rename classes.
for (const [Class, name] of [
  [RpcError, 'RpcError'],
  [BadRequestError, 'BadRequestError'],
  [ParseError, 'ParseError'],
  [InvalidRequestError, 'InvalidRequestError'],
  [MethodNotFoundError, 'MethodNotFoundError'],
  [InvalidParamsError, 'InvalidParamsError'],
  [InternalError, 'InternalError'],
  [ServerError, 'ServerError'],
  [BadReplyError, 'BadReplyError'],
  [InvalidReplyError, 'InvalidReplyError'],
  [UnexpectedIdError, 'UnexpectedIdError'],
  [RpcTimeoutError, 'RpcTimeoutError'],
  [RequestCancelledError, 'RequestCancelledError'],
  [TransportError, 'TransportError'],
  [RemoteError, 'RemoteError'],
] as const) {
  registerErrorClass(Class, name);
}
