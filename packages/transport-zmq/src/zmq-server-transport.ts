import {
  serverTransportBrand,
  setBrand,
  TransportError,
  type Message,
  type MessageHandler,
  type ServerTransport,
  type TransportContext,
} from '@tinyrpc/core';
import { Router } from 'zeromq';
import { describe } from './describe.ts';

/** Options of {@link ZmqServerTransport}: an `endpoint` to bind, or a `socket` of your own. */
export interface ZmqServerTransportOptions {
  /**
   * The endpoint to bind, such as `'tcp://127.0.0.1:5555'`. Port `0` (or `*`) binds a free port;
   * read it back from {@link ZmqServerTransport.endpoint} once `listen()` has resolved.
   */
  readonly endpoint?: string;
  /**
   * A ROUTER socket of your own, already bound (or connected) as you need it. The transport takes
   * it over: it sets `sendTimeout` to 0 and closes it in `close()`.
   */
  readonly socket?: Router;
  /**
   * Milliseconds unsent replies may linger after `close()`. Default 1000; applied to a socket of
   * your own too unless its linger is already finite.
   */
  readonly linger?: number;
  /**
   * The largest frame in bytes that peers may send (ZeroMQ's `maxMessageSize`); a peer sending a
   * larger one is disconnected by ZeroMQ. Default 16 MiB; only for sockets the transport creates.
   */
  readonly maxMessageSize?: number;
}

/** What a {@link ZmqServerTransport} tells a handler about a message. */
export interface ZmqTransportContext extends TransportContext {
  readonly transport: 'zmq';
  /** The ZeroMQ routing id of the peer that sent the message, in hexadecimal. */
  readonly peerId: string;
}

/** Default of {@link ZmqServerTransportOptions.linger}. */
const defaultLinger = 1000;
/** Default of {@link ZmqServerTransportOptions.maxMessageSize}. */
const defaultMaxMessageSize = 16 * 1024 * 1024;
const emptyFrame = new Uint8Array(0);
const ignore = (): void => undefined;

type State = 'idle' | 'listening' | 'closing' | 'closed';

/**
 * A ZeroMQ server transport on a ROUTER socket: answers REQ and DEALER peers alike, handling many
 * requests at once.
 *
 * Every reply goes back with exactly the envelope its request came with: all frames but the last
 * (the body). A request whose envelope ends in an empty delimiter frame (every REQ peer's does) is
 * always answered, a notification with an empty body frame, so the REQ peer can send again; other
 * peers (DEALER) get no reply to a notification. An empty body without a delimiter (a DEALER probe)
 * is ignored.
 */
export class ZmqServerTransport implements ServerTransport {
  /** The ROUTER socket this transport receives on. */
  readonly socket: Router;
  readonly #bindTo: string | undefined;
  readonly #linger: number | undefined;
  #state: State = 'idle';
  #boundEndpoint: string | undefined;
  #inFlight = 0;
  #drained: (() => void) | undefined;
  #loop: Promise<void> | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: ZmqServerTransportOptions) {
    if ((options.endpoint === undefined) === (options.socket === undefined)) {
      throw new TypeError('ZmqServerTransport needs exactly one of `endpoint` and `socket`');
    }
    this.#bindTo = options.endpoint;
    this.#linger = options.linger;
    this.socket =
      options.socket ??
      new Router({
        linger: options.linger ?? defaultLinger,
        maxMessageSize: options.maxMessageSize ?? defaultMaxMessageSize,
      });
    // A ROUTER never blocks on send (it drops what it cannot route). Timeout 0 keeps every send on
    // zeromq's synchronous path, so concurrent replies never meet its one-send-at-a-time EBUSY.
    this.socket.sendTimeout = 0;
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
  async listen(handler: MessageHandler): Promise<void> {
    if (this.#state !== 'idle') throw new TransportError(`This transport is ${this.#state}`);
    this.#state = 'listening';
    if (this.#bindTo !== undefined) {
      try {
        await this.socket.bind(this.#bindTo);
      } catch (error) {
        this.#state = 'closed';
        this.socket.close();
        throw new TransportError(`Cannot bind ${this.#bindTo}: ${describe(error)}`, {
          cause: error,
        });
      }
    }
    this.#boundEndpoint = this.socket.lastEndpoint ?? undefined;
    this.#loop = this.#receive(handler);
  }

  /**
   * Stops handling requests (ones arriving from now on are dropped), waits until every request in
   * flight is answered, then closes the socket with its linger so those replies still leave.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#state = 'closing';
    if (this.#inFlight > 0) {
      await new Promise<void>((resolve) => {
        this.#drained = resolve;
      });
    }
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
      } catch {
        if (socket.closed) return;
        // Not expected from a ROUTER; pause so a persistent failure cannot spin.
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
    const context: ZmqTransportContext = {
      transport: 'zmq',
      peerId: (frames[0] as Buffer).toString('hex'),
    };
    let answer: Promise<Message | undefined>;
    try {
      answer = handler(body, context);
    } catch (error) {
      answer = Promise.reject(error);
    }
    this.#inFlight++;
    answer.then(
      (reply) => {
        if (reply !== undefined || answerAlways) this.#reply(frames, reply ?? emptyFrame);
        this.#settled();
      },
      () => {
        // No reply can be made; a REQ peer still gets its empty frame so that it is not stuck.
        if (answerAlways) this.#reply(frames, emptyFrame);
        this.#settled();
      },
    );
  }

  // The reply goes back with the request's envelope: its frames with the body replaced. With
  // sendTimeout 0 it is in ZeroMQ's queue when send returns, before close() can close the socket.
  // ZeroMQ drops replies to peers that are gone.
  #reply(frames: (Buffer | Message)[], reply: Message): void {
    frames[frames.length - 1] = reply;
    try {
      this.socket.send(frames).then(undefined, ignore);
    } catch {
      // The socket was closed under the transport: nothing can be answered any more.
    }
  }

  #settled(): void {
    if (--this.#inFlight === 0) this.#drained?.();
  }
}
