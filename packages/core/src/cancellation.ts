import { RequestCancelledError } from './errors.ts';
import type { Params, RequestId, TransportContext } from './types.ts';

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

/** The id a `$/cancelRequest` names: `params.id`, or the first positional param. */
export function cancelledIdOf(params: Params | undefined): RequestId | undefined {
  const id: unknown = Array.isArray(params) ? params[0] : params?.['id'];
  return typeof id === 'string' || typeof id === 'number' ? id : undefined;
}

/**
 * The deadline (epoch milliseconds) of a message: the transport's own `deadline`, else read from
 * its `Tinyrpc-Deadline` header (any case); `undefined` when it has none.
 */
export function deadlineOf(context: TransportContext, now = Date.now()): number | undefined {
  const own = context['deadline'];
  if (typeof own === 'number') return own;
  const headers = context.headers;
  if (headers === undefined) return undefined;
  const value = headers[deadlineHeader] ?? headers['tinyrpc-deadline'];
  const text = Array.isArray(value) ? value[0] : value;
  if (text === undefined || !/^\d{1,12}$/.test(text)) return undefined;
  return now + Number(text);
}

interface Running {
  controller: AbortController | undefined;
  cancelled: boolean;
}

/**
 * The calls one connection is running, by id, so a `$/cancelRequest` can stop one: it aborts the
 * call's signal, and the call is answered with a {@link RequestCancelledError} unless its answer
 * was already on its way. An entry exists only while its call runs asynchronously or has asked
 * for its signal.
 */
export class RunningCalls {
  readonly #calls = new Map<RequestId, Running>();

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
  }

  #entry(id: RequestId): Running {
    let running = this.#calls.get(id);
    if (running === undefined) {
      running = { controller: undefined, cancelled: false };
      this.#calls.set(id, running);
    }
    return running;
  }
}
