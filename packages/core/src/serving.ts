import type { RunningCalls } from './cancellation.ts';
import type { Responder } from './responder.ts';
import type { Message } from './types.ts';

/** What a client needs to serve a dispatcher on its connection. */
export interface Serving {
  readonly responder: Responder;
  readonly running: RunningCalls;
}

/**
 * Internal: the dispatcher's method that makes a {@link Serving}. It lives on the dispatcher so
 * that a client which serves nothing carries none of the serving code in a browser bundle.
 */
export const createServing = Symbol('createServing');

/** The message sender a {@link Serving} answers through. */
export type Send = (message: Message) => Promise<void>;
