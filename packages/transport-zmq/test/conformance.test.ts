// The conformance kit, run exactly as a third party would: through the package's public entry.
import { connect as tcpConnect, createServer, type AddressInfo, type Socket } from 'node:net';
import { describe, it } from 'vitest';
import { runTransportConformance } from '@tinyrpc/conformance';
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

/**
 * A TCP relay on 127.0.0.1 port 0 in front of the server, so the test can cut every connection
 * as a broken network would while the server keeps running.
 */
async function relayTo(target: () => string): Promise<{
  endpoint: string;
  sever(): void;
  close(): Promise<void>;
}> {
  const sockets = new Set<Socket>();
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  };
  const relay = createServer((inbound) => {
    const port = Number(new URL(target()).port);
    const outbound = tcpConnect(port, '127.0.0.1');
    track(inbound);
    track(outbound);
    inbound.pipe(outbound).pipe(inbound);
    inbound.on('close', () => outbound.destroy());
    outbound.on('close', () => inbound.destroy());
  });
  await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
  const sever = (): void => {
    for (const socket of sockets) socket.destroy();
  };
  return {
    endpoint: `tcp://127.0.0.1:${String((relay.address() as AddressInfo).port)}`,
    sever,
    close: () =>
      new Promise<void>((resolve) => {
        relay.close(() => {
          resolve();
        });
        sever();
      }),
  };
}

// A lost connection fails every pending call of a DEALER client with a TransportError, and ZeroMQ
// reconnects by itself (README, "Lost connections and restarts").
runTransportConformance(
  { describe, it },
  {
    name: 'ZeroMQ, DEALER client through a TCP relay severed by the test',
    async createFixture() {
      const server = new ZmqServerTransport({ endpoint: 'tcp://127.0.0.1:0', maxMessageSize });
      const relay = await relayTo(() => endpointOf(server));
      return {
        server,
        connect: () => new ZmqClientTransport(relay.endpoint),
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
