import type { DeadlineSweep, Expiring } from './deadline-sweep.ts';
import { RpcTimeoutError } from './errors.ts';
import type { ReplyStreamReceiver, SendOptions } from './types.ts';

// Where the transport reads it, the getter makes the call's signal. An own property, so that a
// transport wrapping another may copy the options with a spread; a shared descriptor, as an object
// literal with a getter would cost several times as much as the whole guard.
const signalOfGuard: PropertyDescriptor = {
  get(this: CallGuard): AbortSignal {
    return this.lazySignal();
  },
  enumerable: true,
};

/**
 * The timeout and the signal of one call: fails it once the timeout passes (the client's
 * {@link DeadlineSweep} keeps the time) or the caller's signal aborts. It is also the call's
 * `SendOptions`.
 *
 * The transport gets a signal only when it reads `signal`: an `AbortController` costs more than the
 * rest of a call's bookkeeping together, and most sends never wait for anything it could abort.
 * With no timeout the caller's own signal is handed on.
 */
export class CallGuard implements Expiring, SendOptions {
  readonly expiresAt: number;
  /** When the caller stops waiting, in epoch milliseconds; set with a timeout. */
  readonly deadline: number | undefined;
  expectReply: boolean | undefined;
  contentType: string | undefined;
  headers: Readonly<Record<string, string>> | undefined;
  /** The receiver of a streamed reply, on a request/reply transport. */
  stream: ReplyStreamReceiver | undefined;
  declare readonly signal: AbortSignal;
  readonly #timeout: number | undefined;
  readonly #outer: AbortSignal | undefined;
  readonly #sweep: DeadlineSweep;
  readonly #fail: (error: Error) => void;
  #controller: AbortController | undefined;
  #ended = false;
  #failure: Error | undefined;

  /** `fail` ends the call with the error; it is not called once {@link CallGuard.end} was. */
  constructor(
    timeout: number | undefined,
    outer: AbortSignal | undefined,
    sweep: DeadlineSweep,
    fail: (error: Error) => void,
  ) {
    this.#timeout = timeout;
    this.#outer = outer;
    this.#sweep = sweep;
    this.#fail = fail;
    if (timeout === undefined) {
      this.expiresAt = Infinity;
      this.deadline = undefined;
    } else {
      this.expiresAt = sweep.now() + timeout;
      this.deadline = Date.now() + timeout;
      sweep.add(this);
    }
    outer?.addEventListener('abort', this, { once: true });
    Object.defineProperty(this, 'signal', signalOfGuard);
  }

  /** Takes the send options' other fields: `base`'s, the call's headers and a stream's receiver. */
  label(
    base: SendOptions,
    headers: Readonly<Record<string, string>> | undefined,
    stream?: ReplyStreamReceiver,
  ): void {
    this.expectReply = base.expectReply;
    this.contentType = base.contentType;
    this.headers = headers;
    this.stream = stream;
  }

  /** Aborts when the call fails: made when first read (the caller's own with no timeout). */
  lazySignal(): AbortSignal {
    if (this.#timeout === undefined && this.#outer !== undefined) return this.#outer;
    if (this.#controller === undefined) {
      this.#controller = new AbortController();
      if (this.#failure !== undefined) this.#controller.abort(this.#failure);
    }
    return this.#controller.signal;
  }

  /** The call ended by itself (a reply, a failure of the transport): forgets the time and signal. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#sweep.delete(this);
    this.#outer?.removeEventListener('abort', this);
  }

  /** The sweep: the timeout passed. */
  expire(): void {
    this.#failWith(new RpcTimeoutError(`Call timed out after ${String(this.#timeout)} ms`));
  }

  /** The caller's signal aborted (this object is its listener). */
  handleEvent(): void {
    this.#failWith(this.#outer?.reason as Error);
  }

  #failWith(error: Error): void {
    if (this.#ended) return;
    this.end();
    this.#failure = error;
    this.#fail(error);
    this.#controller?.abort(error);
  }
}
