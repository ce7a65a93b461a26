import { TransportError } from '../errors.ts';
import type { Message } from '../types.ts';

const encoder = new TextEncoder();

/** The size of a message in bytes as it travels: UTF-8 for text. */
export function messageSize(message: Message): number {
  if (typeof message !== 'string') return message.byteLength;
  // Pure ASCII is the common case and needs no encoding to measure; otherwise count UTF-8 bytes.
  // eslint-disable-next-line no-control-regex -- the ASCII range is the point
  return /^[\x00-\x7f]*$/.test(message) ? message.length : encoder.encode(message).byteLength;
}

/**
 * The error for a message over a `maxMessageSize`, with the same words on every transport; `size`
 * may be `undefined` where only "more than the limit" is known (a stream cut short).
 */
export function tooLargeError(size: number | undefined, limit: number): TransportError {
  const what = size === undefined ? 'A message' : `A message of ${String(size)} bytes`;
  return new TransportError(`${what} is over the limit of ${String(limit)} bytes (maxMessageSize)`);
}
