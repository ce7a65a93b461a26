/** Something a {@link DeadlineSweep} ends once its time has come. */
export interface Expiring {
  /** When it expires, on the sweep's clock ({@link DeadlineSweep.now}). */
  readonly expiresAt: number;
  /** Called once, when the time has come. */
  expire(): void;
}

/**
 * Milliseconds by which a call may fail after its timeout at most (besides event-loop delay): a call
 * due this little before the sweep's next wake-up waits for it instead of moving it.
 */
export const sweepGranularity = 5;

/** setTimeout's longest delay; a longer one would fire at once. */
const longestDelay = 2 ** 31 - 1;

/**
 * Entries due this little after the wake-up end with it, as `setTimeout` (whole milliseconds) would
 * end them: calls made within the same millisecond with the same timeout fail together.
 */
const tolerance = 1;

/**
 * One timer for the deadlines of many calls: armed for the earliest one, it ends every entry whose
 * time has come and re-arms for the next. A timer per call costs an allocation and a list insertion
 * on every call; this costs a set insertion, and the timer is made again only when the set was
 * empty (no timer is left behind once nothing waits) or a call is due before the next wake-up.
 */
export class DeadlineSweep {
  readonly #entries = new Set<Expiring>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** When the timer fires; `Infinity` when there is none. */
  #wakeAt = Infinity;
  /**
   * How far the timers' time is ahead of `performance.now()`: a timer fires at its time at the
   * earliest, so one that fires sooner by the clock shows timers running ahead (faked in tests).
   */
  #skew = 0;

  /** The sweep's clock: `performance.now()`, kept level with the timers. */
  now(): number {
    return performance.now() + this.#skew;
  }

  /** Ends `entry` once its time has come, unless it is deleted before. */
  add(entry: Expiring): void {
    this.#entries.add(entry);
    if (entry.expiresAt + sweepGranularity < this.#wakeAt) this.#arm(entry.expiresAt);
  }

  /** Forgets `entry`; the timer goes once nothing is left. */
  delete(entry: Expiring): void {
    if (!this.#entries.delete(entry) || this.#entries.size > 0) return;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#wakeAt = Infinity;
  }

  #arm(at: number): void {
    clearTimeout(this.#timer);
    const now = this.now();
    const delay = Math.min(Math.max(at - now, 0), longestDelay);
    this.#wakeAt = now + delay;
    this.#timer = setTimeout(this.#wake, delay);
  }

  readonly #wake = (): void => {
    // The timer's time has come, even where timers are faked and the clock is not (tests).
    const clock = performance.now();
    if (this.#wakeAt > clock + this.#skew) this.#skew = this.#wakeAt - clock;
    const now = clock + this.#skew + tolerance;
    this.#timer = undefined;
    this.#wakeAt = Infinity;
    let next = Infinity;
    for (const entry of this.#entries) {
      if (entry.expiresAt <= now) {
        this.#entries.delete(entry);
        entry.expire();
      } else if (entry.expiresAt < next) {
        next = entry.expiresAt;
      }
    }
    // An entry's expire() may have added others, and armed the timer for them already.
    if (next < this.#wakeAt && this.#entries.size > 0) this.#arm(next);
  };
}
