// One tinyrpc server process for the NATS scale-out benchmark: serves add(a, b) on a subject in the
// default queue group until SIGTERM. Usage: nats-bench-server.ts <servers> <subject>
import { RpcDispatcher, RpcServer } from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { NatsServerTransport } from '@tinyrpc/transport-nats';

const [servers, subject] = process.argv.slice(2);
if (servers === undefined || subject === undefined) {
  throw new Error('usage: nats-bench-server.ts <servers> <subject>');
}
const server = new RpcServer(
  new NatsServerTransport({ servers, subject }),
  new JsonRpcProtocol(),
  new RpcDispatcher().add('add', (a: number, b: number) => a + b),
);
await server.serve();
process.once('SIGTERM', () => {
  void server.close().then(() => process.exit(0));
});
console.log('READY');
