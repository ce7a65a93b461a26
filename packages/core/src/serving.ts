import type { RunningCalls } from './cancellation.ts';
import type { RpcError } from './errors.ts';
import type { Responder } from './responder.ts';
import type { ClientTransport } from './types.ts';

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

/** What a client hands its dispatcher's {@link createServing}. */
export interface ServingHost {
  /** `true` when the client's transport is a connection: only one can carry calls to the client. */
  readonly connection: boolean;
  readonly transport: ClientTransport;
  readonly hideErrorMessages: boolean | undefined;
  /** Reports what a served call could not answer. */
  report(error: RpcError): void;
  /** Aborts the served calls' signals: the client closed or lost its connection. Read at each call. */
  readonly signal: AbortSignal;
}
