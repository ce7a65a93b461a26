import { describe, it } from 'vitest';
import { createMemoryTransport, type Connection } from '@tinyrpc/core';
import { runTransportConformance } from '@tinyrpc/conformance';

// Each connect() opens one more memory connection to the server; disconnect() ends them all from
// the client's side, as a crashed client would.
runTransportConformance(
  { describe, it },
  {
    name: 'core memory transport',
    createFixture() {
      const { server, connect } = createMemoryTransport();
      const connections: Connection[] = [];
      return {
        server,
        connect() {
          const connection = connect();
          connections.push(connection);
          return connection;
        },
        async disconnect() {
          await Promise.all(
            connections.map(async (connection) => {
              await connection.close?.();
            }),
          );
        },
      };
    },
    capabilities: { duplex: true, disconnect: true },
  },
);
