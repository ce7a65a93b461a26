/** The content type of JSON-RPC messages; {@link JsonRpcProtocol.contentType}. */
export const JSON_RPC_CONTENT_TYPE = 'application/json';
