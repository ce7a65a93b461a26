// JSON-RPC over ZeroMQ: a ROUTER server on a free port and a pipelined DEALER client.
import { RpcClient, RpcDispatcher, RpcServer } from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { ZmqClientTransport, ZmqServerTransport } from '@tinyrpc/transport-zmq';

const dispatcher = new RpcDispatcher();
// eslint-disable-next-line @typescript-eslint/no-misused-spread -- code points, as Python's s[::-1]
dispatcher.add('reverse_string', (s: string) => [...s].reverse().join(''));
const transport = new ZmqServerTransport({ endpoint: 'tcp://127.0.0.1:0' });
const server = new RpcServer(transport, new JsonRpcProtocol(), dispatcher);
await server.serve();

const endpoint = transport.endpoint ?? '';
const client = new RpcClient(new JsonRpcProtocol(), new ZmqClientTransport(endpoint));
console.log('Server answered:', await client.call('reverse_string', ['Hello, World!']));

await client.close();
await server.close();
