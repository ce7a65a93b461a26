import type { ClientInterceptor } from '@tinyrpc/core';
import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { runInSpan } from './run-in-span.ts';
import { instruments, type TracingOptions } from './tracing-options.ts';

/**
 * A client interceptor that makes one CLIENT span per call (named after the method, with the RPC
 * semantic conventions' attributes), records its duration in `rpc.client.duration`, and writes
 * the trace context into the call's headers with the global propagator (W3C `traceparent` once one
 * is registered), so the server's span becomes its child.
 */
export function clientTracing(options: TracingOptions = {}): ClientInterceptor {
  const { tracer, duration, attributes: attributesOf } = instruments(options, 'client');
  return (call, next) => {
    const attributes = attributesOf(call.method);
    const span = tracer.startSpan(call.method, { kind: SpanKind.CLIENT, attributes });
    const active = trace.setSpan(context.active(), span);
    propagation.inject(active, call.headers);
    return runInSpan({ span, active, call, duration, attributes }, next);
  };
}
