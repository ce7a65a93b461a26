// JSON-RPC between two parts of one process, over core's memory transport: no sockets at all.
import { RpcClient, RpcDispatcher, RpcServer, createMemoryTransport } from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';

const dispatcher = new RpcDispatcher();
// eslint-disable-next-line @typescript-eslint/no-misused-spread -- code points, as Python's s[::-1]
dispatcher.add('reverse_string', (s: string) => [...s].reverse().join(''));
const { client: clientTransport, server: serverTransport } = createMemoryTransport();
const server = new RpcServer(serverTransport, new JsonRpcProtocol(), dispatcher);
await server.serve();

const client = new RpcClient(new JsonRpcProtocol(), clientTransport);
console.log('Server answered:', await client.call('reverse_string', ['Hello, World!']));

await client.close();
await server.close();
