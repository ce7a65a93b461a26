import { registerErrorClass, TransportError, type RpcErrorOptions } from '@tinyrpc/core';

/** Options of {@link HttpTransportError}. */
export interface HttpTransportErrorOptions extends RpcErrorOptions {
  /** The HTTP status of the answer, when one arrived. */
  readonly status?: number;
}

/**
 * An HTTP exchange that failed: an error status (`status` tells which), or a refused, reset or
 * otherwise failed connection (`status` is `undefined` and `cause` holds what `fetch` threw).
 *
 * It is a {@link TransportError}, so `TransportError.is(error)` recognises it, and
 * `HttpTransportError.is(error)` tells it apart, both across installed copies of the packages.
 */
export class HttpTransportError extends TransportError {
  static {
    // Its own name and marker, which survive bundlers that rename classes.
    registerErrorClass(this, 'HttpTransportError');
  }

  /** The HTTP status of the answer; `undefined` when no answer arrived. */
  readonly status: number | undefined;

  constructor(message?: string, options: HttpTransportErrorOptions = {}) {
    super(message, options);
    this.status = options.status;
  }
}
