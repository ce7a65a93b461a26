import { ErrorCode } from '../error-codes.ts';
import { RpcError } from '../errors.ts';
import type { Interceptor } from '../interceptor.ts';

/** Options of {@link concurrencyLimit}. */
export interface ConcurrencyLimitOptions {
  /** Calls that run at once. */
  readonly maxConcurrent: number;
  /** Calls that may wait for a place; one more fails at once with a "busy" error. Default 0. */
  readonly maxQueue?: number;
}

/**
 * Runs at most `maxConcurrent` calls at once and queues up to `maxQueue` more, in order; past that
 * a call fails at once with an {@link RpcError} (-32000, "busy") instead of piling up. For a server
 * or a client alike. A queued call whose signal aborts leaves the queue.
 */
export function concurrencyLimit(
  options: ConcurrencyLimitOptions,
): Interceptor<{ readonly method: string }> {
  const { maxConcurrent, maxQueue = 0 } = options;
  if (!(maxConcurrent >= 1)) throw new RangeError('maxConcurrent must be at least 1');
  if (!(maxQueue >= 0)) throw new RangeError('maxQueue must be 0 or more');
  let running = 0;
  const queue: (() => void)[] = [];
  const release = (): void => {
    const next = queue.shift();
    if (next === undefined) running--;
    else next(); // the place goes straight to the next call in line
  };
  return async (_call, next) => {
    if (running >= maxConcurrent) {
      if (queue.length >= maxQueue) {
        throw new RpcError(
          `Busy: ${String(maxConcurrent)} calls running and ${String(maxQueue)} waiting (concurrencyLimit)`,
          { code: ErrorCode.ServerError },
        );
      }
      await new Promise<void>((resolve) => queue.push(resolve));
    } else {
      running++;
    }
    try {
      return await next();
    } finally {
      release();
    }
  };
}
