import type { ClientInterceptor } from '@tinyrpc/core';
import { context, propagation, SpanKind, trace } from '@opentelemetry/api';
import { callAttributes, recordFailure, RPC_JSONRPC_REQUEST_ID } from './attributes.ts';
import { instruments, type TracingOptions } from './tracing-options.ts';

/**
 * A client interceptor that makes one CLIENT span per call (named after the method, with the RPC
 * semantic conventions' attributes), records its duration in `rpc.client.duration`, and writes
 * the trace context into the call's headers with the global propagator (W3C `traceparent` once one
 * is registered), so the server's span becomes its child.
 */
export function clientTracing(options: TracingOptions = {}): ClientInterceptor {
  const { tracer, duration, system } = instruments(options, 'client');
  return async (call, next) => {
    const attributes = callAttributes(system, call.method);
    const span = tracer.startSpan(call.method, { kind: SpanKind.CLIENT, attributes });
    const active = trace.setSpan(context.active(), span);
    propagation.inject(active, call.headers);
    const started = performance.now();
    try {
      return await context.with(active, next);
    } catch (error) {
      recordFailure(span, error);
      throw error;
    } finally {
      if (call.id !== undefined && call.id !== null)
        span.setAttribute(RPC_JSONRPC_REQUEST_ID, String(call.id));
      duration.record(performance.now() - started, attributes);
      span.end();
    }
  };
}
