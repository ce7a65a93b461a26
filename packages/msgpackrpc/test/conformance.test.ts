// The conformance kit, run exactly as a third party would: through the package's public entry.
import { describe, it } from 'vitest';
import { runProtocolConformance, runTransportConformance } from '@tinyrpc/conformance';
import { MsgpackRpcProtocol } from '@tinyrpc/msgpackrpc';
import { WsClientTransport, WsServerTransport } from '@tinyrpc/transport-ws';

// The defaults, as Python tinyrpc speaks it: no batches (the specification has none), positional
// params only, errors as [code, message] without data.
runProtocolConformance(
  { describe, it },
  {
    name: 'MessagePack-RPC, default options',
    createProtocol: () => new MsgpackRpcProtocol(),
    capabilities: { batch: false, binaryValues: true, namedParams: false, errorData: false },
  },
);

// The opt-ins, for peers that agree on both sides: named params as a map, errors with data.
runProtocolConformance(
  { describe, it },
  {
    name: 'MessagePack-RPC, namedParams and errorData on',
    createProtocol: () => new MsgpackRpcProtocol({ namedParams: true, errorData: true }),
    capabilities: { batch: false, binaryValues: true, namedParams: true, errorData: true },
  },
);

// The transport kit's text and general cases with MessagePack-RPC messages (bytes, so over binary
// WebSocket frames) instead of the kit's own protocol. The kit checks an error's data, so both
// sides send errors with data.
runTransportConformance(
  { describe, it },
  {
    name: 'WebSocket carrying MessagePack-RPC',
    createFixture() {
      const server = new WsServerTransport({ port: 0, path: '/rpc', maxMessageSize: 2 ** 21 });
      return {
        server,
        connect: () =>
          new WsClientTransport(`ws://127.0.0.1:${String(server.port)}/rpc`, {
            maxMessageSize: 2 ** 21,
          }),
      };
    },
    protocol: () => new MsgpackRpcProtocol({ errorData: true }),
    capabilities: { maxMessageSize: 2 ** 21 },
  },
);
