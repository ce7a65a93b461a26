// JSON-RPC over WebSocket: a server on its own port and a multiplexed client.
import { RpcClient, RpcDispatcher, RpcServer } from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { WsClientTransport, WsServerTransport } from '@tinyrpc/transport-ws';

const dispatcher = new RpcDispatcher();
// eslint-disable-next-line @typescript-eslint/no-misused-spread -- code points, as Python's s[::-1]
dispatcher.add('reverse_string', (s: string) => [...s].reverse().join(''));
const transport = new WsServerTransport({ host: '127.0.0.1', port: 0, path: '/rpc' });
const server = new RpcServer(transport, new JsonRpcProtocol(), dispatcher);
await server.serve();

const client = new RpcClient(
  new JsonRpcProtocol(),
  new WsClientTransport(`ws://127.0.0.1:${String(transport.port)}/rpc`),
);
console.log('Server answered:', await client.call('reverse_string', ['Hello, World!']));

await client.close();
await server.close();
