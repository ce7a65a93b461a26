import { RpcError, ServerError } from './errors.ts';
import type { RpcErrorObject } from './types.ts';

/**
 * Turns anything a method threw into the error object of a response.
 *
 * An {@link RpcError} keeps its code, message and data. Any other error answers as a server error
 * (-32000) carrying its message, as Python tinyrpc does, or the generic `'Server error'` when
 * `hideMessage` is set. Stacks never travel. Protocol implementations call this from `errorRespond`.
 */
export function toErrorObject(error: unknown, hideMessage = false): RpcErrorObject {
  if (RpcError.is(error)) {
    return error.data === undefined
      ? { code: error.code, message: error.message }
      : { code: error.code, message: error.message, data: error.data };
  }
  if (hideMessage) return { code: ServerError.defaultCode, message: ServerError.defaultMessage };
  return { code: ServerError.defaultCode, message: messageOf(error) };
}

// Anything can be thrown, including objects that refuse to become strings (`Object.create(null)`,
// a throwing `toString` or `message` getter): those answer the generic message rather than escape.
function messageOf(error: unknown): string {
  try {
    const message = error instanceof Error ? error.message : error;
    return typeof message === 'string' ? message : String(message);
  } catch {
    return ServerError.defaultMessage;
  }
}
