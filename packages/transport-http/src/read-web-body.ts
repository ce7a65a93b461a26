import type { Watched } from './idle-watch.ts';

/** Progress and stall of a body being read by {@link readWebBody}. */
export interface WebBodyWatch extends Watched {
  /** Called for every chunk. */
  touch(): void;
  /** Aborts the read: the body is cancelled and the read rejects. */
  readonly signal: AbortSignal;
}

/**
 * Reads a Fetch API body up to `limit` bytes, reading no more than the limit and one chunk.
 * Resolves with the bytes, or `undefined` as soon as the body turns out longer than `limit` (the
 * rest is cancelled unread). Rejects when the body fails or `watch.signal` aborts.
 */
export async function readWebBody(
  body: ReadableStream<Uint8Array> | null,
  limit: number,
  watch?: WebBodyWatch,
): Promise<Uint8Array | undefined> {
  if (body === null) return new Uint8Array(0);
  const reader = body.getReader();
  const cancel = (): void => {
    reader.cancel(watch?.signal.reason).catch(() => undefined);
  };
  watch?.signal.addEventListener('abort', cancel, { once: true });
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      watch?.signal.throwIfAborted();
      if (done) break;
      watch?.touch();
      size += value.length;
      if (size > limit) {
        cancel();
        return undefined;
      }
      chunks.push(value);
    }
  } finally {
    watch?.signal.removeEventListener('abort', cancel);
  }
  return chunks.length === 1 ? chunks[0] : joinBytes(chunks, size);
}

/** `chunks` (of `size` bytes in all) as one array. */
export function joinBytes(chunks: readonly Uint8Array[], size: number): Uint8Array {
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.length;
  }
  return bytes;
}
