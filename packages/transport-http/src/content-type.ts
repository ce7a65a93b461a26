/** The content type of a string message when neither the protocol nor the options name one. */
export const jsonContentType = 'application/json';

/** The content type of a byte message when neither the protocol nor the options name one. */
export const binaryContentType = 'application/octet-stream';

/** The media type of a `Content-Type` value: lower case, without parameters (`; charset=…`). */
function mediaType(contentType: string): string {
  const semicolon = contentType.indexOf(';');
  return (semicolon === -1 ? contentType : contentType.slice(0, semicolon)).trim().toLowerCase();
}

/** `true` when two `Content-Type` values name the same media type, whatever their parameters. */
export function sameMediaType(a: string | null | undefined, b: string | null | undefined): boolean {
  if (a === b) return a !== undefined && a !== null;
  if (a === undefined || a === null || b === undefined || b === null) return false;
  return mediaType(a) === mediaType(b);
}

/**
 * `true` when a body of this content type is text, and so travels as a string message:
 * `application/json`, any `…+json`, `application/json-rpc`, `application/jsonrequest` and `text/*`.
 * Everything else, a missing content type included, is delivered as bytes, which loses nothing.
 */
export function isTextContentType(contentType: string | null | undefined): boolean {
  if (contentType === undefined || contentType === null) return false;
  // The common case first: what our own client and most JSON-RPC clients send.
  if (contentType === jsonContentType) return true;
  const type = mediaType(contentType);
  return (
    type === jsonContentType ||
    type.endsWith('+json') ||
    type === 'application/json-rpc' ||
    type === 'application/jsonrequest' ||
    type.startsWith('text/')
  );
}

const fatalDecoder = new TextDecoder('utf-8', { fatal: true });

/**
 * Turns a received body into a message: a string for a text content type, bytes otherwise. Text
 * that is not valid UTF-8 is passed on as bytes, so the protocol answers it as unreadable instead
 * of reading replacement characters.
 */
export function toMessage(
  body: Uint8Array,
  contentType: string | null | undefined,
): string | Uint8Array {
  if (!isTextContentType(contentType)) return body;
  try {
    return fatalDecoder.decode(body);
  } catch {
    return body;
  }
}
