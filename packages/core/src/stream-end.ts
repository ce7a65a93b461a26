/** The result that ends a stream: `{ "$stream": "end", "items": <how many were sent> }`. */
export const streamEnd = (items: number): { $stream: 'end'; items: number } => ({
  $stream: 'end',
  items,
});

/** The item count of a stream's end result; `undefined` for any other result. */
export function streamEndOf(result: unknown): number | undefined {
  if (typeof result !== 'object' || result === null) return undefined;
  const { $stream, items } = result as { $stream?: unknown; items?: unknown };
  return $stream === 'end' && typeof items === 'number' ? items : undefined;
}

/** `true` for a value `for await` can iterate. */
export function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator] === 'function'
  );
}
