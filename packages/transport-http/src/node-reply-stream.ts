import type { ServerResponse } from 'node:http';
import { TransportError, type Message, type ReplyStreamSender } from '@tinyrpc/core';
import type { HttpResponder, StreamUnderWay } from './http-responder.ts';
import { encodeStreamed } from './reply-stream-framing.ts';

const gone = (): TransportError => new TransportError('The HTTP client went away');

/**
 * The `node:http` adapter's end of a streamed reply: the first item sends the headers (200, the
 * streamed content type), each item is written to the response as it comes, and `send` resolves
 * once the response can take more (at once, or at its `drain`), so a slow reader holds the
 * producer back through TCP.
 */
export class NodeReplyStream implements ReplyStreamSender, StreamUnderWay {
  readonly #response: ServerResponse;
  readonly #responder: HttpResponder;
  // The kind of the stream's messages, set by its first item: text (NDJSON) or bytes (frames).
  #text: boolean | undefined;

  constructor(response: ServerResponse, responder: HttpResponder) {
    this.#response = response;
    this.#responder = responder;
  }

  /** `true` once the first item went: the answer is this stream's body. */
  get started(): boolean {
    return this.#text !== undefined;
  }

  send(item: Message): Promise<void> {
    const response = this.#response;
    if (response.destroyed || response.writableEnded) return Promise.reject(gone());
    let chunk: string | Uint8Array;
    try {
      if (this.#text === undefined) {
        const text = typeof item === 'string';
        chunk = encodeStreamed(item, text);
        // A stream that begins while the transport closes is cut at once, as those under way were.
        if (!this.#responder.accepting) {
          response.destroy();
          return Promise.reject(gone());
        }
        response.writeHead(200, this.#responder.streamHeaders(text) as string[]);
        this.#text = text;
        this.#responder.streams.add(this);
      } else chunk = encodeStreamed(item, this.#text);
    } catch (error) {
      return Promise.reject(error);
    }
    if (response.write(chunk)) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const drained = (): void => {
        response.off('close', closed);
        resolve();
      };
      const closed = (): void => {
        response.off('drain', drained);
        reject(gone());
      };
      response.once('drain', drained);
      response.once('close', closed);
    });
  }

  /**
   * Ends the body with the reply that ends the stream. A reply that cannot be framed, or none,
   * destroys the response instead, so the caller sees a broken stream rather than a short one.
   */
  end(reply: Message | undefined): void {
    this.#responder.streams.delete(this);
    const response = this.#response;
    if (response.destroyed || response.writableEnded) return;
    try {
      if (reply === undefined) throw new TransportError('A streamed call answered nothing');
      response.end(encodeStreamed(reply, this.#text as boolean));
    } catch (error) {
      this.#responder.report(error);
      response.destroy();
    }
  }

  cut(): void {
    this.#responder.streams.delete(this);
    this.#response.destroy();
  }
}
