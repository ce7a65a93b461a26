import { isPromiseLike } from '@tinyrpc/core';
import {
  context,
  type Attributes,
  type Context,
  type Histogram,
  type Span,
} from '@opentelemetry/api';
import { finish, recordFailure } from './attributes.ts';

/** The client call, whose request id is known only once the request was built. */
export type CallId = { readonly id: string | number | null | undefined } | undefined;

/**
 * Runs `next` inside `active` (when there is a context to switch to) and ends the call's span and
 * measurement when the call ends: at once for a synchronous call (which stays synchronous), else in
 * one plain `then` rather than an async function, one promise per call instead of three. Shared by
 * both sides; `span` and `duration` are `undefined` where the API has only its no-op ones.
 */
export function runInSpan(
  span: Span | undefined,
  active: Context | undefined,
  call: CallId,
  duration: Histogram | undefined,
  attributes: Attributes,
  next: () => unknown,
): unknown {
  const started = duration === undefined ? 0 : performance.now();
  let result: unknown;
  try {
    result = active === undefined ? next() : context.with(active, next);
  } catch (error) {
    if (span !== undefined) recordFailure(span, error);
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
      if (span !== undefined) recordFailure(span, error);
      finish(span, call, duration, started, attributes);
      throw error;
    },
  );
}
