import { TransportError, type Message, type TransportContext } from '@tinyrpc/core';
import { streamCreditOf } from '@tinyrpc/core/transport';
import type { HttpAnswer, HttpResponder } from './http-responder.ts';
import type { IdleWatch } from './idle-watch.ts';
import { readWebBody, type WebBodyWatch } from './read-web-body.ts';
import { WebReplyStream } from './web-reply-stream.ts';

/** Makes a Fetch API `Response` of an answer, or of a streamed body. */
function toResponse(answer: HttpAnswer, body?: ReadableStream<Uint8Array>): Response {
  const headers = new Headers();
  const list = answer.headers;
  for (let i = 0; i < list.length; i += 2) headers.append(list[i] as string, list[i + 1] as string);
  return new Response(body ?? ((answer.body ?? null) as BodyInit | null), {
    status: answer.status,
    headers,
  });
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
    // Set once a streamed reply's body is under way: it finishes the request when the body ends.
    let streaming = false;
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
      const requestHeaders = Object.fromEntries(headers);
      // Asked for a stream (`Tinyrpc-Stream`): its items go out as they come, the reply after them.
      const stream =
        streamCreditOf(requestHeaders) === undefined ? undefined : new WebReplyStream(responder);
      const context: TransportContext =
        stream === undefined
          ? { transport: 'http', headers: requestHeaders, signal: request.signal }
          : {
              transport: 'http',
              headers: requestHeaders,
              signal: AbortSignal.any([request.signal, stream.signal]),
              stream,
            };
      const message = responder.message(body, contentType);
      let answer: HttpAnswer;
      try {
        const replying = responder.call(message, context);
        if (stream !== undefined) {
          // The answer is whichever comes first: the first item (a streamed body) or the reply.
          await Promise.race([replying.catch(() => undefined), stream.started]);
          const { text } = stream;
          if (text !== undefined) {
            streaming = true;
            finishStream(stream, replying, responder);
            return toResponse(
              { status: 200, headers: responder.streamHeaders(text), body: undefined },
              stream.body,
            );
          }
        }
        answer = responder.replied(await replying, contentType);
      } catch (error) {
        answer = responder.failed(error);
      }
      return toResponse(answer);
    } finally {
      if (!streaming) responder.inFlight.finish();
    }
  };
}

// Ends a streamed body with its final reply (a handler that rejected cuts it), then finishes the
// request.
function finishStream(
  stream: WebReplyStream,
  replying: Promise<Message | undefined>,
  responder: HttpResponder,
): void {
  replying
    .then(
      (reply) => {
        stream.end(reply);
      },
      (error: unknown) => {
        responder.report(error);
        stream.cut(new TransportError('The streamed call failed'));
      },
    )
    .finally(() => {
      responder.inFlight.finish();
    })
    .catch(() => undefined);
}
