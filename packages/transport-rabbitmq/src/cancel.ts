import { RequestCancelledError } from '@tinyrpc/core';
import type { StreamSender } from './reply-stream.ts';

// Cancels across competing servers: a fanout exchange per request queue that every server of the
// queue binds a queue of its own to, so a cancel reaches whichever server took the call.

/**
 * How clients and servers both declare the cancel exchange: they must agree, or the broker refuses
 * the second declaration. Not auto-delete: it would vanish when the last server leaves, and a
 * client's next cancel to it would close the client's channel (404). Not durable: declared again
 * on every connection, so a broker restart loses nothing that matters.
 */
export const cancelExchangeOptions = { durable: false, autoDelete: false } as const;

/**
 * One call a server runs: aborts its signal (and ends its stream, if it streams) when a cancel for
 * it comes, or its channel is lost.
 */
export class RunningCall {
  /** The call's streamed reply, when the caller asked for one: credit for it goes there. */
  stream: StreamSender | undefined;
  #controller: AbortController | undefined;
  #reason: unknown;
  #cancelled = false;

  /** `true` once the caller cancelled the call. */
  get cancelled(): boolean {
    return this.#cancelled;
  }

  /** The call's signal; made on first use, as most handlers never look at theirs. */
  signal(lost: AbortSignal): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#reason !== undefined) this.#controller.abort(this.#reason);
      // The session was lost before the signal was asked for: it is aborted as well.
      else if (lost.aborted) this.#controller.abort(lost.reason);
    }
    return this.#controller.signal;
  }

  /** The caller cancelled the call: its signal aborts with a `RequestCancelledError`. */
  cancel(): void {
    if (this.#reason !== undefined) return;
    this.#cancelled = true;
    this.#abort(new RequestCancelledError('The caller cancelled the call'));
  }

  /** The channel the call came on is gone: its signal aborts with `reason`. */
  lose(reason: unknown): void {
    if (this.#reason === undefined) this.#abort(reason);
  }

  #abort(reason: unknown): void {
    this.#reason = reason;
    this.#controller?.abort(reason);
    this.stream?.end(reason instanceof Error ? reason : new Error(String(reason)));
  }
}

/** Most cancels a server remembers for calls it has not seen; the oldest go first. */
const maxRemembered = 10_000;

/** How long a cancel without a deadline is remembered, in ms. */
const rememberedWithoutDeadline = 60_000;

/**
 * Cancels of calls a server was not running, remembered until the call's deadline: a call
 * cancelled while it waited in the queue is then not run when it is delivered (here, or after
 * another server died holding it). Bounded in count and time.
 */
export class CancelledCalls {
  /** Correlation id → when to forget it (epoch ms), in the order they came. */
  readonly #ids = new Map<string, number>();

  /** Remembers a cancel of `id` until `deadline` (default: a minute). */
  add(id: string, deadline: number | undefined, now = Date.now()): void {
    const forgetAt = deadline ?? now + rememberedWithoutDeadline;
    if (forgetAt <= now) return;
    this.#ids.delete(id);
    this.#ids.set(id, forgetAt);
    for (const [oldest, at] of this.#ids) {
      if (this.#ids.size <= maxRemembered && at > now) break;
      this.#ids.delete(oldest);
    }
  }

  /** `true` (and forgets it) when `id` was cancelled and its deadline has not passed. */
  take(id: string, now: number): boolean {
    if (this.#ids.size === 0) return false;
    const forgetAt = this.#ids.get(id);
    if (forgetAt === undefined) return false;
    this.#ids.delete(id);
    return forgetAt > now;
  }
}
