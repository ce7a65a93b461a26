/**
 * The error codes Python tinyrpc's MessagePack-RPC protocol sends: JSON-RPC's numbers, since the
 * MessagePack-RPC specification defines none.
 */
export const MsgpackRpcErrorCode = {
  /** The message is not MessagePack. */
  ParseError: -32700,
  /** The message is MessagePack but not a request or notification. */
  InvalidRequest: -32600,
  /** The method does not exist or is not available. */
  MethodNotFound: -32601,
  /** The params are not an array, or do not fit the method. */
  InvalidParams: -32602,
  /** The server failed in a way that is not the method's doing. */
  InternalError: -32603,
  /** The generic server error: what a method's own (non-RpcError) failure answers with. */
  ServerError: -32000,
} as const;

/** One of the {@link MsgpackRpcErrorCode} values. */
export type MsgpackRpcErrorCode = (typeof MsgpackRpcErrorCode)[keyof typeof MsgpackRpcErrorCode];

/**
 * The content type of MessagePack-RPC messages over HTTP. `application/vnd.msgpack` (registered with
 * IANA) and `application/x-msgpack` are in use too; servers should accept all three.
 */
export const MSGPACK_RPC_CONTENT_TYPE = 'application/msgpack';
