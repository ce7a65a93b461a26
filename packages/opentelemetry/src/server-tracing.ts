import type { ServerInterceptor } from '@tinyrpc/core';
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  trace,
  type TextMapGetter,
} from '@opentelemetry/api';
import { RPC_JSONRPC_REQUEST_ID } from './attributes.ts';
import { runInSpan } from './run-in-span.ts';
import { Instruments, type TracingOptions } from './tracing-options.ts';

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
 *
 * With nothing registered in the API (no tracer provider, meter provider or propagator: no SDK)
 * it only calls `next()`, until a tracer provider is registered; from then on it traces every call.
 */
export function serverTracing(options: TracingOptions = {}): ServerInterceptor {
  const instruments = new Instruments(options, 'server');
  return (call, next) => {
    if (instruments.idle()) return next();
    const tracer = instruments.tracer();
    const duration = instruments.duration();
    const parent = propagation.extract(ROOT_CONTEXT, call.headers, headerGetter);
    if (tracer === undefined) {
      // The no-op tracer's span would only carry the caller's context on: run in that instead.
      const active = parent === ROOT_CONTEXT ? undefined : parent;
      if (duration === undefined) return active === undefined ? next() : context.with(active, next);
      const attributes = instruments.attributes(call.method);
      return runInSpan(undefined, active, undefined, duration, attributes, next);
    }
    const attributes = instruments.attributes(call.method);
    const span = tracer.startSpan(call.method, { kind: SpanKind.SERVER, attributes }, parent);
    if (call.id !== undefined && call.id !== null && span.isRecording())
      span.setAttribute(RPC_JSONRPC_REQUEST_ID, String(call.id));
    // Even a span the sampler dropped carries the trace on to what the method calls.
    return runInSpan(span, trace.setSpan(parent, span), undefined, duration, attributes, next);
  };
}
