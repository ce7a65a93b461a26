import { Buffer } from 'node:buffer';
import type { Duplex, Readable, Writable } from 'node:stream';
import { TransportError, type Message } from '@tinyrpc/core';
import {
  createFrameDecoder,
  encodeFrame,
  isTooLarge,
  messagesBefore,
  type FrameDecoder,
  type FramingOptions,
} from './framing.ts';

/** A readable and a writable stream used as one connection, such as a child process's stdio. */
export interface StreamPair {
  readonly readable: Readable;
  readonly writable: Writable;
}

/** A byte stream to carry messages: a `Duplex` (a socket) or a {@link StreamPair}. */
export type ByteStream = Duplex | StreamPair;

/** Internal: how a {@link StreamConnection} reads, beyond its framing. */
export interface ConnectionOptions extends FramingOptions {
  /**
   * Milliseconds a begun, unfinished frame may wait for more bytes before the connection is
   * destroyed; `0` or absent: no limit. Not counted while reading is held.
   */
  readonly idleTimeout?: number;
  /** Stop reading while written data waits for the peer to read it (`writableNeedDrain`). */
  readonly holdWhileBacklogged?: boolean;
}

/** What a {@link StreamConnection} reports to its owner. */
export interface ConnectionEvents {
  onMessage(message: Message): void;
  /**
   * A frame over `maxMessageSize` arrived. With this event the connection reads on but delivers
   * nothing more (the owner answers and ends it); without it, the connection is destroyed.
   */
  onTooLarge?(error: TransportError): void;
  /** The peer will send nothing more; writing may still work. */
  onEnd(): void;
  /** The connection is unusable; `error` says why when it did not end in order. */
  onClose(error: TransportError | undefined): void;
}

// How long end() waits for the peer to close its side before it destroys the stream, and how long
// a pair whose writable closed keeps reading for the peer's last replies.
const END_GRACE_MS = 2000;

const isPair = (stream: ByteStream): stream is StreamPair =>
  typeof (stream as Partial<StreamPair>).readable === 'object' &&
  typeof (stream as Partial<StreamPair>).writable === 'object';

const asTransportError = (error: unknown, what: string): TransportError =>
  error instanceof TransportError
    ? error
    : new TransportError(`${what}: ${error instanceof Error ? error.message : String(error)}`, {
        cause: error,
      });

/**
 * Frames messages onto a byte stream and reads them back: the part a client and a server share,
 * and that one connection carrying calls both ways will share later.
 */
export class StreamConnection {
  readonly #readable: Readable;
  readonly #writable: Writable;
  readonly #single: boolean;
  readonly #decoder: FrameDecoder;
  readonly #options: ConnectionOptions;
  readonly #events: ConnectionEvents;
  readonly #idleTimeout: number;
  // Messages read while reading is held (the rest of a chunk), delivered first once it is not.
  readonly #held: Message[] = [];
  #holdByOwner = false;
  #holdByBacklog = false;
  #idleTimer: ReturnType<typeof setTimeout> | undefined;
  // After an over-size frame: bytes are read (so the peer's end is seen) but not delivered.
  #discarding = false;
  readonly #closeWaiters: (() => void)[] = [];
  #closed = false;
  #ended = false;
  #ending: Promise<void> | undefined;
  #error: TransportError | undefined;
  // A pair's writable closed (a child process that exited has its stdin destroyed at once) or
  // failed: nothing more can be sent, but what the peer wrote before is still read.
  #writeClosed = false;
  #writeError: TransportError | undefined;

  constructor(stream: ByteStream, options: ConnectionOptions, events: ConnectionEvents) {
    this.#single = !isPair(stream);
    this.#readable = isPair(stream) ? stream.readable : stream;
    this.#writable = isPair(stream) ? stream.writable : stream;
    this.#options = options;
    this.#events = events;
    this.#decoder = createFrameDecoder(options);
    this.#idleTimeout = options.idleTimeout ?? 0;
    // 'error' listeners stay for good: an error emitted with none would crash the process.
    this.#readable.on('error', this.#onError);
    this.#readable.on('data', this.#onData);
    this.#readable.on('end', this.#onEnd);
    if (this.#single) {
      this.#readable.on('close', this.#onClose);
    } else {
      this.#readable.on('close', this.#onEnd);
      this.#writable.on('error', this.#onWritableError);
      this.#writable.on('close', this.#onWritableClose);
    }
  }

  /** `true` once the connection is unusable. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * `true` once end() began, a pair's writable closed or the connection closed: nothing more can be
   * sent.
   */
  get ending(): boolean {
    return this.#closed || this.#writeClosed || this.#ending !== undefined;
  }

  /** Stops reading (and delivering what was read) until {@link StreamConnection.resume}. */
  pause(): void {
    this.#holdByOwner = true;
    this.#flow();
  }

  /** Reads and delivers again after {@link StreamConnection.pause}. */
  resume(): void {
    this.#holdByOwner = false;
    this.#flow();
  }

  get #holding(): boolean {
    return this.#holdByOwner || this.#holdByBacklog;
  }

  #flow(): void {
    while (!this.#holding && this.#held.length > 0 && !this.#closed)
      this.#events.onMessage(this.#held.shift() as Message);
    if (this.#closed) return;
    if (this.#holding) {
      this.#readable.pause();
      // What the peer sent after the frame began may be waiting unread: not the peer's stall.
      this.#stopIdleTimer();
    } else {
      this.#readable.resume();
      this.#checkIdle();
    }
  }

  /** Writes one message; resolves once it is handed to the operating system. */
  send(message: Message): Promise<void> {
    if (this.#writeClosed && !this.#closed) {
      return Promise.reject(
        new TransportError('The stream cannot be written any more', { cause: this.#writeError }),
      );
    }
    if (this.ending)
      return Promise.reject(this.#error ?? new TransportError('The connection is closed'));
    let pieces: (string | Uint8Array)[];
    try {
      pieces = encodeFrame(message, this.#options);
    } catch (error) {
      return Promise.reject(asTransportError(error, 'Cannot frame the message'));
    }
    return new Promise<void>((resolve, reject) => {
      const writable = this.#writable;
      const last = pieces.length - 1;
      // Corked until the next tick, so the messages of one tick leave in one write.
      writable.cork();
      for (let i = 0; i < last; i++) writable.write(pieces[i]);
      writable.write(pieces[last], (error) => {
        if (error) reject(asTransportError(error, 'Writing to the stream failed'));
        else resolve();
      });
      process.nextTick(this.#uncork);
    });
  }

  // After the tick's writes went out: what the system did not take waits for the peer to read it.
  // Past the high-water mark the peer is not reading, so (on a server) read no more of its
  // requests until it has (`'drain'`). Checked here, not on write(): one large reply is over the
  // mark while corked, however fast the peer reads.
  readonly #uncork = (): void => {
    const writable = this.#writable;
    writable.uncork();
    if (
      this.#options.holdWhileBacklogged !== true ||
      this.#holdByBacklog ||
      writable.writableLength <= writable.writableHighWaterMark
    )
      return;
    this.#holdByBacklog = true;
    writable.once('drain', () => {
      this.#holdByBacklog = false;
      this.#flow();
    });
    this.#flow();
  };

  /**
   * Ends the connection in order: resolves once what was sent is flushed. A socket closes when the
   * peer ends its side too (it is destroyed if the peer has not within a grace period); a stream
   * pair closes at once.
   */
  end(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    if (this.#writeClosed && this.#ending === undefined) {
      // Nothing left to flush; reading for replies is over too.
      this.#readable.destroy();
      this.#finish(this.#error ?? this.#writeError);
      return Promise.resolve();
    }
    this.#ending ??= new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.destroy();
      }, END_GRACE_MS);
      timer.unref();
      this.#closeWaiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
      this.#writable.end(() => {
        if (this.#single) {
          resolve();
          return;
        }
        this.#readable.destroy();
        this.#finish(undefined);
      });
    });
    return this.#ending;
  }

  /** Closes the connection at once; `error` is reported as the reason. */
  destroy(error?: TransportError): void {
    if (this.#closed) return;
    this.#error ??= error;
    this.#readable.destroy();
    if (!this.#single) this.#writable.destroy();
    this.#finish(this.#error);
  }

  #finish(error: TransportError | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopIdleTimer();
    this.#held.length = 0;
    this.#readable.off('data', this.#onData);
    this.#events.onClose(error);
    for (const waiter of this.#closeWaiters.splice(0)) waiter();
  }

  readonly #onData = (chunk: Buffer | string): void => {
    if (this.#discarding) return;
    let messages: Message[];
    try {
      messages = this.#decoder.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
    } catch (error) {
      this.#deliver(messagesBefore(error));
      if (this.#closed) return;
      if (this.#events.onTooLarge !== undefined && isTooLarge(error)) {
        this.#discarding = true;
        this.#stopIdleTimer();
        this.#events.onTooLarge(error as TransportError);
      } else {
        this.destroy(asTransportError(error, 'Unreadable frame'));
      }
      return;
    }
    this.#deliver(messages);
    this.#checkIdle();
  };

  #deliver(messages: readonly Message[]): void {
    for (const message of messages) {
      if (this.#closed) return;
      if (this.#holding) this.#held.push(message);
      else this.#events.onMessage(message);
    }
  }

  // A frame has begun and not ended: the peer has idleTimeout ms to send more of it.
  #checkIdle(): void {
    if (this.#idleTimeout <= 0 || this.#discarding || this.#closed) return;
    if (this.#decoder.buffered === 0) this.#stopIdleTimer();
    else if (this.#idleTimer !== undefined) this.#idleTimer.refresh();
    else {
      this.#idleTimer = setTimeout(this.#onIdle, this.#idleTimeout);
      this.#idleTimer.unref();
    }
  }

  #stopIdleTimer(): void {
    if (this.#idleTimer === undefined) return;
    clearTimeout(this.#idleTimer);
    this.#idleTimer = undefined;
  }

  readonly #onIdle = (): void => {
    this.#idleTimer = undefined;
    this.destroy(
      new TransportError(
        `A message began and nothing more of it came for ${String(this.#idleTimeout)} ms (idleTimeout)`,
      ),
    );
  };

  readonly #onEnd = (): void => {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#decoder.buffered > 0 && this.#error === undefined) {
      this.#error = new TransportError(
        `The stream ended inside a frame (${String(this.#decoder.buffered)} bytes unread)`,
      );
    }
    this.#events.onEnd();
    // Neither side is left: a pair whose writable closed first was only reading for replies.
    if (this.#writeClosed) this.#finish(this.#error ?? this.#writeError);
  };

  readonly #onError = (error: Error): void => {
    this.destroy(asTransportError(error, 'Stream error'));
  };

  // A failed writable (EPIPE from a child that exited) ends sending only, like a closed one.
  readonly #onWritableError = (error: Error): void => {
    this.#writeError ??= asTransportError(error, 'Writing to the stream failed');
    this.#onWritableClose();
  };

  readonly #onWritableClose = (): void => {
    if (this.#closed || this.#writeClosed) return;
    this.#writeClosed = true;
    // Nothing is left to flush for end(), or to read for a peer that ended already.
    if (this.#ending !== undefined || this.#ended) {
      this.#readable.destroy();
      this.#finish(this.#error ?? this.#writeError);
      return;
    }
    // Keep reading what the peer wrote before, until the readable ends, but not forever.
    const timer = setTimeout(() => {
      this.destroy(
        this.#writeError ??
          new TransportError(
            `The stream closed for writing and its readable did not end within ${String(END_GRACE_MS)} ms`,
          ),
      );
    }, END_GRACE_MS);
    timer.unref();
    this.#closeWaiters.push(() => {
      clearTimeout(timer);
    });
  };

  readonly #onClose = (): void => {
    this.#finish(this.#error);
  };
}
