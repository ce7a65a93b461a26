import type { Params, RequestId } from './types.ts';

/**
 * The notification that cancels a call on a connection, LSP's: params `{ "id": <the call's id> }`
 * (MessagePack-RPC: `[id]`). vscode-jsonrpc peers send and understand it.
 */
export const cancelMethod = '$/cancelRequest';

/**
 * The header that carries a call's deadline where a transport has headers (HTTP, RabbitMQ, NATS):
 * the milliseconds the caller still waits, counted from when it sent the call (relative, so the
 * clocks of caller and server need not agree).
 */
export const deadlineHeader = 'Tinyrpc-Deadline';

/**
 * The header by which a caller asks for a streamed reply over a request/reply transport with
 * headers (HTTP, RabbitMQ): the credit it opens the stream with, a whole number from 1.
 */
export const streamHeader = 'Tinyrpc-Stream';

/** Asks for call `[id, credit]` to stream its result: sent just before the request. */
export const streamOpenMethod = '$/stream/open';
/** One item of stream `[id, item]`, from producer to consumer. */
export const streamItemMethod = '$/stream/item';
/** `[id, credit]`: the consumer has room for `credit` more items. */
export const streamCreditMethod = '$/stream/credit';

/** The id a `$/cancelRequest` names: `params.id`, or the first positional param. */
export function cancelledIdOf(params: Params | undefined): RequestId | undefined {
  const id: unknown = Array.isArray(params) ? params[0] : params?.['id'];
  return typeof id === 'string' || typeof id === 'number' ? id : undefined;
}
