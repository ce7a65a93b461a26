// The conformance kit, run exactly as a third party would: through the package's public entry.
import { createServer } from 'node:http';
import { describe, it } from 'vitest';
import { runTransportConformance } from '@tinyrpc/conformance';
import { listenSeverable } from '@tinyrpc/test-helpers';
import { defaultLimits } from '@tinyrpc/core';
import { HttpClientTransport, HttpServerTransport } from '@tinyrpc/transport-http';

/** The URL of a transport's own server, once it listens. */
const urlOf = (server: HttpServerTransport): string => {
  if (server.url === undefined) throw new Error('The HTTP server is not listening');
  return server.url;
};

// HTTP is request/reply: `send` resolves the reply (204 for a notification resolves undefined).
// A body over maxMessageSize is answered 413 with the protocol's error response, which fails the
// call with a RemoteError (-32600) naming maxMessageSize, and the server goes on serving (`limits`).
// No `maxInFlight`: HTTP/1.1 carries one request per connection at a time, so one connection has
// no flood to bound (a client's concurrent calls each take a connection of their own). After
// close() the own server refuses connections, so the next call fails at once.
runTransportConformance(
  { describe, it },
  {
    name: 'HTTP, own server, default options',
    createFixture() {
      const server = new HttpServerTransport({ port: 0 });
      return { server, connect: () => new HttpClientTransport(urlOf(server)) };
    },
    capabilities: {
      cancellation: true,
      streams: true,
      maxMessageSize: defaultLimits.maxMessageSize,
      limits: true,
    },
  },
);

// Mounted into an application's node:http server: a severed connection fails the exchanges in
// flight with an HttpTransportError (README, "a refused or reset connection"), and fetch opens a
// new connection for the next call. After close() the mounted transport answers 503.
runTransportConformance(
  { describe, it },
  {
    name: 'HTTP, mounted on a node:http server, severed by the test',
    async createFixture() {
      // Above the kit's 1 MB round trip, so it runs here; the over-size case uses this limit.
      const server = new HttpServerTransport({ maxMessageSize: 2 ** 21 });
      // The mounted transport neither starts nor closes the application's node:http server.
      const { port, sever, close } = await listenSeverable(createServer(server.handle));
      const url = `http://127.0.0.1:${String(port)}/rpc`;
      const connect = (): HttpClientTransport =>
        new HttpClientTransport(url, { maxMessageSize: 2 ** 21 });
      return { server, connect, disconnect: sever, close };
    },
    capabilities: {
      cancellation: true,
      streams: true,
      maxMessageSize: 2 ** 21,
      limits: true,
      disconnect: true,
      reconnect: true,
    },
  },
);
