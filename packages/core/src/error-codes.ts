/**
 * The error codes tinyrpc's errors carry: JSON-RPC 2.0's, which MessagePack-RPC (which defines
 * none) uses too, as Python tinyrpc does. One table for every protocol.
 */
export const ErrorCode = {
  /** The message could not be read at all. */
  ParseError: -32700,
  /** The message was read but is not a valid request. */
  InvalidRequest: -32600,
  /** The method does not exist or is not available. */
  MethodNotFound: -32601,
  /** The params do not fit the method. */
  InvalidParams: -32602,
  /** The server failed in a way that is not the method's doing; also what local failures carry. */
  InternalError: -32603,
  /** The call was cancelled (its caller gave up, its deadline passed, it ran too long): LSP's code. */
  RequestCancelled: -32800,
  /** The generic server error: what a method's own (non-RpcError) failure answers with. */
  ServerError: -32000,
} as const;

/** One of the {@link ErrorCode} values. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
