/** Options of `RpcClient.getProxy`. */
export interface ProxyOptions {
  /** Put before every method name, as in Python tinyrpc's `get_proxy(prefix=…)`. */
  readonly prefix?: string;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- matches any function type
type AnyFunction = (...args: any[]) => unknown;

/** The names of `Api` whose values are functions. */
export type MethodNames<Api> = {
  [K in keyof Api]: K extends string ? (Api[K] extends AnyFunction ? K : never) : never;
}[keyof Api];

/**
 * A typed proxy: every method of `Api`, taking the same arguments and returning a promise of its
 * result; a method that returns an `AsyncIterable<T>` returns one to `for await` over (a stream).
 */
export type RpcProxy<Api> = {
  readonly [K in MethodNames<Api>]: Api[K] extends (...args: infer A) => infer R
    ? (...args: A) => [R] extends [AsyncIterable<infer T>] ? AsyncIterable<T> : Promise<Awaited<R>>
    : never;
};

/** A typed one-way proxy: every method of `Api` sent as a notification, resolving once sent. */
export type RpcOneWayProxy<Api> = {
  readonly [K in MethodNames<Api>]: Api[K] extends (...args: infer A) => unknown
    ? (...args: A) => Promise<void>
    : never;
};

/**
 * The result of a proxy's method: the call, made in a microtask unless the result is iterated
 * first (then it is a stream instead). So one proxy serves methods of both kinds with no second
 * description of the API: `await` it, or `for await` over it.
 */
export function callOrStream(
  call: () => Promise<unknown>,
  stream: () => AsyncIterator<unknown>,
): Promise<unknown> & AsyncIterable<unknown> {
  let promise: Promise<unknown> | undefined;
  let streaming = false;
  const start = (): Promise<unknown> => (promise ??= call());
  queueMicrotask(() => {
    if (!streaming) void start();
  });
  return {
    then: (onFulfilled, onRejected) => start().then(onFulfilled, onRejected),
    catch: (onRejected) => start().catch(onRejected),
    finally: (onFinally) => start().finally(onFinally),
    [Symbol.toStringTag]: 'Promise',
    [Symbol.asyncIterator]() {
      if (promise !== undefined || streaming)
        throw new TypeError('Iterate the result of a streaming method at once, and only once');
      streaming = true;
      return stream();
    },
  } as Promise<unknown> & AsyncIterable<unknown>;
}

/**
 * Builds a proxy whose string properties are functions that `invoke` the method of that name.
 * `then` is absent so that `await`ing a proxy does not make a remote call.
 */
export function createProxy(invoke: (name: string, args: unknown[]) => unknown): object {
  const cache = new Map<string, (...args: unknown[]) => unknown>();
  return new Proxy(Object.create(null) as object, {
    get(_target, name) {
      if (typeof name !== 'string' || name === 'then') return undefined;
      let method = cache.get(name);
      if (method === undefined) {
        method = (...args: unknown[]) => invoke(name, args);
        cache.set(name, method);
      }
      return method;
    },
  });
}
