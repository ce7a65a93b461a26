import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, it } from 'vitest';
import { runTransportConformance } from '@tinyrpc/conformance';
import { defaultLimits } from '@tinyrpc/core';
import { listenSeverable } from '@tinyrpc/test-helpers';
import {
  StreamClientTransport,
  StreamServerTransport,
  type Framing,
} from '@tinyrpc/transport-stream';

// The limit is lowered so the over-size case is cheap; 1 MB round trips still fit.
const maxMessageSize = 2 * 1024 * 1024;
// Lowered so the kit's flood case is small.
const maxInFlight = 8;
const portOf = (server: StreamServerTransport): number => (server.address as AddressInfo).port;

for (const framing of ['content-length', 'newline'] as const satisfies Framing[]) {
  const binary = framing === 'content-length';

  runTransportConformance(
    { describe, it },
    {
      name: `stream, TCP port of its own, ${framing} framing`,
      createFixture() {
        const server = new StreamServerTransport({ port: 0, framing, maxMessageSize, maxInFlight });
        return {
          server,
          connect: () =>
            new StreamClientTransport({ port: portOf(server), framing, maxMessageSize }),
        };
      },
      capabilities: { duplex: true, binary, maxMessageSize, limits: true, maxInFlight },
    },
  );

  runTransportConformance(
    { describe, it },
    {
      name: `stream, in-process stream pair (as stdio), ${framing} framing`,
      createFixture() {
        const up = new PassThrough();
        const down = new PassThrough();
        return {
          server: new StreamServerTransport({
            stream: { readable: up, writable: down },
            framing,
            maxInFlight,
          }),
          connect: () =>
            new StreamClientTransport({ stream: { readable: down, writable: up }, framing }),
          disconnect() {
            up.destroy();
            down.destroy();
          },
        };
      },
      capabilities: {
        binary,
        multipleClients: false,
        disconnect: true,
        maxMessageSize: defaultLimits.maxMessageSize,
        limits: true,
        maxInFlight,
      },
    },
  );
}

runTransportConformance(
  { describe, it },
  {
    name: 'stream, attached to a net.Server, severed by the test',
    async createFixture() {
      const { server, port, sever, close } = await listenSeverable(
        createServer({ allowHalfOpen: true }),
      );
      return {
        server: new StreamServerTransport({ server, maxMessageSize }),
        connect: () => new StreamClientTransport({ port, maxMessageSize }),
        disconnect: sever,
        close,
      };
    },
    capabilities: { duplex: true, disconnect: true, reconnect: true, maxMessageSize, limits: true },
  },
);

const socketDir = mkdtempSync(join(tmpdir(), 'tinyrpc-stream-'));
afterAll(() => {
  rmSync(socketDir, { recursive: true, force: true });
});
let socketCount = 0;

runTransportConformance(
  { describe, it },
  {
    name: 'stream, Unix socket, content-length framing',
    createFixture() {
      const path = join(socketDir, `conformance-${String(++socketCount)}.sock`);
      return {
        server: new StreamServerTransport({ path, maxMessageSize }),
        connect: () => new StreamClientTransport({ path, maxMessageSize }),
      };
    },
    capabilities: { duplex: true, maxMessageSize, limits: true },
  },
);
