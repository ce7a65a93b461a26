/** A request body being read, as {@link IdleWatch} keeps it. */
export interface Watched {
  /** The watch's tick when the body last made progress; kept by the watch. */
  idleTick: number;
  /** Where the watch keeps it; -1 when not watched. Kept by the watch. */
  idleIndex: number;
  /** Ends the request: its body sent nothing for `idleTimeout`. */
  stall(): void;
}

// Sweeps per idleTimeout: a stall is found between 1 and 1 + 1/sweeps idleTimeouts after it began.
const sweeps = 4;

/**
 * Finds request bodies that began and then stalled for `idleTimeout` ms. One unref'd interval per
 * transport counts ticks and sweeps the bodies being read, rather than one timer per request: a
 * chunk arriving costs one assignment, and watching a body a push and a swap in an array (a `Set`
 * cost a few microseconds per request in profiles, its hashing and rehashing on the hot path).
 */
export class IdleWatch {
  readonly #idleTimeout: number;
  readonly #reading: Watched[] = [];
  #tick = 0;
  #timer: ReturnType<typeof setInterval> | undefined;

  /** `idleTimeout` 0 watches nothing. */
  constructor(idleTimeout: number) {
    if (!(idleTimeout >= 0)) throw new RangeError('idleTimeout must be 0 or more');
    this.#idleTimeout = idleTimeout;
  }

  /** Starts sweeping (at `listen`). */
  start(): void {
    if (this.#idleTimeout === 0 || this.#timer !== undefined) return;
    this.#timer = setInterval(
      () => {
        this.#sweep();
      },
      Math.max(1, this.#idleTimeout / sweeps),
    );
    this.#timer.unref();
  }

  /** Stops sweeping (once `close` has drained). */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Watches a body from its first byte on. */
  add(item: Watched): void {
    if (this.#timer === undefined) return;
    item.idleTick = this.#tick;
    item.idleIndex = this.#reading.length;
    this.#reading.push(item);
  }

  /** Notes progress: a chunk arrived. */
  touch(item: Watched): void {
    item.idleTick = this.#tick;
  }

  /** Stops watching a body that ended, one way or another. */
  remove(item: Watched): void {
    const index = item.idleIndex;
    if (index === -1) return;
    item.idleIndex = -1;
    const last = this.#reading.pop() as Watched;
    if (last === item) return;
    this.#reading[index] = last;
    last.idleIndex = index;
  }

  #sweep(): void {
    const tick = ++this.#tick;
    // Progress was last seen during tick `idleTick`, so more than `sweeps` ticks ago in full.
    const stalled = this.#reading.filter((item) => tick - item.idleTick > sweeps);
    for (const item of stalled) {
      this.remove(item);
      item.stall();
    }
  }
}
