// The first example of the README, Python tinyrpc's own seed: a server with one method and a
// client that calls it. `pnpm start` at the repository root builds and runs it.
import { RpcClient, RpcDispatcher, RpcServer } from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { HttpClientTransport, HttpServerTransport } from '@tinyrpc/transport-http';

const dispatcher = new RpcDispatcher();
// Code points, as Python's s[::-1] reverses them.
// eslint-disable-next-line @typescript-eslint/no-misused-spread
dispatcher.add('reverse_string', (s: string) => [...s].reverse().join(''));
// The README listens on port 5000; here the system picks a free port unless PORT says otherwise,
// so the example never clashes with whatever else runs on the machine.
const transport = new HttpServerTransport({
  host: '127.0.0.1',
  port: Number(process.env['PORT'] ?? 0),
});
const server = new RpcServer(transport, new JsonRpcProtocol(), dispatcher);
await server.serve();

const client = new RpcClient(
  new JsonRpcProtocol(),
  new HttpClientTransport(`http://127.0.0.1:${String(transport.port)}/`),
);
const remote = client.getProxy<{ reverse_string(s: string): string }>();
console.log('Server answered:', await remote.reverse_string('Hello, World!'));

await client.close();
await server.close();
