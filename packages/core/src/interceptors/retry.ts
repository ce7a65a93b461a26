import { TransportError } from '../errors.ts';
import type { ClientInterceptor } from '../interceptor.ts';
import { Backoff } from '../transport/backoff.ts';
import type { ReconnectOptions } from '../types.ts';

/** Options of {@link retry}. */
export interface RetryOptions {
  /** The methods that are safe to run twice: their names, or a test of the name. */
  readonly idempotent: readonly string[] | ((method: string) => boolean);
  /** Delays between attempts, as for reconnects. Default: 3 retries from 100 ms, doubling. */
  readonly backoff?: ReconnectOptions;
}

/**
 * Calls an idempotent method again when its transport failed (a `TransportError` that is not an
 * error response), with backoff. Never retries an error response, a timeout, an abort or a
 * method not marked idempotent: the server may have run it.
 */
export function retry(options: RetryOptions): ClientInterceptor {
  const { idempotent } = options;
  const allowed =
    typeof idempotent === 'function'
      ? idempotent
      : (method: string): boolean => idempotent.includes(method);
  const backoff = { retries: 3, ...options.backoff };
  return async (call, next) => {
    if (call.oneWay || !allowed(call.method)) return next();
    const delays = new Backoff(backoff);
    for (;;) {
      try {
        return await next();
      } catch (error) {
        const delay = TransportError.is(error) ? delays.next() : undefined;
        if (delay === undefined || call.options.signal?.aborted === true) throw error;
        await new Promise((resolve) => setTimeout(resolve, delay));
        call.options.signal?.throwIfAborted();
      }
    }
  };
}
