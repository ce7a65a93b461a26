import { randomBytes } from 'node:crypto';
import {
  InvalidRequestError,
  serverTransportBrand,
  setBrand,
  TransportError,
  type ListenOptions,
  type Message,
  type MessageHandler,
  type ServerTransport,
  type TransportContext,
} from '@tinyrpc/core';
import {
  Events,
  type Msg,
  type NatsConnection,
  type Service,
  type Status,
  type Subscription,
} from 'nats';
import {
  deadlineOf,
  defaultLimits,
  describeError,
  InFlight,
  messageSize,
  tooLargeError,
} from '@tinyrpc/core/transport';
import {
  checkedMaxMessageSize,
  checkSubject,
  headerRecord,
  openConnection,
  payloadLimit,
  serverOf,
  serviceErrorHeaders,
  statusEvents,
  type NatsConnectionOptions,
} from './nats-connection.ts';

/** The queue group servers join unless told otherwise: every server of a subject shares its calls. */
export const defaultQueueGroup = 'tinyrpc';

/** How a server shows itself to NATS tooling through the services framework (`$SRV.*`). */
export interface NatsServiceOptions {
  /** The service name (letters, digits, `-`, `_`); default the subject with other characters as `_`. */
  readonly name?: string;
  /** A semantic version; default `0.0.0`. */
  readonly version?: string;
  readonly description?: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

/** Options of {@link NatsServerTransport}. */
export interface NatsServerTransportOptions extends NatsConnectionOptions {
  /** The subject calls arrive on. */
  readonly subject: string;
  /**
   * The queue group the server joins, default {@link defaultQueueGroup}: NATS hands each call to
   * one server of the group. `false` for none: every server on the subject gets every call (as a
   * service, the server is then alone in a group of its own, `tinyrpc_<random>`).
   */
  readonly queue?: string | false;
  /**
   * Calls of one client running at once; default 1000. A client is its reply inbox (the reply
   * subject less its last token); notifications count as one client. A call over the limit is
   * refused at once with a service error (code 429), so its caller fails clearly instead of
   * waiting, and other clients are served meanwhile.
   */
  readonly maxInFlight?: number;
  /**
   * Registration with the NATS services framework (on by default): PING, INFO and STATS answer on
   * `$SRV.*` with one endpoint, `rpc`, for `subject`. `false`: a plain queue subscription.
   */
  readonly service?: NatsServiceOptions | false;
}

/** What a NATS server transport tells the handler about a call. */
export interface NatsTransportContext extends TransportContext {
  readonly transport: 'nats';
  /** The subject the call arrived on. */
  readonly subject: string;
  /** Where the answer goes; `undefined` for a notification. */
  readonly replyTo: string | undefined;
  /**
   * When the caller stops waiting (epoch milliseconds), from the `Tinyrpc-Deadline` header as
   * core's `deadlineOf` reads it (whole milliseconds; any other value is no deadline).
   */
  readonly deadline: number | undefined;
}

/** Service error codes this transport answers with; the client turns them into `TransportError`s. */
const serviceErrorCodes = { busy: 429, tooLarge: 413, handlerFailed: 500 } as const;

interface Listening {
  readonly connection: NatsConnection;
  readonly owned: boolean;
  readonly service: Service | undefined;
  readonly subscription: Subscription | undefined;
  readonly limit: number;
  readonly options: ListenOptions | undefined;
  readonly status: ReturnType<typeof statusEvents>;
}

/**
 * Serves calls that arrive on a NATS subject, in a queue group so that any number of server
 * processes share them, and answers each on its reply subject.
 *
 * NATS core delivers at most once: a call whose server dies before answering is not handed to
 * another server; its caller fails by its timeout (README, "Delivery").
 */
export class NatsServerTransport implements ServerTransport {
  /** The transport contract this transport implements. */
  readonly specificationVersion = 1;
  /** The subject calls arrive on. */
  readonly subject: string;
  /** The queue group joined; `undefined` when none. */
  readonly queue: string | undefined;
  readonly #options: NatsServerTransportOptions;
  readonly #maxMessageSize: number;
  /** Every call running, for draining. */
  readonly #inFlight: InFlight;
  readonly #maxInFlight: number;
  /** Calls running per client (reply inbox); a client leaves the map when its last call ends. */
  readonly #perClient = new Map<string, number>();
  /** Aborts once the connection closed for good: handlers' `context.signal`. */
  readonly #gone = new AbortController();
  #listening: Listening | undefined;
  #closing: Promise<void> | undefined;
  #expired = 0;
  #refused = 0;

  constructor(options: NatsServerTransportOptions) {
    this.subject = checkSubject(options.subject, 'NatsServerTransport');
    const queue = options.queue ?? defaultQueueGroup;
    if (queue !== false && (typeof queue !== 'string' || !/^[^\s]+$/.test(queue))) {
      throw new TypeError('NatsServerTransport: "queue" must be a queue group name or false');
    }
    this.queue = queue === false ? undefined : queue;
    const maxInFlight = options.maxInFlight ?? defaultLimits.maxInFlight;
    if (!(Number.isInteger(maxInFlight) && maxInFlight > 0)) {
      throw new TypeError('NatsServerTransport: "maxInFlight" must be a positive integer');
    }
    this.#maxInFlight = maxInFlight;
    this.#inFlight = new InFlight();
    this.#maxMessageSize = checkedMaxMessageSize(options, 'NatsServerTransport');
    this.#options = options;
    setBrand(this, serverTransportBrand);
  }

  /** The connection in use, once listening. */
  get connection(): NatsConnection | undefined {
    return this.#listening?.connection;
  }

  /** The services framework's handle on this server, once listening (absent with `service: false`). */
  get service(): Service | undefined {
    return this.#listening?.service;
  }

  /** Calls running now. */
  get inFlightCount(): number {
    return this.#inFlight.size;
  }

  /**
   * Connects (unless given a connection), registers the service and subscribes. Rejects with a
   * {@link TransportError} when NATS cannot be reached.
   */
  async listen(handler: MessageHandler, options?: ListenOptions): Promise<void> {
    if (this.#closing !== undefined) throw new TransportError('This server transport is closed');
    if (this.#listening !== undefined) {
      throw new Error('This server transport is already listening');
    }
    const { connection, owned } = await openConnection(this.#options, 'NatsServerTransport');
    const deliver = (msg: Msg): void => {
      this.#deliver(handler, msg);
    };
    let service: Service | undefined;
    let subscription: Subscription | undefined;
    try {
      if (this.#options.service === false) {
        subscription = connection.subscribe(this.subject, {
          ...(this.queue === undefined ? {} : { queue: this.queue }),
          callback: (error, msg) => {
            if (error === null) deliver(msg);
            else this.#report(error);
          },
        });
      } else {
        service = await this.#register(connection, options, deliver);
      }
      // A round trip, so the subscription is in place on the server when listen() resolves.
      await connection.flush();
    } catch (error) {
      if (owned) await connection.close().catch(() => undefined);
      throw new TransportError(
        `Cannot serve NATS subject "${this.subject}": ${describeError(error)}`,
        { cause: error },
      );
    }
    const limit = payloadLimit(connection, this.#maxMessageSize);
    const status = statusEvents(connection);
    this.#listening = { connection, owned, service, subscription, limit, options, status };
    void this.#watch(connection, status.events);
  }

  /**
   * Drains: unsubscribes (calls already delivered to this process are still run), waits until
   * every accepted call is answered, then drains the connection it opened (a caller's connection
   * is flushed, not closed).
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const listening = this.#listening;
    if (listening === undefined) return;
    const { connection } = listening;
    if (!connection.isClosed()) {
      await (listening.service?.stop() ?? listening.subscription?.drain())?.catch(
        (error: unknown) => {
          this.#report(error);
        },
      );
    }
    await this.#inFlight.drain();
    listening.status.stop();
    if (connection.isClosed()) return;
    await (listening.owned ? connection.drain() : connection.flush()).catch((error: unknown) => {
      this.#report(error);
    });
  }

  async #register(
    connection: NatsConnection,
    options: ListenOptions | undefined,
    deliver: (msg: Msg) => void,
  ): Promise<Service> {
    const config = this.#options.service === false ? undefined : this.#options.service;
    const service = await connection.services.add({
      name: config?.name ?? this.subject.replace(/[^A-Za-z0-9_-]/g, '_'),
      version: config?.version ?? '0.0.0',
      ...(config?.description === undefined ? {} : { description: config.description }),
      ...(config?.metadata === undefined ? {} : { metadata: { ...config.metadata } }),
      // The framework's own processing time covers only the synchronous start of each call.
      statsHandler: () =>
        Promise.resolve({
          in_flight: this.#inFlight.size,
          max_in_flight_per_client: this.#maxInFlight,
          clients: this.#perClient.size,
          refused_busy: this.#refused,
          expired: this.#expired,
        }),
    });
    const metadata: Record<string, string> = { transport: 'tinyrpc' };
    if (options?.contentType !== undefined) metadata['content_type'] = options.contentType;
    service.addEndpoint('rpc', {
      subject: this.subject,
      metadata,
      // The framework always subscribes in a queue group: a group of this server alone gives it
      // every call, as no group would.
      queue: this.queue ?? `tinyrpc_${randomBytes(8).toString('hex')}`,
      handler: (error, msg) => {
        if (error === null) deliver(msg);
        else this.#report(error);
      },
    });
    void service.stopped.then((reason) => {
      if (reason !== null && this.#closing === undefined) this.#report(reason);
    });
    return service;
  }

  // Reports what the connection goes through; aborts call signals once it is closed for good.
  async #watch(connection: NatsConnection, events: AsyncIterable<Status>): Promise<void> {
    void connection.closed().then((error) => {
      this.#gone.abort(
        new TransportError(`The NATS connection closed${error ? `: ${error.message}` : ''}`),
      );
      if (this.#closing === undefined) {
        this.#report(
          new TransportError(
            `The NATS connection of subject "${this.subject}" closed${error ? `: ${error.message}` : ''}; the server no longer takes calls`,
            { cause: error },
          ),
        );
      }
    });
    for await (const status of events) {
      if (status.type === Events.Disconnect && this.#closing === undefined) {
        this.#report(
          new TransportError(
            `Lost the NATS connection of subject "${this.subject}" (${serverOf(status)}); reconnecting`,
          ),
        );
      }
    }
  }

  #deliver(handler: MessageHandler, msg: Msg): void {
    const listening = this.#listening;
    if (listening === undefined) return;
    const replyTo = msg.reply === '' ? undefined : msg.reply;
    const size = msg.data.byteLength;
    if (size > listening.limit) {
      const error = tooLargeError(size, listening.limit);
      const reply = listening.options?.errorReply?.(new InvalidRequestError(error.message));
      if (replyTo === undefined) return;
      if (reply !== undefined) this.#respond(msg, reply, listening.limit);
      else this.#respondError(msg, serviceErrorCodes.tooLarge, error.message);
      return;
    }
    const callHeaders = headerRecord(msg.headers);
    // Read as core reads the header, so context.deadline is what RpcServer would make of it.
    const deadline =
      callHeaders === undefined
        ? undefined
        : deadlineOf({ transport: 'nats', headers: callHeaders });
    // The caller has stopped waiting: running the call, or answering it, would reach nobody.
    if (deadline !== undefined && deadline <= Date.now()) {
      this.#expired++;
      return;
    }
    const client = replyTo === undefined ? '' : replyTo.slice(0, replyTo.lastIndexOf('.') + 1);
    const running = this.#perClient.get(client) ?? 0;
    if (running >= this.#maxInFlight) {
      this.#refused++;
      if (replyTo !== undefined) {
        this.#respondError(
          msg,
          serviceErrorCodes.busy,
          `Server busy: ${String(this.#maxInFlight)} calls of this client in flight (maxInFlight)`,
        );
      } else {
        this.#report(
          new TransportError(
            `Dropped a notification: ${String(this.#maxInFlight)} notifications in flight (maxInFlight)`,
          ),
        );
      }
      return;
    }
    this.#perClient.set(client, running + 1);
    const context: NatsTransportContext = {
      transport: 'nats',
      subject: msg.subject,
      replyTo,
      deadline,
      headers: callHeaders,
      signal: this.#gone.signal,
    };
    void this.#inFlight.track(this.#answer(handler, msg, context, listening.limit, client));
  }

  async #answer(
    handler: MessageHandler,
    msg: Msg,
    context: NatsTransportContext,
    limit: number,
    client: string,
  ): Promise<void> {
    let reply: Message | undefined;
    try {
      reply = await handler(msg.data, context);
    } catch (error) {
      this.#report(
        new TransportError(`The handler failed: ${describeError(error)}`, { cause: error }),
      );
      if (context.replyTo !== undefined) {
        this.#respondError(msg, serviceErrorCodes.handlerFailed, 'The server failed to answer');
      }
      return;
    } finally {
      const running = (this.#perClient.get(client) ?? 1) - 1;
      if (running === 0) this.#perClient.delete(client);
      else this.#perClient.set(client, running);
    }
    if (reply !== undefined && context.replyTo !== undefined) this.#respond(msg, reply, limit);
  }

  #respond(msg: Msg, reply: Message, limit: number): void {
    const size = messageSize(reply);
    if (size > limit) {
      this.#respondError(
        msg,
        serviceErrorCodes.tooLarge,
        `Reply of ${String(size)} bytes is over the limit of ${String(limit)} bytes (maxMessageSize)`,
      );
      return;
    }
    try {
      msg.respond(reply);
    } catch (error) {
      this.#report(
        new TransportError(`Could not send the reply: ${describeError(error)}`, { cause: error }),
      );
    }
  }

  #respondError(msg: Msg, code: number, description: string): void {
    try {
      msg.respond(new Uint8Array(0), { headers: serviceErrorHeaders(code, description) });
    } catch (error) {
      this.#report(
        new TransportError(`Could not send the reply: ${describeError(error)}`, { cause: error }),
      );
    }
  }

  #report(error: unknown): void {
    try {
      this.#options.onError?.(error);
    } catch {
      // A throwing onError must not stop the server.
    }
  }
}
