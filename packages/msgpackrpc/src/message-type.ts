/** The first element of every MessagePack-RPC message, which says what the message is. */
export const MsgpackRpcMessageType = {
  /** `[0, msgid, method, params]`: a call that expects a response. */
  Request: 0,
  /** `[1, msgid, error, result]`: the answer to a request. */
  Response: 1,
  /** `[2, method, params]`: a call that expects no response. */
  Notification: 2,
} as const;

/** One of the {@link MsgpackRpcMessageType} values. */
export type MsgpackRpcMessageType =
  (typeof MsgpackRpcMessageType)[keyof typeof MsgpackRpcMessageType];
