import { TransportError, type Message } from '@tinyrpc/core';
import { tooLargeError } from '@tinyrpc/core/transport';
import { sameMediaType } from './content-type.ts';
import { joinBytes } from './read-web-body.ts';

/**
 * The `Content-Type` of a streamed reply of a text protocol (JSON-RPC): newline-delimited JSON,
 * each message one line ended by `\n`, the items first and the reply that ends the stream last.
 */
export const ndjsonContentType = 'application/x-ndjson';

/**
 * The `Content-Type` of a streamed reply of a binary protocol (MessagePack-RPC): each message as a
 * frame, its length in bytes as a 4-byte big-endian integer and then the message, the items first
 * and the reply that ends the stream last.
 */
export const framesContentType = 'application/vnd.tinyrpc.frames';

const newline = 0x0a;

/** The content type of a streamed reply whose messages are of this kind. */
export function streamedContentType(text: boolean): string {
  return text ? ndjsonContentType : framesContentType;
}

/**
 * One message of a streamed reply as it goes on the wire: a line for text, a frame for bytes.
 * Throws a `TransportError` for a message of the other kind than the stream's, and for text holding
 * a line break (JSON never does: JSON text escapes it inside strings).
 */
export function encodeStreamed(message: Message, text: boolean): string | Uint8Array {
  if (typeof message === 'string') {
    if (!text) throw new TransportError('A text message in a stream of bytes');
    if (message.includes('\n'))
      throw new TransportError('A message with a line break cannot travel as a line of NDJSON');
    return `${message}\n`;
  }
  if (text) throw new TransportError('A byte message in a stream of text');
  const frame = new Uint8Array(4 + message.length);
  new DataView(frame.buffer).setUint32(0, message.length);
  frame.set(message, 4);
  return frame;
}

/**
 * A decoder for a body of `contentType` when that is a streamed reply's, else `undefined`; no
 * message may be over `limit` bytes (a `TransportError` that names `maxMessageSize`).
 */
export function streamDecoderFor(
  contentType: string | null,
  limit: number,
): StreamDecoder | undefined {
  if (sameMediaType(contentType, ndjsonContentType)) return new StreamDecoder(true, limit);
  if (sameMediaType(contentType, framesContentType)) return new StreamDecoder(false, limit);
  return undefined;
}

/**
 * Splits the body of a streamed reply back into its messages: NDJSON lines, or length-prefixed
 * frames. An empty line or frame carries nothing and is skipped, so a server or a proxy may send
 * them to keep a quiet stream alive.
 */
export class StreamDecoder {
  /** Bytes of an unfinished message held back. */
  buffered = 0;
  readonly #lines: boolean;
  readonly #limit: number;
  // The pieces of the unfinished message, joined once it is complete (a 1 MB message arriving in
  // 64 KiB chunks is copied once, not once per chunk).
  #held: Uint8Array[] = [];
  // Frames: the length of the frame being read, once its 4 bytes arrived; -1 before.
  #length = -1;

  constructor(lines: boolean, limit: number) {
    this.#lines = lines;
    this.#limit = limit;
  }

  /** Takes the next chunk; returns the messages it completes. Throws for one over the limit. */
  push(chunk: Uint8Array): Uint8Array[] {
    const messages: Uint8Array[] = [];
    let rest = chunk;
    for (;;) {
      let size: number;
      if (this.#lines) {
        size = rest.indexOf(newline);
        if (size === -1) break;
        this.#check(this.buffered + size);
      } else {
        if (this.#length === -1) {
          if (this.buffered + rest.length < 4) break;
          rest = this.#take(rest);
          // Refused before a byte of it is held: the length alone says it is too large.
          this.#length = this.#check(new DataView(rest.buffer, rest.byteOffset, 4).getUint32(0));
          rest = rest.subarray(4);
        }
        size = this.#length - this.buffered;
        if (rest.length < size) break;
        this.#length = -1;
      }
      const message = this.#take(rest.subarray(0, size));
      if (message.length > 0) messages.push(message);
      rest = rest.subarray(this.#lines ? size + 1 : size);
    }
    if (rest.length > 0) {
      this.#held.push(rest);
      this.buffered += rest.length;
    }
    // An unfinished line over the limit fails now, not once its end arrives.
    if (this.#lines && this.buffered > this.#limit) throw tooLargeError(undefined, this.#limit);
    return messages;
  }

  #check(size: number): number {
    if (size > this.#limit) throw tooLargeError(size, this.#limit);
    return size;
  }

  // What is held and then `tail`, as one array; holds nothing after.
  #take(tail: Uint8Array): Uint8Array {
    if (this.buffered === 0) return tail;
    const whole = joinBytes([...this.#held, tail], this.buffered + tail.length);
    this.#held = [];
    this.buffered = 0;
    return whole;
  }
}
