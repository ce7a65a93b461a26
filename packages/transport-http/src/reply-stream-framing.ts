import { TransportError, type Message } from '@tinyrpc/core';
import { tooLargeError } from '@tinyrpc/core/transport';
import { sameMediaType } from './content-type.ts';

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

/** Splits the body of a streamed reply back into its messages. */
export interface StreamDecoder {
  /** Takes the next chunk; returns the messages it completes. Throws for one over the limit. */
  push(chunk: Uint8Array): Uint8Array[];
  /** Bytes of an unfinished message held back. */
  readonly buffered: number;
}

/**
 * A decoder for a body of `contentType` when that is a streamed reply's, else `undefined`; no
 * message may be over `limit` bytes (a `TransportError` that names `maxMessageSize`).
 */
export function streamDecoderFor(
  contentType: string | null,
  limit: number,
): StreamDecoder | undefined {
  if (sameMediaType(contentType, ndjsonContentType)) return new LineDecoder(limit);
  if (sameMediaType(contentType, framesContentType)) return new FrameDecoder(limit);
  return undefined;
}

// Chunks of an unfinished message, joined once it is complete (a 1 MB message arriving in 64 KiB
// chunks is copied once, not once per chunk).
class Pieces {
  readonly #pieces: Uint8Array[] = [];
  length = 0;

  add(piece: Uint8Array): void {
    if (piece.length === 0) return;
    this.#pieces.push(piece);
    this.length += piece.length;
  }

  /** Everything added and then `tail`, as one array; empties the pieces. */
  take(tail: Uint8Array): Uint8Array {
    if (this.#pieces.length === 0) return tail;
    const whole = new Uint8Array(this.length + tail.length);
    let offset = 0;
    for (const piece of this.#pieces) {
      whole.set(piece, offset);
      offset += piece.length;
    }
    whole.set(tail, offset);
    this.#pieces.length = 0;
    this.length = 0;
    return whole;
  }
}

// NDJSON: a message ends at `\n`. Blank lines carry nothing and are skipped, so a server or a
// proxy may send them to keep a quiet stream alive.
class LineDecoder implements StreamDecoder {
  readonly #limit: number;
  readonly #line = new Pieces();

  constructor(limit: number) {
    this.#limit = limit;
  }

  get buffered(): number {
    return this.#line.length;
  }

  push(chunk: Uint8Array): Uint8Array[] {
    const messages: Uint8Array[] = [];
    let start = 0;
    for (;;) {
      const end = chunk.indexOf(newline, start);
      if (end === -1) break;
      const size = this.#line.length + end - start;
      if (size > this.#limit) throw tooLargeError(size, this.#limit);
      const line = this.#line.take(chunk.subarray(start, end));
      if (line.length > 0) messages.push(line);
      start = end + 1;
    }
    this.#line.add(chunk.subarray(start));
    // An unfinished line over the limit fails now, not once its end arrives.
    if (this.#line.length > this.#limit) throw tooLargeError(undefined, this.#limit);
    return messages;
  }
}

// Length-prefixed frames: 4 bytes of length (big-endian), then the message. An empty frame carries
// nothing and is skipped, as a blank line is.
class FrameDecoder implements StreamDecoder {
  readonly #limit: number;
  readonly #pending = new Pieces();
  // The length of the frame being read, once its 4 bytes arrived.
  #length: number | undefined;

  constructor(limit: number) {
    this.#limit = limit;
  }

  get buffered(): number {
    return this.#pending.length + (this.#length === undefined ? 0 : 4);
  }

  push(chunk: Uint8Array): Uint8Array[] {
    const messages: Uint8Array[] = [];
    let rest = chunk;
    for (;;) {
      if (this.#length === undefined) {
        if (this.#pending.length + rest.length < 4) break;
        const header = this.#pending.take(rest);
        const length = new DataView(header.buffer, header.byteOffset, 4).getUint32(0);
        // Refused before a byte of it is held: the length alone says it is too large.
        if (length > this.#limit) throw tooLargeError(length, this.#limit);
        this.#length = length;
        rest = header.subarray(4);
      }
      const needed = this.#length - this.#pending.length;
      if (rest.length < needed) break;
      const message = this.#pending.take(rest.subarray(0, needed));
      if (message.length > 0) messages.push(message);
      this.#length = undefined;
      rest = rest.subarray(needed);
    }
    this.#pending.add(rest);
    return messages;
  }
}
