import {
  InvalidRequestError,
  ServerError,
  serverTransportBrand,
  setBrand,
  TransportError,
  type ErrorHandler,
  type ListenOptions,
  type Message,
  type MessageHandler,
  type ServerTransport,
  type TransportContext,
} from '@tinyrpc/core';
import { defaultLimits, describeError, InFlight, tooLargeError } from '@tinyrpc/core/transport';
import { Router } from 'zeromq';
import { RouterConnection } from './router-connection.ts';
import { checkSize } from './socket-settings.ts';

/** Options of {@link ZmqServerTransport}: an `endpoint` to bind, or a `socket` of your own. */
export interface ZmqServerTransportOptions {
  /**
   * The endpoint to bind, such as `'tcp://127.0.0.1:5555'`. Port `0` (or `*`) binds a free port;
   * read it back from {@link ZmqServerTransport.endpoint} once `listen()` has resolved.
   */
  readonly endpoint?: string;
  /**
   * A ROUTER socket of your own, already bound (or connected) as you need it. The transport takes
   * it over: it sets `sendTimeout` to 0 and `mandatory` to `true`, and closes it in `close()`.
   */
  readonly socket?: Router;
  /**
   * Milliseconds unsent replies may linger after `close()`. Default 1000; applied to a socket of
   * your own too unless its linger is already finite.
   */
  readonly linger?: number;
  /**
   * The largest request body in bytes. Default 1 MiB (`defaultLimits`). A larger one is answered
   * with the protocol's error response (-32600, naming the limit) in the request's envelope. On a
   * socket the transport creates, ZeroMQ itself disconnects a peer whose frame exceeds
   * four times this, so no peer can make the server hold frames of any size.
   */
  readonly maxMessageSize?: number;
  /**
   * Calls running at once per peer (routing id). Default 1000. A ROUTER cannot stop reading one
   * peer, so a request past the limit is answered at once with a busy error (-32000) instead.
   */
  readonly maxInFlight?: number;
  /** Receives what has no caller to go to: a handler that rejected, a failing receive. */
  readonly onError?: ErrorHandler;
}

/**
 * What a {@link ZmqServerTransport} tells a handler about a message. A message from a DEALER peer
 * (no delimiter frame, no routing frames of a proxy) also carries its `connection`, with
 * `connectionId` (the routing id again) and `signal`; one from a REQ peer carries neither.
 */
export interface ZmqTransportContext extends TransportContext {
  readonly transport: 'zmq';
  /** The ZeroMQ routing id of the peer that sent the message, in hexadecimal. */
  readonly peerId: string;
}

/**
 * How many times `maxMessageSize` a frame may be before ZeroMQ disconnects its peer (on sockets the
 * transport creates): between the two, the peer gets an error reply it can read.
 */
const hardLimitFactor = 4;

/** Default of {@link ZmqServerTransportOptions.linger}. */
const defaultLinger = 1000;
const emptyFrame = new Uint8Array(0);
const ignore = (): void => undefined;

type State = 'idle' | 'listening' | 'closing' | 'closed';

/** A peer seen lately: its context is made once and shared by its calls. */
interface Peer {
  readonly routingId: Buffer;
  readonly context: ZmqTransportContext;
  /** Set for a DEALER peer: the server can send it calls of its own. */
  readonly connection: RouterConnection | undefined;
  running: number;
}

/**
 * Milliseconds between ZeroMQ reporting that some peer disconnected and the check of which one
 * (see {@link ZmqServerTransport}): the events of a burst, of REQ peers too, cost one check, so a
 * server with many DEALER peers probes them at most ten times a second.
 */
const disconnectCheckDelay = 100;

/** Idle peers kept for their next call; past this many, the idle ones are forgotten. */
const idlePeersKept = 1024;

/**
 * A ZeroMQ server transport on a ROUTER socket: answers REQ and DEALER peers alike, handling many
 * requests at once.
 *
 * Every reply goes back with exactly the envelope its request came with: all frames but the last
 * (the body). A request whose envelope ends in an empty delimiter frame (every REQ peer's does) is
 * always answered, a notification with an empty body frame, so the REQ peer can send again; other
 * peers (DEALER) get no reply to a notification. An empty body without a delimiter (a DEALER probe)
 * is ignored.
 *
 * Calls in both directions: a peer whose message is just its routing id and the body (a DEALER
 * connected directly, as `ZmqClientTransport`) is a connection, announced to
 * `ListenOptions.onConnection` with its first message and passed as `context.connection` with each
 * one; the server's own calls go to it as `[routing id, body]`. A REQ peer (its delimiter frame
 * gives it away) could not take a message it did not ask for, so it gets no connection, nor does a
 * peer behind a proxy. ZeroMQ reports no peer that leaves: a connection ends (its signal aborts
 * with a `TransportError`) when a send to it finds the peer gone (the socket is `mandatory`, so
 * that send fails with EHOSTUNREACH instead of vanishing), when ZeroMQ reports a disconnect and an
 * empty probe frame to the peer finds it gone, on `connection.close()`, and in `close()`.
 */
export class ZmqServerTransport implements ServerTransport {
  /** The transport contract this transport implements. */
  readonly specificationVersion = 1;
  /** The ROUTER socket this transport receives on. */
  readonly socket: Router;
  readonly #bindTo: string | undefined;
  readonly #linger: number | undefined;
  readonly #maxMessageSize: number;
  readonly #maxInFlight: number;
  readonly #onError: ErrorHandler | undefined;
  readonly #inFlight = new InFlight();
  /**
   * Peers by routing id in hexadecimal: those with calls running, and up to {@link idlePeersKept}
   * others. A peer's calls often all finish between two reads, so dropping it at once would make
   * its state again for each read.
   */
  readonly #peers = new Map<string, Peer>();
  /** DEALER peers by routing id in hexadecimal, kept until their connection ends. */
  readonly #connections = new Map<string, Peer>();
  /** The peer of the last request: most reads bring several requests of one peer. */
  #lastPeer: Peer | undefined;
  #onConnection: ListenOptions['onConnection'];
  #disconnectCheck: ReturnType<typeof setTimeout> | undefined;
  #state: State = 'idle';
  #boundEndpoint: string | undefined;
  #loop: Promise<void> | undefined;
  #closing: Promise<void> | undefined;
  #errorReply: ListenOptions['errorReply'];
  /** Replies and the server's own messages of this turn of the event loop, sent by `#flush`. */
  #outbox: Outgoing[] = [];
  /** Replies a full peer queue refused, tried again by `#retryTimer`. */
  readonly #retries: Outgoing[] = [];
  #retryTimer: ReturnType<typeof setTimeout> | undefined;

  constructor(options: ZmqServerTransportOptions) {
    if ((options.endpoint === undefined) === (options.socket === undefined)) {
      throw new TypeError('ZmqServerTransport needs exactly one of `endpoint` and `socket`');
    }
    this.#maxMessageSize = positive(
      options.maxMessageSize,
      defaultLimits.maxMessageSize,
      'maxMessageSize',
    );
    this.#maxInFlight = positive(options.maxInFlight, defaultLimits.maxInFlight, 'maxInFlight');
    this.#onError = options.onError;
    this.#bindTo = options.endpoint;
    this.#linger = options.linger;
    this.socket =
      options.socket ??
      new Router({
        linger: options.linger ?? defaultLinger,
        maxMessageSize: hardLimit(this.#maxMessageSize),
      });
    // Timeout 0 keeps every send on zeromq's synchronous path, so concurrent sends never meet its
    // one-send-at-a-time EBUSY. Mandatory: a send to a peer that is gone fails (EHOSTUNREACH), and
    // one to a peer whose queue is full fails (EAGAIN), instead of being dropped without a word.
    this.socket.sendTimeout = 0;
    this.socket.mandatory = true;
    setBrand(this, serverTransportBrand);
  }

  /**
   * The endpoint the socket is bound to, with the real port when port 0 was asked for;
   * `undefined` before `listen()` (or for a socket of your own that is not bound).
   */
  get endpoint(): string | undefined {
    if (this.#boundEndpoint !== undefined || this.socket.closed) return this.#boundEndpoint;
    return this.socket.lastEndpoint ?? undefined;
  }

  /** Binds (when given an endpoint) and starts receiving; resolves once requests are accepted. */
  async listen(handler: MessageHandler, options: ListenOptions = {}): Promise<void> {
    if (this.#state !== 'idle') throw new TransportError(`This transport is ${this.#state}`);
    this.#state = 'listening';
    this.#errorReply = options.errorReply;
    this.#onConnection = options.onConnection;
    if (this.#bindTo !== undefined) {
      try {
        await this.socket.bind(this.#bindTo);
      } catch (error) {
        this.#state = 'closed';
        this.socket.close();
        throw new TransportError(`Cannot bind ${this.#bindTo}: ${describeError(error)}`, {
          cause: error,
        });
      }
    }
    this.#boundEndpoint = this.socket.lastEndpoint ?? undefined;
    // ZeroMQ names no peer in a disconnect event (only the bound endpoint), so every connection is
    // probed, once per burst of events.
    this.socket.events.on('disconnect', () => {
      this.#scheduleDisconnectCheck();
    });
    this.#loop = this.#receive(handler);
  }

  /**
   * Stops handling requests (ones arriving from now on are dropped), ends every connection, waits
   * until every request in flight is answered, then closes the socket with its linger so those
   * replies still leave. Connections end first: a reply to one of the server's own calls could no
   * longer be read, so a handler waiting for one fails at once instead of holding `close()`.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#state = 'closing';
    clearTimeout(this.#disconnectCheck);
    const closing = new TransportError('The ZeroMQ server is closing');
    for (const peer of [...this.#connections.values()]) peer.connection?.end(closing);
    await this.#inFlight.drain();
    clearTimeout(this.#retryTimer);
    this.#outbox = [...this.#retries.splice(0), ...this.#outbox];
    this.#flush();
    // The socket may have been closed under the transport already.
    if (!this.socket.closed) {
      if (this.#linger !== undefined) this.socket.linger = this.#linger;
      else if (this.socket.linger < 0) this.socket.linger = defaultLinger;
      this.socket.close();
    }
    await this.#loop;
    this.#state = 'closed';
  }

  async #receive(handler: MessageHandler): Promise<void> {
    const socket = this.socket;
    for (;;) {
      let frames: Buffer[];
      try {
        frames = await socket.receive();
      } catch (error) {
        if (socket.closed) return;
        // Not expected from a ROUTER; pause so a persistent failure cannot spin.
        this.#onError?.(error);
        await new Promise((resolve) => setTimeout(resolve, 10));
        continue;
      }
      if (this.#state === 'listening') this.#dispatch(frames, handler);
    }
  }

  #dispatch(frames: Buffer[], handler: MessageHandler): void {
    const last = frames.length - 1;
    // A ROUTER puts the routing id first, so a message always has at least two frames.
    if (last < 1) return;
    const body = frames[last] as Buffer;
    // An empty delimiter before the body: a REQ peer, which must get an answer to every message.
    const answerAlways = last >= 2 && (frames[last - 1] as Buffer).length === 0;
    if (body.length === 0 && !answerAlways) return;
    if (body.length > this.#maxMessageSize) {
      const error = tooLargeError(body.length, this.#maxMessageSize);
      this.#refuse(frames, new InvalidRequestError(error.message), answerAlways);
      return;
    }
    // Only a DEALER connected directly sends nothing but its body: it can take calls of the server.
    const peer = this.#peer(frames[0] as Buffer, last === 1);
    if (peer.running >= this.#maxInFlight) {
      // The protocol reads the refused call, so the busy reply carries its id (a notification gets none).
      this.#refuse(frames, this.#busy(), answerAlways, body);
      return;
    }
    let answer: Promise<Message | undefined>;
    try {
      answer = handler(body, peer.context);
    } catch (error) {
      answer = Promise.reject(error);
    }
    peer.running++;
    this.#inFlight.start();
    answer.then(
      (reply) => {
        if (reply !== undefined || answerAlways)
          this.#reply(frames, reply ?? emptyFrame, peer.connection);
        this.#finished(peer);
      },
      (error: unknown) => {
        this.#onError?.(error);
        // No reply can be made; a REQ peer still gets its empty frame so that it is not stuck.
        if (answerAlways) this.#reply(frames, emptyFrame);
        this.#finished(peer);
      },
    );
  }

  // The state of the peer with this routing id, made when its first call in a while arrives (for a
  // DEALER peer, `direct`: when its connection opens).
  #peer(routingId: Buffer, direct: boolean): Peer {
    const last = this.#lastPeer;
    if (
      last !== undefined &&
      (last.connection !== undefined) === direct &&
      last.routingId.equals(routingId)
    )
      return last;
    const peerId = routingId.toString('hex');
    const peers = direct ? this.#connections : this.#peers;
    let peer = peers.get(peerId);
    if (peer === undefined) {
      peer = direct ? this.#open(routingId, peerId) : this.#remember(routingId, peerId);
    }
    this.#lastPeer = peer;
    return peer;
  }

  #remember(routingId: Buffer, peerId: string): Peer {
    if (this.#peers.size >= idlePeersKept) this.#forgetIdlePeers();
    const peer: Peer = {
      routingId,
      context: { transport: 'zmq', peerId },
      connection: undefined,
      running: 0,
    };
    this.#peers.set(peerId, peer);
    return peer;
  }

  // A DEALER peer's first message since its connection opened: the connection is announced before
  // the message is handled.
  #open(routingId: Buffer, peerId: string): Peer {
    const envelope = [routingId];
    const connection: RouterConnection = new RouterConnection(
      peerId,
      (message): Promise<void> => this.#sendTo(connection, envelope, message),
      (ended) => {
        this.#connections.delete(ended.id);
        if (this.#lastPeer?.connection === ended) this.#lastPeer = undefined;
      },
    );
    const peer: Peer = { routingId, context: connection.messageContext, connection, running: 0 };
    this.#connections.set(peerId, peer);
    try {
      this.#onConnection?.(connection);
    } catch (error) {
      this.#onError?.(error);
    }
    return peer;
  }

  // The server's own message to a DEALER peer, through the path the replies take (and in order
  // with them).
  #sendTo(connection: RouterConnection, envelope: Buffer[], message: Message): Promise<void> {
    const tooLarge = checkSize(message, this.#maxMessageSize);
    if (tooLarge !== undefined) return Promise.reject(tooLarge);
    return new Promise<void>((resolve, reject) => {
      this.#post({ frames: [...envelope, message], connection, resolve, reject, attempts: 0 });
    });
  }

  #sendFailure(connection: RouterConnection, error: unknown): TransportError {
    const code = (error as { code?: unknown } | null)?.code;
    if (code === 'EHOSTUNREACH') {
      const gone = new TransportError(`The ZeroMQ peer ${connection.id} is gone`, { cause: error });
      connection.end(gone);
      return gone;
    }
    if (code === 'EAGAIN') {
      return new TransportError(
        `The ZeroMQ peer ${connection.id} takes no more messages now (its queue is full)`,
        { cause: error },
      );
    }
    if (this.socket.closed)
      return new TransportError('The ZeroMQ server is closed', { cause: error });
    return new TransportError(`ZeroMQ send failed: ${describeError(error)}`, { cause: error });
  }

  #scheduleDisconnectCheck(): void {
    if (this.#disconnectCheck !== undefined || this.#connections.size === 0) return;
    this.#disconnectCheck = setTimeout(() => {
      this.#disconnectCheck = undefined;
      this.#checkConnections();
    }, disconnectCheckDelay);
  }

  // An empty frame to each DEALER peer: one that is gone fails at once (the socket is mandatory).
  // Peers of this library skip empty frames (they answer a REQ peer's notification).
  #checkConnections(): void {
    if (this.#state !== 'listening') return;
    for (const peer of [...this.#connections.values()]) {
      const connection = peer.connection as RouterConnection;
      this.#sendTo(connection, [peer.routingId], emptyFrame).then(undefined, ignore);
    }
  }

  #forgetIdlePeers(): void {
    for (const [peerId, peer] of this.#peers) if (peer.running === 0) this.#peers.delete(peerId);
    this.#lastPeer = undefined;
  }

  #finished(peer: Peer): void {
    peer.running--;
    this.#inFlight.finish();
  }

  #busy(): ServerError {
    return new ServerError(
      `Server busy: this peer already has ${String(this.#maxInFlight)} calls running (maxInFlight)`,
    );
  }

  // Answers a message the transport would not hand to its handler, in the message's envelope:
  // the protocol's error reply, or an empty frame for a REQ peer when the protocol has none.
  #refuse(
    frames: Buffer[],
    error: InvalidRequestError | ServerError,
    answerAlways: boolean,
    message?: Buffer,
  ): void {
    let reply: Message | undefined;
    try {
      reply = this.#errorReply?.(error, message);
    } catch (failure) {
      this.#onError?.(failure);
    }
    if (reply !== undefined || answerAlways) this.#reply(frames, reply ?? emptyFrame);
  }

  // The reply goes back with the request's envelope: its frames with the body replaced. A reply to
  // a peer that is gone, or whose queue is full, is dropped: nobody waits for it here. A gone
  // DEALER peer's connection ends.
  #reply(frames: (Buffer | Message)[], reply: Message, connection?: RouterConnection): void {
    frames[frames.length - 1] = reply;
    this.#post({ frames, connection, resolve: undefined, reject: undefined, attempts: 0 });
  }

  // Messages leave together once this turn of the event loop has handled what arrived: sent one by
  // one as they are made, each would find ZeroMQ's I/O thread idle and wake it, which at many calls
  // in flight costs more than the rest of a call's work (the WebSocket transport corks its socket
  // for the same reason).
  #post(outgoing: Outgoing): void {
    this.#outbox.push(outgoing);
    if (this.#outbox.length === 1) setImmediate(this.#flush);
  }

  // With sendTimeout 0 each message is in ZeroMQ's queue when send returns: close() flushes before
  // it closes the socket, so the replies it drained still leave.
  readonly #flush = (): void => {
    const outbox = this.#outbox;
    if (outbox.length === 0) return;
    this.#outbox = [];
    for (const outgoing of outbox) {
      const { connection, resolve, reject } = outgoing;
      let sent: Promise<void>;
      try {
        sent = this.socket.send(outgoing.frames);
      } catch (error) {
        // The socket was closed under the transport: nothing can be sent any more.
        if (reject !== undefined && connection !== undefined)
          reject(this.#sendFailure(connection, error));
        continue;
      }
      sent.then(resolve, (error: unknown) => {
        if (resolve === undefined && this.#retry(outgoing, error)) return;
        if (connection === undefined) return;
        const failure = this.#sendFailure(connection, error);
        reject?.(failure);
      });
    }
  };

  // A reply the peer's full queue refused (EAGAIN: its high-water mark, when a burst of replies
  // outruns ZeroMQ's I/O thread) is tried again shortly, ahead of newer messages, for a bounded
  // time; past it, it is dropped as any reply nobody reads.
  #retry(outgoing: Outgoing, error: unknown): boolean {
    if ((error as { code?: unknown } | null)?.code !== 'EAGAIN') return false;
    if (outgoing.attempts >= retryAttempts || this.socket.closed) return false;
    outgoing.attempts++;
    this.#retries.push(outgoing);
    this.#retryTimer ??= setTimeout(() => {
      this.#retryTimer = undefined;
      this.#outbox = [...this.#retries.splice(0), ...this.#outbox];
      this.#flush();
    }, retryDelay);
    return true;
  }
}

/** How many times, {@link retryDelay} ms apart, a reply refused by a full peer queue is retried. */
const retryAttempts = 200;
const retryDelay = 5;

/** A reply or a message of the server's own, waiting for the end of the turn (see `#post`). */
interface Outgoing {
  readonly frames: (Buffer | Message)[];
  /** The DEALER peer it goes to, whose connection ends if the peer is gone. */
  readonly connection: RouterConnection | undefined;
  /** Set for the server's own messages, whose sender waits for the outcome. */
  readonly resolve: (() => void) | undefined;
  readonly reject: ((error: unknown) => void) | undefined;
  /** How many times a reply was refused by a full peer queue (see `#retry`). */
  attempts: number;
}

/** ZeroMQ's own frame limit for a socket the transport creates: past it a peer is disconnected. */
function hardLimit(maxMessageSize: number): number {
  return Math.min(maxMessageSize * hardLimitFactor, Number.MAX_SAFE_INTEGER);
}

function positive(value: number | undefined, fallback: number, name: string): number {
  const chosen = value ?? fallback;
  if (!(chosen >= 1)) throw new RangeError(`ZmqServerTransport: ${name} must be at least 1`);
  return chosen;
}
