import { C1, Packr, type Options } from 'msgpackr';

/**
 * The msgpackr options MessagePack-RPC messages are written and read with, chosen so that any
 * standard MessagePack peer reads what we write: no msgpackr extensions (records, structures,
 * structured clone, bundled strings, typed-array and `Set` extensions), `undefined` as nil, maps read
 * as plain objects, 64-bit integers read as numbers when they are safe and as `bigint` beyond that,
 * binary data copied out of the message, and map sizes that fit any number of keys.
 */
export const defaultMsgpackrOptions: Readonly<MsgpackrOptions> = Object.freeze({
  useRecords: false,
  structuredClone: false,
  moreTypes: false,
  bundleStrings: false,
  mapsAsObjects: true,
  variableMapSize: true,
  int64AsType: 'auto',
  encodeUndefinedAsNil: true,
  copyBuffers: true,
});

/** msgpackr's `Options`, with the `'auto'` 64-bit integer mode its type declarations leave out. */
export type MsgpackrOptions = Omit<Options, 'int64AsType'> & {
  /** How int64/uint64 values are read; see msgpackr's documentation. */
  int64AsType?: 'auto' | 'bigint' | 'number' | 'string';
};

const INT32_MIN = -0x8000_0000;
const UINT32_MAX = 0xffff_ffff;

/** A whole number that msgpackr would write as a float64 because it does not fit 32 bits. */
const isLargeInteger = (value: number): boolean =>
  (value > UINT32_MAX || value < INT32_MIN) && Number.isSafeInteger(value);

const isPlainObject = (value: object): value is Record<string, unknown> => {
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
};

function hasLargeInteger(value: unknown): boolean {
  if (typeof value === 'number') return isLargeInteger(value);
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return value.some(hasLargeInteger);
  if (value instanceof Map)
    return [...(value as Map<unknown, unknown>).values()].some(hasLargeInteger);
  return isPlainObject(value) && Object.values(value).some(hasLargeInteger);
}

// Copies arrays, plain objects and maps on the way; never changes the caller's values.
function widenIntegers(value: unknown): unknown {
  if (typeof value === 'number') return isLargeInteger(value) ? BigInt(value) : value;
  if (typeof value !== 'object' || value === null) return value;
  if (Array.isArray(value)) return value.map(widenIntegers);
  if (value instanceof Map) {
    return new Map(
      [...(value as Map<unknown, unknown>)].map(([key, item]) => [key, widenIntegers(item)]),
    );
  }
  if (!isPlainObject(value)) return value;
  const copy: Record<string, unknown> = {};
  for (const [key, item] of Object.entries(value)) copy[key] = widenIntegers(item);
  return copy;
}

/** The largest msgpackr buffer a message may stay a view into. */
const SHARED_BUFFER_LIMIT = 16 * 1024;

// Node's Buffer.allocUnsafe takes small copies from its 8 KiB pool: far cheaper than a buffer of
// their own (a malloc and a finalizer each), and still bounded.
const NodeBuffer = (globalThis as { Buffer?: typeof Buffer }).Buffer;
const copyOf: (bytes: Uint8Array) => Uint8Array =
  NodeBuffer === undefined
    ? (bytes) => bytes.slice()
    : (bytes) => {
        const copy = NodeBuffer.allocUnsafe(bytes.length);
        copy.set(bytes);
        return copy;
      };

const INT64_MIN = -(2n ** 63n);
const UINT64_MAX = 2n ** 64n - 1n;

/**
 * Why a decoded value is not standard MessagePack data, or `undefined` when it is. msgpackr reads
 * the never-used byte 0xc1 as a marker object instead of failing, and reads its own extensions
 * (big integers beyond 64 bits, sets, regular expressions, errors) whatever its options say: a
 * 4 MB integer from the wire costs seconds to write back, so these are refused as they arrive.
 */
function nonStandard(value: unknown): string | undefined {
  if (typeof value === 'bigint')
    return value < INT64_MIN || value > UINT64_MAX ? 'an integer beyond 64 bits' : undefined;
  if (typeof value !== 'object' || value === null) return undefined;
  if (value === C1) return 'the never-used byte 0xc1';
  if (Array.isArray(value)) return firstOf(value);
  if (value instanceof Map) {
    for (const [key, item] of value as Map<unknown, unknown>) {
      const reason = nonStandard(key) ?? nonStandard(item);
      if (reason !== undefined) return reason;
    }
    return undefined;
  }
  if (isPlainObject(value)) return firstOf(Object.values(value));
  if (value instanceof Uint8Array || value instanceof Date) return undefined;
  return `a msgpackr extension (${Object.prototype.toString.call(value)})`;
}

function firstOf(values: readonly unknown[]): string | undefined {
  for (const item of values) {
    const reason = nonStandard(item);
    if (reason !== undefined) return reason;
  }
  return undefined;
}

/** How the messages of one protocol instance are written: shared by its requests and responses. */
export class MsgpackCodec {
  /** Send error data as a third element of the error array. */
  readonly errorData: boolean;
  readonly #packr: Packr;
  readonly #largeIntegersAsInt64: boolean;

  constructor(options: MsgpackrOptions, errorData: boolean, largeIntegersAsInt64: boolean) {
    this.#packr = new Packr(options as Options);
    this.errorData = errorData;
    this.#largeIntegersAsInt64 = largeIntegersAsInt64;
  }

  /** Writes `value`; throws a `TypeError` when msgpackr cannot write it. */
  encode(value: unknown): Uint8Array {
    try {
      const packed = this.#packr.pack(
        this.#largeIntegersAsInt64 && hasLargeInteger(value) ? widenIntegers(value) : value,
      );
      // msgpackr returns a view into one buffer that all its instances share (8 KiB at first), and
      // that buffer grows to fit the largest message packed so far. A view into a grown buffer
      // would pin all of it and make a MessagePort clone all of it with every message, so a message
      // much smaller than its buffer is copied out. Large messages stay views (into a buffer at
      // most sixteen times their size): copying them costs more than packing them.
      const { byteLength } = packed.buffer;
      return byteLength > SHARED_BUFFER_LIMIT && byteLength > 16 * packed.byteLength
        ? copyOf(packed)
        : packed;
    } catch (cause) {
      throw new TypeError(`MessagePack cannot encode this value: ${messageOf(cause)}`, { cause });
    }
  }

  /** Reads one MessagePack value that must fill `data` exactly; throws what msgpackr throws. */
  decode(data: Uint8Array): unknown {
    const value: unknown = this.#packr.unpack(data);
    const reason = nonStandard(value);
    if (reason !== undefined) throw new Error(`The MessagePack data holds ${reason}`);
    return value;
  }
}

/** The message of anything thrown. */
export const messageOf = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);
