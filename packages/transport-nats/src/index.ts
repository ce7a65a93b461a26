/**
 * NATS transport for tinyrpc: calls are NATS requests on a subject, servers share them in a queue
 * group, and each server registers as a NATS service that tooling can discover.
 *
 * @example
 * ```ts
 * import { RpcClient, RpcDispatcher, RpcServer } from '@tinyrpc/core';
 * import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
 * import { NatsClientTransport, NatsServerTransport } from '@tinyrpc/transport-nats';
 *
 * const servers = '127.0.0.1:4222';
 * const dispatcher = new RpcDispatcher();
 * dispatcher.add('reverse_string', (s: string) => Array.from(s).reverse().join(''));
 * const server = new RpcServer(
 *   new NatsServerTransport({ servers, subject: 'services.reverse' }),
 *   new JsonRpcProtocol(),
 *   dispatcher,
 * );
 * await server.serve();
 *
 * const client = new RpcClient(
 *   new JsonRpcProtocol(),
 *   new NatsClientTransport({ servers, subject: 'services.reverse' }),
 *   { timeout: 5000 },
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
  NatsServerTransport,
  defaultQueueGroup,
  type NatsServerTransportOptions,
  type NatsServiceOptions,
  type NatsTransportContext,
} from './nats-server-transport.ts';
export {
  NatsClientTransport,
  defaultCallTimeout,
  type NatsClientTransportOptions,
  type NatsSendOptions,
} from './nats-client-transport.ts';
// Deprecated exports, kept so that code written against them goes on working.
// eslint-disable-next-line @typescript-eslint/no-deprecated
export { deadlineHeader, traceHeaders, type NatsConnectionOptions } from './nats-connection.ts';
// eslint-disable-next-line @typescript-eslint/no-deprecated
export { sendDeadline } from './deadline-interceptor.ts';
