import type { IncomingMessage, ServerResponse } from 'node:http';
import { TransportError, type ReplyStreamSender, type TransportContext } from '@tinyrpc/core';

/**
 * What the `node:http` adapter tells a handler about a request. A class rather than an object
 * literal with a getter: V8 builds literals with accessors slowly, and this runs for every request.
 * `signal` is made on first use only, since most methods never look at it.
 */
export class NodeHttpContext implements TransportContext {
  readonly [key: string]: unknown;
  readonly transport = 'http';
  readonly remoteAddress: string | undefined;
  readonly headers: IncomingMessage['headers'];
  /** Where the items of a streamed reply go, when the request asked for one (`Tinyrpc-Stream`). */
  readonly stream: ReplyStreamSender | undefined;
  readonly #request: IncomingMessage;
  readonly #response: ServerResponse;
  #controller: AbortController | undefined;

  constructor(
    request: IncomingMessage,
    response: ServerResponse,
    stream: ReplyStreamSender | undefined,
  ) {
    this.remoteAddress = request.socket.remoteAddress;
    this.headers = request.headers;
    this.stream = stream;
    this.#request = request;
    this.#response = response;
  }

  /** Aborts when the client goes away before its answer was sent. */
  get signal(): AbortSignal {
    if (this.#controller !== undefined) return this.#controller.signal;
    const controller = new AbortController();
    this.#controller = controller;
    const response = this.#response;
    const gone = (): void => {
      controller.abort(new TransportError('The HTTP client went away'));
    };
    if (response.writableFinished) return controller.signal;
    if (response.destroyed || this.#request.socket.destroyed) gone();
    else {
      response.once('close', () => {
        if (!response.writableFinished) gone();
      });
    }
    return controller.signal;
  }
}
