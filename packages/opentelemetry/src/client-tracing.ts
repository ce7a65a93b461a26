import { isPromiseLike, type ClientInterceptor } from '@tinyrpc/core';
import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { finish, recordFailure } from './attributes.ts';
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
    const started = performance.now();
    let result: unknown;
    try {
      result = context.with(active, next);
    } catch (error) {
      recordFailure(span, error);
      finish(span, call, duration, started, attributes);
      throw error;
    }
    // A synchronous call stays synchronous; otherwise one plain `then` (not an async function).
    if (!isPromiseLike(result)) {
      finish(span, call, duration, started, attributes);
      return result;
    }
    return Promise.resolve(result).then(
      (value) => {
        finish(span, call, duration, started, attributes);
        return value;
      },
      (error: unknown) => {
        recordFailure(span, error);
        finish(span, call, duration, started, attributes);
        throw error;
      },
    );
  };
}
