import type { RpcBatchRequest, RpcBatchResponse, RpcRequest, RpcResponse } from './types.ts';

/** `true` when a message read by `parseMessage` is a request or batch of requests, not a reply. */
export function isRequest(
  parsed: RpcRequest | RpcBatchRequest | RpcResponse | RpcBatchResponse,
): parsed is RpcRequest | RpcBatchRequest {
  return 'method' in parsed || 'requests' in parsed;
}
