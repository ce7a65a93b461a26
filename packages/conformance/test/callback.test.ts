import { MessageChannel } from 'node:worker_threads';
import { describe, it } from 'vitest';
import { CallbackClientTransport, CallbackServerTransport } from '@tinyrpc/core';
import { runTransportConformance } from '@tinyrpc/conformance';
import { portChannel } from '@tinyrpc/test-helpers';

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
