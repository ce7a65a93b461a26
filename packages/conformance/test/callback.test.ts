import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { describe, it } from 'vitest';
import {
  CallbackClientTransport,
  CallbackServerTransport,
  type CallbackChannel,
  type Message,
} from '@tinyrpc/core';
import { runTransportConformance } from '@tinyrpc/conformance';

/** A callback channel over one end of a `MessageChannel`. */
export function portChannel(port: MessagePort): CallbackChannel {
  return {
    send(message) {
      port.postMessage(message);
    },
    subscribe(listener) {
      const onMessage = (message: Message): void => {
        listener(message);
      };
      port.on('message', onMessage);
      return () => port.off('message', onMessage);
    },
  };
}

// The callback transport is multiplexed (it implements `subscribe`). A MessagePort has one peer
// and tells nobody when the other end stops listening, so a call after the server closed ends by
// its timeout.
runTransportConformance(
  { describe, it },
  {
    name: 'core callback transport over a MessageChannel',
    createFixture() {
      const { port1, port2 } = new MessageChannel();
      return {
        server: new CallbackServerTransport(portChannel(port2)),
        connect: () => new CallbackClientTransport(portChannel(port1)),
        close() {
          port1.close();
          port2.close();
        },
      };
    },
    capabilities: { multipleClients: false, detectsServerGone: false },
  },
);
