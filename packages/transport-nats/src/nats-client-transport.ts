import {
  clientTransportBrand,
  deadlineHeader,
  setBrand,
  TransportError,
  type RequestReplyTransport,
  type Message,
  type SendOptions,
} from '@tinyrpc/core';
import {
  createInbox,
  Events,
  headers,
  Match,
  type Msg,
  type MsgHdrs,
  type NatsConnection,
  type Status,
  type Subscription,
} from 'nats';
import { describeError, messageSize, raceSignal, tooLargeError } from '@tinyrpc/core/transport';
import {
  checkedMaxMessageSize,
  checkSubject,
  openConnection,
  payloadLimit,
  serverOf,
  serviceErrorOf,
  statusEvents,
  type NatsConnectionOptions,
} from './nats-connection.ts';

/** Options of {@link NatsClientTransport}. */
export interface NatsClientTransportOptions extends NatsConnectionOptions {
  /** The subject calls are published to: the servers' subject. */
  readonly subject: string;
  /**
   * Headers for every call, asked for as each call goes out: the place for the W3C trace context
   * (`traceparent`, `tracestate`) of the active span, or anything a server's handler reads from
   * `context.headers`.
   */
  readonly headers?: () => Readonly<Record<string, string>> | undefined;
  /**
   * The {@link NatsClientTransport.defaultTimeout} suggested to `RpcClient`: milliseconds a call
   * may take when neither the call nor the client sets a `timeout`. Default 30 000, because NATS
   * keeps nothing and a call whose server died is never answered; `Infinity` for none.
   */
  readonly defaultTimeout?: number;
}

/** Default of {@link NatsClientTransportOptions.defaultTimeout}, in milliseconds. */
export const defaultCallTimeout = 30_000;

/**
 * {@link NatsClientTransport.send}'s options: the contract's `SendOptions`, whose `deadline` (epoch
 * ms, which `RpcClient` sets for every call with a timeout) travels as `Tinyrpc-Deadline`, the
 * time left in ms.
 */
export type NatsSendOptions = SendOptions;

// One call waiting for its reply on the shared inbox.
interface Pending {
  readonly resolve: (reply: Message) => void;
  readonly reject: (error: unknown) => void;
  readonly text: boolean;
}

interface Session {
  readonly connection: NatsConnection;
  readonly owned: boolean;
  readonly inbox: string;
  readonly subscription: Subscription;
  readonly limit: number;
  /** Settles when a lost connection is back; `undefined` while connected. */
  reconnected: Promise<void> | undefined;
  readonly status: { readonly events: AsyncIterable<Status>; stop(): void };
}

/**
 * Calls servers on a NATS subject by request/reply: one inbox subscription (`_INBOX.<id>.*`)
 * carries the replies of every call, each call waiting on its own token of it.
 *
 * It keeps no timer per call: `RpcClient`'s `timeout` ends a call through the `signal` of `send`.
 * A call nobody listens for fails at once with a {@link TransportError} (NATS "no responders"); a
 * lost connection fails the calls in flight, and the NATS client reconnects.
 */
export class NatsClientTransport implements RequestReplyTransport {
  /** The transport contract this transport implements. */
  readonly specificationVersion = 1;
  /** A request/reply transport: `send` resolves the reply. */
  readonly kind = 'request-reply';
  /** The subject calls are published to. */
  readonly subject: string;
  /** Calls' headers travel as NATS headers: `RpcClient` hands them to `send`. */
  readonly supportsHeaders = true;
  /** `RpcClient`'s timeout when neither the client nor the call sets one; `undefined`: none. */
  readonly defaultTimeout: number | undefined;
  readonly #options: NatsClientTransportOptions;
  readonly #maxMessageSize: number;
  readonly #pending = new Map<string, Pending>();
  #session: Promise<Session> | undefined;
  #current: Session | undefined;
  #nextToken = 0;
  #closed = false;

  constructor(options: NatsClientTransportOptions) {
    this.subject = checkSubject(options.subject, 'NatsClientTransport');
    this.#maxMessageSize = checkedMaxMessageSize(options, 'NatsClientTransport');
    const timeout = options.defaultTimeout ?? defaultCallTimeout;
    // setTimeout (RpcClient's clock) fires at once for delays past 2^31 - 1 ms.
    if (!((timeout > 0 && timeout <= 2_147_483_647) || timeout === Infinity)) {
      throw new TypeError(
        'NatsClientTransport: "defaultTimeout" must be a positive number of ms, at most 2^31 - 1, or Infinity',
      );
    }
    this.defaultTimeout = timeout === Infinity ? undefined : timeout;
    this.#options = options;
    setBrand(this, clientTransportBrand);
  }

  /** Calls waiting for their reply. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** The connection in use: `undefined` until a call opens one. */
  get connection(): NatsConnection | undefined {
    return this.#current?.connection;
  }

  /**
   * Publishes `message` with a reply subject on the shared inbox and resolves with the reply (text
   * when `message` was text, bytes when it was bytes); one-way messages (`expectReply: false`) go
   * without a reply subject and resolve `undefined` once handed to the NATS client.
   */
  async send(message: Message, options: NatsSendOptions = {}): Promise<Message | undefined> {
    const { signal } = options;
    signal?.throwIfAborted();
    if (this.#closed) throw new TransportError('This client transport is closed');
    const size = messageSize(message);
    if (size > this.#maxMessageSize) throw tooLargeError(size, this.#maxMessageSize);
    // Connected: no await, so a call costs no extra turns of the event loop.
    const session = this.#current ?? (await raceSignal(this.#connect(), signal));
    // The NATS client drops what is published while it reconnects: wait until it is back.
    if (session.reconnected !== undefined) await raceSignal(session.reconnected, signal);
    // The server's max_payload, learnt on connecting, may be lower.
    if (size > session.limit) throw tooLargeError(size, session.limit);
    const callHeaders = this.#headers(options);
    if (options.expectReply === false) {
      this.#publish(session, message, undefined, callHeaders);
      return undefined;
    }
    const token = (this.#nextToken++).toString(36);
    const reply = new Promise<Message>((resolve, reject) => {
      this.#pending.set(token, { resolve, reject, text: typeof message === 'string' });
    });
    try {
      this.#publish(session, message, `${session.inbox}.${token}`, callHeaders);
    } catch (error) {
      this.#pending.delete(token);
      throw error;
    }
    if (signal === undefined) return reply;
    // A reply removes its entry; an abort must, or the entry would wait forever.
    return raceSignal(reply, signal).catch((error: unknown) => {
      this.#pending.delete(token);
      throw error;
    });
  }

  /**
   * Fails the calls in flight with a {@link TransportError}, unsubscribes the inbox and drains the
   * connection it opened (so notifications already sent are delivered); a caller's connection stays open.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#failAll(new TransportError('The client transport was closed'));
    const session = await this.#session?.catch(() => undefined);
    this.#session = undefined;
    this.#current = undefined;
    if (session === undefined) return;
    session.status.stop();
    if (session.connection.isClosed()) return;
    try {
      session.subscription.unsubscribe();
      await (session.owned ? session.connection.drain() : session.connection.flush());
    } catch {
      // Closed meanwhile: nothing is left to release.
    }
  }

  #headers(options: NatsSendOptions): MsgHdrs | undefined {
    const fromOption = this.#options.headers?.();
    if (
      fromOption === undefined &&
      options.headers === undefined &&
      options.deadline === undefined
    ) {
      return undefined;
    }
    const result = headers();
    for (const source of [fromOption, options.headers]) {
      if (source !== undefined)
        for (const [key, value] of Object.entries(source)) result.set(key, value);
    }
    if (options.deadline !== undefined) {
      // RpcClient's deadline replaces one set by hand or by `sendDeadline`, whatever its case.
      const left = Math.max(0, Math.floor(options.deadline - Date.now()));
      result.set(deadlineHeader, String(left), Match.IgnoreCase);
    }
    return result;
  }

  #publish(
    session: Session,
    message: Message,
    reply: string | undefined,
    callHeaders: MsgHdrs | undefined,
  ): void {
    try {
      session.connection.publish(this.subject, message, {
        ...(reply === undefined ? {} : { reply }),
        ...(callHeaders === undefined ? {} : { headers: callHeaders }),
      });
    } catch (error) {
      throw new TransportError(
        `Could not publish to NATS subject "${this.subject}": ${describeError(error)}`,
        {
          cause: error,
        },
      );
    }
  }

  #connect(): Promise<Session> {
    if (this.#session === undefined) {
      const opening = this.#open();
      this.#session = opening;
      // A failed attempt is forgotten, so the next call tries again.
      opening.catch(() => {
        if (this.#session === opening) this.#session = undefined;
      });
    }
    return this.#session;
  }

  async #open(): Promise<Session> {
    const { connection, owned } = await openConnection(this.#options, 'NatsClientTransport');
    const inbox = createInbox(this.#options.connectionOptions?.inboxPrefix);
    const subscription = connection.subscribe(`${inbox}.*`, {
      callback: (error, msg) => {
        if (error === null) this.#reply(inbox, msg);
      },
    });
    const session: Session = {
      connection,
      owned,
      inbox,
      subscription,
      limit: payloadLimit(connection, this.#maxMessageSize),
      reconnected: undefined,
      status: statusEvents(connection),
    };
    if (this.#closed) {
      session.status.stop();
      subscription.unsubscribe();
      if (owned) await connection.close().catch(() => undefined);
      throw new TransportError('This client transport is closed');
    }
    this.#current = session;
    void this.#watch(session);
    return session;
  }

  #reply(inbox: string, msg: Msg): void {
    const token = msg.subject.slice(inbox.length + 1);
    const pending = this.#pending.get(token);
    // A reply to a call that ended (aborted, timed out, failed by a lost connection): dropped.
    if (pending === undefined) return;
    this.#pending.delete(token);
    if (msg.headers?.code === 503) {
      pending.reject(
        new TransportError(`No responders: no server listens on NATS subject "${this.subject}"`),
      );
      return;
    }
    const failure = serviceErrorOf(msg);
    if (failure !== undefined) {
      pending.reject(new TransportError(`The server could not take the call: ${failure}`));
      return;
    }
    const limit = this.#current?.limit ?? this.#maxMessageSize;
    if (msg.data.byteLength > limit) {
      pending.reject(tooLargeError(msg.data.byteLength, limit));
      return;
    }
    pending.resolve(pending.text ? msg.string() : msg.data);
  }

  // A lost connection fails the calls in flight: their replies may never come. The NATS client
  // reconnects and resubscribes the inbox; calls made meanwhile wait in its buffer and go out then.
  async #watch(session: Session): Promise<void> {
    const { connection } = session;
    let back: { resolve(): void; reject(error: unknown): void } | undefined;
    void connection.closed().then((error) => {
      if (this.#current === session) {
        this.#current = undefined;
        this.#session = undefined;
      }
      const reason = new TransportError(
        `The NATS connection closed${error ? `: ${error.message}` : ''}`,
        { cause: error },
      );
      back?.reject(reason);
      this.#failAll(reason);
    });
    for await (const status of session.status.events) {
      if (status.type === Events.Disconnect) {
        if (session.reconnected === undefined) {
          session.reconnected = new Promise<void>((resolve, reject) => {
            back = { resolve, reject };
          });
          // Nobody may be waiting when the connection closes for good.
          session.reconnected.catch(() => undefined);
        }
        this.#failAll(
          new TransportError(
            `Lost the connection to NATS (${serverOf(status)}); the NATS client reconnects`,
          ),
        );
      } else if (status.type === Events.Reconnect) {
        session.reconnected = undefined;
        back?.resolve();
        back = undefined;
      }
    }
  }

  #failAll(error: TransportError): void {
    const calls = [...this.#pending.values()];
    this.#pending.clear();
    for (const call of calls) call.reject(error);
  }
}
