import { describe, it } from 'vitest';
import { createMemoryTransport } from '@tinyrpc/core';
import { runTransportConformance } from '@tinyrpc/conformance';

// Each connect() opens one more memory connection to the server.
runTransportConformance(
  { describe, it },
  {
    name: 'core memory transport',
    createFixture() {
      const { server, connect } = createMemoryTransport();
      return { server, connect };
    },
  },
);
