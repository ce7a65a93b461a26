import type { ServerInterceptor } from '@tinyrpc/core';
import {
  context,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  trace,
  type TextMapGetter,
} from '@opentelemetry/api';
import { callAttributes, recordFailure, RPC_JSONRPC_REQUEST_ID } from './attributes.ts';
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
  const { tracer, duration, system } = instruments(options, 'server');
  return async (call, next) => {
    const parent = propagation.extract(ROOT_CONTEXT, call.headers, headerGetter);
    const attributes = callAttributes(system, call.method);
    const span = tracer.startSpan(
      call.method,
      {
        kind: SpanKind.SERVER,
        attributes:
          call.id === undefined || call.id === null
            ? attributes
            : { ...attributes, [RPC_JSONRPC_REQUEST_ID]: String(call.id) },
      },
      parent,
    );
    const started = performance.now();
    try {
      return await context.with(trace.setSpan(parent, span), next);
    } catch (error) {
      recordFailure(span, error);
      throw error;
    } finally {
      duration.record(performance.now() - started, attributes);
      span.end();
    }
  };
}
