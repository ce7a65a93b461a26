// MessagePack-RPC over HTTP: the same server and client as the seed, with a binary protocol.
import { RpcClient, RpcDispatcher, RpcServer } from '@tinyrpc/core';
import { MsgpackRpcProtocol } from '@tinyrpc/msgpackrpc';
import { HttpClientTransport, HttpServerTransport } from '@tinyrpc/transport-http';

const dispatcher = new RpcDispatcher();
// eslint-disable-next-line @typescript-eslint/no-misused-spread -- code points, as Python's s[::-1]
dispatcher.add('reverse_string', (s: string) => [...s].reverse().join(''));
const transport = new HttpServerTransport({ host: '127.0.0.1', port: 0 });
const server = new RpcServer(transport, new MsgpackRpcProtocol(), dispatcher);
await server.serve();

const client = new RpcClient(
  new MsgpackRpcProtocol(),
  new HttpClientTransport(`http://127.0.0.1:${String(transport.port)}/`),
);
console.log('Server answered:', await client.call('reverse_string', ['Hello, World!']));

await client.close();
await server.close();
