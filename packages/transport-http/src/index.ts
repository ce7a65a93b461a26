/**
 * HTTP for tinyrpc: a fetch-based client transport for Node and browsers, and a server transport
 * that runs its own `node:http` server or mounts into Express, Connect, `node:http` or any Fetch API
 * runtime.
 *
 * @example
 * ```ts
 * import { RpcClient, RpcDispatcher, RpcServer } from '@tinyrpc/core';
 * import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
 * import { HttpClientTransport, HttpServerTransport } from '@tinyrpc/transport-http';
 *
 * const dispatcher = new RpcDispatcher();
 * dispatcher.add('reverse_string', (s: string) => [...s].reverse().join(''));
 * const transport = new HttpServerTransport({ port: 0 }); // 0: any free port
 * const server = new RpcServer(transport, new JsonRpcProtocol(), dispatcher);
 * await server.serve();
 *
 * const client = new RpcClient(new JsonRpcProtocol(), new HttpClientTransport(transport.url!));
 * const remote = client.getProxy<{ reverse_string(s: string): string }>();
 * console.log('Server answered:', await remote.reverse_string('Hello, World!'));
 * await client.close();
 * await server.close();
 * ```
 *
 * @packageDocumentation
 */
export { HttpClientTransport, type HttpClientTransportOptions } from './http-client-transport.ts';
export { HttpServerTransport, type HttpServerTransportOptions } from './http-server-transport.ts';
export { HttpTransportError, type HttpTransportErrorOptions } from './http-transport-error.ts';
export { binaryContentType, isTextContentType, jsonContentType } from './content-type.ts';
export { framesContentType, ndjsonContentType } from './reply-stream-framing.ts';
