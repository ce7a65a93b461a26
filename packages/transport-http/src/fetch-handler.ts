import type { TransportContext } from '@tinyrpc/core';
import type { HttpAnswer, HttpResponder } from './http-responder.ts';
import type { IdleWatch } from './idle-watch.ts';
import { readWebBody, type WebBodyWatch } from './read-web-body.ts';

/** Makes a Fetch API `Response` of an answer. */
function toResponse(answer: HttpAnswer): Response {
  const headers = new Headers();
  const list = answer.headers;
  for (let i = 0; i < list.length; i += 2) headers.append(list[i] as string, list[i + 1] as string);
  return new Response((answer.body ?? null) as BodyInit | null, { status: answer.status, headers });
}

/** Why a stalled body was cancelled (never seen by a caller: the answer is 408). */
const stalledReason = new Error('The request body stalled');

/**
 * The Fetch API adapter, `(request: Request) => Promise<Response>`: reads the body (up to
 * `maxMessageSize`, watched for stalls), hands it to the {@link HttpResponder} and makes a
 * `Response` of its answer.
 */
export function createFetchHandler(
  responder: HttpResponder,
  watch: IdleWatch,
): (request: Request) => Promise<Response> {
  return async (request) => {
    const { headers } = request;
    const refusal = responder.refuse(
      request.method,
      headers.get('content-length'),
      headers.get('content-type'),
      headers.get('access-control-request-headers'),
    );
    if (refusal !== undefined) {
      request.body?.cancel().catch(() => undefined);
      return toResponse(refusal);
    }
    responder.inFlight.start();
    try {
      const stall = new AbortController();
      const watched: WebBodyWatch = {
        idleTick: 0,
        idleIndex: -1,
        stall: () => {
          stall.abort(stalledReason);
        },
        touch: () => {
          watch.touch(watched);
        },
        signal: stall.signal,
      };
      watch.add(watched);
      let body: Uint8Array | undefined;
      try {
        body = await readWebBody(request.body, responder.maxMessageSize, watched);
      } catch {
        return toResponse(stall.signal.aborted ? responder.stalled() : responder.unreadable());
      } finally {
        watch.remove(watched);
      }
      const contentType = headers.get('content-type');
      if (body === undefined) return toResponse(responder.tooLarge(undefined, contentType));
      const context: TransportContext = {
        transport: 'http',
        headers: Object.fromEntries(headers),
        signal: request.signal,
      };
      const message = responder.message(body, contentType);
      let answer: HttpAnswer;
      try {
        answer = responder.replied(await responder.call(message, context), contentType);
      } catch (error) {
        answer = responder.failed(error);
      }
      return toResponse(answer);
    } finally {
      responder.inFlight.finish();
    }
  };
}
