import {
  deadlineHeader,
  InternalError,
  InvalidRequestError,
  serverTransportBrand,
  setBrand,
  TransportError,
  type ErrorHandler,
  type ListenOptions,
  type Message,
  type MessageHandler,
  type ReconnectOptions,
  type RpcError,
  type ServerTransport,
  type TransportContext,
} from '@tinyrpc/core';
import {
  Backoff,
  defaultLimits,
  describeError,
  InFlight,
  messageSize,
  reconnectOptions,
  streamCreditOf,
  tooLargeError,
} from '@tinyrpc/core/transport';
import type {
  Channel,
  ChannelModel,
  ConfirmChannel,
  ConsumeMessage,
  Message as AmqpMessage,
  Options,
} from 'amqplib';
import { AckBatcher } from './ack-batcher.ts';
import { CancelledCalls, RunningCall, cancelExchangeOptions } from './cancel.ts';
import { StreamSender, creditHeader, grantOf, streamLostHeader } from './reply-stream.ts';
import {
  checkConnectionOptions,
  openConnection,
  quietly,
  releaseChannel,
  toBuffer,
  type RabbitMqConnectionOptions,
} from './amqp-connection.ts';

/** Options of {@link RabbitMqServerTransport}. */
export interface RabbitMqServerTransportOptions extends RabbitMqConnectionOptions {
  /** The queue to declare and consume; clients send to it by this name. */
  readonly queue: string;
  /**
   * An existing exchange to bind the queue to, with the queue's name as binding key (or
   * `bindingKey`). Without it, clients reach the queue through the default exchange, as Python
   * tinyrpc's do. Replies always go through the default exchange.
   */
  readonly exchange?: string;
  /** The binding key used with `exchange`; default: the queue's name. */
  readonly bindingKey?: string;
  /**
   * Calls this server runs at once: the channel's AMQP prefetch, the calls the broker hands it
   * unacknowledged. Calls beyond it stay in the queue, for this server or another one on the
   * queue. Default 64, not the 1000 of other transports: a server holding 1000 calls would keep
   * them from the competing servers that are idle.
   */
  readonly maxInFlight?: number;
  /**
   * How the queue is declared. Default `{ durable: false }`, the declaration of Python tinyrpc's
   * server: two servers declaring one queue must agree, or the broker refuses the second.
   */
  readonly queueOptions?: Options.AssertQueue;
  /**
   * Acknowledge a call only once the broker confirmed its reply (publisher confirms), instead of
   * right after publishing it on the same channel. Default `false`: the broker handles a channel's
   * frames in order, so the reply is taken before the acknowledgement either way; confirms add
   * that a reply the broker failed to take is answered again, at the cost of holding every call
   * one more round trip.
   */
  readonly confirmReplies?: boolean;
  /**
   * Reconnect after a lost connection: `true` (default) or the backoff policy (core's
   * `ReconnectOptions`: 100 ms doubling to 5 s, 20 % jitter, no limit on attempts), `false` to
   * stay down.
   */
  readonly reconnect?: boolean | ReconnectOptions;
  /**
   * Called with what cannot be thrown to a caller: a lost connection, a failed reconnect attempt
   * (and giving up after `retries`), a handler that rejected, a message refused with no reply.
   */
  readonly onError?: ErrorHandler;
  /**
   * The fanout exchange clients publish cancels to; default `<queue>.cancel`. The server declares
   * it and binds an exclusive queue of its own to it, so a cancel reaches whichever server runs
   * the call. `false`: no cancels. When clients route through your own `exchange`, give them and
   * the servers the same name.
   */
  readonly cancelExchange?: string | false;
}

/** What a {@link RabbitMqServerTransport} passes its handler about each call. */
export interface RabbitMqTransportContext extends TransportContext {
  readonly transport: 'rabbitmq';
  /** The request's `correlation_id`, sent back with the reply. */
  readonly correlationId: string | undefined;
  /** The queue the reply goes to (the request's `reply_to`); `undefined` for one-way messages. */
  readonly replyTo: string | undefined;
  /** `true` when the broker delivered this request before, to a server that did not acknowledge it. */
  readonly redelivered: boolean;
  /** Aborts when the channel the request came on is lost: its reply can no longer be sent. */
  readonly signal: AbortSignal;
  /** The message's string headers (a trace context, say); other header values are left out. */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * When the caller stops waiting (epoch ms): the message's `Tinyrpc-Deadline` header counted from
   * when it was received (the time it waited in the queue is not known); `undefined` without one.
   */
  readonly deadline: number | undefined;
}

const directReplyToPrefix = 'amq.rabbitmq.reply-to';

/** Default of {@link RabbitMqServerTransportOptions.maxInFlight}: the channel's prefetch. */
export const defaultMaxInFlight = 64;

interface Session {
  readonly connection: ChannelModel;
  readonly channel: Channel;
  readonly confirms: boolean;
  readonly acks: AckBatcher;
  readonly lost: AbortController;
  consumerTag: string | undefined;
  /** The channel cancels arrive on: its own, since the acknowledgements count one consumer's tags. */
  cancels: Channel | undefined;
  /**
   * The server-named queue the cancels arrive on; also where callers send credit for the streams
   * this server runs (each item names it as its `reply_to`). `undefined`: no cancels, no streams.
   */
  controlQueue: string | undefined;
  /** The calls running, by correlation id, so a cancel can abort one. */
  readonly running: Map<string, RunningCall>;
  readonly release: () => void;
}

/**
 * Serves calls from a RabbitMQ queue: declares and consumes it, and publishes each reply to the
 * request's `reply_to` queue, with its `correlation_id`, on the default exchange — the wire rules of
 * Python tinyrpc's RabbitMQ transport.
 *
 * Several servers on one queue are competing consumers: calls spread over them. A call is
 * acknowledged only after its reply is published (on the same channel, so the broker takes the
 * reply first; with `confirmReplies`, only once the broker confirmed it), so a server that dies
 * mid-call loses nothing: the broker delivers the call again, to another server. A lost connection
 * is reopened with backoff and consuming resumes.
 */
export class RabbitMqServerTransport implements ServerTransport {
  /** The transport contract this transport implements. */
  readonly specificationVersion = 1;
  /** The queue this server consumes. */
  readonly queue: string;
  readonly #options: RabbitMqServerTransportOptions;
  readonly #maxInFlight: number;
  readonly #maxMessageSize: number;
  readonly #reconnect: Backoff | undefined;
  readonly #inFlight = new InFlight();
  readonly #cancelExchange: string | undefined;
  /** Cancels of calls this server was not running: one still queued is not run when it comes. */
  readonly #cancelled = new CancelledCalls();
  /** Lost sessions still being closed; `close()` waits for them. */
  readonly #releasing = new Set<Promise<void>>();
  #handler: MessageHandler | undefined;
  #errorReply: ListenOptions['errorReply'];
  #session: Session | undefined;
  #starting: Promise<void> | undefined;
  #reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #connectionClosed = false;
  #closing: Promise<void> | undefined;

  constructor(options: RabbitMqServerTransportOptions) {
    checkConnectionOptions(options, 'RabbitMqServerTransport');
    if (typeof options.queue !== 'string' || options.queue === '') {
      throw new TypeError('RabbitMqServerTransport needs a queue name');
    }
    const maxInFlight = options.maxInFlight ?? defaultMaxInFlight;
    if (!Number.isInteger(maxInFlight) || maxInFlight < 1 || maxInFlight > 65535) {
      throw new TypeError(
        'RabbitMqServerTransport: "maxInFlight" (the prefetch) must be an integer from 1 to 65535',
      );
    }
    const reconnect = reconnectOptions(options.reconnect, true);
    this.queue = options.queue;
    this.#options = options;
    this.#maxInFlight = maxInFlight;
    this.#maxMessageSize = options.maxMessageSize ?? defaultLimits.maxMessageSize;
    this.#reconnect = reconnect === undefined ? undefined : new Backoff(reconnect);
    const cancelExchange = options.cancelExchange ?? `${options.queue}.cancel`;
    if (cancelExchange !== false && (typeof cancelExchange !== 'string' || cancelExchange === '')) {
      throw new TypeError('RabbitMqServerTransport: "cancelExchange" must be a name or false');
    }
    this.#cancelExchange = cancelExchange === false ? undefined : cancelExchange;
    setBrand(this, serverTransportBrand);
  }

  /** The connection in use, or `undefined` while there is none (before `listen`, while reconnecting). */
  get connection(): ChannelModel | undefined {
    return this.#session?.connection;
  }

  /** `true` while the server consumes its queue. */
  get consuming(): boolean {
    return this.#session?.consumerTag !== undefined;
  }

  /**
   * Connects, declares the queue and starts consuming. Rejects with a {@link TransportError} when
   * the broker cannot be reached or refuses the queue; reconnecting applies only after a start.
   */
  async listen(handler: MessageHandler, options: ListenOptions = {}): Promise<void> {
    if (this.#closed) throw new TransportError('This server transport is closed');
    if (this.#handler !== undefined) throw new Error('This server transport is already listening');
    this.#handler = handler;
    this.#errorReply = options.errorReply;
    try {
      await this.#start();
    } catch (error) {
      this.#handler = undefined;
      throw error;
    }
  }

  /**
   * Cancels the consumer, waits for the calls in flight to be answered and acknowledged, then closes
   * the channel (and the connection, when the transport opened it).
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#reconnectTimer);
    if (this.#starting !== undefined) await this.#starting.catch(() => undefined);
    const session = this.#session;
    if (session?.consumerTag !== undefined) {
      const tag = session.consumerTag;
      session.consumerTag = undefined;
      await quietly(() => session.channel.cancel(tag));
    }
    // A stream may run for ever (a subscription): closing ends it, and its caller hears why.
    if (session !== undefined) {
      const closing = new TransportError(`The server of queue "${this.queue}" closed mid-stream`);
      for (const running of session.running.values()) running.stream?.end(closing);
    }
    await this.#inFlight.drain();
    // Acknowledgements still batched go out before the channel closes, or the broker would
    // requeue calls that were answered.
    if (session !== undefined && !isLost(session)) {
      try {
        session.acks.flush();
      } catch {
        // The channel closed meanwhile; the broker redelivers the calls.
      }
    }
    if (session !== undefined) await this.#release(session);
    await Promise.all([...this.#releasing]);
  }

  #start(): Promise<void> {
    this.#starting = this.#open().finally(() => {
      this.#starting = undefined;
    });
    return this.#starting;
  }

  async #open(): Promise<void> {
    const owned = this.#options.connection === undefined;
    if (!owned && this.#connectionClosed) {
      throw new TransportError('The connection given to this server transport is closed');
    }
    const connection = owned ? await openConnection(this.#options) : this.#options.connection;
    const lost = new AbortController();
    let session: Session | undefined;
    const onConnectionClose = (error?: Error): void => {
      if (!owned) this.#connectionClosed = true;
      const reason = new TransportError(
        `Lost the RabbitMQ connection of queue "${this.queue}"${error === undefined ? '' : `: ${error.message}`}`,
        { cause: error },
      );
      if (session !== undefined) this.#lost(session, reason);
      else lost.abort(reason);
    };
    // A dying connection closes its channels first; wait a tick so the connection's own close
    // (with its cause) is the one reported.
    const onChannelClose = (): void => {
      queueMicrotask(() => {
        const reason = new TransportError(`Lost the RabbitMQ channel of queue "${this.queue}"`);
        if (session !== undefined) this.#lost(session, reason);
        else lost.abort(reason);
      });
    };
    const onError = (): void => {
      // Reported through 'close', which always follows; a listener keeps the emitter from throwing.
    };
    connection.on('error', onError);
    connection.on('close', onConnectionClose);
    let channel: Channel | undefined;
    // An item published `mandatory` that no queue took: its caller's reply queue is gone.
    const onReturn = (returned: AmqpMessage): void => {
      if (session !== undefined) this.#returned(session, returned);
    };
    const release = (): void => {
      connection.off('error', onError);
      connection.off('close', onConnectionClose);
      channel?.off('error', onError);
      channel?.off('close', onChannelClose);
      channel?.off('return', onReturn);
    };
    try {
      const confirms = this.#options.confirmReplies === true;
      channel = confirms
        ? await connection.createConfirmChannel()
        : await connection.createChannel();
      channel.on('error', onError);
      channel.on('close', onChannelClose);
      channel.on('return', onReturn);
      const { queue } = this;
      await channel.assertQueue(queue, this.#options.queueOptions ?? { durable: false });
      const { exchange } = this.#options;
      if (exchange !== undefined && exchange !== '') {
        await channel.bindQueue(queue, exchange, this.#options.bindingKey ?? queue);
      }
      await channel.prefetch(this.#maxInFlight);
      if (lost.signal.aborted) throw lost.signal.reason;
      if (this.#closed) throw new TransportError('This server transport is closed');
      const current: Session = {
        connection,
        channel,
        confirms,
        acks: new AckBatcher(channel),
        lost,
        consumerTag: undefined,
        cancels: undefined,
        controlQueue: undefined,
        running: new Map(),
        release,
      };
      session = current;
      // Bound before the first call is taken, so no cancel of a call this server runs is missed.
      await this.#listenForCancels(current);
      const { consumerTag } = await channel.consume(
        queue,
        (delivery) => {
          this.#deliver(current, delivery);
        },
        { noAck: false },
      );
      current.consumerTag = consumerTag;
      this.#session = current;
    } catch (error) {
      release();
      const cancels = session?.cancels;
      if (cancels !== undefined) await quietly(() => cancels.close());
      if (channel !== undefined) await quietly(() => (channel as Channel).close());
      if (owned) await quietly(() => connection.close());
      throw new TransportError(`Cannot consume queue "${this.queue}": ${describeError(error)}`, {
        cause: error,
      });
    }
  }

  // The channel or connection went away: calls in flight can no longer be acknowledged, so the
  // broker hands them out again; reconnect unless closing.
  #lost(session: Session, reason: TransportError): void {
    if (session.lost.signal.aborted) return;
    session.lost.abort(reason);
    session.acks.discard();
    session.consumerTag = undefined;
    for (const running of session.running.values()) running.lose(reason);
    session.running.clear();
    if (this.#session === session) this.#session = undefined;
    const releasing = this.#release(session);
    this.#releasing.add(releasing);
    void releasing.finally(() => this.#releasing.delete(releasing));
    if (this.#closed) return;
    this.#options.onError?.(reason);
    this.#scheduleReconnect();
  }

  #scheduleReconnect(): void {
    const backoff = this.#reconnect;
    if (backoff === undefined || this.#closed) return;
    // A connection the caller owns cannot be reopened; its channel can, while it stays open.
    if (this.#connectionClosed) return;
    const delay = backoff.next();
    if (delay === undefined) {
      this.#options.onError?.(
        new TransportError(
          `Gave up reconnecting queue "${this.queue}" after ${String(backoff.attempts)} attempts`,
        ),
      );
      return;
    }
    this.#reconnectTimer = setTimeout(() => {
      this.#reconnectTimer = undefined;
      if (this.#closed) return;
      this.#start().then(
        () => {
          backoff.reset();
        },
        (error: unknown) => {
          if (this.#closed) return;
          this.#options.onError?.(error);
          this.#scheduleReconnect();
        },
      );
    }, delay);
  }

  // A channel of its own, an exclusive queue bound to the cancel exchange, consumed without acks.
  // Failing that (no permission to declare, a same-named exchange of another type), the server
  // runs without cancels and says so.
  async #listenForCancels(session: Session): Promise<void> {
    const exchange = this.#cancelExchange;
    if (exchange === undefined) return;
    let channel: Channel | undefined;
    try {
      channel = await session.connection.createChannel();
      channel.on('error', () => {
        // Reported below, or through the connection's close.
      });
      await channel.assertExchange(exchange, 'fanout', cancelExchangeOptions);
      const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
      await channel.bindQueue(queue, exchange, '');
      await channel.consume(
        queue,
        (delivery) => {
          if (delivery !== null) this.#control(session, delivery);
        },
        { noAck: true },
      );
      session.cancels = channel;
      session.controlQueue = queue;
    } catch (error) {
      if (channel !== undefined) await quietly(() => (channel as Channel).close());
      this.#options.onError?.(
        new TransportError(
          `Cancels will not reach queue "${this.queue}": cannot listen on exchange "${exchange}": ${describeError(error)}`,
          { cause: error },
        ),
      );
    }
  }

  // A message on the control queue: credit for a stream this server runs (sent to this queue
  // alone), or a cancel (sent to every server of the queue).
  #control(session: Session, delivery: ConsumeMessage): void {
    const { correlationId, headers } = delivery.properties as {
      correlationId?: unknown;
      headers?: unknown;
    };
    const id = stringOrUndefined(correlationId);
    if (id === undefined) return;
    const running = session.running.get(id);
    const table = (typeof headers === 'object' && headers !== null ? headers : {}) as Record<
      string,
      unknown
    >;
    if (creditHeader in table) {
      const stream = running?.stream;
      stream?.heard();
      const credit = grantOf(table);
      if (credit !== undefined) stream?.grant(credit);
      return;
    }
    if (running !== undefined) {
      running.cancel();
      return;
    }
    this.#cancelled.add(id, deadlineOfHeaders(stringHeaders(headers), Date.now()));
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

  #deliver(session: Session, delivery: ConsumeMessage | null): void {
    if (delivery === null) {
      // The broker cancelled the consumer: the queue was deleted. Declare it again and resume.
      this.#lost(
        session,
        new TransportError(`The broker cancelled the consumer of queue "${this.queue}" (deleted?)`),
      );
      return;
    }
    this.#inFlight.start();
    void this.#answer(session, delivery).finally(this.#finished);
  }

  readonly #finished = (): void => {
    this.#inFlight.finish();
  };

  async #answer(session: Session, delivery: ConsumeMessage): Promise<void> {
    const { channel } = session;
    const properties = delivery.properties as {
      correlationId?: unknown;
      replyTo?: unknown;
      headers?: unknown;
    };
    const correlationId = stringOrUndefined(properties.correlationId);
    const replyTo = stringOrUndefined(properties.replyTo);
    let reply: Message | undefined;
    const size = delivery.content.byteLength;
    if (size > this.#maxMessageSize) {
      reply = this.#refusal(
        new InvalidRequestError(tooLargeError(size, this.#maxMessageSize).message),
      );
    } else {
      const receivedAt = Date.now();
      // A call cancelled while it waited in the queue: its caller is gone, so it is not run.
      if (correlationId !== undefined && this.#cancelled.take(correlationId, receivedAt)) {
        session.acks.ack(delivery);
        return;
      }
      const headers = stringHeaders(properties.headers);
      let running: RunningCall | undefined;
      if (
        correlationId !== undefined &&
        replyTo !== undefined &&
        this.#cancelExchange !== undefined
      ) {
        if (!session.running.has(correlationId)) {
          running = new RunningCall();
          session.running.set(correlationId, running);
        }
      }
      // A streamed reply needs the control queue, where its credit comes.
      const { controlQueue } = session;
      const credit =
        running === undefined || controlQueue === undefined ? undefined : streamCreditOf(headers);
      if (credit !== undefined && delivery.fields.redelivered) {
        // The server that ran this stream was lost after sending the caller who knows how many
        // items: starting again would send them twice.
        if (correlationId !== undefined) session.running.delete(correlationId);
        this.#endStream(
          session,
          delivery,
          replyTo as string,
          correlationId as string,
          'The server running the stream was lost mid-stream',
        );
        return;
      }
      if (running !== undefined && credit !== undefined) {
        running.stream = new StreamSender(credit, (item) => {
          this.#publishItem(session, replyTo as string, correlationId as string, item);
        });
      }
      const { lost } = session;
      const context: RabbitMqTransportContext = {
        transport: 'rabbitmq',
        correlationId,
        replyTo,
        redelivered: delivery.fields.redelivered,
        // Made when first asked for: most handlers never look.
        get signal() {
          return running === undefined ? lost.signal : running.signal(lost.signal);
        },
        headers,
        deadline: deadlineOfHeaders(headers, receivedAt),
        ...(running?.stream === undefined ? {} : { stream: running.stream }),
      };
      try {
        reply = await (this.#handler as MessageHandler)(delivery.content, context);
      } catch (error) {
        // A handler that throws cannot answer; redelivering would only fail again.
        this.#options.onError?.(
          new TransportError(`The handler failed: ${describeError(error)}`, { cause: error }),
        );
        if (!session.lost.signal.aborted) {
          try {
            session.acks.nack(delivery, false);
          } catch {
            // The channel closed meanwhile; the broker redelivers the call.
          }
        }
        return;
      } finally {
        if (running !== undefined && correlationId !== undefined) {
          session.running.delete(correlationId);
        }
      }
      // The caller of a cancelled call stopped waiting: its answer would be dropped.
      if (running?.cancelled === true) reply = undefined;
      // A stream this side ended (closing, an item too large, its caller gone) tells the caller
      // why instead of ending as if complete.
      const interrupted = running?.stream?.interrupted;
      if (interrupted !== undefined && reply !== undefined && !isLost(session)) {
        this.#endStream(
          session,
          delivery,
          replyTo as string,
          correlationId as string,
          interrupted.message,
        );
        return;
      }
      if (reply !== undefined && messageSize(reply) > this.#maxMessageSize) {
        const tooLarge = tooLargeError(messageSize(reply), this.#maxMessageSize);
        reply = this.#refusal(
          new InternalError(`The reply could not be sent: ${tooLarge.message}`),
        );
      }
    }
    // Without its channel the call cannot be acknowledged; the broker gives it to another server.
    if (session.lost.signal.aborted) return;
    try {
      if (replyTo !== undefined && reply !== undefined) {
        const options: Options.Publish = {};
        if (correlationId !== undefined) options.correlationId = correlationId;
        const body = toBuffer(reply);
        if (session.confirms) {
          await publishConfirmed(channel as ConfirmChannel, replyTo, body, options);
        } else {
          channel.publish('', replyTo, body, options);
        }
      }
      session.acks.ack(delivery);
    } catch (error) {
      if (isLost(session)) return;
      // The broker refused the reply: keep the call so it is answered again.
      this.#options.onError?.(
        new TransportError(`Could not send the reply: ${describeError(error)}`, { cause: error }),
      );
      try {
        session.acks.nack(delivery, true);
      } catch {
        // The channel closed meanwhile; the broker redelivers the call.
      }
    }
  }

  // Publishes one item of a stream to its caller, naming this server's control queue for credit.
  // `mandatory` to a reply queue: when it is gone, the broker returns the item (see #returned).
  // Not to direct reply-to, whose items the broker (3.10) returns even as it delivers them.
  #publishItem(session: Session, replyTo: string, correlationId: string, item: Message): void {
    const size = messageSize(item);
    if (size > this.#maxMessageSize) {
      throw new TransportError(
        `A stream item could not be sent: ${tooLargeError(size, this.#maxMessageSize).message}`,
      );
    }
    const options: Options.Publish = {
      correlationId,
      mandatory: !replyTo.startsWith(directReplyToPrefix),
    };
    if (session.controlQueue !== undefined) options.replyTo = session.controlQueue;
    session.channel.publish('', replyTo, toBuffer(item), options);
  }

  // Ends a stream this server cannot carry on with the message that says why, and settles its call.
  #endStream(
    session: Session,
    delivery: ConsumeMessage,
    replyTo: string,
    correlationId: string,
    reason: string,
  ): void {
    try {
      session.channel.publish('', replyTo, Buffer.alloc(0), {
        correlationId,
        headers: { [streamLostHeader]: reason },
      });
      session.acks.ack(delivery);
    } catch {
      // The channel closed meanwhile; the broker redelivers the call, which ends the same way.
    }
  }

  // An item the broker could not route: its caller's reply queue is gone, so the stream ends.
  #returned(session: Session, returned: AmqpMessage): void {
    const { correlationId } = returned.properties as { correlationId?: unknown };
    const id = stringOrUndefined(correlationId);
    if (id === undefined) return;
    session.running
      .get(id)
      ?.stream?.end(new TransportError("The stream's caller is gone (its reply queue is)"));
  }

  // The protocol's error response (id null) for a call the transport would not run or answer;
  // without one, the error goes to onError and the caller waits for its timeout.
  #refusal(error: RpcError): Message | undefined {
    let reply: Message | undefined;
    try {
      reply = this.#errorReply?.(error);
    } catch (failure) {
      this.#options.onError?.(failure);
    }
    if (reply === undefined) this.#options.onError?.(error);
    return reply;
  }
}

function publishConfirmed(
  channel: ConfirmChannel,
  queue: string,
  body: Buffer,
  options: Options.Publish,
): Promise<void> {
  return new Promise((resolve, reject) => {
    channel.publish('', queue, body, options, (error: unknown) => {
      if (error === null || error === undefined) resolve();
      else reject(error instanceof Error ? error : new Error('The broker refused the reply'));
    });
  });
}

// A function, so that TypeScript does not take the flag for constant across awaits.
function isLost(session: Session): boolean {
  return session.lost.signal.aborted;
}

function stringOrUndefined(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  return typeof value === 'number' ? String(value) : undefined;
}

// The deadline a `Tinyrpc-Deadline` header (ms left) sets, counted from `now`.
function deadlineOfHeaders(
  headers: Readonly<Record<string, string>>,
  now: number,
): number | undefined {
  const value = headers[deadlineHeader];
  return value !== undefined && /^\d{1,12}$/.test(value) ? now + Number(value) : undefined;
}

const noHeaders: Readonly<Record<string, string>> = Object.freeze({});

// AMQP headers may hold numbers, tables and more; the context carries the strings among them.
function stringHeaders(headers: unknown): Readonly<Record<string, string>> {
  if (typeof headers !== 'object' || headers === null) return noHeaders;
  const strings = Object.entries(headers).filter(
    (entry): entry is [string, string] => typeof entry[1] === 'string',
  );
  return strings.length === 0 ? noHeaders : Object.fromEntries(strings);
}
