import { hasBrand, setBrand } from './brand.ts';
import { isPromiseLike, type RpcDispatcher } from './dispatcher.ts';
import { InternalError, RpcError } from './errors.ts';
import type { ServerInterceptor } from './interceptor.ts';
import { InFlight } from './transport/in-flight.ts';
import type {
  ListenOptions,
  Message,
  RpcBatchRequest,
  RpcBatchResponse,
  RpcProtocol,
  RpcRequest,
  RpcResponse,
  ServerTransport,
  TransportContext,
} from './types.ts';

const serverBrand = Symbol.for('@tinyrpc/core/RpcServer');

/**
 * Which way a traced message travels, on both sides as in Python tinyrpc: `'-->'` from client to
 * server (a request: sent by a client, received by a server), `'<--'` from server to client (a reply).
 */
export type TraceDirection = '-->' | '<--';

/** Called with every raw message in and out, as Python tinyrpc's `trace`. */
export type TraceFunction = (
  direction: TraceDirection,
  context: TransportContext | undefined,
  message: Message,
) => void;

/** Options of {@link RpcServer}. */
export interface RpcServerOptions {
  /** Called with every message received (`'-->'`) and every reply sent (`'<--'`). */
  readonly trace?: TraceFunction;
  /**
   * Answer errors that are not {@link RpcError}s with the generic message `'Server error'` instead
   * of the error's own message. Default `false`, as in Python tinyrpc.
   */
  readonly hideErrorMessages?: boolean;
  /** Called with errors that cannot be answered (a protocol that failed to build any response). */
  readonly onError?: (error: unknown) => void;
}

type Answer = RpcResponse | RpcBatchResponse | undefined;

/**
 * Receives messages from a transport, has the protocol read them, the dispatcher answer them, and
 * sends the replies back. Requests are handled concurrently.
 */
export class RpcServer {
  readonly transport: ServerTransport;
  readonly protocol: RpcProtocol;
  readonly dispatcher: RpcDispatcher;
  readonly #options: RpcServerOptions;
  readonly #closing = new AbortController();
  readonly #inFlight = new InFlight();
  readonly #interceptors: ServerInterceptor[] = [];
  #serving = false;

  constructor(
    transport: ServerTransport,
    protocol: RpcProtocol,
    dispatcher: RpcDispatcher,
    options: RpcServerOptions = {},
  ) {
    this.transport = transport;
    this.protocol = protocol;
    this.dispatcher = dispatcher;
    this.#options = options;
    setBrand(this, serverBrand);
  }

  /** `true` for a server from this or any other installed copy of `@tinyrpc/core`. */
  static isRpcServer(value: unknown): value is RpcServer {
    return hasBrand(value, serverBrand);
  }

  /**
   * Adds an interceptor that every call passes through (each member of a batch on its own), after
   * those added before it. Returns the server, so calls chain.
   */
  use(interceptor: ServerInterceptor): this {
    this.#interceptors.push(interceptor);
    return this;
  }

  /** Starts serving; resolves once the transport accepts messages. */
  async serve(): Promise<void> {
    if (this.#closing.signal.aborted) throw new Error('This server is closed');
    if (this.#serving) throw new Error('This server is already serving');
    this.#serving = true;
    const { protocol } = this;
    const options: ListenOptions = {
      ...(protocol.contentType === undefined ? {} : { contentType: protocol.contentType }),
      errorReply: (error) => {
        try {
          return protocol.createErrorResponse?.(error).serialize();
        } catch (failure) {
          this.#options.onError?.(failure);
          return undefined;
        }
      },
    };
    await this.transport.listen((message, context) => this.handle(message, context), options);
  }

  /**
   * Stops serving: the transport stops accepting, call contexts' signals abort, and in-flight calls
   * finish and are answered before the returned promise resolves.
   */
  async close(): Promise<void> {
    this.#closing.abort(new Error('Server closed'));
    await Promise.all([this.transport.close(), this.#inFlight.drain()]);
  }

  /**
   * Answers one raw message: the reply to send back, or `undefined` when none is due. Transports
   * call this through `listen`; it never rejects.
   */
  handle(message: Message, context: TransportContext = {}): Promise<Message | undefined> {
    try {
      return this.#handle(message, context);
    } catch (error) {
      // Only a protocol whose serializer fails even for an error response gets here: nothing can
      // be sent back, but the transport must not see a throw.
      this.#options.onError?.(error);
      return Promise.resolve(undefined);
    }
  }

  #handle(message: Message, context: TransportContext): Promise<Message | undefined> {
    this.#trace('-->', context, message);
    let parsed: RpcRequest | RpcBatchRequest;
    try {
      parsed = this.protocol.parseRequest(message);
    } catch (error) {
      return Promise.resolve(this.#reply(this.#parseFailure(error), context));
    }
    const answer = this.dispatcher.dispatchAny(parsed, {
      transport: context,
      signal: this.#closing.signal,
      hideErrorMessages: this.#options.hideErrorMessages ?? false,
      interceptors: this.#interceptors,
    });
    if (!isPromiseLike(answer))
      return Promise.resolve(this.#reply(this.#serialize(parsed, answer), context));
    // One `then` with both callbacks, counted by hand: each further `then`, `catch` or `finally`
    // would cost every asynchronous call another promise and another turn of the microtask queue.
    const inFlight = this.#inFlight;
    inFlight.start();
    return answer.then(
      (value) => {
        inFlight.finish();
        try {
          return this.#reply(this.#serialize(parsed, value), context);
        } catch (error) {
          this.#options.onError?.(error);
          return undefined;
        }
      },
      (error: unknown) => {
        inFlight.finish();
        this.#options.onError?.(error);
        return undefined;
      },
    );
  }

  #reply(reply: Message | undefined, context: TransportContext): Message | undefined {
    if (reply !== undefined) this.#trace('<--', context, reply);
    return reply;
  }

  // A failing trace hook is reported, not allowed to stop the message it was shown.
  #trace(direction: TraceDirection, context: TransportContext, message: Message): void {
    const { trace } = this.#options;
    if (trace === undefined) return;
    try {
      trace(direction, context, message);
    } catch (error) {
      this.#options.onError?.(error);
    }
  }

  #parseFailure(error: unknown): Message | undefined {
    if (RpcError.is(error) && error.response !== undefined) return error.response.serialize();
    this.#options.onError?.(error);
    return undefined;
  }

  // A result the protocol cannot encode (a BigInt in JSON, a cycle) answers as an internal error
  // instead of leaving the caller waiting.
  #serialize(request: RpcRequest | RpcBatchRequest, answer: Answer): Message | undefined {
    if (answer === undefined) return undefined;
    try {
      return answer.serialize();
    } catch (error) {
      if (!('batch' in answer))
        return (request as RpcRequest).errorRespond(unencodable(error)).serialize();
      const batch = request as RpcBatchRequest;
      const repaired = answer.responses.map((response) => {
        try {
          response.serialize();
          return response;
        } catch (memberError) {
          const member = batch.requests.find((r) => !RpcError.is(r) && r.id === response.id);
          return (member as RpcRequest).errorRespond(unencodable(memberError));
        }
      });
      return batch.createBatchResponse(repaired).serialize();
    }
  }
}

function unencodable(cause: unknown): InternalError {
  return new InternalError('Result could not be encoded', { cause });
}
