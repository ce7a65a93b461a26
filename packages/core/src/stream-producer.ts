import type { RunningCalls } from './cancellation.ts';
import { isAsyncIterable, streamEnd } from './stream-end.ts';
import { streamItemMethod } from './wire-names.ts';
import { ErrorCode } from './error-codes.ts';
import { RpcError } from './errors.ts';
import type {
  Message,
  ReplyStreamSender,
  RpcBatchResponse,
  RpcProtocol,
  RpcRequest,
  RpcResponse,
} from './types.ts';

/** What a method that streams answers a caller that did not ask for a stream. */
export const notAskedToStream = new RpcError(
  'This method streams its result: call it with stream()',
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

/** Where a producer's items go, and what holds it back. */
export interface ItemSink {
  /** Resolves `true` once the next item may go; `false` when the stream is cancelled or its caller gone. */
  ready(): Promise<boolean>;
  /** Sends one item (a `$/stream/item` notification). */
  send(item: Message): void;
}

/**
 * The sink of a stream on a connection: credit the consumer grants with `$/stream/credit` holds
 * the producer back, and a cancel (`$/cancelRequest`) or a lost connection stops it.
 */
export function connectionSink(
  id: string | number,
  credit: number,
  running: RunningCalls,
): ItemSink {
  running.grant(id, credit);
  return {
    ready: () => running.takeCredit(id),
    send: (item) => {
      // Not awaited: credit already bounds what is on its way. A failed send ends the stream.
      running.send(item).catch(() => {
        running.cancel(id);
      });
    },
  };
}

/**
 * The sink of a streamed reply over a request/reply transport: the transport holds the producer
 * back (its `send` resolves when it can take the next item), and the call's signal (the caller
 * cancelled, or went away) or a failed send stops it.
 */
export function replySink(sender: ReplyStreamSender, signal: AbortSignal | undefined): ItemSink {
  let sending: Promise<void> = Promise.resolve();
  let failed = false;
  return {
    ready: async () => {
      await sending.catch(() => {
        failed = true;
      });
      return !failed && signal?.aborted !== true;
    },
    send: (item) => {
      sending = sender.send(item);
    },
  };
}

/**
 * Sends the items of `stream` to the caller of `request` as `$/stream/item` notifications through
 * `sink`, which holds it back, and resolves with the call's answer: the number of items sent, or
 * the error the stream threw (after the items before it). A cancel (`break` on the consumer's side)
 * ends the stream with `return()`, so its `finally` blocks run.
 */
export async function produce(
  protocol: RpcProtocol,
  request: RpcRequest,
  stream: AsyncIterable<unknown>,
  sink: ItemSink,
): Promise<RpcResponse> {
  const id = request.id as string | number;
  const iterator = stream[Symbol.asyncIterator]();
  let count = 0;
  let done = false;
  try {
    while (await sink.ready()) {
      const next = await iterator.next();
      if (next.done === true) {
        done = true;
        return request.respond(streamEnd(count));
      }
      count += 1;
      sink.send(
        protocol.createRequest(streamItemMethod, [id, next.value], { oneWay: true }).serialize(),
      );
    }
    return request.respond(streamEnd(count));
  } catch (error) {
    done = true;
    return request.errorRespond(error);
  } finally {
    // Cancelled, or the caller is gone: end the producer so its `finally` blocks run.
    if (!done) await iterator.return?.();
  }
}
