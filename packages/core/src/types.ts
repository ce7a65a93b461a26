import type { RpcError } from './errors.ts';

/** What a transport carries: text for text protocols, bytes for binary ones; opaque to the transport. */
export type Message = string | Uint8Array;

/** The parameters of a call: positional (an array) or named (a plain object). */
export type Params = unknown[] | Record<string, unknown>;

/** A request id as protocols use it; `null` only where a protocol answers an unreadable request. */
export type RequestId = string | number | null;

/**
 * What a server transport knows about where a message came from.
 *
 * Every field is optional: a transport fills in what it knows (peer address, headers, a connection id)
 * and may add fields of its own. `signal` aborts when the connection the message came on goes away.
 */
export interface TransportContext {
  /** Name of the transport, such as `'http'` or `'ws'`. */
  readonly transport?: string;
  /** The peer's address, where the transport knows it. */
  readonly remoteAddress?: string;
  /** Request headers, for transports that have them. */
  readonly headers?: Readonly<Record<string, string | string[] | undefined>>;
  /** Identifies the connection the message arrived on, for connection-oriented transports. */
  readonly connectionId?: string;
  /** Aborts when the connection the message arrived on is gone. */
  readonly signal?: AbortSignal;
  /** The connection the message arrived on, where the transport has connections. */
  readonly connection?: ServerConnection;
  /**
   * Set by a request/reply transport (HTTP, RabbitMQ) when the caller asked for a streamed reply
   * (the `Tinyrpc-Stream` header): where the server sends the stream's items before its reply.
   */
  readonly stream?: ReplyStreamSender;
  readonly [key: string]: unknown;
}

/**
 * The server's end of a streamed reply over a request/reply transport: each item of the stream
 * (a `$/stream/item` notification) goes out through `send`, in order, before the reply that ends
 * the stream. The transport holds the producer back: `send` resolves when it can take the next item
 * (HTTP: the socket drained; RabbitMQ: the caller granted credit).
 */
export interface ReplyStreamSender {
  /** Sends one item ahead of the reply; rejects once the caller is gone. */
  send(item: Message): Promise<void>;
}

/**
 * The caller's end of a streamed reply over a request/reply transport, passed as
 * {@link SendOptions.stream}: the transport hands each message of the reply to `receive`, in
 * order, and resolves `send` with the one `receive` says is not an item (the reply that ends the
 * stream).
 */
export interface ReplyStreamReceiver {
  /** Items the producer may send before the caller grants more: the `Tinyrpc-Stream` header's value. */
  readonly credit: number;
  /** Takes one message of the reply: `true` when it was an item, `false` for the reply that ends the stream. */
  receive(message: Message): boolean;
  /**
   * Registers the function the caller calls with more credit as its loop takes items. A transport
   * that carries credit to the producer (RabbitMQ) sends it on; one whose own flow control holds
   * the producer back (HTTP over TCP) reads on as far as its credit allows.
   */
  onCredit(listener: (credit: number) => void): void;
}

/** Options of `send` on a {@link RequestReplyTransport} or a {@link Connection}. */
export interface SendOptions {
  /**
   * `false` for one-way messages: a request/reply transport does not wait for a reply and resolves
   * `undefined`. Connections do not read it.
   */
  readonly expectReply?: boolean;
  /**
   * Aborts the send and the wait for its reply. `RpcClient` passes one whenever the call has a
   * timeout or a signal: a transport keeps no per-call timers of its own. For a call with a timeout
   * it is made when first read, so a connection reads it only where a send waits (for a connection
   * to open, behind a full socket).
   */
  readonly signal?: AbortSignal;
  /** The protocol's content type (`application/json`…), for transports that label messages. */
  readonly contentType?: string;
  /** Headers of the call (trace context…), for transports that have them (HTTP, RabbitMQ, NATS). */
  readonly headers?: Readonly<Record<string, string>>;
  /**
   * When the caller stops waiting (epoch milliseconds), set whenever the call has a timeout. A
   * transport with headers sends the time left as the `Tinyrpc-Deadline` header; a broker may
   * also drop the message once it passes (RabbitMQ's `expiration`).
   */
  readonly deadline?: number;
  /**
   * The caller asked for a streamed reply (`RpcClient.stream`), on a request/reply transport with
   * `streams: true`: the items go to this receiver, and `send` resolves with the reply that ends the
   * stream.
   */
  readonly stream?: ReplyStreamReceiver;
}

/** Receives what arrives on a {@link Connection}: every message, and the close. */
export interface ConnectionListener {
  /** Called with every message the peer sends. */
  onMessage(message: Message): void;
  /** Called once when the connection is lost; every pending call should fail with `error`. */
  onClose(error: Error): void;
}

/** The earlier name of {@link ConnectionListener}. */
export type ClientTransportListener = ConnectionListener;

/** What every client transport has, whichever its kind. */
interface ClientTransportBase {
  /** The transport contract this transport is written against: `1`. */
  readonly specificationVersion: 1;
  /** Releases sockets and other resources. */
  close?(): Promise<void>;
  /**
   * Milliseconds a call over this transport may take when neither the call nor the client sets a
   * `timeout` (a broker transport, where a call can wait in a queue forever, sets one). The clock is
   * `RpcClient`'s; the transport only suggests its default.
   */
  readonly defaultTimeout?: number | undefined;
  /** `true` when `send` carries {@link SendOptions.headers} (HTTP, RabbitMQ, NATS). */
  readonly supportsHeaders?: boolean | undefined;
  /**
   * `true` when the other end of this connection is known to understand `$/cancelRequest`: the
   * default of `RpcClient`'s `cancelRequests`.
   */
  readonly cancelRequests?: boolean | undefined;
}

/**
 * A client transport whose `send` resolves with the reply: HTTP, ZeroMQ REQ, the brokers. Only the
 * client can start an exchange, so the server cannot call back over it.
 */
export interface RequestReplyTransport extends ClientTransportBase {
  readonly kind: 'request-reply';
  /** `true` when `send` carries streamed replies ({@link SendOptions.stream}): HTTP, RabbitMQ. */
  readonly streams?: boolean | undefined;
  /** Sends one message; resolves with the reply, or `undefined` for one-way messages. */
  send(message: Message, options?: SendOptions): Promise<Message | undefined>;
}

/**
 * A duplex message channel: send a message; receive every message the peer sends, and the close.
 * WebSocket, streams (stdio, TCP, Unix), ZeroMQ DEALER, the memory and callback transports. Replies
 * and requests travel both ways on it, so both ends can call (see `RpcPeer`).
 */
export interface Connection extends ClientTransportBase {
  readonly kind: 'connection';
  /** Sends one message; resolves once it is on its way. */
  send(message: Message, options?: SendOptions): Promise<void>;
  /** Delivers every incoming message to `listener`; returns a function that stops delivery. */
  subscribe(listener: ConnectionListener): () => void;
}

/**
 * Carries messages from a client to a server: a {@link RequestReplyTransport} or a
 * {@link Connection}, told apart by `kind`.
 */
export type ClientTransport = RequestReplyTransport | Connection;

/**
 * One connection a server transport accepted (a WebSocket, a socket, a ZeroMQ peer): the server
 * sends its own calls to the peer on it. The transport passes it to {@link ListenOptions.onConnection}
 * when the peer connects and as {@link TransportContext.connection} with every message from it.
 */
export interface ServerConnection {
  /** Identifies the connection among the transport's connections. */
  readonly id: string;
  /** Sends one message to the peer; rejects with a `TransportError` once the connection is gone. */
  send(message: Message): Promise<void>;
  /** Closes the connection. */
  close(): Promise<void>;
  /** Aborts when the connection is gone. */
  readonly signal: AbortSignal;
  /** What the transport knows of the peer: address, headers. */
  readonly context: TransportContext;
}

/** Answers one incoming message; resolves with the reply, or `undefined` when none is due. */
export type MessageHandler = (
  message: Message,
  context: TransportContext,
) => Promise<Message | undefined>;

/** What `RpcServer` tells a server transport about its protocol when it starts it. */
export interface ListenOptions {
  /** The protocol's content type (`application/json`…), for transports that label messages. */
  readonly contentType?: string;
  /**
   * Encodes the error reply for a message the transport refused before its handler saw it. Without
   * `message` (one over `maxMessageSize`, which is not read) the reply has id `null`. With the
   * refused `message` (a call past `maxInFlight`) the reply carries the request's own id, so a
   * client with many calls waiting can match it, and a notification gets none (`undefined`).
   * `undefined` too when the protocol cannot build one.
   */
  readonly errorReply?: (error: RpcError, message?: Message) => Message | undefined;
  /**
   * Called by a transport that has connections with each connection it accepts, before the first
   * message from it is handled.
   */
  readonly onConnection?: (connection: ServerConnection) => void;
}

/** Receives messages for a server and sends back the replies its handler produces. */
export interface ServerTransport {
  /** The transport contract this transport is written against: `1`. */
  readonly specificationVersion: 1;
  /** Starts receiving; resolves once the transport accepts messages. */
  listen(handler: MessageHandler, options?: ListenOptions): Promise<void>;
  /** Stops accepting, finishes in-flight replies and releases sockets. */
  close(): Promise<void>;
}

/** The error member of a response, as it travels. */
export interface RpcErrorObject {
  readonly code: number;
  readonly message: string;
  readonly data?: unknown;
}

/** One call, parsed or about to be sent. */
export interface RpcRequest {
  /** The request id; `undefined` for a one-way call (a notification). */
  readonly id: RequestId | undefined;
  readonly method: string;
  readonly params: Params | undefined;
  /** `true` when no response is due. */
  readonly oneWay: boolean;
  /**
   * Metadata that travelled inside the message (trace context…), for transports without headers;
   * only where the protocol and the client agreed to carry it (JSON-RPC's `$meta` member).
   */
  readonly meta?: Readonly<Record<string, string>> | undefined;
  /** Creates the response carrying `result`. */
  respond(result: unknown): RpcResponse;
  /** Creates the error response for `error` (an {@link RpcError} keeps its code, message and data). */
  errorRespond(error: unknown, options?: ErrorRespondOptions): RpcResponse;
  /** The request as it travels. */
  serialize(): Message;
}

/** Options of {@link RpcRequest.errorRespond}. */
export interface ErrorRespondOptions {
  /** Replace the message of errors that are not {@link RpcError}s with a generic one. */
  readonly hideMessage?: boolean;
}

/** A response to one call. */
export interface RpcResponse {
  readonly id: RequestId;
  /** The result; meaningful only when `error` is undefined. */
  readonly result?: unknown;
  /** Present when the call failed. (`| undefined`: implementations may declare it always, for consumers with `exactOptionalPropertyTypes`.) */
  readonly error?: RpcErrorObject | undefined;
  /** The response as it travels. */
  serialize(): Message;
}

/** Several calls sent as one message. */
export interface RpcBatchRequest {
  readonly batch: true;
  /** The members in order; a member that could not be parsed is the error that says why. */
  readonly requests: readonly (RpcRequest | RpcError)[];
  /** Combines member responses (notifications give none) into one batch response. */
  createBatchResponse(responses: readonly RpcResponse[]): RpcBatchResponse;
  /** The batch as it travels. */
  serialize(): Message;
}

/** The responses to a batch, in the order of its requests. */
export interface RpcBatchResponse {
  readonly batch: true;
  readonly responses: readonly RpcResponse[];
  /** The batch response as it travels; `undefined` when no member needs an answer. */
  serialize(): Message | undefined;
}

/** Options of {@link RpcProtocol.createRequest}. */
export interface CreateRequestOptions {
  /** Create a notification: no id, no response. */
  readonly oneWay?: boolean;
  /** Metadata to carry inside the message (see {@link RpcRequest.meta}); ignored by protocols that cannot. */
  readonly meta?: Readonly<Record<string, string>> | undefined;
}

/**
 * Encodes and decodes calls: JSON-RPC, MessagePack-RPC, or a protocol of your own.
 *
 * `parseRequest` throws an {@link RpcError} whose `response` is the error response to send back
 * for input it cannot read. `parseReply` throws an {@link RpcError} (usually an `InvalidReplyError`)
 * for a reply it cannot read.
 */
export interface RpcProtocol {
  /** Builds an outgoing request with a fresh id. */
  createRequest(method: string, params?: Params, options?: CreateRequestOptions): RpcRequest;
  /** Builds one batch message; absent when the protocol has no batches. */
  createBatchRequest?(requests: readonly RpcRequest[]): RpcBatchRequest;
  /** Reads an incoming request or batch. */
  parseRequest(data: Message): RpcRequest | RpcBatchRequest;
  /** Reads an incoming reply or batch reply. */
  parseReply(data: Message): RpcResponse | RpcBatchResponse;
  /**
   * Reads a message that may be either (on a connection, where both ends call): a request or batch
   * of requests, or a reply or batch of replies. Throws as `parseRequest` does for input it cannot
   * read, and an `InvalidReplyError` for a malformed reply. Needed for calls in both directions.
   */
  parseMessage?(data: Message): RpcRequest | RpcBatchRequest | RpcResponse | RpcBatchResponse;
  /** `true` when the protocol has batches. */
  readonly supportsBatch?: boolean;
  /** The media type of its messages (`application/json`, `application/msgpack`), for HTTP and the like. */
  readonly contentType?: string;
  /** Builds an error response with id `null`: the answer to input that reached no request. */
  createErrorResponse?(error: RpcError): RpcResponse;
  /**
   * Builds the `$/cancelRequest` notification for call `id` in this protocol's shape (JSON-RPC:
   * params `{ id }`; MessagePack-RPC: `[id]`). Without it, core sends params `{ id }`.
   */
  createCancelRequest?(id: string | number): RpcRequest;
}

/**
 * One reconnect policy for every transport that reconnects: exponential backoff from
 * `initialDelay` to `maxDelay`, each delay randomised by up to `jitter` of itself.
 * Transports take `reconnect?: boolean | ReconnectOptions`; `true` means these defaults.
 */
export interface ReconnectOptions {
  /** Attempts before giving up. Default `Infinity`. */
  readonly retries?: number;
  /** Milliseconds before the first retry. Default 100. */
  readonly initialDelay?: number;
  /** The longest delay between two attempts, in milliseconds. Default 5000. */
  readonly maxDelay?: number;
  /** Share (0 to 1) of each delay that is random, so many clients do not retry in step. Default 0.2. */
  readonly jitter?: number;
}

/**
 * The limits a server transport takes, each where the transport has the idea, under these names
 * on every transport. Defaults: {@link defaultLimits}.
 */
export interface ServerLimits {
  /** Largest message in bytes; a larger one is refused with an error the client can read. */
  readonly maxMessageSize?: number;
  /** Calls running at once per connection; past it the transport stops reading that connection. */
  readonly maxInFlight?: number;
  /**
   * Milliseconds a connection that has begun a message may send nothing more before it is closed
   * (HTTP answers 408). `0` turns it off.
   */
  readonly idleTimeout?: number;
}

/** Receives what has no caller to go to: a handler that rejected, a socket error, a bad frame. */
export type ErrorHandler = (error: unknown) => void;
