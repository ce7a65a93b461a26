/**
 * MessagePack-RPC for tinyrpc, wire-compatible with Python tinyrpc's `MSGPACKRPCProtocol`.
 *
 * @example
 * ```ts
 * import {
 *   RemoteError,
 *   RpcClient,
 *   RpcDispatcher,
 *   RpcServer,
 *   createMemoryTransport,
 * } from '@tinyrpc/core';
 * import { MsgpackRpcProtocol } from '@tinyrpc/msgpackrpc';
 *
 * const dispatcher = new RpcDispatcher();
 * dispatcher.add('add', (a: number, b: number) => a + b);
 * dispatcher.add('checksum', (bytes: Uint8Array) => bytes.reduce((sum, byte) => sum + byte, 0));
 *
 * const { client: clientTransport, server: serverTransport } = createMemoryTransport();
 * const server = new RpcServer(serverTransport, new MsgpackRpcProtocol(), dispatcher);
 * await server.serve();
 *
 * const client = new RpcClient(new MsgpackRpcProtocol(), clientTransport);
 * console.log(await client.call('add', [1, 2])); // 3
 * console.log(await client.call('checksum', [new Uint8Array([1, 2, 3])])); // 6
 * await client.notify('add', [4, 5]); // a notification: no reply
 * try {
 *   await client.call('missing');
 * } catch (error) {
 *   if (RemoteError.is(error)) console.log(error.code, error.message); // -32601 Method not found
 * }
 * await server.close();
 * ```
 *
 * @packageDocumentation
 */
export { MsgpackRpcProtocol, type MsgpackRpcProtocolOptions } from './msgpack-rpc-protocol.ts';
export {
  MsgpackRpcErrorResponse,
  MsgpackRpcRequest,
  MsgpackRpcSuccessResponse,
} from './msgpack-rpc-messages.ts';
export { defaultMsgpackrOptions, type MsgpackrOptions } from './msgpack-codec.ts';
export { readError } from './read-error.ts';
export { MSGPACK_RPC_CONTENT_TYPE } from './error-codes.ts';
export { MsgpackRpcMessageType } from './message-type.ts';
