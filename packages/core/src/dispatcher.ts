import { hasBrand, setBrand } from './brand.ts';
import { isPromiseLike } from './promise-like.ts';
import { serveOnClient } from './client-serving.ts';
import { createServing, type Serving, type ServingHost } from './serving.ts';
import { createOpenRpcDocument, type DiscoveryInfo, type DiscoveryOptions } from './discovery.ts';
import { InvalidParamsError, MethodNotFoundError, RpcError } from './errors.ts';
import { runInterceptors, type ServerCall, type ServerInterceptor } from './interceptor.ts';
import { publicMethodsOf } from './public.ts';
import type { RpcClient } from './client.ts';
import type { StandardSchemaV1 } from './standard-schema.ts';
import type {
  Params,
  RpcProtocol,
  RpcBatchRequest,
  RpcBatchResponse,
  RpcRequest,
  RpcResponse,
  TransportContext,
} from './types.ts';

const dispatcherBrand = Symbol.for('@tinyrpc/core/RpcDispatcher');

/** How a registered method is called. */
export interface MethodOptions {
  /**
   * The method's parameter names, in order. With them the method takes positional and named params
   * alike (named params are put in this order); without them named params arrive as one object.
   */
  readonly params?: readonly string[];
  /** A Standard Schema (Zod, Valibot, ArkType…) that validates the argument list; a failure answers invalid params. */
  readonly schema?: StandardSchemaV1;
  /** Pass a {@link CallContext} as the first argument. */
  readonly context?: boolean;
  /** What the method does, for discovery (`rpc.discover`); Markdown allowed. */
  readonly description?: string;
  /** A one-line summary, for discovery. */
  readonly summary?: string;
  /** Marks the method deprecated in discovery; calls still work. */
  readonly deprecated?: boolean;
  /** A Standard Schema of the result, for discovery only: results are not validated. */
  readonly result?: StandardSchemaV1;
  /** The error responses the method may answer with, for discovery. */
  readonly errors?: readonly MethodErrorSpec[];
}

/** An error a method declares it may answer with (an OpenRPC error object). */
export interface MethodErrorSpec {
  readonly code: number;
  readonly message: string;
  readonly data?: unknown;
}

/** A method as discovery sees it: its full name (prefixes included) and what it was registered with. */
export interface ListedMethod extends RegisteredMethod {
  /** Arguments the function needs at least (its `length`, less the context argument). */
  readonly required: number;
}

/** What a method registered with `{ context: true }` receives as its first argument. */
export interface CallContext {
  /** The request being answered. */
  readonly request: RpcRequest;
  /** What the transport knows of the caller: address, headers, connection id. */
  readonly transport: TransportContext;
  /** Aborts when the server closes or the caller's connection goes away. */
  readonly signal: AbortSignal;
  /**
   * The caller, to call back on the connection the request came on (`call`, `notify`,
   * `getProxy<ClientApi>()`): on a server, the `RpcPeer` of that connection. `undefined` where the
   * transport has no connections (HTTP, brokers).
   */
  readonly peer: RpcClient | undefined;
  /**
   * When the caller stops waiting (epoch milliseconds), where the call's deadline travelled with
   * it (a `Tinyrpc-Deadline` header); `signal` aborts then. `undefined` when none came.
   */
  readonly deadline: number | undefined;
}

/** Options of {@link RpcDispatcher.dispatch}. */
export interface DispatchOptions {
  /** The transport's context of the message the request came in. */
  readonly transport?: TransportContext;
  /** Aborts with the server; joined with the connection's signal for {@link CallContext.signal}. */
  readonly signal?: AbortSignal;
  /** Answer errors that are not {@link RpcError}s with a generic message instead of theirs. */
  readonly hideErrorMessages?: boolean;
  /** Run every call through these, in order (batch members one by one). */
  readonly interceptors?: readonly ServerInterceptor[];
  /** The caller's peer, for {@link CallContext.peer}. */
  readonly peer?: RpcClient | undefined;
  /** The call's deadline, for {@link CallContext.deadline}. */
  readonly deadline?: number | undefined;
  /**
   * Called for a call's own signal (cancellation, deadline, `maxDuration`) when its context is
   * built, which is joined into {@link CallContext.signal}.
   */
  readonly callSignal?: ((request: RpcRequest) => AbortSignal | undefined) | undefined;
}

/** A function the dispatcher can call. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- methods take any arguments
export type RpcMethod = (...args: any[]) => unknown;

/** A method as the dispatcher holds it. */
export interface RegisteredMethod {
  readonly name: string;
  readonly fn: RpcMethod;
  readonly options: MethodOptions;
}

type Entry = ListedMethod;

let listMethods: (dispatcher: RpcDispatcher) => ListedMethod[];

/**
 * Every method `dispatcher` answers, subdispatchers' included, each under the full name a caller
 * uses; a name that an earlier entry shadows is left out. Internal: for discovery.
 */
export function listedMethods(dispatcher: RpcDispatcher): ListedMethod[] {
  return listMethods(dispatcher);
}

type MaybePromise<T> = T | Promise<T>;
const emptyContext: TransportContext = Object.freeze({});
const neverAborted = new AbortController().signal;
const noHeaders: Readonly<Record<string, string>> = Object.freeze({});
const noOptions: DispatchOptions = Object.freeze({});

/**
 * Finds the function that answers a request, calls it, and builds the response.
 *
 * Only registered names are found: `__proto__`, `constructor` or `toString` are "method not found"
 * unless you registered them yourself.
 */
export class RpcDispatcher {
  readonly #methods = new Map<string, Entry>();
  readonly #subdispatchers: [prefix: string, dispatcher: RpcDispatcher][] = [];

  static {
    listMethods = (dispatcher) => {
      const seen = new Map<string, ListedMethod>();
      dispatcher.#list('', seen);
      return [...seen.values()];
    };
  }

  constructor() {
    setBrand(this, dispatcherBrand);
  }

  /** `true` for a dispatcher from this or any other installed copy of `@tinyrpc/core`. */
  static isRpcDispatcher(value: unknown): value is RpcDispatcher {
    return hasBrand(value, dispatcherBrand);
  }

  /** Internal: what a client needs to serve this dispatcher on its connection. */
  [createServing](protocol: RpcProtocol, host: ServingHost): Serving {
    return serveOnClient(this, protocol, host);
  }

  /**
   * Registers `fn` under `name`, given the {@link CallContext} as its first argument (the caller's
   * `peer`, the `signal`, the transport's context); throws a `TypeError` if the name is taken.
   */
  add(
    name: string,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- methods take any arguments
    fn: (context: CallContext, ...args: any[]) => unknown,
    options: MethodOptions & { readonly context: true },
  ): this;
  /** Registers `fn` under `name`; throws a `TypeError` if the name is taken. */
  add(name: string, fn: RpcMethod, options?: MethodOptions): this;
  add(name: string, fn: RpcMethod, options: MethodOptions = {}): this {
    if (typeof name !== 'string' || name === '')
      throw new TypeError('A method name must be a non-empty string');
    if (typeof fn !== 'function') throw new TypeError(`Method '${name}' must be a function`);
    if (this.#methods.has(name))
      throw new TypeError(`A method named '${name}' is already registered`);
    const required = Math.max(0, fn.length - (options.context ? 1 : 0));
    this.#methods.set(name, { name, fn, options, required });
    return this;
  }

  /**
   * Registers every method of `instance` marked with the {@link rpcPublic} decorator, bound to it,
   * as `prefix` + its name.
   */
  registerInstance(instance: object, prefix = ''): this {
    for (const [key, method, options] of publicMethodsOf(instance)) {
      this.add(prefix + (options.name ?? key), method.bind(instance), options);
    }
    return this;
  }

  /** Answers every name that starts with `prefix` from `dispatcher`, with the prefix removed. */
  addSubdispatch(dispatcher: RpcDispatcher, prefix = ''): this {
    if (dispatcher === this) throw new TypeError('A dispatcher cannot be its own subdispatcher');
    this.#subdispatchers.push([prefix, dispatcher]);
    return this;
  }

  /** The method registered as `name`; throws {@link MethodNotFoundError} if there is none. */
  get(name: string): RegisteredMethod {
    const entry = this.#find(name);
    if (entry === undefined) throw new MethodNotFoundError();
    return entry;
  }

  /** Names of all methods, subdispatchers' included (with their prefixes). */
  names(): string[] {
    const names = [...this.#methods.keys()];
    for (const [prefix, dispatcher] of this.#subdispatchers) {
      for (const name of dispatcher.names()) names.push(prefix + name);
    }
    return names;
  }

  /**
   * Registers `rpc.discover`, which answers an OpenRPC 1.3 document of every method registered at
   * the time of the call (see {@link createOpenRpcDocument}).
   */
  enableDiscovery(info: DiscoveryInfo, options: DiscoveryOptions = {}): this {
    return this.add('rpc.discover', () => createOpenRpcDocument(this, info, options), {
      params: [],
      summary: 'Returns the OpenRPC document of this service',
    });
  }

  // In lookup order (#find), so the first entry of a name is the one that answers it.
  #list(prefix: string, into: Map<string, ListedMethod>): void {
    for (const entry of this.#methods.values()) {
      const name = prefix + entry.name;
      if (!into.has(name)) into.set(name, { ...entry, name });
    }
    for (const [subprefix, dispatcher] of this.#subdispatchers) {
      dispatcher.#list(prefix + subprefix, into);
    }
  }

  /**
   * Calls the method a request names and builds its response: `undefined` for a notification, and
   * for a batch the batch response (whose `serialize()` is `undefined` when nothing needs answering).
   * Never rejects: every failure becomes an error response.
   */
  async dispatch(
    request: RpcRequest | RpcBatchRequest,
    options: DispatchOptions = {},
  ): Promise<RpcResponse | RpcBatchResponse | undefined> {
    return this.dispatchAny(request, options);
  }

  /** Like {@link dispatch}, without a promise when every method answered synchronously. */
  dispatchAny(
    request: RpcRequest | RpcBatchRequest,
    options: DispatchOptions = {},
  ): MaybePromise<RpcResponse | RpcBatchResponse | undefined> {
    if ('batch' in request) return this.#dispatchBatch(request, options);
    return this.dispatchOne(request, options);
  }

  /** Calls the method of one request; `undefined` for a notification. Never throws or rejects. */
  dispatchOne(
    request: RpcRequest,
    options: DispatchOptions = {},
  ): MaybePromise<RpcResponse | undefined> {
    const { interceptors } = options;
    if (interceptors !== undefined && interceptors.length > 0)
      return this.#intercepted(request, options, interceptors);
    let result: unknown;
    try {
      const entry = this.#find(request.method);
      if (entry === undefined) throw new MethodNotFoundError();
      result = this.#invoke(entry, request.params, request, options);
    } catch (error) {
      return request.oneWay ? undefined : request.errorRespond(error, errorOptions(options));
    }
    if (isPromiseLike(result)) return respondLater(request, result, options);
    return request.oneWay ? undefined : request.respond(result);
  }

  // The interceptors' path: a call object they can read and change. It stays synchronous when the
  // interceptors and the method are.
  #intercepted(
    request: RpcRequest,
    options: DispatchOptions,
    interceptors: readonly ServerInterceptor[],
  ): MaybePromise<RpcResponse | undefined> {
    const context = contextOf(request, options);
    const call: ServerCall = {
      method: request.method,
      params: request.params,
      id: request.id,
      oneWay: request.oneWay,
      headers: request.meta ?? context.transport.headers ?? noHeaders,
      context,
    };
    let result: unknown;
    try {
      result = runInterceptors(interceptors, call, this.#callMethod);
    } catch (error) {
      return respondTo(request, undefined, error ?? failedWithNothing, options);
    }
    if (!isPromiseLike(result)) return respondTo(request, result, undefined, options);
    return respondToLater(request, result, options);
  }

  // The end of every interceptor chain, made once rather than per call: what it needs comes with
  // the call (its context holds the request).
  readonly #callMethod = (call: ServerCall): unknown => {
    const entry = this.#find(call.method);
    if (entry === undefined) throw new MethodNotFoundError();
    return this.#invoke(entry, call.params, call.context.request, noOptions, call.context);
  };

  #dispatchBatch(batch: RpcBatchRequest, options: DispatchOptions): MaybePromise<RpcBatchResponse> {
    const answers: MaybePromise<RpcResponse | undefined>[] = [];
    let pending = false;
    for (const member of batch.requests) {
      const answer = RpcError.is(member) ? member.response : this.dispatchOne(member, options);
      if (isPromiseLike(answer)) pending = true;
      answers.push(answer);
    }
    const finish = (responses: (RpcResponse | undefined)[]): RpcBatchResponse =>
      batch.createBatchResponse(responses.filter((r): r is RpcResponse => r !== undefined));
    return pending
      ? Promise.all(answers as Promise<RpcResponse | undefined>[]).then(finish)
      : finish(answers as (RpcResponse | undefined)[]);
  }

  #find(name: string): Entry | undefined {
    const own = this.#methods.get(name);
    if (own !== undefined || this.#subdispatchers.length === 0) return own;
    for (const [prefix, dispatcher] of this.#subdispatchers) {
      if (name.startsWith(prefix)) {
        const found = dispatcher.#find(name.slice(prefix.length));
        if (found !== undefined) return found;
      }
    }
    return undefined;
  }

  #invoke(
    entry: Entry,
    params: Params | undefined,
    request: RpcRequest,
    options: DispatchOptions,
    context?: CallContext,
  ): unknown {
    const args = argumentsFor(entry, params);
    if (entry.options.schema !== undefined) {
      // The schema's output is what the method receives (it may fill in defaults), so that is what
      // the argument count is checked on.
      const named = params !== undefined && !Array.isArray(params);
      const checked = validate(
        entry.options.schema,
        args,
        named ? entry.options.params : undefined,
      );
      if (isPromiseLike(checked)) {
        return Promise.resolve(checked).then((valid) =>
          this.#call(entry, checkCount(entry, valid), request, options, context),
        );
      }
      return this.#call(entry, checkCount(entry, checked), request, options, context);
    }
    return this.#call(entry, checkCount(entry, args), request, options, context);
  }

  #call(
    entry: Entry,
    args: unknown[],
    request: RpcRequest,
    options: DispatchOptions,
    context: CallContext | undefined,
  ): unknown {
    if (!entry.options.context) return entry.fn(...args);
    return entry.fn(context ?? contextOf(request, options), ...args);
  }
}

// Something rejected with `undefined`: still a failure, answered as a server error.
const failedWithNothing = new Error('The call failed without a reason');

function respondTo(
  request: RpcRequest,
  value: unknown,
  error: unknown,
  options: DispatchOptions,
): RpcResponse | undefined {
  if (request.oneWay) return undefined;
  return error === undefined
    ? request.respond(value)
    : request.errorRespond(error, errorOptions(options));
}

// A function of its own: closures in dispatchOne would cost every synchronous call a context object.
function respondLater(
  request: RpcRequest,
  result: PromiseLike<unknown>,
  options: DispatchOptions,
): Promise<RpcResponse | undefined> {
  return Promise.resolve(result).then(
    (value) => (request.oneWay ? undefined : request.respond(value)),
    (error: unknown) =>
      request.oneWay ? undefined : request.errorRespond(error, errorOptions(options)),
  );
}

function respondToLater(
  request: RpcRequest,
  result: PromiseLike<unknown>,
  options: DispatchOptions,
): Promise<RpcResponse | undefined> {
  return Promise.resolve(result).then(
    (value) => respondTo(request, value, undefined, options),
    (error: unknown) => respondTo(request, undefined, error ?? failedWithNothing, options),
  );
}

function contextOf(request: RpcRequest, options: DispatchOptions): CallContext {
  const transport = options.transport ?? emptyContext;
  const own = options.callSignal?.(request);
  const shared = joinSignals(options.signal, transport.signal);
  return {
    request,
    transport,
    signal: own === undefined ? shared : joinSignals(shared, own),
    peer: options.peer,
    deadline: options.deadline,
  };
}

function argumentsFor(entry: Entry, params: Params | undefined): unknown[] {
  let args: unknown[];
  const names = entry.options.params;
  if (params === undefined) args = [];
  else if (Array.isArray(params)) args = params;
  else if (names === undefined) args = [params];
  else args = namedToPositional(names, params);
  if (names !== undefined && args.length > names.length) {
    throw new InvalidParamsError(undefined, {
      data: `'${entry.name}' takes at most ${String(names.length)} argument(s), got ${String(args.length)}`,
    });
  }
  return args;
}

function checkCount(entry: Entry, args: unknown[]): unknown[] {
  if (args.length < entry.required) {
    throw new InvalidParamsError(undefined, {
      data: `'${entry.name}' takes at least ${String(entry.required)} argument(s), got ${String(args.length)}`,
    });
  }
  return args;
}

function namedToPositional(names: readonly string[], params: Record<string, unknown>): unknown[] {
  for (const key of Object.keys(params)) {
    if (!names.includes(key))
      throw new InvalidParamsError(undefined, { data: `Unknown parameter '${key}'` });
  }
  const args = names.map((name) => (Object.hasOwn(params, name) ? params[name] : undefined));
  // Trailing names left out are not passed at all, so default values and `length` checks apply.
  while (args.length > 0 && !Object.hasOwn(params, names[args.length - 1] as string)) args.pop();
  return args;
}

// Issues come back with paths into the argument list; for named params the first step of a path is
// the parameter's name, so the caller reads `["b"]` for what it sent as `{ b: … }`.
function validate(
  schema: StandardSchemaV1,
  args: unknown[],
  names: readonly string[] | undefined,
): MaybePromise<unknown[]> {
  const outcome = schema['~standard'].validate(args);
  const read = (result: Awaited<typeof outcome>): unknown[] => {
    if (result.issues !== undefined) {
      const issues = result.issues.map((issue) => {
        const path = issue.path?.map(pathKey);
        if (names !== undefined && path !== undefined && path.length > 0)
          path[0] = names[Number(path[0])] ?? (path[0] as string);
        return path === undefined ? { message: issue.message } : { message: issue.message, path };
      });
      const [first] = issues;
      const where = first?.path === undefined ? '' : `${first.path.join('.')}: `;
      throw new InvalidParamsError(
        first === undefined ? undefined : `Invalid params: ${where}${first.message}`,
        { data: issues },
      );
    }
    return Array.isArray(result.value) ? (result.value as unknown[]) : [result.value];
  };
  return isPromiseLike(outcome) ? Promise.resolve(outcome).then(read) : read(outcome);
}

// A path step is a key, or (in Standard Schema) an object holding one.
function pathKey(step: PropertyKey | { readonly key: PropertyKey }): string {
  const key = typeof step === 'object' ? step.key : step;
  return typeof key === 'symbol' ? (key.description ?? '') : String(key);
}

function joinSignals(a: AbortSignal | undefined, b: AbortSignal | undefined): AbortSignal {
  if (a === undefined) return b ?? neverAborted;
  if (b === undefined) return a;
  return AbortSignal.any([a, b]);
}

function errorOptions(options: DispatchOptions): { hideMessage: boolean } | undefined {
  return options.hideErrorMessages ? { hideMessage: true } : undefined;
}

export { isPromiseLike };
