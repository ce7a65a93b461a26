import { TransportError, type Message, type ReplyStreamSender } from '@tinyrpc/core';
import { CreditWindow } from '@tinyrpc/core/transport';

// Streamed replies over RabbitMQ (README, "Streamed results"): the items of a stream go to the
// caller's reply queue, each with the call's correlation id and, as its `reply_to`, the server's
// own control queue; the caller sends credit there, and the server publishes no more items than it
// was granted.

/** The header of a credit message (client → the server running the stream): items it may add. */
export const creditHeader = 'Tinyrpc-Credit';

/**
 * The header of the message that ends a stream the server could not carry on (it closed, the
 * request came again after the server that ran it was lost, an item was too large): its value says
 * why, and the caller's loop throws a `TransportError` with it.
 */
export const streamLostHeader = 'Tinyrpc-Stream-Lost';

/**
 * Milliseconds a stream may be quiet before its caller sends a probe (a credit message granting
 * 0) to the server's control queue: the broker returns it once that queue is gone with its server.
 */
export const probeInterval = 1000;

/**
 * Milliseconds a server waits for credit without hearing from the caller (a credit or a probe)
 * before it takes the caller for gone and ends the stream: several probe intervals, as a busy
 * machine's timers run late.
 */
export const callerSilence = 5 * probeInterval;

/** The most a credit message may grant at once; beyond it, the message is ignored as noise. */
const maxGrant = 2 ** 31 - 1;

/** The credit a credit message grants: its header as a whole number from 1, else `undefined`. */
export function grantOf(headers: Readonly<Record<string, unknown>>): number | undefined {
  const value = headers[creditHeader];
  const credit =
    typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
  return Number.isSafeInteger(credit) && credit >= 1 && credit <= maxGrant ? credit : undefined;
}

/**
 * The server's end of one streamed reply: `send` publishes an item, then resolves only once the
 * caller has granted credit for the next one, so the producer never runs past the caller's window.
 * `end` (a cancel, a lost channel, closing) makes the waiting `send`, and every later one, reject.
 */
export class StreamSender implements ReplyStreamSender {
  readonly #window: CreditWindow;
  readonly #publish: (item: Message) => void;
  /** A credit taken for the next item already (the last `send` waited for it). */
  #reserved = false;
  #interrupted: Error | undefined;
  /** When the caller was last heard from (a credit or a probe) while the stream waited, epoch ms. */
  #heardAt = 0;

  constructor(credit: number, publish: (item: Message) => void) {
    this.#window = new CreditWindow(credit);
    this.#publish = publish;
  }

  /** Why a `send` failed, ending the stream before its producer did; `undefined` while none did. */
  get interrupted(): Error | undefined {
    return this.#interrupted;
  }

  async send(item: Message): Promise<void> {
    try {
      if (!this.#reserved) await this.#take();
      this.#reserved = false;
      this.#publish(item);
      await this.#take();
      this.#reserved = true;
    } catch (error) {
      this.#interrupted ??= error instanceof Error ? error : new Error(String(error));
      throw error;
    }
  }

  /** A credit or a probe came from the caller: it is still there. */
  heard(): void {
    this.#heardAt = Date.now();
  }

  /** Credit from the caller: `credit` more items may go. */
  grant(credit: number): void {
    this.#window.grant(credit);
  }

  /** Ends the stream: the waiting `send` and every later one reject with `reason`. */
  end(reason: Error): void {
    this.#window.end(reason);
  }

  // Takes a credit. Without one, waits, and while it waits, a caller silent for `callerSilence`
  // (no credit, no probe: a live caller probes a quiet stream every `probeInterval`) is gone, as
  // when its connection died: nothing else would tell, with direct reply-to.
  async #take(): Promise<void> {
    if (this.#window.credit > 0) {
      await this.#window.take();
      return;
    }
    this.#heardAt = Date.now();
    const watch = setInterval(() => {
      if (Date.now() - this.#heardAt < callerSilence) return;
      this.end(
        new TransportError(
          `The stream's caller is gone: nothing heard from it for ${String(callerSilence)} ms`,
        ),
      );
    }, probeInterval);
    watch.unref();
    try {
      await this.#window.take();
    } finally {
      clearInterval(watch);
    }
  }
}
