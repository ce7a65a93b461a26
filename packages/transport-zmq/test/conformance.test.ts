// The conformance kit, run exactly as a third party would: through the package's public entry.
import { describe, it } from 'vitest';
import { runTransportConformance } from '@tinyrpc/conformance';
import { tcpRelay } from '@tinyrpc/test-helpers';
import {
  ZmqClientTransport,
  ZmqReqClientTransport,
  ZmqServerTransport,
} from '@tinyrpc/transport-zmq';

// Raised from the default 1 MiB on both sides so that the kit's 1 MB round trips (1.36 MB as
// JSON) fit. A client refuses a larger request with a TransportError before sending it; a server
// answers one from another client with an error reply (test/server.test.ts).
const maxMessageSize = 2 * 1024 * 1024;

/** The endpoint a server bound, once it listens. */
const endpointOf = (server: ZmqServerTransport): string => {
  if (server.endpoint === undefined) throw new Error('The server is not bound');
  return server.endpoint;
};

// ZeroMQ reports no dead server (README, "Timeouts"): a call sent after the server closed waits in
// the socket's queue for a server to come back, so it ends by its timeout.
//
// `maxInFlight` is not claimed: a ROUTER cannot stop reading one peer, so calls past the limit are
// answered at once with a busy error (test/server.test.ts). That reply has id null (the transport
// does not read requests), and a DEALER client with many calls waiting cannot tell which call it
// answers, so the kit's flood of 3 × maxInFlight calls would leave those calls to their timeout.
runTransportConformance(
  { describe, it },
  {
    name: 'ZeroMQ, DEALER client, ROUTER server',
    createFixture() {
      const server = new ZmqServerTransport({ endpoint: 'tcp://127.0.0.1:0', maxMessageSize });
      return {
        server,
        connect: () => new ZmqClientTransport(endpointOf(server), { maxMessageSize }),
      };
    },
    capabilities: { duplex: true, detectsServerGone: false, maxMessageSize, limits: true },
  },
);

// A lost connection fails every pending call of a DEALER client with a TransportError, and ZeroMQ
// reconnects by itself (README, "Lost connections and restarts").
runTransportConformance(
  { describe, it },
  {
    name: 'ZeroMQ, DEALER client through a TCP relay severed by the test',
    async createFixture() {
      const server = new ZmqServerTransport({ endpoint: 'tcp://127.0.0.1:0', maxMessageSize });
      const relay = await tcpRelay(() => Number(new URL(endpointOf(server)).port));
      return {
        server,
        connect: () =>
          new ZmqClientTransport(`tcp://127.0.0.1:${String(relay.port)}`, { maxMessageSize }),
        disconnect: relay.sever,
        close: relay.close,
      };
    },
    capabilities: {
      duplex: true,
      detectsServerGone: false,
      maxMessageSize,
      limits: true,
      disconnect: true,
      reconnect: true,
    },
  },
);

// ZmqReqClientTransport is strict request/reply: one call at a time per client (the rest queued), `send`
// resolves the reply. It cannot tell a dropped connection from a slow server: such calls end by
// their timeout (README, "Lost connections and restarts"), so `disconnect` is not claimed.
runTransportConformance(
  { describe, it },
  {
    name: 'ZeroMQ, REQ client, ROUTER server',
    createFixture() {
      const server = new ZmqServerTransport({ endpoint: 'tcp://127.0.0.1:0', maxMessageSize });
      return {
        server,
        connect: () => new ZmqReqClientTransport(endpointOf(server), { maxMessageSize }),
      };
    },
    capabilities: { concurrent: false, detectsServerGone: false, maxMessageSize, limits: true },
  },
);
