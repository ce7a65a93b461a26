import type { ReconnectOptions } from '../types.ts';

/** The defaults of {@link ReconnectOptions}, the same on every transport. */
export const defaultReconnect: Readonly<Required<ReconnectOptions>> = Object.freeze({
  retries: Infinity,
  initialDelay: 100,
  maxDelay: 5000,
  jitter: 0.2,
});

/**
 * Reads a transport's `reconnect` option: `undefined` when it must not reconnect, otherwise the
 * policy with every default filled in. `defaultOn` says what an absent option means.
 */
export function reconnectOptions(
  value: boolean | ReconnectOptions | undefined,
  defaultOn: boolean,
): Required<ReconnectOptions> | undefined {
  if (value === false || (value === undefined && !defaultOn)) return undefined;
  const options = { ...defaultReconnect, ...(typeof value === 'object' ? value : {}) };
  const { retries, initialDelay, maxDelay, jitter } = options;
  if (!(retries >= 0)) throw new RangeError('reconnect.retries must be 0 or more');
  if (!(initialDelay >= 0) || !(maxDelay >= initialDelay))
    throw new RangeError('reconnect needs 0 <= initialDelay <= maxDelay');
  if (!(jitter >= 0 && jitter <= 1)) throw new RangeError('reconnect.jitter must be from 0 to 1');
  return options;
}

/**
 * The delays between reconnect attempts: exponential from `initialDelay` to `maxDelay`, each
 * shortened by a random share of up to `jitter`, so that many clients do not retry in step.
 */
export class Backoff {
  readonly #options: Required<ReconnectOptions>;
  #attempt = 0;

  constructor(options: ReconnectOptions = {}) {
    this.#options = reconnectOptions(options, true) ?? defaultReconnect;
  }

  /** How many delays were handed out since the last {@link Backoff.reset}. */
  get attempts(): number {
    return this.#attempt;
  }

  /** Milliseconds to wait before the next attempt; `undefined` once `retries` are used up. */
  next(): number | undefined {
    const { retries, initialDelay, maxDelay, jitter } = this.#options;
    if (this.#attempt >= retries) return undefined;
    const delay = Math.min(maxDelay, initialDelay * 2 ** this.#attempt);
    this.#attempt++;
    return delay * (1 - jitter * Math.random());
  }

  /** Starts over after a successful attempt. */
  reset(): void {
    this.#attempt = 0;
  }
}
