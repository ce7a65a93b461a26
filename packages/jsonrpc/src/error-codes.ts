/** The error codes of the JSON-RPC 2.0 specification. */
export const JsonRpcErrorCode = {
  /** Invalid JSON was received. */
  ParseError: -32700,
  /** The JSON sent is not a valid request object. */
  InvalidRequest: -32600,
  /** The method does not exist or is not available. */
  MethodNotFound: -32601,
  /** Invalid method parameters. */
  InvalidParams: -32602,
  /** Internal JSON-RPC error. */
  InternalError: -32603,
  /** The generic server error: what a method's own (non-RpcError) failure answers with. */
  ServerError: -32000,
} as const;

/** One of the {@link JsonRpcErrorCode} values. */
export type JsonRpcErrorCode = (typeof JsonRpcErrorCode)[keyof typeof JsonRpcErrorCode];

/** The content type of JSON-RPC messages over HTTP. */
export const JSON_RPC_CONTENT_TYPE = 'application/json';
