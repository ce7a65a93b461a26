// JSON-RPC over RabbitMQ: a server consuming a queue, a client with direct reply-to.
// Needs a broker: AMQP_URL, or RabbitMQ on 127.0.0.1 with the guest account.
import { RpcClient, RpcDispatcher, RpcServer } from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { RabbitMqClientTransport, RabbitMqServerTransport } from '@tinyrpc/transport-rabbitmq';

const url = process.env['AMQP_URL'] ?? 'amqp://guest:guest@127.0.0.1:5672';
const queue = 'tinyrpc-examples-reverse';
const dispatcher = new RpcDispatcher();
// eslint-disable-next-line @typescript-eslint/no-misused-spread -- code points, as Python's s[::-1]
dispatcher.add('reverse_string', (s: string) => [...s].reverse().join(''));
const server = new RpcServer(
  new RabbitMqServerTransport({ url, queue }),
  new JsonRpcProtocol(),
  dispatcher,
);
await server.serve();

const client = new RpcClient(
  new JsonRpcProtocol(),
  new RabbitMqClientTransport({ url, routingKey: queue }),
);
console.log('Server answered:', await client.call('reverse_string', ['Hello, World!']));

await client.close();
await server.close();
