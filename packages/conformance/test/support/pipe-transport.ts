import {
  clientTransportBrand,
  serverTransportBrand,
  setBrand,
  InvalidRequestError,
  TransportError,
  type ClientTransport,
  type ListenOptions,
  type ClientTransportListener,
  type Message,
  type MessageHandler,
  type SendOptions,
  type ServerConnection,
  type ServerTransport,
  type TransportContext,
} from '@tinyrpc/core';
import type { TransportFixture } from '@tinyrpc/conformance';
import { InFlight, messageSize, tooLargeError } from '@tinyrpc/core/transport';

/** Faults a {@link createPipeFixture} transport can be given, each breaking one rule of the contract. */
export interface Faults {
  /** Drop every n-th reply. */
  readonly dropEvery?: number;
  /** Turn byte replies into text, as a transport that is not binary-safe would. */
  readonly textOnly?: boolean;
  /** Cut replies longer than this many bytes. */
  readonly truncateAt?: number;
  /** Send an empty message where no reply is due. */
  readonly replyToNotifications?: boolean;
  /** close() neither waits for in-flight calls nor sends their replies. */
  readonly noDrain?: boolean;
  /** Handle one message at a time. */
  readonly serial?: boolean;
  /** Never tell the client that its connection is gone. */
  readonly ignoreDisconnect?: boolean;
  /** Accept sends after the server closed, and deliver them nowhere. */
  readonly ignoreServerGone?: boolean;
  /** Leave out the brands. */
  readonly noBrand?: boolean;
  /** Swap each reply with the one before (a request/reply transport that mixes up its replies). */
  readonly swapReplies?: boolean;
  /** Run every call at once, whatever `maxInFlight` the fixture was given. */
  readonly ignoreInFlightLimit?: boolean;
  /** Stop serving everyone after refusing an over-size message. */
  readonly stopAfterOverSize?: boolean;
  /** Declare no `specificationVersion` and no `kind`, as transports before contract v1. */
  readonly noVersion?: boolean;
  /** Pass no `context.connection` and announce no connection (a server transport before v1). */
  readonly noConnection?: boolean;
  /** Call `onConnection` only after the first message of the connection was answered. */
  readonly announceLate?: boolean;
  /** One `ServerConnection` object, the first client's, for every client. */
  readonly sharedConnection?: boolean;
  /** `connection.send` resolves after the connection is gone (and delivers nothing). */
  readonly sendAfterGone?: boolean;
  /** Never abort a connection's signal. */
  readonly keepSignals?: boolean;
  /** `connection.send` carries messages over `maxMessageSize`. */
  readonly noSendLimit?: boolean;
}

/** The shared limits a {@link createPipeFixture} server keeps, as `ServerLimits` transports do. */
export interface PipeLimits {
  readonly maxMessageSize: number;
  /** Calls per connection at once; past it, messages wait (the pipe stops reading them). */
  readonly maxInFlight: number;
}

const copy = (message: Message): Message =>
  typeof message === 'string' ? message : new Uint8Array(message);
const later = (fn: () => void): void => {
  setImmediate(fn);
};

interface PipeConnection {
  listener?: ClientTransportListener;
  connected: boolean;
  announced: boolean;
  /** Ends the connection: its signal aborts and its client hears of it. */
  end(reason: string): void;
}

/**
 * A small in-process transport written for the kit's own tests: connections both ends call on (or
 * request/reply with `swapReplies`), correct unless given faults.
 */
export function createPipeFixture(faults: Faults = {}, limits?: PipeLimits): TransportFixture {
  let handler: MessageHandler | undefined;
  let listenOptions: ListenOptions | undefined;
  let open = false;
  let replies = 0;
  let queue: Promise<unknown> = Promise.resolve();
  let previous: Message | undefined;
  const inFlight = new Set<Promise<unknown>>();
  const connections = new Set<PipeConnection>();
  let shared: ServerConnection | undefined;
  let count = 0;
  const version = faults.noVersion ? {} : { specificationVersion: 1 as const };

  const answer = async (
    message: Message,
    context: TransportContext,
  ): Promise<Message | undefined> => {
    if (handler === undefined) return undefined;
    let reply = await handler(copy(message), context);
    if (reply === undefined) return faults.replyToNotifications ? '' : undefined;
    replies++;
    if (faults.dropEvery !== undefined && replies % faults.dropEvery === 0) return undefined;
    if (faults.textOnly && typeof reply !== 'string') reply = new TextDecoder().decode(reply);
    if (
      faults.truncateAt !== undefined &&
      typeof reply !== 'string' &&
      reply.length > faults.truncateAt
    )
      reply = reply.subarray(0, faults.truncateAt);
    return reply;
  };

  const server: ServerTransport = {
    ...(version as { specificationVersion: 1 }),
    listen(newHandler: MessageHandler, options?: ListenOptions) {
      handler = newHandler;
      listenOptions = options;
      open = true;
      return Promise.resolve();
    },
    async close() {
      open = false;
      if (faults.noDrain) {
        for (const connection of connections) connection.connected = false;
        return;
      }
      while (inFlight.size > 0) await Promise.allSettled([...inFlight]);
      if (faults.ignoreServerGone) return;
      // The replies of the drained calls are on their way (a turn later); then the pipes end.
      await new Promise<void>((resolve) => {
        later(resolve);
      });
      for (const connection of connections) connection.end('The pipe server closed');
    },
  };
  if (!faults.noBrand) setBrand(server, serverTransportBrand);

  const connect = (): ClientTransport => {
    const ended = new AbortController();
    const id = `pipe-${String((count += 1))}`;
    const connection: PipeConnection = {
      connected: true,
      announced: false,
      end(reason) {
        if (!connection.connected) return;
        connection.connected = false;
        const error = new TransportError(reason);
        if (!faults.keepSignals) ended.abort(error);
        connection.listener?.onClose(error);
      },
    };
    connections.add(connection);
    const own: ServerConnection = {
      id,
      signal: ended.signal,
      context: { transport: 'pipe', connectionId: id },
      send(message) {
        if (!connection.connected) {
          return faults.sendAfterGone
            ? Promise.resolve()
            : Promise.reject(new TransportError('The pipe is disconnected'));
        }
        const size = messageSize(message);
        if (limits !== undefined && !faults.noSendLimit && size > limits.maxMessageSize)
          return Promise.reject(tooLargeError(size, limits.maxMessageSize));
        later(() => connection.listener?.onMessage(copy(message)));
        return Promise.resolve();
      },
      close() {
        connection.end('The pipe server closed the connection');
        return Promise.resolve();
      },
    };
    const serverConnection = faults.sharedConnection ? (shared ??= own) : own;
    const context: TransportContext =
      faults.noConnection || faults.swapReplies
        ? { transport: 'pipe' }
        : {
            transport: 'pipe',
            connectionId: serverConnection.id,
            signal: serverConnection.signal,
            connection: serverConnection,
          };
    const announce = (): void => {
      if (connection.announced || faults.noConnection || faults.swapReplies) return;
      connection.announced = true;
      listenOptions?.onConnection?.(serverConnection);
    };
    // Messages past maxInFlight wait here, as unread bytes wait in a paused socket.
    const waiting: (() => void)[] = [];
    const gate = new InFlight({
      limit: limits === undefined || faults.ignoreInFlightLimit ? Infinity : limits.maxInFlight,
      onAvailable: () => {
        while (!gate.full && waiting.length > 0) {
          gate.start();
          waiting.shift()?.();
        }
      },
    });
    // Counts the message as running from the moment it is admitted.
    const admitted = (): Promise<void> => {
      if (gate.full) return new Promise((resolve) => waiting.push(resolve));
      gate.start();
      return Promise.resolve();
    };
    const deliver = (message: Message): Promise<Message | undefined> => {
      const run = async (): Promise<Message | undefined> => {
        await new Promise<void>((resolve) => {
          later(resolve);
        });
        if (limits !== undefined && messageSize(message) > limits.maxMessageSize) {
          if (faults.stopAfterOverSize) open = false;
          const refusal = tooLargeError(messageSize(message), limits.maxMessageSize);
          return listenOptions?.errorReply?.(new InvalidRequestError(refusal.message));
        }
        await admitted();
        if (!faults.announceLate) announce();
        try {
          return await answer(message, context);
        } finally {
          gate.finish();
          announce();
        }
      };
      const done = faults.serial ? queue.then(run, run) : run();
      queue = done;
      inFlight.add(done);
      void done.finally(() => inFlight.delete(done));
      return done;
    };

    if (faults.swapReplies) {
      const client = {
        ...(version as { specificationVersion: 1 }),
        ...(faults.noVersion ? {} : { kind: 'request-reply' as const }),
        async send(message: Message, options: SendOptions = {}) {
          options.signal?.throwIfAborted();
          if (!open) throw new TransportError('The pipe server is closed');
          const reply = await deliver(message);
          if (options.expectReply === false || reply === undefined) return undefined;
          const swapped = previous ?? reply;
          previous = reply;
          return swapped;
        },
      };
      if (!faults.noBrand) setBrand(client, clientTransportBrand);
      return client as ClientTransport;
    }

    const client = {
      ...version,
      ...(faults.noVersion ? {} : { kind: 'connection' as const }),
      async send(message: Message, options: SendOptions = {}) {
        options.signal?.throwIfAborted();
        if (!connection.connected) throw new TransportError('The pipe is disconnected');
        if (!open && !faults.ignoreServerGone)
          throw new TransportError('The pipe server is closed');
        void deliver(message).then((reply) => {
          if (reply !== undefined && connection.connected)
            later(() => connection.listener?.onMessage(copy(reply)));
        });
        return undefined;
      },
      subscribe(listener: ClientTransportListener) {
        connection.listener = listener;
        return () => {
          delete connection.listener;
        };
      },
      close() {
        connection.connected = false;
        if (!faults.keepSignals) ended.abort(new TransportError('The pipe client closed'));
        return Promise.resolve();
      },
    };
    if (!faults.noBrand) setBrand(client, clientTransportBrand);
    return client as ClientTransport;
  };

  return {
    server,
    connect,
    disconnect() {
      for (const connection of connections) {
        if (faults.ignoreDisconnect) connection.connected = false;
        else connection.end('The pipe was cut');
      }
    },
  };
}
