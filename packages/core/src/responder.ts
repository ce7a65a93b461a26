import { isPromiseLike, type RpcDispatcher } from './dispatcher.ts';
import { InternalError, RpcError } from './errors.ts';
import type { ServerInterceptor } from './interceptor.ts';
import type { RpcClient } from './client.ts';
import type { TraceDirection, TraceFunction } from './trace.ts';
import { InFlight } from './transport/in-flight.ts';
import type {
  Message,
  RpcBatchRequest,
  RpcBatchResponse,
  RpcProtocol,
  RpcRequest,
  RpcResponse,
  TransportContext,
} from './types.ts';

/** What a {@link Responder} needs besides its protocol and dispatcher. */
export interface ResponderOptions {
  readonly trace?: TraceFunction | undefined;
  readonly hideErrorMessages?: boolean | undefined;
  readonly onError?: ((error: unknown) => void) | undefined;
  readonly interceptors: readonly ServerInterceptor[];
  /** Aborts every running handler's signal: the server or peer closed. */
  readonly signal: AbortSignal;
}

type Answer = RpcResponse | RpcBatchResponse | undefined;

/**
 * Answers parsed requests: has the dispatcher run them and encodes the replies. The one
 * implementation behind `RpcServer` and the serving side of `RpcClient` and `RpcPeer`.
 */
export class Responder {
  readonly inFlight = new InFlight();
  readonly #protocol: RpcProtocol;
  readonly #dispatcher: RpcDispatcher;
  readonly #options: ResponderOptions;

  constructor(protocol: RpcProtocol, dispatcher: RpcDispatcher, options: ResponderOptions) {
    this.#protocol = protocol;
    this.#dispatcher = dispatcher;
    this.#options = options;
  }

  /** Reads `message` as a request and answers it; never rejects. */
  handle(message: Message, context: TransportContext): Promise<Message | undefined> {
    this.trace('-->', context, message);
    let parsed: RpcRequest | RpcBatchRequest;
    try {
      parsed = this.#protocol.parseRequest(message);
    } catch (error) {
      return Promise.resolve(this.reply(this.parseFailure(error), context));
    }
    return this.answer(parsed, context);
  }

  /** Answers a request already read (and traced); `peer` is the caller's, where it can be called back. */
  answer(
    parsed: RpcRequest | RpcBatchRequest,
    context: TransportContext,
    peer?: RpcClient,
  ): Promise<Message | undefined> {
    const options = this.#options;
    const answer = this.#dispatcher.dispatchAny(parsed, {
      transport: context,
      signal: options.signal,
      hideErrorMessages: options.hideErrorMessages ?? false,
      interceptors: options.interceptors,
      peer,
    });
    if (!isPromiseLike(answer))
      return Promise.resolve(this.reply(this.#serialize(parsed, answer), context));
    // One `then` with both callbacks, counted by hand: each further `then`, `catch` or `finally`
    // would cost every asynchronous call another promise and another turn of the microtask queue.
    const inFlight = this.inFlight;
    inFlight.start();
    return answer.then(
      (value) => {
        inFlight.finish();
        try {
          return this.reply(this.#serialize(parsed, value), context);
        } catch (error) {
          options.onError?.(error);
          return undefined;
        }
      },
      (error: unknown) => {
        inFlight.finish();
        options.onError?.(error);
        return undefined;
      },
    );
  }

  /** Traces an outgoing reply and passes it on. */
  reply(reply: Message | undefined, context: TransportContext): Message | undefined {
    if (reply !== undefined) this.trace('<--', context, reply);
    return reply;
  }

  /** The error reply to a message the protocol could not read, if it has one. */
  parseFailure(error: unknown): Message | undefined {
    if (RpcError.is(error) && error.response !== undefined) return error.response.serialize();
    this.#options.onError?.(error);
    return undefined;
  }

  /** A failing trace hook is reported, not allowed to stop the message it was shown. */
  trace(direction: TraceDirection, context: TransportContext, message: Message): void {
    const { trace } = this.#options;
    if (trace === undefined) return;
    try {
      trace(direction, context, message);
    } catch (error) {
      this.#options.onError?.(error);
    }
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

/** `true` when a message read by `parseMessage` is a request or batch of requests, not a reply. */
export function isRequest(
  parsed: RpcRequest | RpcBatchRequest | RpcResponse | RpcBatchResponse,
): parsed is RpcRequest | RpcBatchRequest {
  return 'method' in parsed || 'requests' in parsed;
}

function unencodable(cause: unknown): InternalError {
  return new InternalError('Result could not be encoded', { cause });
}
