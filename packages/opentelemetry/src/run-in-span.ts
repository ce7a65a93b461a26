import { isPromiseLike } from '@tinyrpc/core';
import {
  context,
  trace,
  type Attributes,
  type Context,
  type Histogram,
  type Span,
} from '@opentelemetry/api';
import { finish, recordFailure } from './attributes.ts';

/** What {@link runInSpan} needs to end a call's span and record its duration. */
export interface SpanRun {
  readonly span: Span;
  readonly active: Context;
  /** The client call, whose request id is known only once the request was built. */
  readonly call: { readonly id: string | number | null | undefined } | undefined;
  readonly duration: Histogram;
  readonly attributes: Attributes;
}

/**
 * Runs `next` inside the span's context and ends the span when the call ends: at once for a
 * synchronous call (which stays synchronous), else in one plain `then` rather than an async
 * function, one promise per call instead of three. Shared by both sides.
 */
export function runInSpan(run: SpanRun, next: () => unknown): unknown {
  const { span, call, duration, attributes } = run;
  const started = performance.now();
  let result: unknown;
  try {
    // A span that records nothing and has no trace (no SDK, or a sampler that dropped it with no
    // parent) gives a context nobody can read: the method runs without switching to it.
    result =
      span.isRecording() || trace.isSpanContextValid(span.spanContext())
        ? context.with(run.active, next)
        : next();
  } catch (error) {
    recordFailure(span, error);
    finish(span, call, duration, started, attributes);
    throw error;
  }
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
}
