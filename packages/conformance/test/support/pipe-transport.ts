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

/**
 * A small in-process transport written for the kit's own tests: multiplexed (or request/reply with
 * `swapReplies`), correct unless given faults.
 */
export function createPipeFixture(faults: Faults = {}, limits?: PipeLimits): TransportFixture {
  let handler: MessageHandler | undefined;
  let listenOptions: ListenOptions | undefined;
  let open = false;
  let replies = 0;
  let queue: Promise<unknown> = Promise.resolve();
  let previous: Message | undefined;
  const inFlight = new Set<Promise<unknown>>();
  const connections = new Set<{ listener?: ClientTransportListener; connected: boolean }>();

  const answer = async (message: Message): Promise<Message | undefined> => {
    if (handler === undefined) return undefined;
    let reply = await handler(copy(message), { transport: 'pipe' });
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

  const server = {
    specificationVersion: 1 as const,
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
    },
  };
  if (!faults.noBrand) setBrand(server, serverTransportBrand);

  const connect = (): ClientTransport => {
    const connection: { listener?: ClientTransportListener; connected: boolean } = {
      connected: true,
    };
    connections.add(connection);
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
        try {
          return await answer(message);
        } finally {
          gate.finish();
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
        specificationVersion: 1 as const,
        kind: 'request-reply' as const,
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
      return client;
    }

    const client = {
      specificationVersion: 1 as const,
      kind: 'connection' as const,
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
        return Promise.resolve();
      },
    };
    if (!faults.noBrand) setBrand(client, clientTransportBrand);
    return client;
  };

  return {
    server,
    connect,
    disconnect() {
      for (const connection of connections) {
        connection.connected = false;
        if (!faults.ignoreDisconnect)
          connection.listener?.onClose(new TransportError('The pipe was cut'));
      }
    },
  };
}
