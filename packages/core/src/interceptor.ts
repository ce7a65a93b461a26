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
 * to short-circuit; throw to fail the call (an `RpcError` keeps its code); map what `next()`
 * resolves or rejects with on the way back. Interceptors run in the order they were added.
 */
export type Interceptor<Call> = (call: Call, next: () => Promise<unknown>) => Promise<unknown>;

/** An interceptor of {@link RpcClient} calls. */
export type ClientInterceptor = Interceptor<ClientCall>;
/** An interceptor of {@link RpcServer} calls. */
export type ServerInterceptor = Interceptor<ServerCall>;

/** Runs `call` through `interceptors`, in order, then `last`. `next()` may be called more than once. */
export function runInterceptors<Call>(
  interceptors: readonly Interceptor<Call>[],
  call: Call,
  last: (call: Call) => Promise<unknown>,
): Promise<unknown> {
  const step = (index: number): Promise<unknown> => {
    const interceptor = interceptors[index];
    if (interceptor === undefined) return last(call);
    try {
      return interceptor(call, () => step(index + 1));
    } catch (error) {
      return Promise.reject(error);
    }
  };
  return step(0);
}
