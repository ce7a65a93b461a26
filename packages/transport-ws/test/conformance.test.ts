// The conformance kit, run exactly as a third party would: through the package's public entry.
import { createServer, type Server } from 'node:http';
import { describe, it } from 'vitest';
import { runTransportConformance } from '@tinyrpc/conformance';
import { defaultLimits } from '@tinyrpc/core';
import { listenSeverable } from '@tinyrpc/test-helpers';
import { WsClientTransport, WsServerTransport } from '@tinyrpc/transport-ws';

// WsServerTransport's default maxMessageSize: a frame one byte over it closes the connection (1009),
// so the over-size call fails at once with a TransportError.
const defaultMaxMessageSize = defaultLimits.maxMessageSize;
// Lowered so the kit's flood case is small.
const maxInFlight = 8;

runTransportConformance(
  { describe, it },
  {
    name: 'WebSocket, server on a port of its own, default options',
    createFixture() {
      const server = new WsServerTransport({ port: 0, path: '/rpc', maxInFlight });
      return {
        server,
        connect: () => new WsClientTransport(`ws://127.0.0.1:${String(server.port)}/rpc`),
      };
    },
    // Without `reconnect`, the next call after a loss opens a new connection.
    capabilities: {
      duplex: true,
      maxMessageSize: defaultMaxMessageSize,
      limits: true,
      maxInFlight,
    },
  },
);

// The application's http.Server, which the attached transport neither starts nor closes. It answers
// plain requests with 404, as an application's server does: once the attached transport has closed,
// a client's upgrade request is such a plain request and is refused at once (a server with no
// request handler would leave it waiting for the client's `connectTimeout`).
const applicationServer = (): Server =>
  createServer((_request, response) => {
    response.writeHead(404).end();
  });

for (const reconnect of [false, true]) {
  runTransportConformance(
    { describe, it },
    {
      name: `WebSocket, attached to an http.Server, severed by the test, ${reconnect ? 'reconnecting in the background' : 'reconnecting on the next call'}`,
      async createFixture() {
        const { server: http, port, sever, close } = await listenSeverable(applicationServer());
        // Above the kit's 1 MB round trip, so it runs here; the over-size case uses this limit.
        const server = new WsServerTransport({
          server: http,
          path: '/rpc',
          maxMessageSize: 2 ** 21,
        });
        return {
          server,
          connect: () =>
            new WsClientTransport(`ws://127.0.0.1:${String(port)}/rpc`, {
              maxMessageSize: 2 ** 21,
              reconnect: reconnect && { retries: 5, initialDelay: 10, maxDelay: 100 },
            }),
          disconnect: sever,
          close,
        };
      },
      capabilities: {
        duplex: true,
        maxMessageSize: 2 ** 21,
        disconnect: true,
        reconnect: true,
        limits: true,
      },
    },
  );
}
