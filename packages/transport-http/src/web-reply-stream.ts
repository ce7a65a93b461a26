import { TransportError, type Message, type ReplyStreamSender } from '@tinyrpc/core';
import type { HttpResponder, StreamUnderWay } from './http-responder.ts';
import { encodeStreamed } from './reply-stream-framing.ts';

const encoder = new TextEncoder();

const closingMessage = 'The stream was cut: the server is closing';

/** Bytes the body holds before `send` waits for the runtime to read: as much as `node:http` holds. */
const highWaterMark = 16 * 1024;

/**
 * The Fetch adapter's end of a streamed reply: a `ReadableStream` body that the runtime reads as
 * the client takes it. `send` resolves while the body holds less than `highWaterMark` bytes, and
 * otherwise once the runtime pulls for more, so a slow reader holds the producer back. The runtime
 * cancelling the body (the client went away) rejects the sends and aborts `signal`.
 */
export class WebReplyStream implements ReplyStreamSender, StreamUnderWay {
  /** The response's body. */
  readonly body: ReadableStream<Uint8Array>;
  /** Resolves when the first item goes: from then on the answer is this stream's body. */
  readonly started: Promise<void>;
  readonly #cancelled = new AbortController();
  readonly #responder: HttpResponder;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #start!: () => void;
  #text: boolean | undefined;
  #failure: Error | undefined;
  // The send waiting for the runtime to read.
  #waiting: { resolve: () => void; reject: (error: Error) => void } | undefined;

  constructor(responder: HttpResponder) {
    this.#responder = responder;
    this.started = new Promise((resolve) => {
      this.#start = resolve;
    });
    this.body = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#controller = controller;
        },
        pull: () => {
          const waiting = this.#waiting;
          this.#waiting = undefined;
          waiting?.resolve();
        },
        cancel: () => {
          this.#fail(new TransportError('The HTTP client went away'));
        },
      },
      new ByteLengthQueuingStrategy({ highWaterMark }),
    );
  }

  /** The kind of the stream's messages once the first went: text (NDJSON) or bytes (frames). */
  get text(): boolean | undefined {
    return this.#text;
  }

  /** Aborts when the runtime cancels the body: the client went away. */
  get signal(): AbortSignal {
    return this.#cancelled.signal;
  }

  send(item: Message): Promise<void> {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    let chunk: Uint8Array;
    try {
      if (this.#text === undefined) {
        const text = typeof item === 'string';
        chunk = bytesOf(encodeStreamed(item, text));
        // A stream that begins while the transport closes is cut at once, as those under way were.
        if (!this.#responder.accepting) {
          const failure = new TransportError(closingMessage);
          this.cut(failure);
          return Promise.reject(failure);
        }
        this.#text = text;
        this.#responder.streams.add(this);
        this.#start();
      } else chunk = bytesOf(encodeStreamed(item, this.#text));
    } catch (error) {
      return Promise.reject(error);
    }
    this.#controller.enqueue(chunk);
    if ((this.#controller.desiredSize ?? 0) > 0) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.#waiting = { resolve, reject };
    });
  }

  /** Ends the body with the reply that ends the stream; one that cannot be framed errors the body. */
  end(reply: Message | undefined): void {
    this.#responder.streams.delete(this);
    if (this.#failure !== undefined) return;
    try {
      if (reply === undefined) throw new TransportError('A streamed call answered nothing');
      this.#controller.enqueue(bytesOf(encodeStreamed(reply, this.#text as boolean)));
      this.#controller.close();
    } catch (error) {
      this.#responder.report(error);
      this.cut(error as Error);
    }
  }

  /** Errors the body, so the runtime breaks off the response; by default for closing. */
  cut(reason: Error = new TransportError(closingMessage)): void {
    if (this.#failure !== undefined) return;
    this.#fail(reason);
    this.#controller.error(reason);
  }

  #fail(error: Error): void {
    if (this.#failure !== undefined) return;
    this.#failure = error;
    this.#responder.streams.delete(this);
    const waiting = this.#waiting;
    this.#waiting = undefined;
    waiting?.reject(error);
    this.#cancelled.abort(error);
  }
}

const bytesOf = (chunk: string | Uint8Array): Uint8Array =>
  typeof chunk === 'string' ? encoder.encode(chunk) : chunk;
