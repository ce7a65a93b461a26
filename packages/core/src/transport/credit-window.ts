import { headerValue } from '../header-value.ts';
import { streamHeader } from '../wire-names.ts';
import type { TransportContext } from '../types.ts';

/** The most credit one grant or header may carry: beyond it, a number is refused as noise. */
const maxCredit = 2 ** 31 - 1;

/**
 * The credit a caller asked a streamed reply to open with, read from its `Tinyrpc-Stream` header
 * (any case); `undefined` when it asked for no stream or the value is not a whole number from 1.
 */
export function streamCreditOf(
  headers: TransportContext['headers'] | Readonly<Record<string, unknown>> | undefined,
): number | undefined {
  if (headers === undefined) return undefined;
  const value = headerValue(headers, streamHeader);
  const credit =
    typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
  return Number.isSafeInteger(credit) && credit >= 1 && credit <= maxCredit ? credit : undefined;
}

/**
 * A window of credit for one streamed reply: `take` waits until there is credit and uses one,
 * `grant` adds some. The producer's side of a transport that carries credit (RabbitMQ) waits on it
 * before each item; the consumer's side of one that does not (HTTP) waits on it before reading on.
 */
export class CreditWindow {
  #credit: number;
  #wake: (() => void) | undefined;
  #ended: Error | undefined;

  constructor(credit: number) {
    this.#credit = credit;
  }

  /** Items that may go before the next grant. */
  get credit(): number {
    return this.#credit;
  }

  /** Adds `credit` (a whole number from 1; anything else is ignored). */
  grant(credit: number): void {
    if (!Number.isSafeInteger(credit) || credit < 1) return;
    this.#credit = Math.min(maxCredit, this.#credit + credit);
    this.#release();
  }

  /** Waits for credit and takes one; rejects with the reason once the window is ended. */
  async take(): Promise<void> {
    while (this.#credit <= 0 && this.#ended === undefined) {
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
    }
    if (this.#ended !== undefined) throw this.#ended;
    this.#credit -= 1;
  }

  /** Ends the window: a waiting `take` and every later one reject with `reason`. */
  end(reason: Error): void {
    this.#ended ??= reason;
    this.#release();
  }

  #release(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
