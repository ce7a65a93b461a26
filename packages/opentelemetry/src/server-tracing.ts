import type { ServerInterceptor } from '@tinyrpc/core';
import {
  context,
  isSpanContextValid,
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
 * While no SDK is registered (the API's no-op tracer and meter) and the call brought no context, it
 * only calls `next()`. The providers are looked up on every call, so an SDK registered later
 * traces the calls from then on.
 */
export function serverTracing(options: TracingOptions = {}): ServerInterceptor {
  const instruments = new Instruments(options, 'server');
  return (call, next) => {
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
    const recording = span.isRecording();
    if (recording && call.id !== undefined && call.id !== null)
      span.setAttribute(RPC_JSONRPC_REQUEST_ID, String(call.id));
    // A span that records nothing and has no trace (a sampler that dropped it with no parent)
    // gives a context nobody can read: the method runs without switching to it.
    const active =
      recording || isSpanContextValid(span.spanContext()) ? trace.setSpan(parent, span) : undefined;
    return runInSpan(span, active, undefined, duration, attributes, next);
  };
}
