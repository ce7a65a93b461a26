import { ServerError, type RpcErrorObject } from '@tinyrpc/core';

const textDecoder = new TextDecoder();

/** A map as msgpackr reads it: a plain object, or a `Map` when `mapsAsObjects` is off. */
function asRecord(value: object): Record<string, unknown> | undefined {
  if (value instanceof Map) {
    const record: Record<string, unknown> = {};
    for (const [key, item] of value as Map<unknown, unknown>) {
      if (typeof key === 'string') record[key] = item;
    }
    return record;
  }
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null
    ? (value as Record<string, unknown>)
    : undefined;
}

function asCode(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) ? value : undefined;
  if (typeof value === 'bigint') {
    const code = Number(value);
    return Number.isSafeInteger(code) ? code : undefined;
  }
  return undefined;
}

function asText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  // Old MessagePack peers write text as raw bytes.
  if (value instanceof Uint8Array) return textDecoder.decode(value);
  return undefined;
}

const withData = (code: number, message: string, data: unknown): RpcErrorObject =>
  data === undefined ? { code, message } : { code, message, data };

/**
 * Reads the error member of a response, whatever shape the peer gave it, into a code, a message and
 * data.
 *
 * - `[code, message]` (Python tinyrpc) and `[code, message, data]` (this package with `errorData`);
 * - a map with `code`/`message`/`data`, or the `error_code`/`error` of early Python tinyrpc;
 * - a bare string (msgpack-rpc-python and others): the message, with the server-error code -32000;
 * - a bare integer: the code;
 * - anything else: code -32000 and the value itself as `data`.
 */
export function readError(value: unknown): RpcErrorObject {
  const generic = ServerError.defaultCode;
  const text = asText(value);
  if (text !== undefined) return { code: generic, message: text };
  const code = asCode(value);
  if (code !== undefined) return { code, message: `Remote error ${String(code)}` };
  if (Array.isArray(value)) {
    const [first, second, ...rest] = value as unknown[];
    const arrayCode = asCode(first);
    const message = asText(second);
    if (arrayCode !== undefined && message !== undefined && rest.length <= 1) {
      return withData(arrayCode, message, rest[0]);
    }
    return { code: generic, message: 'Remote error', data: value };
  }
  const record = typeof value === 'object' && value !== null ? asRecord(value) : undefined;
  if (record !== undefined) {
    const recordCode = asCode(record['code'] ?? record['error_code'] ?? record['errorCode']);
    const message = asText(record['message'] ?? record['error'] ?? record['msg']);
    if (recordCode === undefined && message === undefined) {
      return { code: generic, message: 'Remote error', data: value };
    }
    return withData(recordCode ?? generic, message ?? 'Remote error', record['data']);
  }
  const message =
    typeof value === 'boolean' || typeof value === 'number' || typeof value === 'bigint'
      ? String(value)
      : 'Remote error';
  return { code: generic, message, data: value };
}
