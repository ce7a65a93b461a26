import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TransportError, type Message } from '@tinyrpc/core';
import {
  createFrameDecoder,
  encodeFrame,
  MAX_HEADER_SIZE,
  type Framing,
  type FramingOptions,
} from '@tinyrpc/transport-stream';

const encoder = new TextEncoder();
const toBytes = (piece: string | Uint8Array): Uint8Array =>
  typeof piece === 'string' ? encoder.encode(piece) : piece;

/** The bytes a stream carries for `messages`, framed one after another. */
function wire(messages: readonly Message[], options: FramingOptions): Uint8Array {
  const pieces = messages.flatMap((m) => encodeFrame(m, options)).map(toBytes);
  const bytes = new Uint8Array(pieces.reduce((sum, p) => sum + p.length, 0));
  let offset = 0;
  for (const piece of pieces) {
    bytes.set(piece, offset);
    offset += piece.length;
  }
  return bytes;
}

/** Feeds `bytes` to a fresh decoder cut at `cuts`; returns every message decoded. */
function decode(bytes: Uint8Array, cuts: readonly number[], options: FramingOptions): Message[] {
  const decoder = createFrameDecoder(options);
  const points = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const messages: Message[] = [];
  let start = 0;
  for (const point of [...points, bytes.length]) {
    // Each chunk is a copy, as a socket hands over fresh buffers.
    messages.push(...decoder.push(bytes.slice(start, point)));
    start = point;
  }
  expect(decoder.buffered).toBe(0);
  return messages;
}

const decodeError = (input: string | Uint8Array, options: FramingOptions = {}): unknown => {
  try {
    createFrameDecoder(options).push(toBytes(input));
  } catch (error) {
    return error;
  }
  return undefined;
};

// Text of any Unicode (lone surrogates excluded: UTF-8 cannot carry them).
const text = fc.string({ unit: 'grapheme', maxLength: 200 });
const line = text.filter((s) => s !== '' && !s.includes('\n') && !s.includes('\r'));
const bytes = fc.uint8Array({ maxLength: 300 });
const cuts = fc.array(fc.nat(), { maxLength: 40 });

describe('framing: partial and coalesced chunks', () => {
  it('content-length: any messages survive any split into chunks, text as text, bytes as bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(text, bytes), { maxLength: 20 }), cuts, (messages, points) => {
        const options = { framing: 'content-length' as const };
        expect(decode(wire(messages, options), points, options)).toEqual(messages);
      }),
      { numRuns: 300 },
    );
  });

  it('newline: any lines survive any split into chunks', () => {
    fc.assert(
      fc.property(fc.array(line, { maxLength: 20 }), cuts, (messages, points) => {
        const options = { framing: 'newline' as const };
        expect(decode(wire(messages, options), points, options)).toEqual(messages);
      }),
      { numRuns: 300 },
    );
  });

  it('reassembles a 1 MB frame arriving a byte at a time at the edges and in 64 KiB chunks', () => {
    for (const framing of ['content-length', 'newline'] as const) {
      const message = 'x'.repeat(1_000_000) + 'é';
      const stream = wire([message, 'next'], { framing });
      const points = [1, 2, 3, 4, 5, 6, 7];
      for (let p = 65_536; p < stream.length; p += 65_536) points.push(p);
      points.push(stream.length - 2, stream.length - 1);
      expect(decode(stream, points, { framing })).toEqual([message, 'next']);
    }
  });

  it('random garbage only ever fails with a TransportError', () => {
    for (const framing of ['content-length', 'newline'] as const satisfies Framing[]) {
      fc.assert(
        fc.property(fc.array(fc.uint8Array({ maxLength: 100 }), { maxLength: 10 }), (chunks) => {
          const decoder = createFrameDecoder({ framing, maxMessageSize: 64 });
          try {
            for (const chunk of chunks) decoder.push(chunk);
          } catch (error) {
            expect(error).toBeInstanceOf(TransportError);
          }
        }),
        { numRuns: 300 },
      );
    }
  });
});

describe('framing: content-length', () => {
  it('writes the LSP header, and marks bytes as application/octet-stream', () => {
    expect(encodeFrame('{"a":"é"}')).toEqual(['Content-Length: 10\r\n\r\n{"a":"é"}']);
    expect(encodeFrame(new Uint8Array([1, 2]))).toEqual([
      'Content-Length: 2\r\nContent-Type: application/octet-stream\r\n\r\n',
      new Uint8Array([1, 2]),
    ]);
  });

  it('reads headers case-insensitively and ignores other headers, as LSP peers send them', () => {
    const frame =
      'content-length: 2\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8\r\n\r\n{}';
    expect(createFrameDecoder().push(encoder.encode(frame))).toEqual(['{}']);
  });

  it('hands over bytes that are not UTF-8 as bytes, and everything as bytes with receiveAs', () => {
    const frame = [...encoder.encode('Content-Length: 2\r\n\r\n'), 0xff, 0xfe];
    expect(createFrameDecoder().push(Uint8Array.from(frame))).toEqual([
      Uint8Array.from([0xff, 0xfe]),
    ]);
    expect(
      createFrameDecoder({ receiveAs: 'bytes' }).push(
        encoder.encode('Content-Length: 2\r\n\r\n{}'),
      ),
    ).toEqual([encoder.encode('{}')]);
  });

  it('carries an empty message', () => {
    expect(createFrameDecoder().push(toBytes(wire(['', 'a'], {})))).toEqual(['', 'a']);
  });

  it('rejects a frame over maxMessageSize as soon as its header arrives', () => {
    const error = decodeError('Content-Length: 101\r\n\r\n', { maxMessageSize: 100 });
    expect(error).toBeInstanceOf(TransportError);
    expect(String(error)).toMatch(/101 bytes is over the limit of 100 bytes \(maxMessageSize\)/);
    expect(() => encodeFrame('x'.repeat(101), { maxMessageSize: 100 })).toThrow(/maxMessageSize/);
  });

  it.each([
    ['no Content-Length', 'Content-Type: text/plain\r\n\r\n', /no Content-Length/],
    ['a length that is not a number', 'Content-Length: 12a\r\n\r\n', /Invalid Content-Length/],
    ['a negative length', 'Content-Length: -1\r\n\r\n', /Invalid Content-Length/],
    ['two different lengths', 'Content-Length: 1\r\nContent-Length: 2\r\n\r\n', /Invalid/],
    ['a line without a colon', 'Content-Length 2\r\n\r\n', /Malformed header line/],
    ['a space in a header name', 'Content Length: 2\r\n\r\n', /Malformed header line/],
    ['JSON where a header belongs', '{"jsonrpc":"2.0"}\n', /does not start with a header/],
  ])('rejects a header block with %s', (_, input, message) => {
    const error = decodeError(input);
    expect(error).toBeInstanceOf(TransportError);
    expect(String(error)).toMatch(message);
  });

  it('rejects a header block that never ends', () => {
    const error = decodeError('X-Padding: ' + 'a'.repeat(MAX_HEADER_SIZE));
    expect(String(error)).toMatch(/header block is longer/);
  });
});

describe('framing: newline', () => {
  const options = { framing: 'newline' as const };

  it('writes a line; refuses bytes, line breaks and empty messages', () => {
    expect(encodeFrame('{"a":1}', options)).toEqual(['{"a":1}\n']);
    expect(() => encodeFrame(new Uint8Array([1]), options)).toThrow(/text only/);
    expect(() => encodeFrame('a\nb', options)).toThrow(/line break/);
    expect(() => encodeFrame('a\rb', options)).toThrow(/line break/);
    expect(() => encodeFrame('', options)).toThrow(TransportError);
  });

  it('reads CR LF line ends and skips blank lines', () => {
    expect(createFrameDecoder(options).push(encoder.encode('a\r\n\n\r\nb\n'))).toEqual(['a', 'b']);
  });

  it('hands over a line that is not UTF-8 as bytes', () => {
    expect(createFrameDecoder(options).push(Uint8Array.from([0xff, 0x0a]))).toEqual([
      Uint8Array.from([0xff]),
    ]);
  });

  it('rejects a line over maxMessageSize before its end arrives', () => {
    const decoder = createFrameDecoder({ ...options, maxMessageSize: 10 });
    expect(decoder.push(encoder.encode('0123456789\n'))).toEqual(['0123456789']);
    expect(() => decoder.push(encoder.encode('0123456789ab'))).toThrow(/maxMessageSize/);
  });
});
