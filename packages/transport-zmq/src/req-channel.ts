import { TransportError, type Message, type ReconnectOptions } from '@tinyrpc/core';
import { describeError, tooLargeError } from '@tinyrpc/core/transport';
import { Request } from 'zeromq';
import { checkSize, reconnectSettings } from './socket-settings.ts';

/** Settings of a {@link ReqChannel}. */
export interface ReqChannelOptions {
  readonly endpoint: string;
  readonly notificationWait: number;
  readonly linger: number;
  readonly maxMessageSize: number;
  readonly reconnect: Required<ReconnectOptions> | undefined;
}

interface Job {
  readonly message: Message;
  readonly expectReply: boolean;
  readonly signal: AbortSignal | undefined;
  resolve(reply: Message | undefined): void;
  reject(error: unknown): void;
  settled: boolean;
}

/** How a wait for a message ended. */
type Outcome =
  | { readonly kind: 'reply'; readonly body: Buffer }
  | { readonly kind: 'timeout' }
  | { readonly kind: 'aborted'; readonly reason: unknown };

const timedOut: Outcome = { kind: 'timeout' };

/**
 * A REQ socket used strictly: one exchange at a time, the rest queued. A socket whose reply never
 * came (the call's signal aborted: a timeout, a caller giving up) is closed and replaced, so the
 * next exchange starts clean. It keeps no clock of its own but `notificationWait`.
 */
export class ReqChannel {
  readonly #options: ReqChannelOptions;
  readonly #queue: Job[] = [];
  #socket: Request | undefined;
  #running = false;
  #closed = false;
  /** A notification was sent on the current socket and its answer is still owed. */
  #owed = false;

  constructor(options: ReqChannelOptions) {
    this.#options = options;
    // Connect now, so that a bad endpoint fails here rather than on the first call.
    this.#current();
  }

  send(message: Message, expectReply: boolean, signal?: AbortSignal): Promise<Message | undefined> {
    if (this.#closed) return Promise.reject(new TransportError('The ZeroMQ transport is closed'));
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    const tooLarge = checkSize(message, this.#options.maxMessageSize);
    if (tooLarge !== undefined) return Promise.reject(tooLarge);
    return new Promise((resolve, reject) => {
      const job: Job = { message, expectReply, signal, resolve, reject, settled: false };
      if (signal !== undefined) {
        const onAbort = (): void => {
          // A queued job just leaves; a running one is failed by the exchange, which owns the socket.
          const index = this.#queue.indexOf(job);
          if (index < 0) return;
          this.#queue.splice(index, 1);
          settle(job, undefined, signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        job.resolve = (reply) => {
          signal.removeEventListener('abort', onAbort);
          resolve(reply);
        };
        job.reject = (error) => {
          signal.removeEventListener('abort', onAbort);
          reject(error);
        };
      }
      this.#queue.push(job);
      if (!this.#running) void this.#run();
    });
  }

  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#closed = true;
    const error = new TransportError('The ZeroMQ transport is closed');
    for (const job of this.#queue.splice(0)) settle(job, undefined, error);
    // A running exchange sees its receive fail and rejects its job.
    this.#replace(this.#options.linger);
    return Promise.resolve();
  }

  async #run(): Promise<void> {
    this.#running = true;
    try {
      for (let job = this.#queue.shift(); job !== undefined; job = this.#queue.shift()) {
        await this.#exchange(job);
      }
    } finally {
      this.#running = false;
    }
  }

  async #exchange(job: Job): Promise<void> {
    if (this.#owed) await this.#collectOwed();
    if (this.#closed) {
      settle(job, undefined, new TransportError('The ZeroMQ transport is closed'));
      return;
    }
    if (job.signal?.aborted) {
      settle(job, undefined, job.signal.reason);
      return;
    }
    const socket = this.#current();
    try {
      await socket.send(job.message);
    } catch (error) {
      this.#replace(0);
      settle(
        job,
        undefined,
        failure(this.#isClosed(), `ZeroMQ send failed: ${describeError(error)}`, error),
      );
      return;
    }
    if (!job.expectReply) {
      // A REQ socket must receive before it can send again: the answer is collected (and
      // discarded) before the next exchange.
      this.#owed = true;
      settle(job, undefined);
      return;
    }
    const outcome = await this.#receive(socket, Infinity, job.signal);
    if (outcome.kind === 'reply') {
      const limit = this.#options.maxMessageSize;
      if (outcome.body.length > limit)
        settle(job, undefined, tooLargeError(outcome.body.length, limit));
      else settle(job, outcome.body);
      return;
    }
    // Closing with linger 0 drops the request too if it never left: a call reported as failed
    // must not run later. (A receive ends without a reply only when the socket was closed.)
    this.#replace(0);
    settle(
      job,
      undefined,
      outcome.kind === 'aborted'
        ? outcome.reason
        : failure(this.#isClosed(), 'ZeroMQ receive failed', undefined),
    );
  }

  // Waits a little for the answer a notification is owed (this library's server sends an empty
  // frame); a server that sends nothing (Python tinyrpc's) costs the wait and a fresh socket.
  async #collectOwed(): Promise<void> {
    this.#owed = false;
    const socket = this.#socket;
    if (socket === undefined) return;
    const outcome = await this.#receive(socket, this.#options.notificationWait, undefined);
    if (outcome.kind !== 'reply') this.#replace(this.#options.linger);
  }

  // The first of: a message, `ms` passing, the signal aborting. Closing the socket ends it too
  // (as `timedOut`).
  #receive(socket: Request, ms: number, signal: AbortSignal | undefined): Promise<Outcome> {
    return new Promise<Outcome>((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = (): void => {
        done({ kind: 'aborted', reason: signal?.reason });
      };
      const done = (outcome: Outcome): void => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve(outcome);
      };
      if (Number.isFinite(ms)) {
        timer = setTimeout(() => {
          done(timedOut);
        }, ms);
      }
      if (signal?.aborted) {
        onAbort();
        return;
      }
      signal?.addEventListener('abort', onAbort, { once: true });
      socket.receive().then(
        (frames) => {
          done({ kind: 'reply', body: frames[frames.length - 1] ?? Buffer.alloc(0) });
        },
        () => {
          done(timedOut);
        },
      );
    });
  }

  // A method, not the field, where an await may have changed it since the last look.
  #isClosed(): boolean {
    return this.#closed;
  }

  #current(): Request {
    if (this.#socket !== undefined) return this.#socket;
    const socket = new Request({
      linger: this.#options.linger,
      ...reconnectSettings(this.#options.reconnect),
    });
    try {
      socket.connect(this.#options.endpoint);
    } catch (error) {
      socket.close();
      throw new TransportError(
        `Cannot connect to ${this.#options.endpoint}: ${describeError(error)}`,
        {
          cause: error,
        },
      );
    }
    this.#socket = socket;
    return socket;
  }

  #replace(linger: number): void {
    const socket = this.#socket;
    this.#socket = undefined;
    this.#owed = false;
    if (socket === undefined || socket.closed) return;
    socket.linger = linger;
    socket.close();
  }
}

function settle(job: Job, reply: Message | undefined, error?: unknown): void {
  if (job.settled) return;
  job.settled = true;
  if (error === undefined) job.resolve(reply);
  else job.reject(error);
}

function failure(closed: boolean, message: string, cause: unknown): TransportError {
  return closed
    ? new TransportError('The ZeroMQ transport is closed', { cause })
    : new TransportError(message, { cause });
}
