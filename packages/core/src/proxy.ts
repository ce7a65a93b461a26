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

/** A typed proxy: every method of `Api`, taking the same arguments and returning a promise of its result. */
export type RpcProxy<Api> = {
  readonly [K in MethodNames<Api>]: Api[K] extends (...args: infer A) => infer R
    ? (...args: A) => Promise<Awaited<R>>
    : never;
};

/** A typed one-way proxy: every method of `Api` sent as a notification, resolving once sent. */
export type RpcOneWayProxy<Api> = {
  readonly [K in MethodNames<Api>]: Api[K] extends (...args: infer A) => unknown
    ? (...args: A) => Promise<void>
    : never;
};

/**
 * Builds a proxy whose string properties are functions that `invoke` the method of that name.
 * `then` is absent so that `await`ing a proxy does not make a remote call.
 */
export function createProxy(invoke: (name: string, args: unknown[]) => Promise<unknown>): object {
  const cache = new Map<string, (...args: unknown[]) => Promise<unknown>>();
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
