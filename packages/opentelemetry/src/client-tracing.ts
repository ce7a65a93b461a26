import type { ClientInterceptor } from '@tinyrpc/core';
import { context, isSpanContextValid, propagation, SpanKind, trace } from '@opentelemetry/api';
import { runInSpan } from './run-in-span.ts';
import { Instruments, type TracingOptions } from './tracing-options.ts';

/**
 * A client interceptor that makes one CLIENT span per call (named after the method, with the RPC
 * semantic conventions' attributes), records its duration in `rpc.client.duration`, and writes
 * the trace context into the call's headers with the global propagator (W3C `traceparent` once one
 * is registered), so the server's span becomes its child.
 *
 * While no SDK is registered (the API's no-op tracer and meter) it makes no span and measures
 * nothing; the providers are looked up on every call, so an SDK registered later traces the calls
 * from then on.
 */
export function clientTracing(options: TracingOptions = {}): ClientInterceptor {
  const instruments = new Instruments(options, 'client');
  return (call, next) => {
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
    // A span that records nothing and has no trace (a sampler that dropped it with no parent)
    // gives a context nobody can read: the call runs without switching to it.
    const switchTo =
      span.isRecording() || isSpanContextValid(span.spanContext()) ? active : undefined;
    return runInSpan(span, switchTo, call, duration, attributes, next);
  };
}
