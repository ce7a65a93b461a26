import { describe, it } from 'vitest';
import { createMemoryTransport } from '@tinyrpc/core';
import { runProtocolConformance, runTransportConformance } from '@tinyrpc/conformance';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';

runProtocolConformance(
  { describe, it },
  {
    name: 'JSON-RPC 2.0',
    createProtocol: () => new JsonRpcProtocol(),
    capabilities: { batch: true, namedParams: true, binaryValues: false },
  },
);

// A transport may also be run with a real text protocol instead of the kit's own.
runTransportConformance(
  { describe, it },
  {
    name: 'core memory transport with JSON-RPC',
    createFixture() {
      const { server, connect } = createMemoryTransport();
      return { server, connect };
    },
    protocol: () => new JsonRpcProtocol(),
  },
);
