import { describe, it } from 'vitest';
import { createMemoryTransport } from '@tinyrpc/core';
import { runTransportConformance } from '@tinyrpc/conformance';

// The memory transport is request/reply: `send` resolves the reply.
runTransportConformance(
  { describe, it },
  {
    name: 'core memory transport',
    createFixture() {
      const { client, server } = createMemoryTransport();
      return { server, connect: () => client };
    },
  },
);
