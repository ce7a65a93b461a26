import { hasBrand, setBrand } from './brand.ts';
import {
  InvalidReplyError,
  RemoteError,
  RpcError,
  TransportError,
  UnexpectedIdError,
} from './errors.ts';
import type { RunningCalls } from './cancellation.ts';
import { CallGuard } from './call-guard.ts';
import { DeadlineSweep } from './deadline-sweep.ts';
import {
  cancelledIdOf,
  cancelMethod,
  streamCreditMethod,
  streamItemMethod,
  streamOpenMethod,
} from './wire-names.ts';
import { defaultHighWaterMark, StreamConsumer, type StreamOptions } from './stream-consumer.ts';
import { streamEndOf } from './stream-end.ts';
import { clientTransportKind } from './contract.ts';
import type { RpcDispatcher } from './dispatcher.ts';
import { runInterceptors, type ClientCall, type ClientInterceptor } from './interceptor.ts';
import {
  callOrStream,
  createProxy,
  type ProxyOptions,
  type RpcOneWayProxy,
  type RpcProxy,
} from './proxy.ts';
import { isRequest } from './message-kind.ts';
import type { Responder } from './responder.ts';
import { createServing } from './serving.ts';
import type { TraceFunction } from './trace.ts';
import type {
  ClientTransport,
  Connection,
  RpcBatchRequest,
  TransportContext,
  CreateRequestOptions,
  Message,
  Params,
  ReplyStreamReceiver,
  RequestId,
  RpcBatchResponse,
  RpcProtocol,
  RpcRequest,
  RpcResponse,
  SendOptions,
} from './types.ts';

const clientBrand = Symbol.for('@tinyrpc/core/RpcClient');

/** Internal: hands a reply the server read on a connection to the peer whose call it answers. */
export const receiveReply = Symbol('receiveReply');
/** Internal: hands a `$/stream/item` the server read on a connection to the peer consuming it. */
export const receiveItem = Symbol('receiveItem');
/** Internal: `true` when a reply answers a call this client waits for. */
export const awaits = Symbol('awaits');
/** Internal: fails the calls waiting for a reply, leaving the connection open. */
export const abandonCalls = Symbol('abandonCalls');

/** Options of {@link RpcClient}. */
export interface RpcClientOptions {
  /**
   * Milliseconds a call may take before it fails with {@link RpcTimeoutError}: the one per-call
   * clock. Default: the transport's `defaultTimeout` (a broker transport has one), else no limit.
   * One timer per client keeps every call's time: a call fails at most about 5 ms after its timeout
   * (plus event-loop delay; up to 1 ms before it, as `setTimeout` may), and no timer is left once
   * no call waits.
   */
  readonly timeout?: number;
  /** Called with every message sent (`'-->'`) and every reply received (`'<--'`). */
  readonly trace?: TraceFunction;
  /**
   * Called with replies that belong to no call: unreadable ones ({@link InvalidReplyError}) and
   * ones whose id matches no pending call ({@link UnexpectedIdError}), and a `trace` hook that threw.
   * Other calls are not disturbed.
   */
  readonly onError?: (error: RpcError) => void;
  /**
   * Let call headers (trace context…) travel inside the message on a transport without headers
   * (JSON-RPC's `$meta` member). Default `false`: Python tinyrpc refuses requests with members it
   * does not know, so turn it on only when the server is tinyrpc for TypeScript.
   */
  readonly messageMeta?: boolean;
  /**
   * Serve these methods to the server over the same connection (a connection transport only): the
   * client answers the calls the server makes. A request that arrives at a client without one is
   * reported to `onError`; what a served call cannot answer goes there too.
   */
  readonly dispatcher?: RpcDispatcher;
  /** Answer served errors that are not `RpcError`s with a generic message; see `RpcServer`. */
  readonly hideErrorMessages?: boolean;
  /**
   * On a connection, send `$/cancelRequest` (LSP's notification) when a call is aborted or times
   * out, so the other end aborts its handler. Default: the transport's `cancelRequests` (`true`
   * where the other end is known to understand it: memory, callback, streams), else `false`, as
   * Python tinyrpc's WebSocket and ZeroMQ servers stall on notifications; `RpcPeer` defaults to
   * `true`.
   */
  readonly cancelRequests?: boolean;
}

/** Options of one call. */
export interface CallOptions {
  /** Milliseconds before the call fails with {@link RpcTimeoutError}; overrides the client's. */
  readonly timeout?: number;
  /** Aborts the call; it rejects with the signal's reason. */
  readonly signal?: AbortSignal;
}

/** One call of {@link RpcClient.callAll}. */
export interface CallSpec {
  readonly method: string;
  readonly params?: Params;
}

/** One call of {@link RpcClient.batch}. */
export interface BatchCallSpec extends CallSpec {
  /** Send it as a notification: its result is always `undefined`. */
  readonly oneWay?: boolean;
}

type Reply = RpcResponse | RpcBatchResponse;

interface Pending {
  /** Settles the call with its reply. */
  settle(reply: Reply): void;
  reject(error: unknown): void;
  readonly ids: readonly RequestId[];
}

/**
 * Calls remote methods: encodes calls with a protocol, sends them over a transport, and turns
 * replies into results or errors.
 *
 * An error response rejects with {@link RemoteError} (the server's code, message and data); a lost
 * connection with {@link TransportError}; a timeout with {@link RpcTimeoutError}. Calls that end by
 * timeout or abort leave nothing behind.
 */
export class RpcClient {
  readonly protocol: RpcProtocol;
  readonly transport: ClientTransport;
  readonly #options: RpcClientOptions;
  /** Calls waiting for a reply, on connections. */
  readonly #pending = new Map<RequestId, Pending>();
  /** Stops delivery from a connection; `undefined` on a request/reply transport. */
  readonly #unsubscribe: (() => void) | undefined;
  readonly #expectReply: SendOptions;
  readonly #oneWay: SendOptions;
  readonly #timeout: number | undefined;
  readonly #interceptors: ClientInterceptor[] = [];
  /** Serves the `dispatcher` option's methods to the other end of a connection. */
  readonly #responder: Responder | undefined;
  /** Aborts the signals of served calls when the client closes or its connection is lost. */
  #closing = new AbortController();
  readonly #serveContext: TransportContext;
  /** The served calls running now, which a `$/cancelRequest` from the other end can stop. */
  readonly #running: RunningCalls | undefined;
  readonly #cancelRequests: boolean;
  /** The streams this client consumes, by the id of their call. */
  readonly #streams = new Map<RequestId, StreamConsumer<unknown>>();
  /** `true` once this client has made a call over its connection. */
  #called = false;
  /** Calls given up recently, whose late answers are dropped without a word to `onError`. */
  readonly #givenUp = new Set<RequestId>();
  /** The one timer of this client's timeouts. */
  readonly #deadlines = new DeadlineSweep();

  constructor(protocol: RpcProtocol, transport: ClientTransport, options: RpcClientOptions = {}) {
    this.protocol = protocol;
    this.transport = transport;
    this.#options = options;
    const connection = clientTransportKind(transport) === 'connection';
    const label = protocol.contentType === undefined ? {} : { contentType: protocol.contentType };
    this.#expectReply = Object.freeze(connection ? label : { expectReply: true, ...label });
    this.#oneWay = Object.freeze(connection ? label : { expectReply: false, ...label });
    this.#timeout = options.timeout ?? transport.defaultTimeout;
    this.#cancelRequests =
      connection && (options.cancelRequests ?? transport.cancelRequests ?? false);
    this.#serveContext = Object.freeze({});
    if (options.dispatcher !== undefined) {
      const closing = (): AbortSignal => this.#closing.signal;
      const serving = options.dispatcher[createServing](protocol, {
        connection,
        transport,
        hideErrorMessages: options.hideErrorMessages,
        report: this.#report,
        get signal() {
          return closing();
        },
      });
      this.#responder = serving.responder;
      this.#running = serving.running;
    }
    this.#unsubscribe = connection
      ? (transport as Connection).subscribe({
          onMessage: (message) => {
            this.#receive(message);
          },
          onClose: (error) => {
            this.#lost(error);
          },
        })
      : undefined;
    setBrand(this, clientBrand);
  }

  /** `true` for a client from this or any other installed copy of `@tinyrpc/core`. */
  static isRpcClient(value: unknown): value is RpcClient {
    return hasBrand(value, clientBrand);
  }

  /** How many calls wait for a reply on a multiplexed transport. */
  get pendingCount(): number {
    return new Set(this.#pending.values()).size;
  }

  /**
   * Adds an interceptor that every call, notification and batch member passes through, after those
   * added before it. Returns the client, so calls chain.
   */
  use(interceptor: ClientInterceptor): this {
    this.#interceptors.push(interceptor);
    return this;
  }

  /** Calls `method` and resolves with its result. */
  call<T = unknown>(method: string, params?: Params, options?: CallOptions): Promise<T> {
    // No async wrapper of its own: #call turns a throw into a rejection already.
    if (this.#interceptors.length === 0) return this.#call(method, params, options) as Promise<T>;
    return runAsync(this.#interceptors, clientCall(method, params, false, options), (call) =>
      this.#call(call.method, call.params, call.options, call),
    ) as Promise<T>;
  }

  /** Sends a notification: the server runs `method` and answers nothing. */
  async notify(
    method: string,
    params?: Params,
    options?: Pick<CallOptions, 'signal'>,
  ): Promise<void> {
    if (this.#interceptors.length === 0) return this.#notify(method, params, options?.signal);
    await runInterceptors(this.#interceptors, clientCall(method, params, true, options), (call) =>
      this.#notify(call.method, call.params, call.options.signal, call),
    );
  }

  // Not async: the promise a reply settles is the caller's own, one turn of the microtask queue
  // sooner than an awaiting wrapper would make it (at many calls in flight, that turn shows).
  #call(
    method: string,
    params: Params | undefined,
    options: CallOptions | undefined,
    call?: ClientCall,
  ): Promise<unknown> {
    let message: Message;
    let id: RequestId;
    try {
      const request = this.protocol.createRequest(
        method,
        params,
        this.#requestOptions(false, call),
      );
      id = request.id as RequestId;
      if (call !== undefined) call.id = id;
      message = request.serialize();
    } catch (error) {
      return Promise.reject(error);
    }
    return this.#send(message, [id], true, options, call?.headers);
  }

  async #notify(
    method: string,
    params: Params | undefined,
    signal: AbortSignal | undefined,
    call?: ClientCall,
  ): Promise<void> {
    const request = this.protocol.createRequest(method, params, this.#requestOptions(true, call));
    await this.#sendOneWay(request.serialize(), signal, call?.headers);
  }

  // Headers travel inside the message only on a transport without headers, and only when allowed.
  #requestOptions(oneWay: boolean, call: ClientCall | undefined): CreateRequestOptions | undefined {
    const meta =
      call !== undefined &&
      this.#options.messageMeta === true &&
      this.transport.supportsHeaders !== true &&
      Object.keys(call.headers).length > 0
        ? call.headers
        : undefined;
    if (meta === undefined) return oneWay ? oneWayRequest : undefined;
    return { oneWay, meta };
  }

  /** Makes several calls at once, each its own message; one failure does not fail the others. */
  callAll(
    calls: readonly CallSpec[],
    options?: CallOptions,
  ): Promise<PromiseSettledResult<unknown>[]> {
    return Promise.allSettled(calls.map((c) => this.call(c.method, c.params, options)));
  }

  /**
   * Sends several calls as one batch message; resolves with each call's outcome in order (a
   * notification's is `undefined`). Rejects only when the batch as a whole fails.
   */
  async batch(
    calls: readonly BatchCallSpec[],
    options?: CallOptions,
  ): Promise<PromiseSettledResult<unknown>[]> {
    if (this.protocol.createBatchRequest === undefined) {
      throw new RpcError('This protocol has no batch requests; use callAll() instead');
    }
    if (calls.length === 0) throw new RpcError('A batch needs at least one call');
    if (this.#interceptors.length > 0) return this.#interceptedBatch(calls, options);
    return this.#batch(
      calls.map((c) =>
        this.protocol.createRequest(c.method, c.params, { oneWay: c.oneWay ?? false }),
      ),
      options,
    );
  }

  async #batch(
    requests: readonly RpcRequest[],
    options: CallOptions | undefined,
    headers?: Readonly<Record<string, string>>,
  ): Promise<PromiseSettledResult<unknown>[]> {
    const message = (
      this.protocol.createBatchRequest as NonNullable<RpcProtocol['createBatchRequest']>
    )(requests).serialize();
    const ids = requests.filter((r) => !r.oneWay).map((r) => r.id as RequestId);
    if (ids.length === 0) {
      await this.#sendOneWay(message, options?.signal, headers);
      return requests.map(() => ({ status: 'fulfilled', value: undefined }));
    }
    const reply = await this.#exchange(message, ids, options, headers);
    return requests.map((request) => settle(request, reply));
  }

  // Each member passes through the interceptors on its own; the members that reach the end within
  // one turn of the event loop travel as one batch. A member that arrives later (an interceptor that
  // waited, or a retry calling next() again) is sent as a call of its own.
  #interceptedBatch(
    calls: readonly BatchCallSpec[],
    options: CallOptions | undefined,
  ): Promise<PromiseSettledResult<unknown>[]> {
    interface Arrival {
      readonly call: ClientCall;
      resolve(value: unknown): void;
      reject(error: unknown): void;
    }
    const arrived: Arrival[] = [];
    let flushed = false;
    const outcomes = calls.map((spec) =>
      runAsync(
        this.#interceptors,
        clientCall(spec.method, spec.params, spec.oneWay ?? false, options),
        (call) => {
          if (flushed) {
            return call.oneWay
              ? this.#notify(call.method, call.params, call.options.signal, call)
              : this.#call(call.method, call.params, call.options, call);
          }
          return new Promise((resolve, reject) => arrived.push({ call, resolve, reject }));
        },
      ),
    );
    const flush = (): void => {
      flushed = true;
      if (arrived.length === 0) return;
      const requests = arrived.map(({ call }) => {
        const request = this.protocol.createRequest(
          call.method,
          call.params,
          this.#requestOptions(call.oneWay, call),
        );
        call.id = request.oneWay ? undefined : request.id;
        return request;
      });
      // Headers of a batch are those of its members together (one trace context per message).
      const headers = Object.assign({}, ...arrived.map(({ call }) => call.headers)) as Record<
        string,
        string
      >;
      this.#batch(requests, options, headers).then(
        (settled) => {
          settled.forEach((result, i) => {
            const member = arrived[i] as Arrival;
            if (result.status === 'fulfilled') member.resolve(result.value);
            else member.reject(result.reason);
          });
        },
        (error: unknown) => {
          for (const member of arrived) member.reject(error);
        },
      );
    };
    setTimeout(flush, 0);
    return Promise.allSettled(outcomes);
  }

  /**
   * Calls `method`, whose handler returns an async iterable (an `async function*`…), and iterates
   * its items as they come: `for await (const item of client.stream('ticks', [10])) …`. Over a
   * connection, or a request/reply transport with `streams: true` (HTTP, RabbitMQ). The producer
   * never runs more than `highWaterMark` items ahead of the loop (over HTTP, plus what the socket
   * buffers hold); `break` (or the signal) ends the producer's generator, running its `finally`
   * blocks; an error the producer throws reaches the loop after the items before it; a lost
   * connection throws a `TransportError`. Nothing is sent until the loop starts.
   */
  stream<T = unknown>(
    method: string,
    params?: Params,
    options: StreamOptions = {},
  ): AsyncIterable<T> {
    return {
      [Symbol.asyncIterator]: () => this.#openStream<T>(method, params, options),
    };
  }

  #openStream<T>(
    method: string,
    params: Params | undefined,
    options: StreamOptions,
  ): StreamConsumer<T> {
    const onConnection = this.#unsubscribe !== undefined;
    const { transport } = this;
    if (
      onConnection
        ? this.protocol.parseMessage === undefined
        : transport.kind !== 'request-reply' || transport.streams !== true
    )
      throw new RpcError(
        onConnection
          ? 'Streams on a connection need a protocol with parseMessage()'
          : 'This transport carries no streamed replies: use a connection (WebSocket, stream, ZeroMQ DEALER, callback, memory), HTTP or RabbitMQ',
      );
    const highWaterMark = options.highWaterMark ?? defaultHighWaterMark;
    if (!Number.isSafeInteger(highWaterMark) || highWaterMark < 1)
      throw new RangeError('highWaterMark must be a whole number of at least 1');
    const request = this.protocol.createRequest(method, params);
    const id = request.id as string | number;
    const stopped = new AbortController();
    // Over a request/reply transport, credit goes to the transport, which carries it or reads on.
    let grantToTransport: ((credit: number) => void) | undefined;
    const consumer = new StreamConsumer<T>(highWaterMark, {
      grant: (credit) => {
        if (onConnection) this.#control(streamCreditMethod, [id, credit]);
        else grantToTransport?.(credit);
      },
      stop: () => {
        stopped.abort(new RpcError('The stream was closed'));
      },
    });
    this.#streams.set(id, consumer);
    const signal =
      options.signal === undefined
        ? stopped.signal
        : AbortSignal.any([options.signal, stopped.signal]);
    const callOptions = { signal, timeout: options.timeout ?? Infinity };
    let reply: Promise<Reply>;
    if (onConnection) {
      this.#control(streamOpenMethod, [id, highWaterMark]);
      reply = this.#exchange(request.serialize(), [id], callOptions, undefined, true);
    } else {
      const receiver: ReplyStreamReceiver = {
        credit: highWaterMark,
        receive: (message) => this.#receiveStreamed(message),
        onCredit: (listener) => {
          grantToTransport = listener;
        },
      };
      reply = this.#send(
        request.serialize(),
        [id],
        false,
        callOptions,
        undefined,
        false,
        receiver,
      ) as Promise<Reply>;
    }
    reply.then(
      (reply) => {
        this.#streams.delete(id);
        try {
          if ('batch' in reply) throw new InvalidReplyError('A batch reply answered a stream');
          const items = streamEndOf(resultOf(reply, id));
          if (items === undefined)
            throw new InvalidReplyError('The method answered a single result, not a stream');
          if (items !== consumer.received)
            throw new TransportError(
              `The stream sent ${String(items)} items but ${String(consumer.received)} arrived`,
            );
          consumer.end();
        } catch (error) {
          consumer.fail(error);
        }
      },
      (error: unknown) => {
        this.#streams.delete(id);
        consumer.fail(error);
      },
    );
    return consumer;
  }

  // One message of a streamed reply over a request/reply transport: `true` for an item, which goes
  // to its consumer; `false` for anything else, the reply that ends the stream.
  #receiveStreamed(message: Message): boolean {
    let parsed: RpcRequest | RpcBatchRequest;
    try {
      parsed = this.protocol.parseRequest(message);
    } catch {
      return false;
    }
    if ('batch' in parsed || !parsed.oneWay || parsed.method !== streamItemMethod) return false;
    this.#trace('<--', message);
    this[receiveItem](parsed.params);
    return true;
  }

  // Sends one of the notifications that steer calls and streams; a failure goes to onError.
  #control(method: string, params: Params): void {
    const request = this.protocol.createRequest(method, params, oneWayRequest);
    this.#sendOneWay(request.serialize(), undefined).catch(this.#reportSendFailure);
  }

  /**
   * A proxy whose methods call the remote methods of the same name (after `prefix`).
   *
   * @typeParam Api - The remote API: an interface of its methods.
   */
  getProxy<Api = Record<string, (...args: never[]) => unknown>>(
    options?: ProxyOptions & { readonly oneWay?: false },
  ): RpcProxy<Api>;
  /**
   * A proxy whose methods send notifications of the same name (after `prefix`): no reply comes back.
   *
   * @typeParam Api - The remote API: an interface of its methods.
   */
  getProxy<Api = Record<string, (...args: never[]) => unknown>>(
    options: ProxyOptions & { readonly oneWay: true },
  ): RpcOneWayProxy<Api>;
  getProxy<Api>(
    options: ProxyOptions & { readonly oneWay?: boolean } = {},
  ): RpcProxy<Api> | RpcOneWayProxy<Api> {
    const prefix = options.prefix ?? '';
    return options.oneWay === true
      ? (createProxy((name, args) => this.notify(prefix + name, args)) as RpcOneWayProxy<Api>)
      : (createProxy((name, args) =>
          callOrStream(
            () => this.call(prefix + name, args),
            () => this.stream(prefix + name, args)[Symbol.asyncIterator](),
          ),
        ) as RpcProxy<Api>);
  }

  /**
   * Fails every pending call with a {@link TransportError}, aborts the signals of the calls it
   * serves, and closes the transport.
   */
  async close(): Promise<void> {
    this.#unsubscribe?.();
    this.#lost(new TransportError('Client closed'), true);
    await this.transport.close?.();
  }

  #exchange(
    message: Message,
    ids: readonly RequestId[],
    options: CallOptions | undefined,
    headers?: Readonly<Record<string, string>>,
    alwaysCancel = false,
  ): Promise<Reply> {
    return this.#send(message, ids, false, options, headers, alwaysCancel) as Promise<Reply>;
  }

  // Sends a call (or a batch) and waits for the reply under the call's timeout and signal. Resolves
  // with the reply, or, for a single call (`unwrap`), with its result: one promise less per call.
  #send(
    message: Message,
    ids: readonly RequestId[],
    unwrap: boolean,
    options: CallOptions | undefined,
    headers: Readonly<Record<string, string>> | undefined,
    alwaysCancel = false,
    stream?: ReplyStreamReceiver,
  ): Promise<unknown> {
    this.#trace('-->', message);
    const chosen = options?.timeout ?? this.#timeout;
    const timeout = chosen === undefined || Number.isFinite(chosen) ? chosen : undefined;
    const outer = options?.signal;
    if (outer?.aborted) return Promise.reject(outer.reason as Error);
    const guarded = timeout !== undefined || outer !== undefined;
    if (this.#unsubscribe !== undefined)
      return this.#sendAndWait(
        message,
        ids,
        unwrap,
        guarded,
        timeout,
        outer,
        headers,
        alwaysCancel,
      );
    if (!guarded) {
      const plain = this.#sendOptions(true, undefined, headers);
      return this.#sendAndRead(message, ids, unwrap, stream ? { ...plain, stream } : plain);
    }
    return new Promise((resolve, reject) => {
      const guard = new CallGuard(timeout, outer, this.#deadlines, reject);
      guard.label(this.#expectReply, this.#withHeaders(headers) ? headers : undefined, stream);
      this.#sendAndRead(message, ids, unwrap, guard).then(
        (value) => {
          guard.end();
          resolve(value);
        },
        (error: unknown) => {
          guard.end();
          reject(error);
        },
      );
    });
  }

  // The call was aborted or timed out: tell the other end, so the handler stops too.
  #cancel(ids: readonly RequestId[]): void {
    for (const id of ids) {
      if (id === null) continue;
      this.#giveUp(id);
      const request =
        this.protocol.createCancelRequest?.(id) ??
        this.protocol.createRequest(cancelMethod, { id }, oneWayRequest);
      void this.#sendOneWay(request.serialize(), undefined).catch(this.#reportSendFailure);
    }
  }

  // Remembers a bounded number of given-up ids, oldest forgotten first.
  #giveUp(id: RequestId): void {
    if (this.#givenUp.size >= 10_000) {
      const oldest = this.#givenUp.values().next().value as RequestId;
      this.#givenUp.delete(oldest);
    }
    this.#givenUp.add(id);
  }

  readonly #reportSendFailure = (error: unknown): void => {
    this.#report(
      RpcError.is(error) ? error : new TransportError('Could not send', { cause: error }),
    );
  };

  async #sendOneWay(
    message: Message,
    signal: AbortSignal | undefined,
    headers?: Readonly<Record<string, string>>,
  ): Promise<void> {
    this.#trace('-->', message);
    await this.transport.send(message, this.#sendOptions(false, signal, headers));
  }

  // One options object per expectReply when there is no signal, so the hot path allocates nothing.
  #sendOptions(
    expectReply: boolean,
    signal: AbortSignal | undefined,
    headers?: Readonly<Record<string, string>>,
  ): SendOptions {
    const base = expectReply ? this.#expectReply : this.#oneWay;
    const withHeaders = this.#withHeaders(headers);
    if (signal === undefined && !withHeaders) return base;
    return {
      ...base,
      ...(signal === undefined ? {} : { signal }),
      ...(withHeaders ? { headers } : {}),
    };
  }

  #withHeaders(headers: Readonly<Record<string, string>> | undefined): boolean {
    return (
      headers !== undefined &&
      this.transport.supportsHeaders === true &&
      Object.keys(headers).length > 0
    );
  }

  // Request/reply transports: the reply is whatever `send` resolves with.
  async #sendAndRead(
    message: Message,
    ids: readonly RequestId[],
    unwrap: boolean,
    options: SendOptions,
  ): Promise<unknown> {
    const data = await this.transport.send(message, options);
    if (data === undefined) throw new InvalidReplyError('The transport returned no reply');
    this.#trace('<--', data);
    const reply = this.#parse(data);
    if (!matches(reply, ids))
      throw new UnexpectedIdError(`Reply id ${describeIds(reply)} does not answer this call`);
    return unwrap ? outcomeOf(reply, ids[0] as RequestId) : reply;
  }

  // Multiplexed transports: register first, then send; `#receive` settles by id. A timed-out or
  // aborted call is forgotten (and, where the other end understands it, cancelled there).
  #sendAndWait(
    message: Message,
    ids: readonly RequestId[],
    unwrap: boolean,
    guarded: boolean,
    timeout: number | undefined,
    outer: AbortSignal | undefined,
    headers: Readonly<Record<string, string>> | undefined,
    alwaysCancel: boolean,
  ): Promise<unknown> {
    return new Promise((resolve, reject) => {
      for (const id of ids) {
        if (this.#pending.has(id)) {
          reject(new RpcError(`A call with id ${JSON.stringify(id)} is already pending`));
          return;
        }
      }
      const pending = new WaitingCall(ids, unwrap, resolve, reject);
      for (const id of ids) this.#pending.set(id, pending);
      this.#called = true;
      let options: SendOptions;
      if (guarded) {
        const guard = new CallGuard(timeout, outer, this.#deadlines, (error) => {
          this.#forget(ids);
          if (this.#cancelRequests || alwaysCancel) this.#cancel(ids);
          reject(error);
        });
        guard.label(this.#oneWay, this.#withHeaders(headers) ? headers : undefined);
        pending.guard = options = guard;
      } else {
        options = this.#sendOptions(false, undefined, headers);
      }
      // A transport that throws instead of rejecting must not leave the call registered.
      try {
        this.transport.send(message, options).then(undefined, (error: unknown) => {
          this.#sendFailed(pending, error);
        });
      } catch (error) {
        this.#sendFailed(pending, error);
      }
    });
  }

  #sendFailed(pending: Pending, error: unknown): void {
    this.#forget(pending.ids);
    pending.reject(error);
  }

  #receive(message: Message): void {
    this.#trace('<--', message);
    const responder = this.#responder;
    // Requests come only to a client that serves, or as the items of a stream it consumes.
    const either = responder !== undefined || this.#streams.size > 0;
    let parsed: Reply | RpcRequest | RpcBatchRequest;
    try {
      parsed = either
        ? (this.protocol as Required<RpcProtocol>).parseMessage(message)
        : this.#parse(message);
    } catch (error) {
      // A request the protocol could not read has an error response: the other end is owed it.
      const answer = responder?.parseFailure(error);
      if (answer !== undefined) this.#sendServed(answer);
      else
        this.#report(
          RpcError.is(error) ? error : new InvalidReplyError('Unreadable reply', { cause: error }),
        );
      return;
    }
    if (isRequest(parsed)) {
      if (!('batch' in parsed) && parsed.method === streamItemMethod && parsed.oneWay) {
        this[receiveItem](parsed.params);
        return;
      }
      if (responder === undefined) {
        this.#report(
          new InvalidReplyError(
            `A request for '${'batch' in parsed ? 'a batch' : parsed.method}' came to a client that serves nothing`,
          ),
        );
        return;
      }
      responder.answer(parsed, this.#serveContext, this, this.#running).then((answer) => {
        if (answer !== undefined) this.#sendServed(answer);
      }, this.#report);
      return;
    }
    this[receiveReply](parsed);
  }

  /** Internal: settles the call a reply answers; {@link RpcServer} calls it for its peers' replies. */
  [receiveReply](reply: Reply): void {
    const pending =
      'batch' in reply
        ? reply.responses.map((r) => this.#pending.get(r.id)).find((p) => p !== undefined)
        : (this.#pending.get(reply.id) ?? this.#onlyPendingFor(reply));
    if (pending === undefined) {
      // The late answer of a call given up (cancelled, timed out) is expected: drop it quietly.
      if (!('batch' in reply) && reply.id !== null && this.#givenUp.delete(reply.id)) return;
      this.#report(new UnexpectedIdError(`Reply id ${describeIds(reply)} matches no pending call`));
      return;
    }
    this.#forget(pending.ids);
    pending.settle(reply);
  }

  #sendServed(answer: Message): void {
    this.#trace('-->', answer);
    (this.transport as Connection).send(answer).then(undefined, this.#reportSendFailure);
  }

  /**
   * Internal: `true` when `reply` is this client's to take: it has made calls on this connection
   * (a reply matching none of them goes to `onError`), or the reply answers a waiting call.
   */
  [awaits](reply: Reply): boolean {
    if (this.#called) return true;
    if ('batch' in reply) return reply.responses.some((r) => this.#pending.has(r.id));
    return (
      this.#pending.has(reply.id) ||
      this.#onlyPendingFor(reply) !== undefined ||
      (reply.id !== null && this.#givenUp.has(reply.id))
    );
  }

  /** Internal: fails every waiting call with `error`; the connection stays. */
  [abandonCalls](error: Error): void {
    this.#failAll(error);
  }

  /** Internal: takes one item of a stream this client consumes. */
  [receiveItem](params: Params | undefined): void {
    const values = Array.isArray(params) ? params : [];
    const id = cancelledIdOf(values);
    const consumer = id === undefined ? undefined : this.#streams.get(id);
    if (consumer === undefined) {
      if (id === undefined || !this.#givenUp.has(id))
        this.#report(
          new UnexpectedIdError(`A stream item for ${JSON.stringify(id)} matches no stream`),
        );
      return;
    }
    consumer.push(values[1]);
  }

  readonly #report = (error: RpcError): void => {
    this.#options.onError?.(error);
  };

  // The connection is gone: every call waiting in either direction ends now. A transport that
  // reconnects by itself (ZeroMQ) may carry calls again afterwards, with a signal of their own.
  #lost(error: Error, closed = false): void {
    this.#closing.abort(error);
    if (!closed) this.#closing = new AbortController();
    this.#running?.endAll(error);
    this.#failAll(error);
  }

  // An error with id null answers a request the server could not read (over size, unparsable). On a
  // connection it can be matched only when a single call is waiting: then it is that call's answer.
  #onlyPendingFor(reply: RpcResponse): Pending | undefined {
    if (reply.id !== null || reply.error === undefined) return undefined;
    const calls = new Set(this.#pending.values());
    return calls.size === 1 ? calls.values().next().value : undefined;
  }

  // A failing trace hook must not fail the call, nor escape into a transport's event listener.
  #trace(direction: '-->' | '<--', message: Message): void {
    const { trace } = this.#options;
    if (trace === undefined) return;
    try {
      trace(direction, undefined, message);
    } catch (cause) {
      this.#options.onError?.(new RpcError('The trace hook threw', { cause }));
    }
  }

  #parse(data: Message): Reply {
    try {
      return this.protocol.parseReply(data);
    } catch (error) {
      throw RpcError.is(error)
        ? error
        : new InvalidReplyError('Unreadable reply', { cause: error });
    }
  }

  #forget(ids: readonly RequestId[]): void {
    for (const id of ids) this.#pending.delete(id);
  }

  #failAll(error: Error): void {
    const failure = RpcError.is(error)
      ? error
      : new TransportError(error.message, { cause: error });
    const calls = new Set(this.#pending.values());
    this.#pending.clear();
    for (const call of calls) call.reject(failure);
  }
}

// A client call always waits for a transport: its outcome is a promise, whatever interceptors return.
function runAsync(
  interceptors: readonly ClientInterceptor[],
  call: ClientCall,
  last: (call: ClientCall) => Promise<unknown>,
): Promise<unknown> {
  try {
    return Promise.resolve(runInterceptors(interceptors, call, last));
  } catch (error) {
    return Promise.reject(error);
  }
}

const oneWayRequest: CreateRequestOptions = Object.freeze({ oneWay: true });

function clientCall(
  method: string,
  params: Params | undefined,
  oneWay: boolean,
  options: CallOptions | undefined,
): ClientCall {
  return { method, params, oneWay, id: undefined, headers: {}, options: options ?? {} };
}

function matches(reply: Reply, ids: readonly RequestId[]): boolean {
  if ('batch' in reply)
    return reply.responses.length === 0 || reply.responses.some((r) => ids.includes(r.id));
  // An error with id null answers a request the server could not read: it is this call's answer.
  return ids.includes(reply.id) || (reply.id === null && reply.error !== undefined);
}

function describeIds(reply: Reply): string {
  return JSON.stringify('batch' in reply ? reply.responses.map((r) => r.id) : reply.id);
}

// The result of a single call's reply, or the error it answers with.
function outcomeOf(reply: Reply, id: RequestId): unknown {
  if ('batch' in reply) throw new InvalidReplyError('A batch reply answered a single call');
  return resultOf(reply, id);
}

/** A call (or batch) waiting on a connection for its reply. */
class WaitingCall implements Pending {
  readonly ids: readonly RequestId[];
  /** Set when the call has a timeout or a signal. */
  guard: CallGuard | undefined;
  readonly #unwrap: boolean;
  readonly #resolve: (value: unknown) => void;
  readonly #reject: (error: unknown) => void;

  constructor(
    ids: readonly RequestId[],
    unwrap: boolean,
    resolve: (value: unknown) => void,
    reject: (error: unknown) => void,
  ) {
    this.ids = ids;
    this.#unwrap = unwrap;
    this.#resolve = resolve;
    this.#reject = reject;
  }

  // A single call resolves with its result: the caller's await is the only turn left.
  settle(reply: Reply): void {
    this.guard?.end();
    if (!this.#unwrap) {
      this.#resolve(reply);
      return;
    }
    try {
      this.#resolve(outcomeOf(reply, this.ids[0] as RequestId));
    } catch (error) {
      this.#reject(error);
    }
  }

  reject(error: unknown): void {
    this.guard?.end();
    this.#reject(error);
  }
}

function resultOf(response: RpcResponse, id: RequestId): unknown {
  if (response.error !== undefined) {
    const { code, message, data } = response.error;
    throw new RemoteError(message, { code, data });
  }
  if (response.id !== id)
    throw new UnexpectedIdError(
      `Reply id ${JSON.stringify(response.id)} does not answer this call`,
    );
  return response.result;
}

function settle(request: RpcRequest, reply: Reply): PromiseSettledResult<unknown> {
  if (request.oneWay) return { status: 'fulfilled', value: undefined };
  // A single error response to a batch (say, the server has no batches) fails every call in it.
  const response = 'batch' in reply ? reply.responses.find((r) => r.id === request.id) : reply;
  if (response === undefined) {
    return {
      status: 'rejected',
      reason: new InvalidReplyError('The batch reply has no response for this call'),
    };
  }
  try {
    return {
      status: 'fulfilled',
      value: resultOf(response, response.error ? response.id : (request.id as RequestId)),
    };
  } catch (error) {
    return { status: 'rejected', reason: error };
  }
}
