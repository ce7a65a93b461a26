import {
  deadlineHeader as coreDeadlineHeader,
  TransportError,
  type ErrorHandler,
  type ReconnectOptions,
} from '@tinyrpc/core';
import { Backoff, defaultLimits, describeError, reconnectOptions } from '@tinyrpc/core/transport';
import {
  connect,
  headers,
  ServiceErrorCodeHeader,
  ServiceErrorHeader,
  type ConnectionOptions,
  type MsgHdrs,
  type NatsConnection,
  type Status,
} from 'nats';

/** How a NATS transport reaches the server: its own connection, or one the caller owns. */
export interface NatsConnectionOptions {
  /** NATS server URLs (`nats://host:4222`, `host:4222`); default the NATS client's, `127.0.0.1:4222`. */
  readonly servers?: string | readonly string[];
  /**
   * A connection the caller opened and owns: the transport uses it and never closes it, and its
   * reconnect settings are the caller's. `servers`, `reconnect` and `connectionOptions` are ignored.
   */
  readonly connection?: NatsConnection;
  /**
   * What the NATS client does after a lost connection. Default `true`: it reconnects with
   * exponential backoff (100 ms doubling to 5 s, 20 % jitter) and never gives up. `false`: the
   * first lost connection closes the transport's connection (the client transport opens a new one
   * on its next call).
   */
  readonly reconnect?: boolean | ReconnectOptions;
  /** Further options of the NATS client's `connect` (credentials, TLS, `name`, ping interval, …). */
  readonly connectionOptions?: Omit<ConnectionOptions, 'servers'>;
  /**
   * The largest message, in bytes, a transport sends or takes; default 1 MiB. The NATS server's
   * own `max_payload` (1 MiB unless configured) caps it further.
   */
  readonly maxMessageSize?: number;
  /** Told what has no caller to go to: lost connections, reconnects that failed, handlers that threw. */
  readonly onError?: ErrorHandler;
}

/**
 * The header carrying a call's remaining time, in whole milliseconds, as the client sent it.
 *
 * @deprecated Import `deadlineHeader` from `@tinyrpc/core`: this is the same value, core's.
 */
export const deadlineHeader: typeof coreDeadlineHeader = coreDeadlineHeader;

/** Header names the W3C Trace Context travels under, as every tracing library spells them. */
export const traceHeaders = ['traceparent', 'tracestate'] as const;

/** Opens the transport's own connection, or checks the one given; a failure is a TransportError. */
export async function openConnection(
  options: NatsConnectionOptions,
  what: string,
): Promise<{ connection: NatsConnection; owned: boolean }> {
  if (options.connection !== undefined) {
    if (options.connection.isClosed()) {
      throw new TransportError(`The NATS connection given to the ${what} is closed`);
    }
    return { connection: options.connection, owned: false };
  }
  const servers =
    options.servers === undefined
      ? undefined
      : typeof options.servers === 'string'
        ? options.servers
        : [...options.servers];
  try {
    const connection = await connect({
      ...options.connectionOptions,
      ...(servers === undefined ? {} : { servers }),
      ...reconnectSettings(options.reconnect),
    });
    return { connection, owned: true };
  } catch (error) {
    const where = servers === undefined ? 'the default server' : String(servers);
    throw new TransportError(`Cannot connect to NATS at ${where}: ${describeError(error)}`, {
      cause: error,
    });
  }
}

// The one reconnect policy of the contract, expressed in the NATS client's own settings.
function reconnectSettings(value: boolean | ReconnectOptions | undefined): ConnectionOptions {
  const policy = reconnectOptions(value, true);
  if (policy === undefined) return { reconnect: false };
  const backoff = new Backoff(policy);
  return {
    reconnect: true,
    maxReconnectAttempts: Number.isFinite(policy.retries) ? policy.retries : -1,
    // Called before each attempt once every server was tried; the attempts' count is the client's.
    reconnectDelayHandler: () => backoff.next() ?? policy.maxDelay,
  };
}

/** Checks `maxMessageSize` and returns it, or the default. */
export function checkedMaxMessageSize(options: NatsConnectionOptions, what: string): number {
  const value = options.maxMessageSize ?? defaultLimits.maxMessageSize;
  if (!(Number.isInteger(value) && value > 0)) {
    throw new TypeError(`${what}: "maxMessageSize" must be a positive integer`);
  }
  return value;
}

/** Checks a subject a transport publishes or subscribes to: no spaces, no empty tokens. */
export function checkSubject(subject: unknown, what: string): string {
  if (typeof subject !== 'string' || !/^[^\s.]+(\.[^\s.]+)*$/.test(subject)) {
    throw new TypeError(`${what} needs a NATS subject such as "services.reverse"`);
  }
  return subject;
}

/** The largest payload both the transport's limit and the server's `max_payload` allow. */
export function payloadLimit(connection: NatsConnection, maxMessageSize: number): number {
  const serverLimit = connection.info?.max_payload;
  return serverLimit !== undefined && serverLimit > 0
    ? Math.min(maxMessageSize, serverLimit)
    : maxMessageSize;
}

/** Headers as a plain record, the shape `TransportContext.headers` has; `undefined` when none. */
export function headerRecord(
  headers: MsgHdrs | undefined,
): Record<string, string | string[]> | undefined {
  if (headers === undefined) return undefined;
  const record: Record<string, string | string[]> = {};
  for (const [key, values] of headers) {
    record[key] = values.length === 1 ? (values[0] as string) : values;
  }
  return record;
}

/** The services framework's error headers: how a server says it could not take a call. */
export function serviceErrorHeaders(code: number, description: string): MsgHdrs {
  const result = headers();
  result.set(ServiceErrorCodeHeader, String(code));
  result.set(ServiceErrorHeader, description);
  return result;
}

/** The service error a reply carries, as `"description (code)"`; `undefined` for a plain reply. */
export function serviceErrorOf(message: { headers?: MsgHdrs | undefined }): string | undefined {
  const description = message.headers?.get(ServiceErrorHeader);
  if (description === undefined || description === '') return undefined;
  const code = message.headers?.get(ServiceErrorCodeHeader) ?? '';
  return code === '' ? description : `${description} (service error ${code})`;
}

/** The server a status event names (the address lost or regained). */
export function serverOf(status: Status): string {
  return typeof status.data === 'string' ? status.data : 'the NATS server';
}

/** A connection's status events, and a way to stop listening to them (when the transport closes). */
export function statusEvents(connection: NatsConnection): {
  readonly events: AsyncIterable<Status>;
  stop(): void;
} {
  // The NATS client's iterator has stop(); its type only says AsyncIterable.
  const events = connection.status() as AsyncIterable<Status> & { stop?: () => void };
  return { events, stop: () => events.stop?.() };
}
