import type { ClientInterceptor } from '@tinyrpc/core';
import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { runInSpan } from './run-in-span.ts';
import { Instruments, type TracingOptions } from './tracing-options.ts';

/**
 * A client interceptor that makes one CLIENT span per call (named after the method, with the RPC
 * semantic conventions' attributes), records its duration in `rpc.client.duration`, and writes
 * the trace context into the call's headers with the global propagator (W3C `traceparent` once one
 * is registered), so the server's span becomes its child.
 *
 * With nothing registered in the API (no tracer provider, meter provider or propagator: no SDK)
 * it only calls `next()`, until a tracer provider is registered; from then on it traces every call.
 */
export function clientTracing(options: TracingOptions = {}): ClientInterceptor {
  const instruments = new Instruments(options, 'client');
  return (call, next) => {
    if (instruments.idle()) return next();
    const tracer = instruments.tracer();
    const duration = instruments.duration();
    const current = context.active();
    if (tracer === undefined) {
      // The no-op tracer's span would carry the current context's trace, which is what goes out.
      propagation.inject(current, call.headers);
      if (duration === undefined) return next();
      const attributes = instruments.attributes(call.method);
      return runInSpan(undefined, undefined, call, duration, attributes, next);
    }
    const attributes = instruments.attributes(call.method);
    const span = tracer.startSpan(call.method, { kind: SpanKind.CLIENT, attributes }, current);
    const active = trace.setSpan(current, span);
    propagation.inject(active, call.headers);
    return runInSpan(span, active, call, duration, attributes, next);
  };
}
