import { Buffer, isUtf8 } from 'node:buffer';
import { defaultLimits, TransportError, type Message } from '@tinyrpc/core';
import { tooLargeError } from '@tinyrpc/core/transport';

/**
 * How messages are delimited on a byte stream.
 *
 * - `'content-length'`: each message follows a `Content-Length: <bytes>` header block ended by an
 *   empty line, as the Language Server Protocol frames them. Binary-safe.
 * - `'newline'`: each message is one line of UTF-8 text ended by `\n` (NDJSON style). Text only.
 */
export type Framing = 'content-length' | 'newline';

/** How received messages are handed over: `'auto'` as text when they are text, `'bytes'` always as bytes. */
export type ReceiveAs = 'auto' | 'bytes';

/** Options of {@link createFrameDecoder} and {@link encodeFrame}. */
export interface FramingOptions {
  /** Default `'content-length'`. */
  readonly framing?: Framing;
  /** The largest message body, in bytes, sent or received. Default `defaultLimits.maxMessageSize` (1 MiB). */
  readonly maxMessageSize?: number;
  /** Default `'auto'`; see {@link ReceiveAs}. */
  readonly receiveAs?: ReceiveAs;
}

/** Turns the chunks of a byte stream back into messages. */
export interface FrameDecoder {
  /**
   * Takes the next chunk, which must not change afterwards; returns the messages it completes.
   * Throws a `TransportError` on a bad frame, after which the stream cannot be read on; the
   * messages of the chunk before the bad frame are carried by that error (`messagesBefore(error)`).
   */
  push(chunk: Uint8Array): Message[];
  /** How many bytes of an unfinished frame are buffered. */
  readonly buffered: number;
}

/** The most bytes a `Content-Length` header block may take. */
export const MAX_HEADER_SIZE = 8192;

const OCTET_STREAM = 'application/octet-stream';
const NEWLINE = 0x0a;
const CR = 0x0d;
const HEADER_END = Buffer.from('\r\n\r\n');

// Errors for a message over maxMessageSize (as opposed to broken framing), and the messages of the
// chunk that came before the error was found.
const oversize = new WeakSet<Error>();
const before = new WeakMap<Error, Message[]>();

const tooLarge = (size: number | undefined, max: number): TransportError => {
  const error = tooLargeError(size, max);
  oversize.add(error);
  return error;
};

/** Internal: `true` for a decoder's error about a message over `maxMessageSize`. */
export const isTooLarge = (error: unknown): boolean =>
  error instanceof Error && oversize.has(error);

/** Internal: the messages the chunk completed before the frame that made `push` throw `error`. */
export const messagesBefore = (error: unknown): Message[] =>
  (error instanceof Error ? before.get(error) : undefined) ?? [];

// Runs one push, keeping the messages completed before a bad frame with the error it throws.
function collecting(push: (messages: Message[]) => void): Message[] {
  const messages: Message[] = [];
  try {
    push(messages);
  } catch (error) {
    if (error instanceof Error && messages.length > 0) before.set(error, messages);
    throw error;
  }
  return messages;
}

/**
 * The pieces to write for one message, checked against the framing and the size limit.
 *
 * Throws a `TransportError`, writing nothing, for a message over `maxMessageSize`, and under
 * newline framing for bytes and for text holding a line break.
 */
export function encodeFrame(
  message: Message,
  options: FramingOptions = {},
): (string | Uint8Array)[] {
  const max = options.maxMessageSize ?? defaultLimits.maxMessageSize;
  const size = typeof message === 'string' ? Buffer.byteLength(message) : message.length;
  if (size > max) throw tooLarge(size, max);
  if (options.framing === 'newline') {
    if (typeof message !== 'string') {
      throw new TransportError(
        "Newline framing carries text only; use framing: 'content-length' for binary messages",
      );
    }
    if (message.includes('\n') || message.includes('\r')) {
      throw new TransportError(
        "A message with a line break cannot be sent with newline framing; use framing: 'content-length'",
      );
    }
    if (message === '') throw new TransportError('Newline framing cannot carry an empty message');
    return [`${message}\n`];
  }
  // Text as one piece: one string for the socket to encode costs less than two.
  return typeof message === 'string'
    ? [`Content-Length: ${String(size)}\r\n\r\n${message}`]
    : [`Content-Length: ${String(size)}\r\nContent-Type: ${OCTET_STREAM}\r\n\r\n`, message];
}

/** Creates a decoder for one stream of the given framing. */
export function createFrameDecoder(options: FramingOptions = {}): FrameDecoder {
  const max = options.maxMessageSize ?? defaultLimits.maxMessageSize;
  const receiveAs = options.receiveAs ?? 'auto';
  return options.framing === 'newline'
    ? new NewlineDecoder(max, receiveAs)
    : new ContentLengthDecoder(max, receiveAs);
}

// Chunks of an unfinished frame, joined once when it is complete (so a 1 MB frame arriving in
// 64 KiB chunks is copied once, not once per chunk).
class Pieces {
  readonly #pieces: Uint8Array[] = [];
  length = 0;

  add(piece: Uint8Array): void {
    if (piece.length === 0) return;
    this.#pieces.push(piece);
    this.length += piece.length;
  }

  /**
   * Everything added and then `tail`, as one array; empties the pieces. With nothing added, `tail`
   * itself: the decoder's chunks do not change afterwards, so a frame within one chunk is not copied.
   */
  take(tail?: Uint8Array): Uint8Array {
    if (this.#pieces.length === 0 && tail !== undefined) return tail;
    const whole = new Uint8Array(this.length + (tail?.length ?? 0));
    let offset = 0;
    for (const piece of this.#pieces) {
      whole.set(piece, offset);
      offset += piece.length;
    }
    if (tail !== undefined) whole.set(tail, offset);
    this.#pieces.length = 0;
    this.length = 0;
    return whole;
  }
}

// Text when it is valid UTF-8 (and not marked binary); otherwise the bytes, so nothing is lost and
// the protocol answers what it cannot read.
function deliver(body: Uint8Array, asText: boolean): Message {
  if (asText && isUtf8(body))
    return Buffer.from(body.buffer, body.byteOffset, body.length).toString('utf8');
  return body;
}

class NewlineDecoder implements FrameDecoder {
  readonly #max: number;
  readonly #asText: boolean;
  readonly #line = new Pieces();

  constructor(max: number, receiveAs: ReceiveAs) {
    this.#max = max;
    this.#asText = receiveAs === 'auto';
  }

  get buffered(): number {
    return this.#line.length;
  }

  push(chunk: Uint8Array): Message[] {
    return collecting((messages) => {
      this.#push(chunk, messages);
    });
  }

  #push(chunk: Uint8Array, messages: Message[]): void {
    let start = 0;
    for (;;) {
      const end = chunk.indexOf(NEWLINE, start);
      if (end === -1) break;
      const size = this.#line.length + end - start;
      if (size > this.#max + 1) throw tooLarge(size, this.#max);
      let line = this.#line.take(chunk.subarray(start, end));
      if (line.length > 0 && line[line.length - 1] === CR) line = line.subarray(0, -1);
      if (line.length > this.#max) throw tooLarge(line.length, this.#max);
      // Blank lines are skipped, so a peer may send them to keep a connection alive.
      if (line.length > 0) messages.push(deliver(line, this.#asText));
      start = end + 1;
    }
    this.#line.add(chunk.subarray(start));
    // An unfinished line over the limit fails now, not once its end arrives.
    if (this.#line.length > this.#max + 1) throw tooLarge(undefined, this.#max);
  }
}

class ContentLengthDecoder implements FrameDecoder {
  readonly #max: number;
  readonly #receiveAs: ReceiveAs;
  #header: Uint8Array = new Uint8Array(0);
  readonly #body = new Pieces();
  // Set while a body is being read: its length and whether it is text.
  #expect: { length: number; asText: boolean } | undefined;

  constructor(max: number, receiveAs: ReceiveAs) {
    this.#max = max;
    this.#receiveAs = receiveAs;
  }

  get buffered(): number {
    return this.#header.length + this.#body.length;
  }

  push(chunk: Uint8Array): Message[] {
    return collecting((messages) => {
      this.#push(chunk, messages);
    });
  }

  #push(chunk: Uint8Array, messages: Message[]): void {
    let rest = chunk;
    while (rest.length > 0) {
      let body: Uint8Array;
      if (this.#expect === undefined) {
        // Header blocks are small (bounded by MAX_HEADER_SIZE), so joining them is cheap.
        const header = this.#header.length === 0 ? rest : concat(this.#header, rest);
        // Fail at once, not after 8 KiB, when the peer sends JSON or uses newline framing.
        if (!isTokenByte(header[0] as number)) {
          throw new TransportError(
            "A frame does not start with a header (is the peer using framing: 'newline'?)",
          );
        }
        const end = Buffer.from(header.buffer, header.byteOffset, header.length).indexOf(
          HEADER_END,
        );
        if (end === -1) {
          if (header.length > MAX_HEADER_SIZE)
            throw new TransportError(
              `A header block is longer than ${String(MAX_HEADER_SIZE)} bytes`,
            );
          this.#header = new Uint8Array(header);
          break;
        }
        this.#expect = this.#parseHeader(header.subarray(0, end));
        this.#header = new Uint8Array(0);
        rest = header.subarray(end + HEADER_END.length);
        if (this.#expect.length > 0) continue;
        body = new Uint8Array(0);
      } else {
        const needed = this.#expect.length - this.#body.length;
        if (rest.length < needed) {
          this.#body.add(rest);
          break;
        }
        body = this.#body.take(rest.subarray(0, needed));
        rest = rest.subarray(needed);
      }
      messages.push(deliver(body, this.#expect.asText));
      this.#expect = undefined;
    }
  }

  #parseHeader(block: Uint8Array): { length: number; asText: boolean } {
    if (block.length > MAX_HEADER_SIZE)
      throw new TransportError(`A header block is longer than ${String(MAX_HEADER_SIZE)} bytes`);
    const text = Buffer.from(block.buffer, block.byteOffset, block.length).toString('latin1');
    // The block nearly every frame has (what encodeFrame writes for text), read without the loop.
    const common = /^Content-Length: (\d{1,16})$/.exec(text);
    if (common !== null) {
      const length = Number(common[1]);
      if (length > this.#max) throw tooLarge(length, this.#max);
      return { length, asText: this.#receiveAs === 'auto' };
    }
    let length: number | undefined;
    let asText = this.#receiveAs === 'auto';
    for (const line of text.split('\r\n')) {
      const colon = line.indexOf(':');
      if (colon <= 0)
        throw new TransportError(`Malformed header line ${JSON.stringify(line.slice(0, 80))}`);
      const name = line.slice(0, colon).toLowerCase();
      if (!HEADER_NAME.test(name))
        throw new TransportError(`Malformed header line ${JSON.stringify(line.slice(0, 80))}`);
      const value = line.slice(colon + 1).trim();
      if (name === 'content-length') {
        if (!/^\d{1,16}$/.test(value) || (length !== undefined && length !== Number(value)))
          throw new TransportError(`Invalid Content-Length ${JSON.stringify(value.slice(0, 80))}`);
        length = Number(value);
      } else if (name === 'content-type' && value.toLowerCase().startsWith(OCTET_STREAM)) {
        asText = false;
      }
    }
    if (length === undefined) throw new TransportError('A header block has no Content-Length');
    if (length > this.#max) throw tooLarge(length, this.#max);
    return { length, asText };
  }
}

// RFC 9110 token characters, which header names are made of.
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9a-z-]+$/;
const isTokenByte = (byte: number): boolean =>
  HEADER_NAME.test(String.fromCharCode(byte).toLowerCase());

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}
