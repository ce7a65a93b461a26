/**
 * WebSocket transport for tinyrpc: a server on a port of its own or attached to an `http.Server`,
 * and a multiplexed client for Node (`ws`) and browsers (the platform `WebSocket`; bundlers pick
 * the `browser` entry, which does not import `ws`).
 *
 * @example
 * ```ts
 * import { RpcClient, RpcDispatcher, RpcServer } from '@tinyrpc/core';
 * import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
 * import { WsClientTransport, WsServerTransport } from '@tinyrpc/transport-ws';
 *
 * const dispatcher = new RpcDispatcher();
 * dispatcher.add('reverse_string', (s: string) => [...s].reverse().join(''));
 * const transport = new WsServerTransport({ port: 0, path: '/ws' });
 * const server = new RpcServer(transport, new JsonRpcProtocol(), dispatcher);
 * await server.serve();
 *
 * const client = new RpcClient(
 *   new JsonRpcProtocol(),
 *   new WsClientTransport(`ws://127.0.0.1:${String(transport.port)}/ws`),
 * );
 * const remote = client.getProxy<{ reverse_string(s: string): string }>();
 * console.log('Server answered:', await remote.reverse_string('Hello, World!'));
 * await client.close();
 * await server.close();
 * ```
 *
 * @packageDocumentation
 */
export { WsServerTransport, type WsServerTransportOptions } from './ws-server-transport.ts';
export { WsClientTransport } from './node-ws-client-transport.ts';
export type { WsClientTransportOptions } from './ws-client-transport.ts';
export type { WebSocketConstructor, WebSocketLike } from './client-socket.ts';
