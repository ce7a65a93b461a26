import { deadlineOf, type RunningCalls } from './cancellation.ts';
import type { RpcDispatcher } from './dispatcher.ts';
import { isPromiseLike } from './promise-like.ts';
import { InternalError, RequestCancelledError, RpcError } from './errors.ts';
import type { ServerInterceptor } from './interceptor.ts';
import {
  connectionSink,
  isStream,
  notAskedToStream,
  produce,
  replySink,
} from './stream-producer.ts';
import type { RpcClient } from './client.ts';
import type { TraceDirection, TraceFunction } from './trace.ts';
import { InFlight } from './transport/in-flight.ts';
import type {
  Message,
  RpcBatchRequest,
  RpcBatchResponse,
  RpcProtocol,
  RpcRequest,
  ReplyStreamSender,
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
  /** Milliseconds any call may run before its signal aborts and it is answered with an error. */
  readonly maxDuration?: number | undefined;
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
  handle(
    message: Message,
    context: TransportContext,
    traced = false,
  ): Promise<Message | undefined> {
    if (!traced) this.trace('-->', context, message);
    let parsed: RpcRequest | RpcBatchRequest;
    try {
      parsed = this.#protocol.parseRequest(message);
    } catch (error) {
      return Promise.resolve(this.reply(this.parseFailure(error), context));
    }
    return this.answer(parsed, context);
  }

  /**
   * Answers a request already read (and traced). `peer` is the caller's, where it can be called
   * back; `running` tracks the calls of the caller's connection, where a `$/cancelRequest` can
   * reach them (a cancel notification is taken here and answers nothing).
   */
  answer(
    parsed: RpcRequest | RpcBatchRequest,
    context: TransportContext,
    peer?: RpcClient,
    running?: RunningCalls,
  ): Promise<Message | undefined> {
    const options = this.#options;
    if ('batch' in parsed)
      return this.#settle(parsed, context, this.#dispatch(parsed, context, peer));
    if (running !== undefined && parsed.oneWay && running.control(parsed)) return nothing;
    const deadline =
      context.headers === undefined && context['deadline'] === undefined
        ? undefined
        : deadlineOf(context);
    if (deadline !== undefined && deadline <= Date.now())
      return this.#stopped(parsed, context, "The call's deadline passed before it ran");
    const id = parsed.oneWay ? undefined : parsed.id;
    const limited = options.maxDuration !== undefined && id !== undefined;
    const overtime = limited ? new AbortController() : undefined;
    const credit = id === undefined ? undefined : running?.takeOpened(id);
    const dispatched = this.#dispatch(
      parsed,
      context,
      peer,
      deadline,
      running === undefined && deadline === undefined && overtime === undefined
        ? undefined
        : (request) =>
            ownSignal(
              request.id === undefined || running === undefined
                ? undefined
                : running.signalFor(request.id),
              deadline,
              overtime?.signal,
            ),
    );
    // A stream the caller asked for (`$/stream/open` came first on a connection, or the transport
    // has a sender for it) is produced before the answer.
    const sink =
      id === undefined
        ? undefined
        : credit !== undefined && running !== undefined
          ? () => connectionSink(id as string | number, credit, running)
          : context.stream === undefined
            ? undefined
            : () => replySink(context.stream as ReplyStreamSender, context.signal);
    const answer =
      sink === undefined
        ? dispatched
        : Promise.resolve(dispatched).then((value) =>
            isStream(value) ? produce(this.#protocol, parsed, value.result, sink()) : value,
          );
    if (!isPromiseLike(answer)) {
      if (running !== undefined && id !== undefined) running.finish(id);
      return Promise.resolve(this.reply(this.#serialize(parsed, answer), context));
    }
    if (running === undefined && overtime === undefined)
      return this.#settle(parsed, context, answer);
    if (running !== undefined && id !== undefined) running.track(id);
    const finished = answer.then((value) => {
      const cancelled = running !== undefined && id !== undefined && running.finish(id);
      return cancelled && value !== undefined
        ? parsed.errorRespond(new RequestCancelledError())
        : value;
    });
    if (overtime === undefined) return this.#settle(parsed, context, finished);
    return this.#settle(parsed, context, this.#limit(parsed, finished, overtime, running));
  }

  #dispatch(
    parsed: RpcRequest | RpcBatchRequest,
    context: TransportContext,
    peer: RpcClient | undefined,
    deadline?: number,
    callSignal?: (request: RpcRequest) => AbortSignal | undefined,
  ): Answer | PromiseLike<Answer> {
    const options = this.#options;
    return this.#dispatcher.dispatchAny(parsed, {
      transport: context,
      signal: options.signal,
      hideErrorMessages: options.hideErrorMessages ?? false,
      interceptors: options.interceptors,
      peer,
      deadline,
      callSignal,
    });
  }

  // A call that runs past maxDuration is answered with an error at once; its late answer is dropped.
  #limit(
    request: RpcRequest,
    answer: PromiseLike<Answer>,
    overtime: AbortController,
    running: RunningCalls | undefined,
  ): Promise<Answer> {
    const limit = this.#options.maxDuration as number;
    return new Promise<Answer>((resolve, reject) => {
      const timer = setTimeout(() => {
        if (running !== undefined && request.id !== undefined) running.finish(request.id);
        const error = new RequestCancelledError(
          `The call ran past the server's maxDuration of ${String(limit)} ms`,
        );
        overtime.abort(error);
        resolve(request.errorRespond(error));
      }, limit);
      answer.then(
        (value) => {
          clearTimeout(timer);
          resolve(value);
        },
        (error: unknown) => {
          clearTimeout(timer);
          reject(error);
        },
      );
    });
  }

  #stopped(
    request: RpcRequest,
    context: TransportContext,
    why: string,
  ): Promise<Message | undefined> {
    if (request.oneWay) return nothing;
    return Promise.resolve(
      this.reply(request.errorRespond(new RequestCancelledError(why)).serialize(), context),
    );
  }

  // Encodes an asynchronous answer. One `then` with both callbacks, counted by hand: each further
  // `then`, `catch` or `finally` would cost every asynchronous call another promise and another
  // turn of the microtask queue.
  #settle(
    parsed: RpcRequest | RpcBatchRequest,
    context: TransportContext,
    answer: Answer | PromiseLike<Answer>,
  ): Promise<Message | undefined> {
    if (!isPromiseLike(answer))
      return Promise.resolve(this.reply(this.#serialize(parsed, answer), context));
    const options = this.#options;
    const inFlight = this.inFlight;
    inFlight.start();
    return Promise.resolve(
      answer.then(
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
      ),
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
    if (isStream(answer)) return (request as RpcRequest).errorRespond(notAskedToStream).serialize();
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

const nothing: Promise<undefined> = Promise.resolve(undefined);

// The signal a call has of its own: cancelled, past its deadline, or past maxDuration.
function ownSignal(
  cancelled: AbortSignal | undefined,
  deadline: number | undefined,
  overtime: AbortSignal | undefined,
): AbortSignal | undefined {
  const signals: AbortSignal[] = [];
  if (cancelled !== undefined) signals.push(cancelled);
  if (deadline !== undefined) signals.push(AbortSignal.timeout(Math.max(0, deadline - Date.now())));
  if (overtime !== undefined) signals.push(overtime);
  return signals.length <= 1 ? signals[0] : AbortSignal.any(signals);
}

function unencodable(cause: unknown): InternalError {
  return new InternalError('Result could not be encoded', { cause });
}
