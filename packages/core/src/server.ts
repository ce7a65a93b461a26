import { hasBrand, setBrand } from './brand.ts';
import {
  abandonCalls,
  awaits,
  receiveItem,
  receiveReply,
  type RpcClientOptions,
} from './client.ts';
import { RunningCalls } from './cancellation.ts';
import { streamItemMethod } from './wire-names.ts';
import { checkServerTransport } from './contract.ts';
import type { RpcDispatcher } from './dispatcher.ts';
import { RpcError, TransportError } from './errors.ts';
import type { ServerInterceptor } from './interceptor.ts';
import { peerOfServerConnection, RpcPeer } from './peer.ts';
import { isRequest } from './message-kind.ts';
import { Responder } from './responder.ts';
import type { TraceFunction } from './trace.ts';
import type {
  ListenOptions,
  Message,
  RpcBatchRequest,
  RpcProtocol,
  RpcRequest,
  ServerConnection,
  ServerTransport,
  TransportContext,
} from './types.ts';

export type { TraceDirection, TraceFunction } from './trace.ts';

const serverBrand = Symbol.for('@tinyrpc/core/RpcServer');

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
  /**
   * Options of the {@link RpcPeer} the server makes of each connection, for its calls to the
   * client: `timeout`, `trace`, `onError`, `messageMeta`.
   */
  readonly peerOptions?: Omit<RpcClientOptions, 'dispatcher'>;
  /**
   * Milliseconds any call may run: past it, the call's `signal` aborts and the caller is answered
   * with a `RequestCancelledError` (-32800) at once. Default: no limit.
   */
  readonly maxDuration?: number;
}

/** What the server keeps of one connection: its peer, and the calls running on it. */
interface ConnectionState {
  readonly peer: RpcPeer;
  readonly running: RunningCalls;
}

/** Called with each peer that connects; see {@link RpcServer.onConnection}. */
export type PeerListener = (peer: RpcPeer, context: TransportContext) => void;

/**
 * Receives messages from a transport, has the protocol read them, the dispatcher answer them, and
 * sends the replies back. Requests are handled concurrently.
 *
 * Over a transport with connections (WebSocket, streams, ZeroMQ, callback, memory) the server can
 * call its clients too: a handler registered with `{ context: true }` finds the caller's
 * {@link RpcPeer} as `context.peer`, and {@link RpcServer.onConnection} and
 * {@link RpcServer.peers} reach every connected client.
 */
export class RpcServer {
  readonly transport: ServerTransport;
  readonly protocol: RpcProtocol;
  readonly dispatcher: RpcDispatcher;
  readonly #options: RpcServerOptions;
  readonly #closing = new AbortController();
  readonly #interceptors: ServerInterceptor[] = [];
  readonly #responder: Responder;
  readonly #connections = new Map<ServerConnection, ConnectionState>();
  readonly #connectionListeners = new Set<PeerListener>();
  #serving = false;

  constructor(
    transport: ServerTransport,
    protocol: RpcProtocol,
    dispatcher: RpcDispatcher,
    options: RpcServerOptions = {},
  ) {
    checkServerTransport(transport);
    this.transport = transport;
    this.protocol = protocol;
    this.dispatcher = dispatcher;
    this.#options = options;
    this.#responder = new Responder(protocol, dispatcher, {
      trace: options.trace,
      hideErrorMessages: options.hideErrorMessages,
      onError: options.onError,
      interceptors: this.#interceptors,
      signal: this.#closing.signal,
      maxDuration: options.maxDuration,
    });
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

  /**
   * Calls `listener` with the peer of each client that connects (on transports with connections),
   * to call it at any time. Returns a function that stops the calls.
   */
  onConnection(listener: PeerListener): () => void {
    this.#connectionListeners.add(listener);
    return () => {
      this.#connectionListeners.delete(listener);
    };
  }

  /** The peers of the clients connected now, in the order they connected. */
  get peers(): readonly RpcPeer[] {
    return [...this.#connections.values()].map((state) => state.peer);
  }

  /** Starts serving; resolves once the transport accepts messages. */
  async serve(): Promise<void> {
    if (this.#closing.signal.aborted) throw new Error('This server is closed');
    if (this.#serving) throw new Error('This server is already serving');
    this.#serving = true;
    const { protocol } = this;
    const options: ListenOptions = {
      ...(protocol.contentType === undefined ? {} : { contentType: protocol.contentType }),
      errorReply: (error, message) => {
        try {
          return refusalOf(protocol, error, message);
        } catch (failure) {
          this.#options.onError?.(failure);
          return undefined;
        }
      },
      ...(protocol.parseMessage === undefined
        ? {}
        : {
            onConnection: (connection: ServerConnection) => {
              this.#stateOf(connection);
            },
          }),
    };
    await this.transport.listen((message, context) => this.handle(message, context), options);
  }

  /**
   * Stops serving: the transport stops accepting, call contexts' signals abort, and in-flight calls
   * finish and are answered before the returned promise resolves. Calls to clients still waiting
   * fail with a `TransportError`.
   */
  async close(): Promise<void> {
    this.#closing.abort(new Error('Server closed'));
    // A handler waiting for its client's answer would hold the drain below open for ever.
    const closed = new TransportError('Server closed');
    for (const { peer } of this.#connections.values()) peer[abandonCalls](closed);
    // The transport answers what is in flight, then closes its connections; their peers' calls
    // fail as each connection's signal aborts.
    await Promise.all([this.transport.close(), this.#responder.inFlight.drain()]);
    this.#connections.clear();
  }

  /**
   * Answers one raw message: the reply to send back, or `undefined` when none is due. Transports
   * call this through `listen`; it never rejects. A reply to one of the server's own calls (on a
   * connection) goes to the waiting call and answers nothing.
   */
  handle(message: Message, context: TransportContext = {}): Promise<Message | undefined> {
    try {
      const { connection } = context;
      if (connection === undefined || this.protocol.parseMessage === undefined)
        return this.#responder.handle(message, context);
      return this.#handleOnConnection(message, context, connection);
    } catch (error) {
      // Only a protocol whose serializer fails even for an error response gets here: nothing can
      // be sent back, but the transport must not see a throw.
      this.#options.onError?.(error);
      return Promise.resolve(undefined);
    }
  }

  #handleOnConnection(
    message: Message,
    context: TransportContext,
    connection: ServerConnection,
  ): Promise<Message | undefined> {
    const responder = this.#responder;
    responder.trace('-->', context, message);
    let parsed: ReturnType<NonNullable<RpcProtocol['parseMessage']>>;
    try {
      parsed = (this.protocol as Required<RpcProtocol>).parseMessage(message);
    } catch (error) {
      return Promise.resolve(responder.reply(responder.parseFailure(error), context));
    }
    const state = this.#stateOf(connection);
    if (isRequest(parsed)) {
      if (!('batch' in parsed) && parsed.oneWay && parsed.method === streamItemMethod) {
        state.peer[receiveItem](parsed.params);
        return Promise.resolve(undefined);
      }
      return responder.answer(parsed, context, state.peer, state.running);
    }
    // On a connection the server never called, a reply is answered as it was before connections
    // could carry calls back (a response where a request belongs): what a peer that only calls
    // sees (Python tinyrpc) stays the same.
    if (!state.peer[awaits](parsed)) return responder.handle(message, context, true);
    state.peer[receiveReply](parsed);
    return Promise.resolve(undefined);
  }

  #stateOf(connection: ServerConnection): ConnectionState {
    let state = this.#connections.get(connection);
    if (state !== undefined) return state;
    const peer = peerOfServerConnection(connection, this.protocol, this.#options.peerOptions);
    state = { peer, running: new RunningCalls((message) => connection.send(message)) };
    if (connection.signal.aborted) return state;
    this.#connections.set(connection, state);
    connection.signal.addEventListener(
      'abort',
      () => {
        this.#connections.delete(connection);
        state.running.endAll(connection.signal.reason);
      },
      { once: true },
    );
    for (const listener of this.#connectionListeners) {
      try {
        listener(peer, connection.context);
      } catch (error) {
        this.#options.onError?.(error);
      }
    }
    return state;
  }
}

// The error reply to a refused message: with the request's own id where the message can be read
// (nothing for a notification, one error per member of a batch), else with id null.
function refusalOf(
  protocol: RpcProtocol,
  error: RpcError,
  message: Message | undefined,
): Message | undefined {
  let parsed: RpcRequest | RpcBatchRequest | undefined;
  if (message !== undefined) {
    try {
      parsed = protocol.parseRequest(message);
    } catch {
      // Unreadable as well as refused: answered with id null below.
    }
  }
  if (parsed === undefined) return protocol.createErrorResponse?.(error).serialize();
  if (!('batch' in parsed))
    return parsed.oneWay ? undefined : parsed.errorRespond(error).serialize();
  const answers = parsed.requests.flatMap((member) =>
    RpcError.is(member)
      ? (member.response ?? [])
      : member.oneWay
        ? []
        : [member.errorRespond(error)],
  );
  return parsed.createBatchResponse(answers).serialize();
}
