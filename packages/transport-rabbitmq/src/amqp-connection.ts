import { TransportError, type Message } from '@tinyrpc/core';
import { describeError } from '@tinyrpc/core/transport';
import {
  connect,
  type Channel,
  type ChannelModel,
  type Options,
  type SocketOptions,
} from 'amqplib';

/** How a transport reaches the broker: a URL it connects to itself, or a connection you own. */
export interface RabbitMqConnectionOptions {
  /**
   * The broker, as an `amqp://user:password@host:port/vhost` URL or amqplib's connect options. The
   * transport opens, owns and closes this connection, and reconnects when it is lost.
   */
  readonly url?: string | Options.Connect;
  /**
   * An open amqplib connection that you own: the transport opens its channel on it and never closes
   * it. A lost channel is reopened on it; a lost connection cannot be, so reconnecting it is yours.
   */
  readonly connection?: ChannelModel;
  /** amqplib socket options for connections opened from `url`; `noDelay` defaults to `true`. */
  readonly socketOptions?: SocketOptions;
  /**
   * Largest message body, in bytes, sent or accepted. Default 1 MiB (`defaultLimits`, the same on
   * every transport; RabbitMQ's own limit is higher).
   */
  readonly maxMessageSize?: number;
}

/** The properties of a published message, as amqplib sends them. */
export type PublishOptions = Options.Publish;

/** Checks that exactly one of `url` and `connection` is given. */
export function checkConnectionOptions(options: RabbitMqConnectionOptions, owner: string): void {
  if ((options.url === undefined) === (options.connection === undefined)) {
    throw new TypeError(`${owner} needs exactly one of the options "url" and "connection"`);
  }
  const limit = options.maxMessageSize;
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
    throw new TypeError(`${owner}: "maxMessageSize" must be a positive integer`);
  }
}

/**
 * Opens a connection from `url` with Nagle's algorithm off: amqplib leaves it on, and one call in
 * flight then waits on delayed ACKs, about 45 calls per second.
 */
export async function openConnection(options: RabbitMqConnectionOptions): Promise<ChannelModel> {
  const url = options.url as string | Options.Connect;
  try {
    return await connect(url, { noDelay: true, ...options.socketOptions });
  } catch (error) {
    throw new TransportError(
      `Cannot connect to RabbitMQ at ${describeUrl(url)}: ${describeError(error)}`,
      { cause: error },
    );
  }
}

/** The broker address without its password, for error messages. */
export function describeUrl(url: string | Options.Connect): string {
  if (typeof url !== 'string') {
    return `${url.protocol ?? 'amqp'}://${url.hostname ?? 'localhost'}:${String(url.port ?? 5672)}`;
  }
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparsable URL)';
  }
}

/** A message as a Buffer for amqplib; bytes are wrapped, not copied. */
export function toBuffer(message: Message): Buffer {
  return typeof message === 'string'
    ? Buffer.from(message, 'utf8')
    : Buffer.from(message.buffer, message.byteOffset, message.byteLength);
}

/** Runs `close`, ignoring failures: for releasing what may already be gone. */
export async function quietly(close: () => Promise<unknown>): Promise<void> {
  try {
    await close();
  } catch {
    // Already closed, or the connection under it is gone: nothing left to release.
  }
}

/** Milliseconds {@link releaseChannel} waits for the broker before giving up on a clean close. */
const closeTimeout = 2000;

/**
 * Closes `channel` (and `other`, the channel cancels travel on), and `connection` when the
 * transport opened it. A broker that does not answer within two seconds (a silent network) is not
 * waited for: an owned connection's socket is destroyed, so nothing keeps the process alive.
 */
export async function releaseChannel(
  channel: Channel,
  connection: ChannelModel,
  owned: boolean,
  other?: Channel,
): Promise<void> {
  const closing = (async () => {
    if (other !== undefined) await quietly(() => other.close());
    await quietly(() => channel.close());
    if (owned) await quietly(() => connection.close());
    return false;
  })();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timedOut = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => {
      resolve(true);
    }, closeTimeout);
  });
  const late = await Promise.race([closing, timedOut]);
  clearTimeout(timer);
  if (late && owned) {
    // amqplib keeps its socket as `connection.stream`, which its types do not declare.
    (connection.connection as unknown as { stream?: { destroy(): void } }).stream?.destroy();
  }
}
