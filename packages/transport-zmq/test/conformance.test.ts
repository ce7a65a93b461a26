// The conformance kit, run exactly as a third party would: through the package's public entry.
import { describe, it } from 'vitest';
import { runTransportConformance } from '@tinyrpc/conformance';
import { tcpRelay } from '@tinyrpc/test-helpers';
import { ZmqClientTransport, ZmqServerTransport } from '@tinyrpc/transport-zmq';

// Lowered from the default 16 MiB so the over-size case is cheap; 1 MB round trips still fit.
// ZeroMQ disconnects a peer that sends a larger frame, and a DEALER client fails its pending calls
// at once when its connection drops.
const maxMessageSize = 2 * 1024 * 1024;

/** The endpoint a server bound, once it listens. */
const endpointOf = (server: ZmqServerTransport): string => {
  if (server.endpoint === undefined) throw new Error('The server is not bound');
  return server.endpoint;
};

// ZeroMQ reports no dead server (README, "Timeouts"): a call sent after the server closed waits in
// the socket's queue for a server to come back, so it ends by its timeout.
runTransportConformance(
  { describe, it },
  {
    name: 'ZeroMQ, DEALER client, ROUTER server',
    createFixture() {
      const server = new ZmqServerTransport({ endpoint: 'tcp://127.0.0.1:0', maxMessageSize });
      return { server, connect: () => new ZmqClientTransport(endpointOf(server)) };
    },
    capabilities: { detectsServerGone: false, maxMessageSize },
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
        connect: () => new ZmqClientTransport(`tcp://127.0.0.1:${String(relay.port)}`),
        disconnect: relay.sever,
        close: relay.close,
      };
    },
    capabilities: {
      detectsServerGone: false,
      maxMessageSize,
      disconnect: true,
      reconnect: true,
    },
  },
);

// REQ mode is strict request/reply: one call at a time per client (the rest queued), `send`
// resolves the reply. It cannot tell a dropped connection or an over-size message (which ZeroMQ
// answers by disconnecting) from a slow server: such calls end by their timeout (README, "Lost
// connections and restarts"), so `disconnect` and `maxMessageSize` are not claimed.
runTransportConformance(
  { describe, it },
  {
    name: 'ZeroMQ, REQ client, ROUTER server',
    createFixture() {
      const server = new ZmqServerTransport({ endpoint: 'tcp://127.0.0.1:0' });
      return {
        server,
        connect: () => new ZmqClientTransport(endpointOf(server), { mode: 'req' }),
      };
    },
    capabilities: { concurrent: false, detectsServerGone: false },
  },
);
