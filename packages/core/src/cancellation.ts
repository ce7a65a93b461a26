import { RequestCancelledError } from './errors.ts';
import { headerValue } from './header-value.ts';
import type { Message, Params, RequestId, RpcRequest, TransportContext } from './types.ts';
import {
  cancelledIdOf,
  cancelMethod,
  deadlineHeader,
  streamCreditMethod,
  streamOpenMethod,
} from './wire-names.ts';

/**
 * The deadline (epoch milliseconds) of a message: the transport's own `deadline`, else read from
 * its `Tinyrpc-Deadline` header (any case); `undefined` when it has none.
 */
export function deadlineOf(context: TransportContext, now = Date.now()): number | undefined {
  const own = context['deadline'];
  if (typeof own === 'number') return own;
  const headers = context.headers;
  if (headers === undefined) return undefined;
  const text = headerValue(headers, deadlineHeader);
  if (typeof text !== 'string' || !/^\d{1,12}$/.test(text)) return undefined;
  return now + Number(text);
}

interface Running {
  controller: AbortController | undefined;
  cancelled: boolean;
  /** The connection is gone: a stream stops, its answer stays. */
  ended: boolean;
  /** Items a stream may still send before the consumer grants more. */
  credit: number;
  /** Wakes a stream producer waiting for credit or for its cancel. */
  wake: (() => void) | undefined;
}

// A peer may announce streams ahead of their requests; past this many unclaimed it is ignored.
const maxOpened = 1000;

/**
 * The calls one connection is running, by id, so a `$/cancelRequest` can stop one: it aborts the
 * call's signal, and the call is answered with a {@link RequestCancelledError} unless its answer
 * was already on its way. An entry exists only while its call runs asynchronously or has asked
 * for its signal.
 */
export class RunningCalls {
  readonly #calls = new Map<RequestId, Running>();
  readonly #opened = new Map<RequestId, number>();

  /** Sends a message to the caller, on the connection these calls came on: how items travel. */
  readonly send: (message: Message) => Promise<void>;

  constructor(send: (message: Message) => Promise<void>) {
    this.send = send;
  }

  /**
   * Takes a control notification of the caller (`$/cancelRequest`, `$/stream/open`,
   * `$/stream/credit`); `false` for any other request.
   */
  control(request: RpcRequest): boolean {
    switch (request.method) {
      case cancelMethod:
        this.cancel(cancelledIdOf(request.params));
        return true;
      case streamOpenMethod: {
        const [id, credit] = pairOf(request.params);
        if (id !== undefined && this.#opened.size < maxOpened) this.#opened.set(id, credit);
        return true;
      }
      case streamCreditMethod: {
        const [id, credit] = pairOf(request.params);
        if (id !== undefined && this.#calls.has(id)) this.grant(id, credit);
        return true;
      }
      default:
        return false;
    }
  }

  /** The credit the caller opened call `id`'s stream with, once; `undefined` if it did not. */
  takeOpened(id: RequestId): number | undefined {
    const credit = this.#opened.get(id);
    if (credit !== undefined) this.#opened.delete(id);
    return credit;
  }

  /** Gives stream `id` room for `credit` more items. */
  grant(id: RequestId, credit: number): void {
    const running = this.#entry(id);
    running.credit += credit;
    running.wake?.();
  }

  /**
   * Waits until stream `id` may send an item (it has credit) or is cancelled; resolves `false`
   * when it is cancelled, else takes one credit and resolves `true`.
   */
  async takeCredit(id: RequestId): Promise<boolean> {
    const running = this.#entry(id);
    while (running.credit <= 0 && !running.cancelled && !running.ended) {
      await new Promise<void>((resolve) => {
        running.wake = resolve;
      });
    }
    running.wake = undefined;
    if (running.cancelled || running.ended) return false;
    running.credit -= 1;
    return true;
  }
  /** How many calls are tracked now. */
  get size(): number {
    return this.#calls.size;
  }

  /** The signal that aborts when call `id` is cancelled. */
  signalFor(id: RequestId): AbortSignal {
    const running = this.#entry(id);
    running.controller ??= new AbortController();
    return running.controller.signal;
  }

  /** Tracks call `id` while it runs on. */
  track(id: RequestId): void {
    this.#entry(id);
  }

  /** Stops tracking call `id`; `true` when it was cancelled meanwhile. */
  finish(id: RequestId): boolean {
    const running = this.#calls.get(id);
    if (running === undefined) return false;
    this.#calls.delete(id);
    return running.cancelled;
  }

  /** Cancels call `id`; an id it does not know is ignored. */
  cancel(id: RequestId | undefined): void {
    if (id === undefined) return;
    const running = this.#calls.get(id);
    if (running === undefined || running.cancelled) return;
    running.cancelled = true;
    running.controller?.abort(new RequestCancelledError());
    running.wake?.();
  }

  /**
   * The connection these calls came on is gone (or the caller can send nothing more): their
   * signals abort with `reason` and streams stop, but an answer that can still go out is not
   * replaced with "request cancelled".
   */
  endAll(reason: unknown): void {
    for (const running of this.#calls.values()) {
      running.ended = true;
      running.controller?.abort(reason);
      running.wake?.();
    }
    this.#opened.clear();
  }

  #entry(id: RequestId): Running {
    let running = this.#calls.get(id);
    if (running === undefined) {
      running = {
        controller: undefined,
        cancelled: false,
        ended: false,
        credit: 0,
        wake: undefined,
      };
      this.#calls.set(id, running);
    }
    return running;
  }
}

// `[id, count]` of a stream notification; a count that is not a whole number counts as 0.
function pairOf(params: Params | undefined): [RequestId | undefined, number] {
  const values: unknown[] = Array.isArray(params) ? params : [];
  const count = values[1];
  return [
    cancelledIdOf(values),
    typeof count === 'number' && Number.isSafeInteger(count) && count > 0 ? count : 0,
  ];
}
