import type { ServerInterceptor } from '@tinyrpc/core';
import { propagation, ROOT_CONTEXT, SpanKind, trace, type TextMapGetter } from '@opentelemetry/api';
import { RPC_JSONRPC_REQUEST_ID } from './attributes.ts';
import { runInSpan } from './run-in-span.ts';
import { instruments, type TracingOptions } from './tracing-options.ts';

type Headers = Readonly<Record<string, string | string[] | undefined>>;

// Header names arrive in any case (HTTP lower-cases them, message headers keep theirs).
const headerGetter: TextMapGetter<Headers> = {
  keys: (carrier) => Object.keys(carrier),
  get(carrier, key) {
    const value =
      carrier[key] ?? Object.entries(carrier).find(([name]) => name.toLowerCase() === key)?.[1];
    return Array.isArray(value) ? value[0] : value;
  },
};

/**
 * A server interceptor that makes one SERVER span per call, the child of the caller's span when the
 * call brought a trace context (in the transport's headers, or in the request's `meta` on a
 * connection), records its duration in `rpc.server.duration`, and runs the method inside the span's
 * context so spans the method makes are its children.
 */
export function serverTracing(options: TracingOptions = {}): ServerInterceptor {
  const { tracer, duration, attributes: attributesOf } = instruments(options, 'server');
  return (call, next) => {
    const parent = propagation.extract(ROOT_CONTEXT, call.headers, headerGetter);
    const attributes = attributesOf(call.method);
    const span = tracer.startSpan(call.method, { kind: SpanKind.SERVER, attributes }, parent);
    if (call.id !== undefined && call.id !== null && span.isRecording())
      span.setAttribute(RPC_JSONRPC_REQUEST_ID, String(call.id));
    return runInSpan(
      { span, active: trace.setSpan(parent, span), call: undefined, duration, attributes },
      next,
    );
  };
}
