// The conformance kit, run exactly as a third party would: through the package's public entry.
import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { describe, it } from 'vitest';
import { runTransportConformance } from '@tinyrpc/conformance';
import {
  defaultMaxBodySize,
  HttpClientTransport,
  HttpServerTransport,
} from '@tinyrpc/transport-http';

/** The URL of a transport's own server, once it listens. */
const urlOf = (server: HttpServerTransport): string => {
  if (server.url === undefined) throw new Error('The HTTP server is not listening');
  return server.url;
};

// HTTP is request/reply: `send` resolves the reply (204 for a notification resolves undefined).
// A body over maxBodySize is answered 413, which fails the call with an HttpTransportError. After
// close() the own server refuses connections, so the next call fails at once.
runTransportConformance(
  { describe, it },
  {
    name: 'HTTP, own server, default options',
    createFixture() {
      const server = new HttpServerTransport({ port: 0 });
      return { server, connect: () => new HttpClientTransport(urlOf(server)) };
    },
    capabilities: { maxMessageSize: defaultMaxBodySize },
  },
);

/**
 * A node:http server on port 0 serving `transport.handle`, whose TCP connections the test can
 * destroy as a broken network would. The mounted transport neither starts nor closes it.
 */
async function severableHttpServer(transport: HttpServerTransport): Promise<{
  http: Server;
  url: string;
  sever(): void;
  close(): Promise<void>;
}> {
  const http = createServer(transport.handle);
  const sockets = new Set<Socket>();
  http.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const sever = (): void => {
    for (const socket of sockets) socket.destroy();
  };
  return {
    http,
    url: `http://127.0.0.1:${String((http.address() as AddressInfo).port)}/rpc`,
    sever,
    close: () =>
      new Promise<void>((resolve) => {
        sever();
        http.close(() => {
          resolve();
        });
      }),
  };
}

// Mounted into an application's node:http server: a severed connection fails the exchanges in
// flight with an HttpTransportError (README, "a refused or reset connection"), and fetch opens a
// new connection for the next call. After close() the mounted transport answers 503.
runTransportConformance(
  { describe, it },
  {
    name: 'HTTP, mounted on a node:http server, severed by the test',
    async createFixture() {
      // Above the kit's 1 MB round trip, so it runs here; the over-size case uses this limit.
      const server = new HttpServerTransport({ maxBodySize: 2 ** 21 });
      const { url, sever, close } = await severableHttpServer(server);
      return { server, connect: () => new HttpClientTransport(url), disconnect: sever, close };
    },
    capabilities: { maxMessageSize: 2 ** 21, disconnect: true, reconnect: true },
  },
);
