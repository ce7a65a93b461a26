/**
 * RPC over any duplex byte stream for tinyrpc: a child process's stdio, TCP and Unix sockets, with
 * newline-delimited or `Content-Length` (LSP) framing.
 *
 * @example
 * ```ts
 * import { RpcClient, RpcDispatcher, RpcServer } from '@tinyrpc/core';
 * import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
 * import { StreamClientTransport, StreamServerTransport } from '@tinyrpc/transport-stream';
 *
 * const dispatcher = new RpcDispatcher();
 * dispatcher.add('reverse_string', (s: string) => [...s].reverse().join(''));
 *
 * const transport = new StreamServerTransport({ port: 0, framing: 'content-length' });
 * const server = new RpcServer(transport, new JsonRpcProtocol(), dispatcher);
 * await server.serve();
 * const { port } = transport.address as { port: number };
 *
 * const client = new RpcClient(
 *   new JsonRpcProtocol(),
 *   await StreamClientTransport.connect({ port, framing: 'content-length' }),
 * );
 * console.log(await client.call('reverse_string', ['Hello, World!'])); // '!dlroW ,olleH'
 * await client.close();
 * await server.close();
 * ```
 *
 * @packageDocumentation
 */
export {
  StreamClientTransport,
  type StreamClientOptions,
  type StreamClientTarget,
} from './stream-client-transport.ts';
export {
  StreamServerTransport,
  type StreamServerOptions,
  type StreamServerTarget,
} from './stream-server-transport.ts';
export type { ByteStream, StreamPair } from './stream-connection.ts';
export {
  createFrameDecoder,
  encodeFrame,
  MAX_HEADER_SIZE,
  type FrameDecoder,
  type Framing,
  type FramingOptions,
  type ReceiveAs,
} from './framing.ts';
