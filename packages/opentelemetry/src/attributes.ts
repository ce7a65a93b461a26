import { RpcError } from '@tinyrpc/core';
import { SpanStatusCode, type Attributes, type Span } from '@opentelemetry/api';

// Names from OpenTelemetry's semantic conventions for RPC (JSON-RPC section).
export const RPC_SYSTEM = 'rpc.system';
export const RPC_METHOD = 'rpc.method';
export const RPC_JSONRPC_VERSION = 'rpc.jsonrpc.version';
export const RPC_JSONRPC_REQUEST_ID = 'rpc.jsonrpc.request_id';
export const RPC_JSONRPC_ERROR_CODE = 'rpc.jsonrpc.error_code';
export const RPC_JSONRPC_ERROR_MESSAGE = 'rpc.jsonrpc.error_message';

/** What every span and measurement of a call starts with. */
export function callAttributes(system: string, method: string): Attributes {
  return system === 'jsonrpc'
    ? { [RPC_SYSTEM]: system, [RPC_METHOD]: method, [RPC_JSONRPC_VERSION]: '2.0' }
    : { [RPC_SYSTEM]: system, [RPC_METHOD]: method };
}

/** Marks `span` as failed by `error`, with its RPC error code and message where it has them. */
export function recordFailure(span: Span, error: unknown): void {
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
