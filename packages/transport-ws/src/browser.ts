/**
 * The browser entry of `@tinyrpc/transport-ws`: the client only, on the platform `WebSocket`, with
 * no import of `ws`. Bundlers choose it through the `browser` export condition; it is also
 * `@tinyrpc/transport-ws/browser`.
 *
 * @example
 * ```ts
 * import { RpcClient } from '@tinyrpc/core';
 * import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
 * import { WsClientTransport } from '@tinyrpc/transport-ws';
 *
 * const client = new RpcClient(new JsonRpcProtocol(), new WsClientTransport('wss://example.com/ws'));
 * console.log(await client.call('reverse_string', ['Hello, World!']));
 * ```
 *
 * @packageDocumentation
 */
export { WsClientTransport, type WsClientTransportOptions } from './ws-client-transport.ts';
export type { WebSocketConstructor, WebSocketLike } from './client-socket.ts';
