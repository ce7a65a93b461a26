/**
 * The conformance test kit of tinyrpc: proves that a transport or a protocol honours the contract
 * of `@tinyrpc/core`. It runs under any test runner that has `describe` and `it` (vitest,
 * node:test, Jest, Mocha) and depends on none of them.
 *
 * @example
 * ```ts
 * import { describe, it } from 'node:test'; // or: import { describe, it } from 'vitest';
 * import { createMemoryTransport } from '@tinyrpc/core';
 * import { runProtocolConformance, runTransportConformance } from '@tinyrpc/conformance';
 * import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
 *
 * runTransportConformance(
 *   { describe, it },
 *   {
 *     name: 'memory',
 *     createFixture() {
 *       const { server, connect } = createMemoryTransport();
 *       return { server, connect };
 *     },
 *     capabilities: { text: true, binary: true, duplex: true },
 *   },
 * );
 *
 * runProtocolConformance(
 *   { describe, it },
 *   {
 *     name: 'JSON-RPC 2.0',
 *     createProtocol: () => new JsonRpcProtocol(),
 *     capabilities: { batch: true, namedParams: true },
 *   },
 * );
 * ```
 *
 * @packageDocumentation
 */
export {
  runTransportConformance,
  type TransportCapabilities,
  type TransportConformanceOptions,
  type TransportFixture,
} from './transport-conformance.ts';
export {
  runProtocolConformance,
  type ProtocolCapabilities,
  type ProtocolConformanceOptions,
} from './protocol-conformance.ts';
export { ConformanceProtocol, type ConformanceProtocolOptions } from './conformance-protocol.ts';
export { binaryPayload, payloadDifference, textPayload } from './payloads.ts';
export type { ConformanceIt, ConformanceRunner, ConformanceTest } from './runner.ts';
