import type { CallContext } from './dispatcher.ts';
import type { Params, RequestId } from './types.ts';

/** Options of one client call, as an interceptor sees them. */
export interface InterceptedCallOptions {
  /** Milliseconds before the call fails with `RpcTimeoutError`. */
  readonly timeout?: number;
  /** Aborts the call. */
  readonly signal?: AbortSignal;
}

/** One call as a client interceptor sees it: read it, change `params` or `headers`, then `next()`. */
export interface ClientCall {
  /** The method called (after the proxy's prefix). */
  readonly method: string;
  /** The params to send; assign to replace them before `next()`. */
  params: Params | undefined;
  /** `true` for a notification: `next()` resolves `undefined` once it is sent. */
  readonly oneWay: boolean;
  /** The request id, set by `next()` when the request is built; `undefined` before and for notifications. */
  id: RequestId | undefined;
  /**
   * Headers to send with the call: HTTP request headers, RabbitMQ and NATS message headers. On a
   * transport without headers they travel only where the client allows it (`messageMeta`).
   */
  readonly headers: Record<string, string>;
  /** The call's timeout and signal. */
  readonly options: InterceptedCallOptions;
}

/** One call as a server interceptor sees it: read it, change `params`, then `next()`. */
export interface ServerCall {
  /** The method called. */
  readonly method: string;
  /** The params the method receives; assign to replace them before `next()`. */
  params: Params | undefined;
  /** The request id; `undefined` for a notification. */
  readonly id: RequestId | undefined;
  /** `true` for a notification: its result is not sent. */
  readonly oneWay: boolean;
  /** What came with the call: the request's `meta`, else the transport's headers. */
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  /** The request, the transport's context and the call's signal. */
  readonly context: CallContext;
}

/**
 * Wraps every call: `async (call, next) => …`. Return `next()`'s result, or a result of your own
 * to short-circuit; throw to fail the call (an `RpcError` keeps its code); map what `next()` gives
 * back on the way. Interceptors run in the order they were added.
 *
 * `next()` gives the result itself when everything after it finished synchronously (a server
 * method that returns a plain value), else a promise of it: `await` it, or return it as it is. An
 * interceptor that stays synchronous keeps a synchronous call synchronous, which is what makes an
 * interceptor cost next to nothing on small calls.
 */
export type Interceptor<Call> = (call: Call, next: () => unknown) => unknown;

/** An interceptor of {@link RpcClient} calls. */
export type ClientInterceptor = Interceptor<ClientCall>;
/** An interceptor of {@link RpcServer} calls. */
export type ServerInterceptor = Interceptor<ServerCall>;

/**
 * Runs `call` through `interceptors`, in order, then `last`. `next()` may be called more than once.
 * Returns what the first interceptor returns; a synchronous throw anywhere is thrown.
 */
export function runInterceptors<Call>(
  interceptors: readonly Interceptor<Call>[],
  call: Call,
  last: (call: Call) => unknown,
): unknown {
  return step(interceptors, call, last, 0);
}

// A function of its own rather than a closure made per call: calls are the hot path.
function step<Call>(
  interceptors: readonly Interceptor<Call>[],
  call: Call,
  last: (call: Call) => unknown,
  index: number,
): unknown {
  if (index >= interceptors.length) return last(call);
  return (interceptors[index] as Interceptor<Call>)(call, () =>
    step(interceptors, call, last, index + 1),
  );
}
