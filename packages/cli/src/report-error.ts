import { RemoteError } from '@tinyrpc/core';
import { stylesFor, type CliIo } from './cli-io.ts';
import { UsageError } from './usage-error.ts';

/** Exit codes: a result, an error response, an endpoint that cannot be reached or wrong arguments. */
export const exitCodes = { ok: 0, errorResponse: 1, failure: 2 } as const;

/**
 * Prints `error` on stderr and answers the exit code: 1 for an error response (its code and
 * message, and data when there is some), 2 for anything else — wrong arguments (with a pointer to
 * `--help`), an endpoint that cannot be reached, a timeout, a reply that makes no sense.
 */
export function reportError(error: unknown, io: CliIo, command: string): number {
  const { red } = stylesFor(io.stderr, io.env);
  if (RemoteError.is(error)) {
    io.stderr.write(`${red('error')} ${String(error.code)}: ${error.message}\n`);
    if (error.data !== undefined) io.stderr.write(`data: ${toJson(error.data)}\n`);
    return exitCodes.errorResponse;
  }
  if (UsageError.is(error)) {
    io.stderr.write(`${red('tinyrpc')}: ${error.message}\n(see tinyrpc ${command} --help)\n`);
    return exitCodes.failure;
  }
  io.stderr.write(`${red('failed')}: ${errorText(error)}\n`);
  return exitCodes.failure;
}

/**
 * JSON text of a value that came over the wire, indented: `bigint`s (MessagePack's large
 * integers) as decimal strings, bytes as base64 strings, `undefined` as `null`.
 */
export function toJson(value: unknown): string {
  // JSON.stringify answers undefined for undefined, whatever its declared type says.
  const text = JSON.stringify(
    value,
    function (this: Record<string, unknown>, key: string, item: unknown) {
      // `this[key]` is the value before its own toJSON ran (a Buffer's gives a number array).
      const original = this[key];
      if (typeof original === 'bigint') return original.toString();
      if (original instanceof Uint8Array) return Buffer.from(original).toString('base64');
      return item;
    },
    2,
  ) as string | undefined;
  return text ?? 'null';
}

/** One line about any error: an error response's code and message, else the error's name and message. */
export function errorText(error: unknown): string {
  if (RemoteError.is(error)) return `${String(error.code)}: ${error.message}`;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return toJson(error);
}
