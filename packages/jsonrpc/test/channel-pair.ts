// A multiplexed client/server pair over a worker_threads MessageChannel, for tests that need
// replies matched by id (the memory transport is request/reply).
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import {
  CallbackClientTransport,
  CallbackServerTransport,
  type CallbackChannel,
} from '@tinyrpc/core';
import { portChannel } from '@tinyrpc/test-helpers';

/** A CallbackChannel over one end of a MessageChannel. */
export const channelOf = (port: MessagePort): CallbackChannel => portChannel(port);

export interface ChannelPair {
  readonly client: CallbackClientTransport;
  readonly server: CallbackServerTransport;
  /** The server's end, for tests that play the server by hand instead. */
  readonly serverPort: MessagePort;
  close(): void;
}

export function createChannelPair(): ChannelPair {
  const { port1, port2 } = new MessageChannel();
  return {
    client: new CallbackClientTransport(channelOf(port1)),
    server: new CallbackServerTransport(channelOf(port2)),
    serverPort: port2,
    close() {
      port1.close();
      port2.close();
    },
  };
}

/** A promise with its resolve function outside (Node 20 has no Promise.withResolvers). */
export function deferred<T = void>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}
