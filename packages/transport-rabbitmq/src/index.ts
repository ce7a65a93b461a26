/**
 * RabbitMQ transport for tinyrpc: calls travel through a queue, replies come back by direct
 * reply-to, and servers on one queue share the calls as competing consumers.
 *
 * @example
 * ```ts
 * import { RpcClient, RpcDispatcher, RpcServer } from '@tinyrpc/core';
 * import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
 * import { RabbitMqClientTransport, RabbitMqServerTransport } from '@tinyrpc/transport-rabbitmq';
 *
 * const url = 'amqp://guest:guest@127.0.0.1:5672';
 * const dispatcher = new RpcDispatcher();
 * dispatcher.add('reverse_string', (s: string) => [...s].reverse().join(''));
 * const server = new RpcServer(
 *   new RabbitMqServerTransport({ url, queue: 'reverse-service' }),
 *   new JsonRpcProtocol(),
 *   dispatcher,
 * );
 * await server.serve();
 *
 * const client = new RpcClient(
 *   new JsonRpcProtocol(),
 *   new RabbitMqClientTransport({ url, routingKey: 'reverse-service' }),
 * );
 * const remote = client.getProxy<{ reverse_string(s: string): string }>();
 * console.log('Server answered:', await remote.reverse_string('Hello, World!'));
 * await client.close();
 * await server.close();
 * ```
 *
 * @packageDocumentation
 */
export {
  RabbitMqServerTransport,
  defaultMaxInFlight,
  type RabbitMqServerTransportOptions,
  type RabbitMqTransportContext,
} from './rabbitmq-server-transport.ts';
export {
  RabbitMqClientTransport,
  defaultCallTimeout,
  type RabbitMqClientTransportOptions,
} from './rabbitmq-client-transport.ts';
export { type RabbitMqConnectionOptions } from './amqp-connection.ts';
