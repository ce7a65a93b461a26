/**
 * A one-line description of anything thrown: an error's message (with its `code`, as Node's
 * socket errors have, and the message of a `cause` that says more, as `fetch failed` does), or the
 * value as a string. Never throws, whatever it is given.
 */
export function describeError(value: unknown): string {
  try {
    if (!(value instanceof Error)) return String(value);
    const cause = value.cause instanceof Error ? value.cause : undefined;
    // fetch reports every network failure as `TypeError: fetch failed`, the reason in its cause.
    const inner = cause !== undefined && value.message === 'fetch failed' ? cause : value;
    const code = (inner as { code?: unknown }).code;
    return typeof code === 'string' && !inner.message.includes(code)
      ? `${inner.message} (${code})`
      : inner.message;
  } catch {
    return 'an error that cannot be described';
  }
}
