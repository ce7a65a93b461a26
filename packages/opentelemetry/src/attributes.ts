import { RpcError } from '@tinyrpc/core';
import { SpanStatusCode, type Attributes, type Histogram, type Span } from '@opentelemetry/api';

// Names from OpenTelemetry's semantic conventions for RPC (JSON-RPC section).
export const RPC_SYSTEM = 'rpc.system';
export const RPC_METHOD = 'rpc.method';
export const RPC_JSONRPC_VERSION = 'rpc.jsonrpc.version';
export const RPC_JSONRPC_REQUEST_ID = 'rpc.jsonrpc.request_id';
export const RPC_JSONRPC_ERROR_CODE = 'rpc.jsonrpc.error_code';
export const RPC_JSONRPC_ERROR_MESSAGE = 'rpc.jsonrpc.error_message';

// Enough for every method a service has; names beyond it (a client trying names) are not cached.
const cacheLimit = 1000;

/**
 * The attributes every span and measurement of a call starts with, one frozen object per method:
 * the same object serves every call, so a call allocates none.
 */
export function attributesOf(system: string): (method: string) => Attributes {
  const cache = new Map<string, Attributes>();
  return (method) => {
    let attributes = cache.get(method);
    if (attributes === undefined) {
      attributes = Object.freeze(
        system === 'jsonrpc'
          ? { [RPC_SYSTEM]: system, [RPC_METHOD]: method, [RPC_JSONRPC_VERSION]: '2.0' }
          : { [RPC_SYSTEM]: system, [RPC_METHOD]: method },
      );
      if (cache.size < cacheLimit) cache.set(method, attributes);
    }
    return attributes;
  };
}

/** Marks `span` as failed by `error`, with its RPC error code and message where it has them. */
export function recordFailure(span: Span, error: unknown): void {
  if (!span.isRecording()) return;
  if (RpcError.is(error)) {
    span.setAttribute(RPC_JSONRPC_ERROR_CODE, error.code);
    span.setAttribute(RPC_JSONRPC_ERROR_MESSAGE, error.message);
  }
  if (error instanceof Error) span.recordException(error);
  span.setStatus({
    code: SpanStatusCode.ERROR,
    message: error instanceof Error ? error.message : String(error),
  });
}

/**
 * Ends a call's span and records its duration, where there are; a function of its own rather than
 * a closure made per call. The client's request id is known only once the request was built, so
 * it comes here.
 */
export function finish(
  span: Span | undefined,
  call: { readonly id: string | number | null | undefined } | undefined,
  duration: Histogram | undefined,
  started: number,
  attributes: Attributes,
): void {
  if (duration !== undefined) duration.record(performance.now() - started, attributes);
  if (span === undefined) return;
  if (call?.id !== undefined && call.id !== null && span.isRecording())
    span.setAttribute(RPC_JSONRPC_REQUEST_ID, String(call.id));
  span.end();
}
