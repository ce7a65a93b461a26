/**
 * The content type of MessagePack-RPC messages over HTTP. `application/vnd.msgpack` (registered with
 * IANA) and `application/x-msgpack` are in use too; servers should accept all three.
 */
export const MSGPACK_RPC_CONTENT_TYPE = 'application/msgpack';
