import { MessageChannel } from 'node:worker_threads';
import { describe, it } from 'vitest';
import { CallbackClientTransport, CallbackServerTransport } from '@tinyrpc/core';
import { runTransportConformance } from '@tinyrpc/conformance';
import { portChannel } from '@tinyrpc/test-helpers';

// The callback transport is a connection (it implements `subscribe`), and its server side is one
// connection the server can call back on. A MessagePort tells nobody when the other end stops
// listening, so a call after the server closed ends by its timeout; closing a port is seen by
// both ends ('close' events), which is how disconnect() cuts the channel.
runTransportConformance(
  { describe, it },
  {
    name: 'core callback transport over a MessageChannel',
    createFixture() {
      const { port1, port2 } = new MessageChannel();
      return {
        server: new CallbackServerTransport(portChannel(port2, { reportClose: true })),
        connect: () => new CallbackClientTransport(portChannel(port1, { reportClose: true })),
        disconnect() {
          port1.close();
        },
        close() {
          port1.close();
          port2.close();
        },
      };
    },
    capabilities: {
      multipleClients: false,
      detectsServerGone: false,
      duplex: true,
      disconnect: true,
    },
  },
);
