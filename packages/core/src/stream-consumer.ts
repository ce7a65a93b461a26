/** Options of `RpcClient.stream`. */
export interface StreamOptions {
  /** Ends the stream: the loop throws the signal's reason, and the producer stops. */
  readonly signal?: AbortSignal;
  /**
   * Items the producer may send ahead of what the loop has taken: the credit it starts with and
   * tops up as items are taken. Default 64: room for a credit round trip without stalling the producer.
   */
  readonly highWaterMark?: number;
  /** Milliseconds the whole stream may take. Default: none (a stream may run as long as it likes). */
  readonly timeout?: number;
}

/** The default of {@link StreamOptions.highWaterMark}. */
export const defaultHighWaterMark = 64;

/** What a consumer asks of the client that made it. */
export interface StreamControl {
  /** Grants the producer `credit` more items. */
  grant(credit: number): void;
  /** Stops the stream early: the loop ended (`break`, `return()`). */
  stop(): void;
}

/**
 * The consumer's end of one stream: items arrive by `push` (in order), the end by `end` or
 * `fail`; the `for await` loop takes them through `next()`, and taking them grants credit back.
 */
export class StreamConsumer<T> implements AsyncIterator<T> {
  readonly #items: T[] = [];
  readonly #highWaterMark: number;
  readonly #control: StreamControl;
  #taken = 0;
  #received = 0;

  /** How many items arrived. */
  get received(): number {
    return this.#received;
  }
  #finished = false;
  #failure: { readonly error: unknown } | undefined;
  #waiting: (() => void) | undefined;

  constructor(highWaterMark: number, control: StreamControl) {
    this.#highWaterMark = highWaterMark;
    this.#control = control;
  }

  /** An item from the producer. */
  push(item: T): void {
    this.#received += 1;
    if (this.#finished) return;
    this.#items.push(item);
    this.#wake();
  }

  /** The producer ended after its items. */
  end(): void {
    this.#finished = true;
    this.#wake();
  }

  /** The stream failed: the loop throws `error` after the items before it. */
  fail(error: unknown): void {
    if (this.#failure === undefined && !this.#finished) this.#failure = { error };
    this.#finished = true;
    this.#wake();
  }

  async next(): Promise<IteratorResult<T>> {
    while (this.#items.length === 0 && !this.#finished) {
      await new Promise<void>((resolve) => {
        this.#waiting = resolve;
      });
    }
    if (this.#items.length > 0) {
      const item = this.#items.shift() as T;
      this.#took();
      return { done: false, value: item };
    }
    if (this.#failure !== undefined) {
      const { error } = this.#failure;
      this.#failure = undefined;
      throw error;
    }
    return { done: true, value: undefined };
  }

  return(): Promise<IteratorResult<T>> {
    if (!this.#finished) {
      this.#finished = true;
      this.#items.length = 0;
      this.#control.stop();
    }
    return Promise.resolve({ done: true, value: undefined });
  }

  // Credit goes back in batches of half the window, so a fast loop does not answer every item.
  #took(): void {
    this.#taken += 1;
    const batch = Math.max(1, Math.floor(this.#highWaterMark / 2));
    if (this.#taken >= batch && !this.#finished) {
      this.#control.grant(this.#taken);
      this.#taken = 0;
    }
  }

  #wake(): void {
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.();
  }
}
