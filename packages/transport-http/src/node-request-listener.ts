import type { IncomingMessage, ServerResponse } from 'node:http';
import { streamHeader, type Message } from '@tinyrpc/core';
import { streamCreditOf } from '@tinyrpc/core/transport';
import type { HttpAnswer, HttpResponder } from './http-responder.ts';
import type { IdleWatch, Watched } from './idle-watch.ts';
import { NodeHttpContext } from './node-http-context.ts';
import { NodeReplyStream } from './node-reply-stream.ts';

/** Writes an answer, or nothing when the client is gone or was answered already. */
export function writeAnswer(response: ServerResponse, answer: HttpAnswer): void {
  if (response.headersSent || response.destroyed) return;
  const { body } = answer;
  if (body === undefined) {
    response.writeHead(answer.status, answer.headers as string[]);
    response.end();
    return;
  }
  const length = typeof body === 'string' ? Buffer.byteLength(body) : body.byteLength;
  response.writeHead(answer.status, [...answer.headers, 'content-length', String(length)]);
  response.end(body);
}

const lowerStreamHeader = streamHeader.toLowerCase();

const readingKey = Symbol('tinyrpc.http.reading');

/** A request whose body is being read, found on the request by the shared listeners. */
type Read = IncomingMessage & { [readingKey]?: Reading | undefined };

/**
 * The body of one request while it arrives. The listeners are shared by all requests and find
 * this on the request: no closures to allocate per request on the hot path.
 */
class Reading implements Watched {
  idleTick = 0;
  idleIndex = -1;
  readonly chunks: Buffer[] = [];
  size = 0;
  readonly listener: NodeRequestListener;
  readonly request: IncomingMessage;
  readonly response: ServerResponse;

  constructor(listener: NodeRequestListener, request: IncomingMessage, response: ServerResponse) {
    this.listener = listener;
    this.request = request;
    this.response = response;
  }

  // The body stalled: answer 408 and close the connection, whose request can never end.
  stall(): void {
    const { request, response, listener } = this;
    if (!listener.stop(this)) return;
    request.pause();
    response.once('finish', () => request.socket.destroy());
    writeAnswer(response, listener.responder.stalled());
    if (response.destroyed || !response.headersSent) request.socket.destroy();
    listener.responder.inFlight.finish();
  }
}

/**
 * The `node:http` adapter: reads a request's body (up to `maxMessageSize`, watched for stalls),
 * hands it to the {@link HttpResponder} and writes its answer.
 */
export class NodeRequestListener {
  readonly responder: HttpResponder;
  readonly #watch: IdleWatch;

  constructor(responder: HttpResponder, watch: IdleWatch) {
    this.responder = responder;
    this.#watch = watch;
  }

  /** The request listener. */
  readonly handle = (request: IncomingMessage, response: ServerResponse): void => {
    const { responder } = this;
    const { headers } = request;
    const refusal = responder.refuse(
      request.method,
      headers['content-length'],
      headers['content-type'],
      headers['access-control-request-headers'],
    );
    if (refusal !== undefined) {
      writeAnswer(response, refusal);
      return;
    }
    responder.inFlight.start();
    const parsed = (request as { body?: unknown }).body;
    if (parsed !== undefined && request.readableEnded) {
      const message = fromParsedBody(parsed, request, responder);
      if (byteLength(message) > responder.maxMessageSize) {
        writeAnswer(
          response,
          responder.tooLarge(byteLength(message), request.headers['content-type']),
        );
        responder.inFlight.finish();
      } else void this.#respond(request, response, message);
      return;
    }
    const reading = new Reading(this, request, response);
    (request as Read)[readingKey] = reading;
    this.#watch.add(reading);
    request.on('data', onData);
    request.on('end', onEnd);
    request.on('close', onClose);
  };

  /** Ends the reading of a body; `false` when it had ended already. */
  stop(reading: Reading): boolean {
    const request = reading.request as Read;
    if (request[readingKey] !== reading) return false;
    request[readingKey] = undefined;
    this.#watch.remove(reading);
    return true;
  }

  /** Notes that a body made progress. */
  touch(reading: Reading): void {
    this.#watch.touch(reading);
  }

  // Never rejects: whatever happens ends in an answer (or none, when the client is gone).
  async #respond(
    request: IncomingMessage,
    response: ServerResponse,
    message: Message,
  ): Promise<void> {
    const { responder } = this;
    // Asked for a stream (`Tinyrpc-Stream`): its items go out as they come, the reply after them.
    const stream =
      request.headers[lowerStreamHeader] !== undefined &&
      streamCreditOf(request.headers) !== undefined
        ? new NodeReplyStream(response, responder)
        : undefined;
    let answer: HttpAnswer;
    try {
      const reply = await responder.call(message, new NodeHttpContext(request, response, stream));
      if (stream?.started === true) {
        stream.end(reply);
        responder.inFlight.finish();
        return;
      }
      answer = responder.replied(reply, request.headers['content-type']);
    } catch (error) {
      answer = responder.failed(error);
      // Too late for a status: the body of a stream began. Cut it, so the caller sees it broken.
      if (stream?.started === true) stream.cut();
    }
    try {
      writeAnswer(response, answer);
    } catch (error) {
      // An answer Node refuses to write (a header value it rejects): drop the connection.
      responder.report(error);
      response.destroy();
    } finally {
      responder.inFlight.finish();
    }
  }

  /** Answers a body read in full. */
  respond(reading: Reading): void {
    const { chunks, request } = reading;
    const body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, reading.size);
    const message = this.responder.message(body, request.headers['content-type']);
    void this.#respond(request, reading.response, message);
  }
}

function onData(this: IncomingMessage, chunk: Buffer): void {
  const reading = (this as Read)[readingKey];
  if (reading === undefined) return;
  const { listener } = reading;
  listener.touch(reading);
  reading.size += chunk.length;
  if (reading.size <= listener.responder.maxMessageSize) {
    reading.chunks.push(chunk);
    return;
  }
  // Over the limit: answer now and read no more (the answer closes the connection).
  listener.stop(reading);
  this.pause();
  writeAnswer(
    reading.response,
    listener.responder.tooLarge(undefined, this.headers['content-type']),
  );
  listener.responder.inFlight.finish();
}

function onEnd(this: IncomingMessage): void {
  const reading = (this as Read)[readingKey];
  if (reading === undefined || !reading.listener.stop(reading)) return;
  reading.listener.respond(reading);
}

// Closed before the body was complete: the client went away (or someone destroyed the request),
// and nobody is left to answer. Without 'error' listeners, Node does not emit the abort error.
function onClose(this: IncomingMessage): void {
  const reading = (this as Read)[readingKey];
  if (reading === undefined || !reading.listener.stop(reading)) return;
  reading.listener.responder.inFlight.finish();
}

const byteLength = (message: Message): number =>
  typeof message === 'string' ? Buffer.byteLength(message) : message.byteLength;

// A body an Express parser already read: express.text() gives a string, express.raw() a Buffer,
// express.json() a value, which becomes JSON text again for the protocol to read.
function fromParsedBody(
  parsed: unknown,
  request: IncomingMessage,
  responder: HttpResponder,
): Message {
  if (typeof parsed === 'string') return parsed;
  if (parsed instanceof Uint8Array)
    return responder.message(parsed, request.headers['content-type']);
  return JSON.stringify(parsed);
}
