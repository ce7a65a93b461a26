import { randomBytes } from 'node:crypto';
import {
  clientTransportBrand,
  deadlineHeader,
  setBrand,
  streamHeader,
  TransportError,
  type RequestReplyTransport,
  type Message,
  type ReplyStreamReceiver,
  type SendOptions,
} from '@tinyrpc/core';
import { defaultLimits, describeError, tooLargeError } from '@tinyrpc/core/transport';
import type { Channel, ChannelModel, ConsumeMessage, Message as AmqpMessage } from 'amqplib';
import {
  checkConnectionOptions,
  openConnection,
  quietly,
  releaseChannel,
  toBuffer,
  type PublishOptions,
  type RabbitMqConnectionOptions,
} from './amqp-connection.ts';
import { cancelExchangeOptions } from './cancel.ts';
import { creditHeader, probeInterval, streamLostHeader } from './reply-stream.ts';

/** Options of {@link RabbitMqClientTransport}. */
export interface RabbitMqClientTransportOptions extends RabbitMqConnectionOptions {
  /** Where calls go: the server's queue name when sending through the default exchange. */
  readonly routingKey: string;
  /** The exchange calls are published to; default `''`, the default exchange. */
  readonly exchange?: string;
  /**
   * Where replies come back. `'direct'` (default): RabbitMQ's direct reply-to
   * (`amq.rabbitmq.reply-to`), no queue at all. `'exclusive'`: an exclusive, server-named callback
   * queue per connection, as Python tinyrpc's client declares.
   */
  readonly replyTo?: 'direct' | 'exclusive';
  /**
   * The {@link RabbitMqClientTransport.defaultTimeout} suggested to `RpcClient`: milliseconds a call
   * may take when neither the call nor the client sets a `timeout`. Default 30 000, because a call
   * can wait in a queue that no server consumes for ever; `Infinity` for none. Requests also carry
   * it as their AMQP expiration, so a request nobody took in time is dropped instead of being
   * answered to nobody.
   */
  readonly defaultTimeout?: number;
  /**
   * The fanout exchange a cancel goes to when a call is aborted or times out; default
   * `<routingKey>.cancel`, the exchange tinyrpc servers of that queue listen on. The client
   * declares it, so publishing to it never fails, even with no server (a Python one) bound to it.
   * `false`: send no cancels.
   */
  readonly cancelExchange?: string | false;
}

/** Default of {@link RabbitMqClientTransportOptions.defaultTimeout}, in milliseconds. */
export const defaultCallTimeout = 30_000;

const directReplyTo = 'amq.rabbitmq.reply-to';

const emptyBody = Buffer.alloc(0);

interface Session {
  readonly connection: ChannelModel;
  readonly channel: Channel;
  readonly replyTo: string;
  readonly lost: AbortController;
  /** Where cancels are published: a channel of its own, so a failure there never ends calls. */
  cancels: Channel | undefined;
  readonly release: () => void;
}

// One call waiting for its reply, made for every call. It has no abort listener of its own:
// `#sweep` finds the calls whose signal aborted.
interface Pending {
  readonly resolve: (reply: Buffer) => void;
  readonly reject: (error: unknown) => void;
  readonly signal: AbortSignal | undefined;
  /** When the request expires in the queue (epoch ms), told to servers with its cancel. */
  readonly expiresAt: number | undefined;
  /** A streamed reply's receiver: every message before the last goes there. */
  readonly stream: ReplyStreamReceiver | undefined;
  /** Where the server running the stream takes credit: the `reply_to` of its items. */
  creditTo: string | undefined;
  /** When the stream's server was last heard of (an item) or asked after (a probe), epoch ms. */
  heardAt: number;
}

/**
 * Milliseconds between two looks for calls whose signal aborted. An abort listener per call costs
 * more than the rest of a call (Node's `EventTarget`, measured: 15–28 µs of CPU per call at 256 in
 * flight); `RpcClient` fails such a call at once by itself, so the transport only has to let go of
 * it, and a direct caller of `send` sees the abort within this time.
 */
const sweepInterval = 100;

/**
 * The sweep's interval while cancels are sent: a cancel goes out within it (the goal is a handler
 * aborted within 50 ms). A sweep reads one flag per pending call: 256 pending, 100 times a
 * second, is a few ms of CPU per second.
 */
const cancelSweepInterval = 10;

/**
 * Sends calls to a RabbitMQ queue and resolves each with the reply that carries its
 * `correlation_id`: many calls in flight on one channel.
 *
 * Calls are published `mandatory`, so a call no queue can take fails at once with a
 * {@link TransportError} ("no route") instead of waiting. The transport keeps no clock: it
 * suggests `defaultTimeout` to `RpcClient`, whose signal ends a call. A lost connection fails the
 * calls in flight at once; the next call connects again.
 */
export class RabbitMqClientTransport implements RequestReplyTransport {
  /** The transport contract this transport implements. */
  readonly specificationVersion = 1;
  /** A request/reply transport: `send` resolves the reply. */
  readonly kind = 'request-reply';
  /** The routing key calls are published with. */
  readonly routingKey: string;
  /** The exchange calls are published to (`''`: the default exchange). */
  readonly exchange: string;
  /**
   * Milliseconds `RpcClient` gives a call when neither the call nor the client sets a timeout
   * (`undefined`: none); also each request's AMQP expiration.
   */
  readonly defaultTimeout: number | undefined;
  /** Call headers (`SendOptions.headers`: a trace context…) travel as the message's AMQP headers. */
  readonly supportsHeaders = true;
  /**
   * Streamed replies (`RpcClient.stream`): the items come to the reply queue, credit goes back to
   * the server running the stream. They need the cancel exchange, so `false` with
   * `cancelExchange: false`.
   */
  readonly streams: boolean;
  readonly #options: RabbitMqClientTransportOptions;
  readonly #expiration: string | undefined;
  readonly #maxMessageSize: number;
  readonly #pending = new Map<string, Pending>();
  readonly #cancelExchange: string | undefined;
  readonly #sweepInterval: number;
  /**
   * Begins every correlation id, so that ids are unique among all the clients of a queue: a
   * cancel names its call by correlation id alone.
   */
  readonly #idPrefix = `${randomBytes(9).toString('base64url')}.`;
  /** Lost sessions still being closed; `close()` waits for them. */
  readonly #releasing = new Set<Promise<void>>();
  #session: Promise<Session> | undefined;
  #current: Session | undefined;
  #sweeper: ReturnType<typeof setInterval> | undefined;
  #nextId = 0;
  #closed = false;

  constructor(options: RabbitMqClientTransportOptions) {
    checkConnectionOptions(options, 'RabbitMqClientTransport');
    if (typeof options.routingKey !== 'string') {
      throw new TypeError('RabbitMqClientTransport needs a routing key');
    }
    const timeout = options.defaultTimeout ?? defaultCallTimeout;
    // setTimeout (RpcClient's clock) fires at once for delays past 2^31 - 1 ms.
    if (!((timeout > 0 && timeout <= 2_147_483_647) || timeout === Infinity)) {
      throw new TypeError(
        'RabbitMqClientTransport: "defaultTimeout" must be a positive number of ms, at most 2^31 - 1, or Infinity',
      );
    }
    const replyTo = (options.replyTo as string | undefined) ?? 'direct';
    if (replyTo !== 'direct' && replyTo !== 'exclusive') {
      throw new TypeError('RabbitMqClientTransport: "replyTo" must be "direct" or "exclusive"');
    }
    this.routingKey = options.routingKey;
    this.exchange = options.exchange ?? '';
    this.#options = options;
    this.defaultTimeout = timeout === Infinity ? undefined : Math.ceil(timeout);
    this.#expiration = this.defaultTimeout === undefined ? undefined : String(this.defaultTimeout);
    this.#maxMessageSize = options.maxMessageSize ?? defaultLimits.maxMessageSize;
    const cancelExchange = options.cancelExchange ?? `${options.routingKey}.cancel`;
    if (cancelExchange !== false && (typeof cancelExchange !== 'string' || cancelExchange === '')) {
      throw new TypeError('RabbitMqClientTransport: "cancelExchange" must be a name or false');
    }
    this.#cancelExchange = cancelExchange === false ? undefined : cancelExchange;
    this.streams = cancelExchange !== false;
    this.#sweepInterval = cancelExchange === false ? sweepInterval : cancelSweepInterval;
    setBrand(this, clientTransportBrand);
  }

  /** How many calls wait for their reply. */
  get pendingCount(): number {
    this.#sweep();
    return this.#pending.size;
  }

  /** The connection in use: `undefined` until a call opens one, and after it is lost. */
  get connection(): ChannelModel | undefined {
    return this.#current?.connection;
  }

  /**
   * Publishes `message`; resolves with the reply, or with `undefined` at once for one-way messages
   * (`expectReply: false`), which go without `reply_to`.
   */
  async send(message: Message, options: SendOptions = {}): Promise<Message | undefined> {
    const { signal } = options;
    signal?.throwIfAborted();
    if (this.#closed) throw new TransportError('This client transport is closed');
    const body = toBuffer(message);
    if (body.byteLength > this.#maxMessageSize) {
      throw tooLargeError(body.byteLength, this.#maxMessageSize);
    }
    const session = await this.#connect();
    signal?.throwIfAborted();
    const { headers } = options;
    if (options.expectReply === false) {
      this.#publish(session, body, headers === undefined ? {} : { headers });
      return undefined;
    }
    const { stream } = options;
    // Without its channel, neither the credit nor the cancel of a stream could reach its server.
    if (stream !== undefined && session.cancels === undefined) {
      throw new TransportError(
        `Streams need the cancel exchange "${this.#cancelExchange ?? '(off)'}", which could not be declared`,
      );
    }
    return this.#call(session, body, signal, headers, options.deadline, stream);
  }

  /** Fails the calls in flight with a {@link TransportError} and closes the channel (and the connection it opened). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // A stream's server would otherwise wait for credit for ever.
    for (const [id, pending] of this.#pending)
      if (pending.stream !== undefined) this.#sendCancel(id, pending.expiresAt);
    this.#failAll(new TransportError('The client transport was closed'));
    clearInterval(this.#sweeper);
    this.#sweeper = undefined;
    const opening = this.#session;
    this.#session = undefined;
    this.#current = undefined;
    const session = await opening?.catch(() => undefined);
    if (session !== undefined) await this.#release(session);
    await Promise.all([...this.#releasing]);
  }

  #call(
    session: Session,
    body: Buffer,
    signal: AbortSignal | undefined,
    headers: SendOptions['headers'],
    deadline: number | undefined,
    stream: ReplyStreamReceiver | undefined,
  ): Promise<Buffer> {
    const id = this.#idPrefix + String(++this.#nextId);
    // A deadline travels twice: as the expiration, so the broker never delivers the call once it
    // passed, and as the header, so the handler's signal aborts at it.
    let expiration = this.#expiration;
    let expiresAt: number | undefined;
    let callHeaders = headers;
    if (deadline !== undefined) {
      const left = Math.max(0, Math.ceil(deadline - Date.now()));
      expiration = String(left);
      expiresAt = deadline;
      callHeaders = { ...headers, [deadlineHeader]: expiration };
    } else if (stream !== undefined) {
      // A stream has no time limit unless its caller sets one: it may wait and run for ever.
      expiration = undefined;
    } else if (this.defaultTimeout !== undefined) {
      expiresAt = Date.now() + this.defaultTimeout;
    }
    if (stream !== undefined) {
      callHeaders = { ...callHeaders, [streamHeader]: String(stream.credit) };
      stream.onCredit((credit) => {
        this.#sendCredit(id, credit);
      });
    }
    return new Promise<Buffer>((resolve, reject) => {
      this.#pending.set(id, {
        resolve,
        reject,
        signal,
        expiresAt,
        stream,
        creditTo: undefined,
        heardAt: Date.now(),
      });
      if (signal !== undefined || stream !== undefined) {
        this.#sweeper ??= setInterval(this.#sweep, this.#sweepInterval).unref();
      }
      try {
        this.#publish(session, body, {
          replyTo: session.replyTo,
          correlationId: id,
          mandatory: true,
          ...(expiration === undefined ? {} : { expiration }),
          ...(callHeaders === undefined ? {} : { headers: callHeaders }),
        });
      } catch (error) {
        this.#take(id);
        reject(error);
      }
    });
  }

  // Removes a pending call; the caller settles it.
  #take(id: unknown): Pending | undefined {
    if (typeof id !== 'string') return undefined;
    const pending = this.#pending.get(id);
    if (pending === undefined) return undefined;
    this.#pending.delete(id);
    return pending;
  }

  // Fails the calls whose signal aborted (their late replies are dropped); stops looking once no
  // call is pending.
  readonly #sweep = (): void => {
    let now: number | undefined;
    for (const [id, pending] of this.#pending) {
      if (pending.signal?.aborted !== true) {
        if (pending.creditTo === undefined) continue;
        now ??= Date.now();
        // A quiet stream probes its server (see `probeInterval`): a lost one fails the loop within
        // about two intervals, and the server knows its caller is still there.
        if (now - pending.heardAt < probeInterval) continue;
        pending.heardAt = now;
        this.#sendCredit(id, 0);
        continue;
      }
      this.#pending.delete(id);
      pending.reject(pending.signal.reason);
      this.#sendCancel(id, pending.expiresAt);
    }
    if (this.#pending.size === 0 && this.#sweeper !== undefined) {
      clearInterval(this.#sweeper);
      this.#sweeper = undefined;
    }
  };

  // Tells the servers of the queue that call `id` ended: the one running it aborts its signal;
  // the others remember it until the call expires, in case it is still queued.
  #sendCancel(id: string, expiresAt: number | undefined): void {
    const channel = this.#current?.cancels;
    if (channel === undefined || this.#cancelExchange === undefined) return;
    const options: PublishOptions = { correlationId: id };
    if (expiresAt !== undefined) {
      options.headers = { [deadlineHeader]: String(Math.max(0, expiresAt - Date.now())) };
    }
    try {
      channel.publish(this.#cancelExchange, '', emptyBody, options);
    } catch {
      // The cancel channel closed: the call has ended here anyway; its handler runs on.
    }
  }

  // Grants the server running stream `id` more credit (0: a probe): published `mandatory` to its
  // control queue, so that a server gone meanwhile (its queue with it) comes back as a return
  // (#returnedCredit).
  #sendCredit(id: string, credit: number): void {
    const creditTo = this.#pending.get(id)?.creditTo;
    const channel = this.#current?.cancels;
    if (creditTo === undefined || channel === undefined) return;
    try {
      channel.publish('', creditTo, emptyBody, {
        correlationId: id,
        mandatory: true,
        headers: { [creditHeader]: String(credit) },
      });
    } catch (error) {
      this.#take(id)?.reject(
        new TransportError(`Could not send credit to the stream: ${describeError(error)}`, {
          cause: error,
        }),
      );
    }
  }

  // Credit the broker could not route: the server running the stream is gone.
  #returnedCredit(returned: AmqpMessage): void {
    const { correlationId } = returned.properties as { correlationId?: unknown };
    const pending = this.#take(correlationId);
    if (pending === undefined) return;
    pending.reject(new TransportError('The server running the stream was lost mid-stream'));
    // Should the broker hand the request to another server, that one ends it.
    this.#sendCancel(correlationId as string, pending.expiresAt);
  }

  #publish(session: Session, body: Buffer, options: PublishOptions): void {
    try {
      session.channel.publish(this.exchange, this.routingKey, body, options);
    } catch (error) {
      throw new TransportError(`Could not publish to RabbitMQ: ${describeError(error)}`, {
        cause: error,
      });
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
    const owned = this.#options.connection === undefined;
    const connection = owned ? await openConnection(this.#options) : this.#options.connection;
    const lost = new AbortController();
    let session: Session | undefined;
    const onClose = (error?: Error): void => {
      const reason = new TransportError(
        error === undefined
          ? 'Lost the RabbitMQ channel'
          : `Lost the connection to RabbitMQ: ${error.message}`,
        { cause: error },
      );
      if (session !== undefined) this.#lost(session, reason);
      else lost.abort(reason);
    };
    // A dying connection closes its channels first; wait a tick so the connection's own close
    // (with its cause) is the one reported.
    const onChannelClose = (): void => {
      queueMicrotask(() => {
        onClose();
      });
    };
    const onError = (): void => {
      // Reported through 'close', which always follows; a listener keeps the emitter from throwing.
    };
    const onReturn = (returned: AmqpMessage): void => {
      this.#returned(returned);
    };
    let channel: Channel | undefined;
    let cancelling: Promise<Channel | undefined> | undefined;
    const release = (): void => {
      connection.off('error', onError);
      connection.off('close', onClose);
      channel?.off('error', onError);
      channel?.off('close', onChannelClose);
      channel?.off('return', onReturn);
    };
    connection.on('error', onError);
    connection.on('close', onClose);
    try {
      cancelling = this.#openCancels(connection);
      channel = await connection.createChannel();
      channel.on('error', onError);
      channel.on('close', onChannelClose);
      channel.on('return', onReturn);
      let replyTo = directReplyTo;
      if (this.#options.replyTo === 'exclusive') {
        ({ queue: replyTo } = await channel.assertQueue('', { exclusive: true, autoDelete: true }));
      }
      // Direct reply-to demands the consumer exist, on this channel, before the first publish.
      const consuming = channel.consume(
        replyTo,
        (delivery) => {
          if (delivery !== null) this.#reply(delivery);
          // The broker cancelled the reply consumer: no reply can arrive on this channel any more.
          else if (session !== undefined) {
            this.#lost(session, new TransportError('The broker cancelled the reply consumer'));
          }
        },
        { noAck: true },
      );
      const [cancels] = await Promise.all([cancelling, consuming]);
      if (lost.signal.aborted) throw lost.signal.reason;
      if (this.#closed) throw new TransportError('This client transport is closed');
      session = { connection, channel, replyTo, lost, cancels, release };
      this.#current = session;
      return session;
    } catch (error) {
      release();
      const cancels = await cancelling?.catch(() => undefined);
      if (cancels !== undefined) await quietly(() => cancels.close());
      if (channel !== undefined) await quietly(() => (channel as Channel).close());
      if (owned) await quietly(() => connection.close());
      throw TransportError.is(error)
        ? error
        : new TransportError(`Cannot open a RabbitMQ channel: ${describeError(error)}`, {
            cause: error,
          });
    }
  }

  #reply(delivery: ConsumeMessage): void {
    const { correlationId, replyTo, headers } = delivery.properties as {
      correlationId?: unknown;
      replyTo?: unknown;
      headers?: Record<string, unknown>;
    };
    const streamed =
      typeof correlationId === 'string' ? this.#pending.get(correlationId) : undefined;
    if (streamed?.stream !== undefined) {
      this.#streamed(correlationId as string, streamed, delivery, replyTo, headers);
      return;
    }
    // A reply to a call that ended (timeout, abort) or a second reply after a redelivery: dropped.
    const pending = this.#take(correlationId);
    if (pending === undefined) return;
    if (delivery.content.byteLength > this.#maxMessageSize) {
      pending.reject(tooLargeError(delivery.content.byteLength, this.#maxMessageSize));
    } else {
      pending.resolve(delivery.content);
    }
  }

  // One message of a streamed reply: an item (kept pending, noting where credit goes), the
  // reply that ends the stream, or the server's word that it could not carry on.
  #streamed(
    id: string,
    pending: Pending,
    delivery: ConsumeMessage,
    replyTo: unknown,
    headers: Record<string, unknown> | undefined,
  ): void {
    const lost = headers?.[streamLostHeader];
    if (lost !== undefined) {
      this.#take(id);
      pending.reject(
        new TransportError(
          typeof lost === 'string' ? lost : 'The server could not carry on the stream',
        ),
      );
      return;
    }
    const size = delivery.content.byteLength;
    if (size > this.#maxMessageSize) {
      this.#take(id);
      pending.reject(tooLargeError(size, this.#maxMessageSize));
      // The server would wait for credit for ever.
      this.#sendCancel(id, pending.expiresAt);
      return;
    }
    if (typeof replyTo === 'string' && replyTo !== '') pending.creditTo = replyTo;
    pending.heardAt = Date.now();
    if ((pending.stream as ReplyStreamReceiver).receive(delivery.content)) return;
    this.#take(id);
    pending.resolve(delivery.content);
  }

  #returned(returned: AmqpMessage): void {
    const { correlationId } = returned.properties as { correlationId?: unknown };
    const pending = this.#take(correlationId);
    if (pending === undefined) return;
    const { exchange, routingKey, replyText } = returned.fields as {
      exchange: string;
      routingKey: string;
      replyText?: string;
    };
    const where = exchange === '' ? 'the default exchange' : `exchange "${exchange}"`;
    pending.reject(
      new TransportError(
        `No route: no queue takes routing key "${routingKey}" on ${where} (${replyText ?? 'NO_ROUTE'})`,
      ),
    );
  }

  #lost(session: Session, reason: TransportError): void {
    if (session.lost.signal.aborted) return;
    session.lost.abort(reason);
    // Every pending call was published on this session: none of their replies can arrive now.
    this.#failAll(reason);
    if (this.#current === session) {
      this.#current = undefined;
      this.#session = undefined;
    }
    const releasing = this.#release(session);
    this.#releasing.add(releasing);
    void releasing.finally(() => this.#releasing.delete(releasing));
  }

  #failAll(error: TransportError): void {
    for (const id of [...this.#pending.keys()]) this.#take(id)?.reject(error);
  }

  // The channel cancels go out on, with the exchange declared (it may have no server bound yet);
  // `undefined` when cancels are off or cannot be declared (no permission, a same-named exchange
  // of another type): calls then work as before, without cancels.
  async #openCancels(connection: ChannelModel): Promise<Channel | undefined> {
    const exchange = this.#cancelExchange;
    if (exchange === undefined) return undefined;
    let channel: Channel | undefined;
    try {
      channel = await connection.createChannel();
      const opened = channel;
      opened.on('error', () => {
        // A refused declaration or a deleted exchange ends only this channel: no more cancels.
      });
      opened.on('return', (returned: AmqpMessage) => {
        this.#returnedCredit(returned);
      });
      opened.on('close', () => {
        const session = this.#current;
        if (session?.cancels === opened) session.cancels = undefined;
      });
      await opened.assertExchange(exchange, 'fanout', cancelExchangeOptions);
      return opened;
    } catch {
      if (channel !== undefined) await quietly(() => (channel as Channel).close());
      return undefined;
    }
  }

  async #release(session: Session): Promise<void> {
    session.release();
    const { cancels } = session;
    session.cancels = undefined;
    await releaseChannel(
      session.channel,
      session.connection,
      this.#options.connection === undefined,
      cancels,
    );
  }
}
