import {
  RpcTimeoutError,
  TransportError,
  type ClientTransportListener,
  type Message,
  type ReconnectOptions,
  type SendOptions,
} from '@tinyrpc/core';
import { describeError, tooLargeError } from '@tinyrpc/core/transport';
import { Dealer } from 'zeromq';
import { checkSize, reconnectSettings } from './socket-settings.ts';

/** How long one blocking send waits before the queue checks for withdrawn messages again. */
const blockedSendSlice = 50;

interface Queued {
  readonly message: Message;
  resolve(): void;
  reject(error: unknown): void;
  settled: boolean;
}

/** A message waiting for the end of the turn (see `DealerChannel.#flush`). */
interface Outgoing {
  readonly message: Message;
  readonly options: SendOptions;
  readonly resolve: (value: undefined) => void;
  readonly reject: (error: unknown) => void;
}

/** Settings of a {@link DealerChannel}. */
export interface DealerChannelOptions {
  readonly endpoint: string;
  /** Milliseconds the server may stay silent while messages await an answer. */
  readonly silenceTimeout: number;
  readonly linger: number;
  readonly maxMessageSize: number;
  readonly reconnect: Required<ReconnectOptions> | undefined;
}

/**
 * A DEALER socket with many messages in flight: sends in order (queueing in JavaScript while the
 * socket cannot take more), receives in a loop that hands every body to the listeners, and reports
 * a lost connection or a silent server to them as `onClose`.
 */
export class DealerChannel {
  readonly #options: DealerChannelOptions;
  readonly #socket: Dealer;
  readonly #listeners = new Set<ClientTransportListener>();
  readonly #queue: Queued[] = [];
  /** The messages of this turn of the event loop, sent by `#flush`. */
  #outbox: Outgoing[] = [];
  #pumping = false;
  #receiving: Promise<void> | undefined;
  #closed = false;
  /** When the first message sent since anything last arrived was sent. */
  #unansweredSince: number | undefined;
  #watchdog: ReturnType<typeof setTimeout> | undefined;

  constructor(options: DealerChannelOptions) {
    this.#options = options;
    // sendTimeout 0: a send either queues at once or fails with EAGAIN, never parks inside zeromq;
    // the JavaScript queue below does the waiting, where it can be withdrawn.
    // No ZeroMQ maxMessageSize: a frame over it is a protocol error after which ZeroMQ never
    // reconnects. Replies are measured here instead.
    this.#socket = new Dealer({
      linger: options.linger,
      sendTimeout: 0,
      ...reconnectSettings(options.reconnect),
    });
    try {
      this.#socket.connect(options.endpoint);
    } catch (error) {
      this.#socket.close();
      throw new TransportError(`Cannot connect to ${options.endpoint}: ${describeError(error)}`, {
        cause: error,
      });
    }
  }

  /**
   * Sends `message` once this turn of the event loop has handled what arrived (see `#flush`), or
   * queues it while the socket takes no more. The signal is read only when the message has to wait
   * in that queue: `RpcClient` makes one only for a transport that reads it.
   */
  send(message: Message, options: SendOptions): Promise<undefined> {
    if (this.#closed) return Promise.reject(new TransportError('The ZeroMQ transport is closed'));
    const tooLarge = checkSize(message, this.#options.maxMessageSize);
    if (tooLarge !== undefined) return Promise.reject(tooLarge);
    this.#armWatchdog();
    return new Promise<undefined>((resolve, reject) => {
      this.#outbox.push({ message, options, resolve, reject });
      if (this.#outbox.length === 1) setImmediate(this.#flush);
    });
  }

  // Sent one by one as calls make them, each message would find ZeroMQ's I/O thread idle and wake
  // it; the messages of one turn, sent together, share the wake-ups, which at many calls in flight
  // saves more than the rest of a call's work costs (the WebSocket transport corks its socket for
  // the same reason). Each goes straight to the socket: asking first whether it can take the
  // message costs a system call; the rare refusal (EAGAIN: high-water mark reached) sends the
  // message to the queue instead.
  readonly #flush = (): void => {
    const outbox = this.#outbox;
    this.#outbox = [];
    for (const { message, options, resolve, reject } of outbox) {
      if (this.#closed) {
        reject(new TransportError('The ZeroMQ transport is closed'));
        continue;
      }
      if (this.#pumping) {
        this.#enqueue(message, options.signal).then(resolve, reject);
        continue;
      }
      let sent: Promise<void>;
      try {
        sent = this.#socket.send(message);
      } catch (error) {
        reject(sendError(error));
        continue;
      }
      sent.then(
        () => {
          resolve(undefined);
        },
        (error: unknown) => {
          if (!this.#closed && isEagain(error))
            this.#enqueue(message, options.signal).then(resolve, reject);
          else reject(sendError(error));
        },
      );
    }
  };

  #enqueue(message: Message, signal: AbortSignal | undefined): Promise<undefined> {
    if (signal?.aborted) return Promise.reject(signal.reason as Error);
    return new Promise<undefined>((resolve, reject) => {
      const item: Queued = {
        message,
        resolve: () => {
          resolve(undefined);
        },
        reject,
        settled: false,
      };
      if (signal !== undefined) {
        const onAbort = (): void => {
          this.#withdraw(item, signal.reason);
        };
        signal.addEventListener('abort', onAbort, { once: true });
        const settle = (): void => {
          item.settled = true;
          signal.removeEventListener('abort', onAbort);
        };
        item.resolve = () => {
          settle();
          resolve(undefined);
        };
        item.reject = (error) => {
          settle();
          reject(error);
        };
      }
      this.#queue.push(item);
      if (!this.#pumping) void this.#pump();
    });
  }

  subscribe(listener: ClientTransportListener): () => void {
    if (this.#closed) {
      listener.onClose(new TransportError('The ZeroMQ transport is closed'));
      return () => undefined;
    }
    this.#listeners.add(listener);
    if (this.#receiving === undefined) {
      // Both the receive loop and the connection monitor keep the process alive until close(),
      // so they start with the first listener, not with the socket.
      this.#socket.events.on('disconnect', () => {
        this.#lost(new TransportError(`Connection to ${this.#options.endpoint} lost`));
      });
      this.#receiving = this.#receive();
    }
    return () => {
      this.#listeners.delete(listener);
    };
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#watchdog);
    const error = new TransportError('The ZeroMQ transport is closed');
    this.#failQueue(error);
    this.#socket.close();
    for (const listener of this.#listeners) listener.onClose(error);
    this.#listeners.clear();
    await this.#receiving;
  }

  // Sends the queued messages in order, waiting while the socket cannot take one (high-water mark
  // reached). Each wait is short so that withdrawn messages never reach the socket.
  async #pump(): Promise<void> {
    this.#pumping = true;
    const socket = this.#socket;
    try {
      while (this.#queue.length > 0 && !this.#closed) {
        const item = this.#queue[0] as Queued;
        if (item.settled) {
          this.#queue.shift();
          continue;
        }
        socket.sendTimeout = blockedSendSlice;
        try {
          await socket.send(item.message);
        } catch (error) {
          if (this.#isClosed() || isEagain(error)) continue;
          this.#queue.shift();
          item.reject(sendError(error));
          continue;
        }
        this.#queue.shift();
        // A message withdrawn while zeromq was already sending it went out all the same.
        if (!isSettled(item)) item.resolve();
      }
    } finally {
      if (!socket.closed) socket.sendTimeout = 0;
      this.#pumping = false;
    }
  }

  async #receive(): Promise<void> {
    const socket = this.#socket;
    for (;;) {
      let frames: Buffer[];
      try {
        frames = await socket.receive();
      } catch {
        if (socket.closed) return;
        await new Promise((resolve) => setTimeout(resolve, 10));
        continue;
      }
      this.#unansweredSince = undefined;
      // The body is the last frame; a server that answers like a REP socket adds a delimiter.
      const body = frames[frames.length - 1];
      // An empty body is never a message: it answers a REQ-style peer's notification, or is the
      // probe a server of this library sends to find out which of its peers are gone.
      if (body === undefined || body.length === 0) continue;
      if (body.length > this.#options.maxMessageSize) {
        this.#refuse(body.length);
        continue;
      }
      for (const listener of this.#listeners) listener.onMessage(body);
    }
  }

  // A reply over the limit cannot be told apart from the others without reading it, so, as a
  // WebSocket closed for a message too big would, every pending call fails; the socket stays.
  #refuse(size: number): void {
    const error = tooLargeError(size, this.#options.maxMessageSize);
    for (const listener of this.#listeners) listener.onClose(error);
  }

  // A method, not the field, where an await may have changed it since the last look.
  #isClosed(): boolean {
    return this.#closed;
  }

  #withdraw(item: Queued, reason: unknown): void {
    if (item.settled) return;
    const index = this.#queue.indexOf(item);
    // The head may be inside zeromq right now: the pump drops it when the send returns.
    if (index > 0) this.#queue.splice(index, 1);
    item.reject(reason);
  }

  #failQueue(error: Error): void {
    for (const { reject } of this.#outbox.splice(0)) reject(error);
    const items = this.#queue.splice(0);
    for (const item of items) if (!item.settled) item.reject(error);
  }

  // ZeroMQ reports no dead server: a server that sends nothing at all for `silenceTimeout` ms after
  // a message went out is treated as a lost connection. One timer per socket, none per call.
  #armWatchdog(): void {
    if (this.#unansweredSince !== undefined) return;
    this.#unansweredSince = performance.now();
    if (this.#watchdog === undefined && Number.isFinite(this.#options.silenceTimeout)) {
      this.#schedule(this.#options.silenceTimeout);
    }
  }

  #schedule(delay: number): void {
    this.#watchdog = setTimeout(() => {
      this.#watchdog = undefined;
      if (this.#unansweredSince === undefined || this.#closed) return;
      const silent = performance.now() - this.#unansweredSince;
      if (silent < this.#options.silenceTimeout) {
        this.#schedule(this.#options.silenceTimeout - silent);
        return;
      }
      this.#lost(
        new RpcTimeoutError(
          `No reply from ${this.#options.endpoint} within ${this.#options.silenceTimeout} ms`,
        ),
      );
    }, delay);
    this.#watchdog.unref();
  }

  // Fails whatever waits on the connection. Replies that arrived before the connection dropped
  // are read first, so they still settle their calls.
  #lost(error: Error): void {
    let rounds = 0;
    const settle = (): void => {
      if (this.#closed) return;
      if (this.#socket.readable && ++rounds < 100) {
        setImmediate(settle);
        return;
      }
      this.#unansweredSince = undefined;
      this.#failQueue(error);
      for (const listener of this.#listeners) listener.onClose(error);
    };
    settle();
  }
}

function isSettled(item: Queued): boolean {
  return item.settled;
}

function isEagain(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'EAGAIN';
}

function sendError(error: unknown): TransportError {
  return new TransportError(`ZeroMQ send failed: ${describeError(error)}`, { cause: error });
}
