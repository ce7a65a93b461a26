/**
 * ZeroMQ transports for tinyrpc: a ROUTER server that answers REQ and DEALER peers and calls its
 * DEALER peers back, a pipelined DEALER client ({@link ZmqClientTransport}, a connection) and a
 * strict REQ client ({@link ZmqReqClientTransport}, request/reply), wire-compatible with Python
 * tinyrpc's.
 *
 * @example
 * ```ts
 * import { RpcClient, RpcDispatcher, RpcServer } from '@tinyrpc/core';
 * import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
 * import { ZmqClientTransport, ZmqServerTransport } from '@tinyrpc/transport-zmq';
 *
 * const dispatcher = new RpcDispatcher();
 * dispatcher.add('reverse_string', (s: string) => [...s].reverse().join(''));
 *
 * const serverTransport = new ZmqServerTransport({ endpoint: 'tcp://127.0.0.1:0' });
 * const server = new RpcServer(serverTransport, new JsonRpcProtocol(), dispatcher);
 * await server.serve();
 *
 * const transport = new ZmqClientTransport(serverTransport.endpoint!);
 * const client = new RpcClient(new JsonRpcProtocol(), transport, { timeout: 5000 });
 * console.log(await client.call('reverse_string', ['Hello, World!'])); // !dlroW ,olleH
 *
 * await client.close();
 * await server.close();
 * ```
 *
 * @packageDocumentation
 */
export {
  ZmqServerTransport,
  type ZmqServerTransportOptions,
  type ZmqTransportContext,
} from './zmq-server-transport.ts';
export {
  ZmqClientTransport,
  type ZmqClientTransportOptions,
  type ZmqSocketOptions,
} from './zmq-client-transport.ts';
export {
  ZmqReqClientTransport,
  type ZmqReqClientTransportOptions,
} from './zmq-req-client-transport.ts';
