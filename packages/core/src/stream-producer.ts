import type { RunningCalls } from './cancellation.ts';
import { isAsyncIterable, streamEnd } from './stream-end.ts';
import { streamItemMethod } from './wire-names.ts';
import { ErrorCode } from './error-codes.ts';
import { RpcError } from './errors.ts';
import type { RpcBatchResponse, RpcProtocol, RpcRequest, RpcResponse } from './types.ts';

/** What a method that streams answers a caller that did not ask for a stream. */
export const notAskedToStream = new RpcError(
  'This method streams its result: call it with stream() over a connection',
  { code: ErrorCode.InvalidRequest },
);

/** `true` for a successful response whose result is a stream to produce. */
export function isStream(
  answer: RpcResponse | RpcBatchResponse | undefined,
): answer is RpcResponse & { readonly result: AsyncIterable<unknown> } {
  return (
    answer !== undefined &&
    !('batch' in answer) &&
    answer.error === undefined &&
    isAsyncIterable(answer.result)
  );
}

/**
 * Sends the items of `stream` to the caller of `request` as `$/stream/item` notifications, never
 * more than the consumer has granted credit for, and resolves with the call's answer: the number of
 * items sent, or the error the stream threw (after the items before it). A cancel (`break` on the
 * consumer's side) ends the stream with `return()`, so its `finally` blocks run.
 */
export async function produce(
  protocol: RpcProtocol,
  request: RpcRequest,
  stream: AsyncIterable<unknown>,
  credit: number,
  running: RunningCalls,
): Promise<RpcResponse> {
  const id = request.id as string | number;
  const iterator = stream[Symbol.asyncIterator]();
  running.grant(id, credit);
  let count = 0;
  let done = false;
  try {
    while (await running.takeCredit(id)) {
      const next = await iterator.next();
      if (next.done === true) {
        done = true;
        return request.respond(streamEnd(count));
      }
      count += 1;
      const item = protocol.createRequest(streamItemMethod, [id, next.value], { oneWay: true });
      // Not awaited: credit already bounds what is on its way. A failed send ends the stream.
      running.send(item.serialize()).catch(() => {
        running.cancel(id);
      });
    }
    return request.respond(streamEnd(count));
  } catch (error) {
    done = true;
    return request.errorRespond(error);
  } finally {
    // Cancelled, or the connection failed: end the producer so its `finally` blocks run.
    if (!done) await iterator.return?.();
  }
}
