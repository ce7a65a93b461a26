/** Options of {@link InFlight}. */
export interface InFlightOptions {
  /** How much work may run at once before {@link InFlight.full}; default: no limit. */
  readonly limit?: number;
  /** Called when the work running reaches `limit`: stop taking more (pause a socket). */
  readonly onFull?: () => void;
  /** Called when the work running drops below `limit` again after {@link InFlightOptions.onFull}. */
  readonly onAvailable?: () => void;
}

/**
 * Counts work in flight, for a server transport that must finish it before `close()` resolves
 * (drain) and, with a `limit`, stop reading a connection whose calls pile up (`maxInFlight`).
 */
export class InFlight {
  readonly #limit: number;
  readonly #onFull: (() => void) | undefined;
  readonly #onAvailable: (() => void) | undefined;
  readonly #drained: (() => void)[] = [];
  #size = 0;
  #paused = false;

  constructor(options: InFlightOptions = {}) {
    const limit = options.limit ?? Infinity;
    if (!(limit >= 1))
      throw new RangeError(`An in-flight limit must be at least 1, not ${String(limit)}`);
    this.#limit = limit;
    this.#onFull = options.onFull;
    this.#onAvailable = options.onAvailable;
  }

  /** How much work is running now. */
  get size(): number {
    return this.#size;
  }

  /** `true` while the work running is at the limit. */
  get full(): boolean {
    return this.#size >= this.#limit;
  }

  /** Counts `work` until it settles; resolves and rejects as it does. */
  track<T>(work: Promise<T>): Promise<T> {
    this.start();
    return work.finally(() => {
      this.finish();
    });
  }

  /** Counts one piece of work that ends with {@link InFlight.finish}; for callers without a promise. */
  start(): void {
    this.#size++;
    if (this.#size === this.#limit && !this.#paused) {
      this.#paused = true;
      this.#onFull?.();
    }
  }

  /** Ends one piece of work begun with {@link InFlight.start}. */
  finish(): void {
    this.#size--;
    if (this.#paused && this.#size < this.#limit) {
      this.#paused = false;
      this.#onAvailable?.();
    }
    if (this.#size === 0 && this.#drained.length > 0) this.#settleDrain();
  }

  // Waiters are told on a later turn of the event loop, after what the last work's own callers do
  // with its result (a reply still being written), and only if no new work began meanwhile.
  #settleDrain(): void {
    setTimeout(() => {
      if (this.#size === 0) for (const resolve of this.#drained.splice(0)) resolve();
    }, 0);
  }

  /** Resolves once no work is running (at once when none is), after the last work's callers ran. */
  drain(): Promise<void> {
    if (this.#size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drained.push(resolve));
  }
}
