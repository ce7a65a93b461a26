// Runs the kit under node:test, as a package that uses node:test would.
import { describe, it } from 'node:test';
import { createMemoryTransport } from '@tinyrpc/core';
import {
  ConformanceProtocol,
  runProtocolConformance,
  runTransportConformance,
} from '@tinyrpc/conformance';

runTransportConformance(
  { describe, it },
  {
    name: 'core memory transport under node:test',
    createFixture() {
      const { server, connect } = createMemoryTransport();
      return { server, connect };
    },
  },
);

runProtocolConformance(
  { describe, it },
  {
    name: 'ConformanceProtocol under node:test',
    createProtocol: () => new ConformanceProtocol({ encoding: 'binary' }),
    capabilities: { binaryValues: true },
  },
);
