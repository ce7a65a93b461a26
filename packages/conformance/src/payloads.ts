// Text that trips naive framings and encodings: multi-byte characters, a surrogate pair, quotes,
// backslashes, control characters, a newline, and an LSP header.
const TEXT_UNIT = 'aé✓😀"\\\t\n\r\u0000Content-Length: 3\r\n\r\n{}';
const encoder = new TextEncoder();

/**
 * A string of exactly `size` UTF-8 bytes that mixes multi-byte characters, control characters,
 * newlines, quotes and an LSP header, so a transport that is not text-safe corrupts it.
 */
export function textPayload(size: number): string {
  const unitSize = encoder.encode(TEXT_UNIT).length;
  const whole = TEXT_UNIT.repeat(Math.floor(size / unitSize));
  return whole + 'x'.repeat(size - encoder.encode(whole).length);
}

/**
 * `size` bytes holding every byte value, a newline, CR LF and an LSP header, so a transport that
 * is not binary-safe corrupts them.
 */
export function binaryPayload(size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  const header = encoder.encode('\r\n\r\nContent-Length: 99\r\n\r\n\n');
  for (let i = 0; i < size; i++) bytes[i] = (i * 167 + 13) & 0xff;
  bytes.set(header.subarray(0, Math.max(0, Math.min(header.length, size - 1))), Math.min(1, size));
  return bytes;
}

/** `undefined` when `actual` equals `expected`; otherwise where and how they first differ. */
export function payloadDifference(
  actual: unknown,
  expected: string | Uint8Array,
): string | undefined {
  if (typeof expected === 'string') {
    if (actual === expected) return undefined;
    if (typeof actual !== 'string') return `expected a string, got ${describe(actual)}`;
    return `${describeLengths(actual.length, expected.length)}first difference at character ${String(firstDifference(actual, expected))}`;
  }
  if (!(actual instanceof Uint8Array)) return `expected a Uint8Array, got ${describe(actual)}`;
  if (actual.length === expected.length && actual.every((byte, i) => byte === expected[i]))
    return undefined;
  return `${describeLengths(actual.length, expected.length)}first difference at byte ${String(firstDifference(actual, expected))}`;
}

function firstDifference(a: ArrayLike<unknown>, b: ArrayLike<unknown>): number {
  const length = Math.min(a.length, b.length);
  for (let i = 0; i < length; i++) if (a[i] !== b[i]) return i;
  return length;
}

const describeLengths = (actual: number, expected: number): string =>
  actual === expected ? '' : `length ${String(actual)} instead of ${String(expected)}, `;

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value;
  return Object.prototype.toString.call(value).slice(8, -1);
}
