/**
 * JSON-RPC 2.0 for tinyrpc.
 *
 * @example
 * ```ts
 * import { RpcClient, RpcDispatcher, RpcServer, createMemoryTransport } from '@tinyrpc/core';
 * import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
 *
 * const dispatcher = new RpcDispatcher();
 * dispatcher.add('subtract', (minuend: number, subtrahend: number) => minuend - subtrahend, {
 *   params: ['minuend', 'subtrahend'],
 * });
 *
 * const { client: clientTransport, server: serverTransport } = createMemoryTransport();
 * const server = new RpcServer(serverTransport, new JsonRpcProtocol(), dispatcher);
 * await server.serve();
 *
 * const client = new RpcClient(new JsonRpcProtocol(), clientTransport);
 * console.log(await client.call('subtract', [42, 23])); // 19
 * console.log(await client.call('subtract', { subtrahend: 23, minuend: 42 })); // 19
 * console.log(await client.batch([
 *   { method: 'subtract', params: [1, 1] },
 *   { method: 'missing' },
 * ])); // [{ status: 'fulfilled', value: 0 }, { status: 'rejected', reason: RemoteError … }]
 * await server.close();
 * ```
 *
 * @packageDocumentation
 */
export {
  JsonRpcProtocol,
  type JsonRpcProtocolOptions,
  type JsonSerializer,
} from './json-rpc-protocol.ts';
export {
  JsonRpcBatchRequest,
  JsonRpcBatchResponse,
  JsonRpcErrorResponse,
  JsonRpcRequest,
  JsonRpcSuccessResponse,
  type Stringify,
} from './json-rpc-messages.ts';
export { JSON_RPC_CONTENT_TYPE } from './error-codes.ts';
