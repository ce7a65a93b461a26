import type { MethodOptions, RpcMethod } from './dispatcher.ts';

const publicMark = Symbol.for('@tinyrpc/core/public');

/** Options of the {@link rpcPublic} decorator. */
export interface PublicOptions extends MethodOptions {
  /** The name to register the method under, instead of its own. */
  readonly name?: string;
}

type MethodDecorator = (method: RpcMethod, context: ClassMethodDecoratorContext) => void;

/**
 * Marks a class method as callable over RPC; {@link RpcDispatcher.registerInstance} registers the
 * marked methods of an instance.
 *
 * A standard (TC39) decorator: use it bare (`@rpcPublic`) or with a name or options
 * (`@rpcPublic('sum')`, `@rpcPublic({ params: ['a', 'b'] })`).
 */
export function rpcPublic(method: RpcMethod, context: ClassMethodDecoratorContext): void;
export function rpcPublic(nameOrOptions?: string | PublicOptions): MethodDecorator;
export function rpcPublic(
  first?: RpcMethod | string | PublicOptions,
  context?: ClassMethodDecoratorContext,
): MethodDecorator | undefined {
  if (typeof first === 'function') {
    mark(first, context, {});
    return undefined;
  }
  const options: PublicOptions = typeof first === 'string' ? { name: first } : (first ?? {});
  return (method, decoratorContext) => {
    mark(method, decoratorContext, options);
  };
}

function mark(
  method: RpcMethod,
  context: ClassMethodDecoratorContext | undefined,
  options: PublicOptions,
): void {
  if (context !== undefined && (context.private || context.static)) {
    throw new TypeError('@rpcPublic marks public instance methods only');
  }
  Object.defineProperty(method, publicMark, { value: options });
}

/** The marked methods of `instance` and its prototype chain: [key, function, options]. */
export function publicMethodsOf(instance: object): [string, RpcMethod, PublicOptions][] {
  const found: [string, RpcMethod, PublicOptions][] = [];
  const seen = new Set<string>();
  for (
    let proto: object | null = instance;
    proto !== null && proto !== Object.prototype;
    proto = Object.getPrototypeOf(proto) as object | null
  ) {
    for (const key of Object.getOwnPropertyNames(proto)) {
      if (seen.has(key)) continue;
      seen.add(key);
      const value = Object.getOwnPropertyDescriptor(proto, key)?.value as unknown;
      if (typeof value !== 'function') continue;
      const options = (value as unknown as Record<symbol, PublicOptions | undefined>)[publicMark];
      if (options !== undefined) found.push([key, value as RpcMethod, options]);
    }
  }
  return found;
}
