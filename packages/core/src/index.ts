/**
 * The heart of tinyrpc: the interfaces a protocol and a transport implement, the errors, the
 * dispatcher, the client, the server, and in-process transports.
 *
 * @example
 * ```ts
 * import { RpcClient, RpcDispatcher, RpcServer, createMemoryTransport } from '@tinyrpc/core';
 * import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
 *
 * const dispatcher = new RpcDispatcher();
 * dispatcher.add('add', (a: number, b: number) => a + b, { params: ['a', 'b'] });
 *
 * const { client: clientTransport, server: serverTransport } = createMemoryTransport();
 * const server = new RpcServer(serverTransport, new JsonRpcProtocol(), dispatcher);
 * await server.serve();
 *
 * const client = new RpcClient(new JsonRpcProtocol(), clientTransport);
 * console.log(await client.call('add', [1, 2])); // 3
 * console.log(await client.call('add', { a: 2, b: 3 })); // 5
 * await server.close();
 * ```
 *
 * @packageDocumentation
 */
export type {
  ClientTransport,
  ClientTransportListener,
  Connection,
  ConnectionListener,
  RequestReplyTransport,
  ReplyStreamReceiver,
  ReplyStreamSender,
  ServerConnection,
  CreateRequestOptions,
  ErrorHandler,
  ListenOptions,
  ErrorRespondOptions,
  Message,
  MessageHandler,
  Params,
  ReconnectOptions,
  RequestId,
  RpcBatchRequest,
  RpcBatchResponse,
  RpcErrorObject,
  RpcProtocol,
  RpcRequest,
  RpcResponse,
  SendOptions,
  ServerLimits,
  ServerTransport,
  TransportContext,
} from './types.ts';
export { defaultLimits } from './limits.ts';
export { clientTransportKind, specificationVersion } from './contract.ts';
export {
  cancelMethod,
  deadlineHeader,
  streamCreditMethod,
  streamItemMethod,
  streamHeader,
  streamOpenMethod,
} from './wire-names.ts';
export {
  BadReplyError,
  BadRequestError,
  InternalError,
  InvalidParamsError,
  InvalidReplyError,
  InvalidRequestError,
  MethodNotFoundError,
  ParseError,
  RemoteError,
  RpcError,
  RpcTimeoutError,
  RequestCancelledError,
  ServerError,
  TransportError,
  UnexpectedIdError,
  registerErrorClass,
  type RpcErrorOptions,
} from './errors.ts';
export { toErrorObject } from './error-object.ts';
export { ErrorCode } from './error-codes.ts';
export {
  clientTransportBrand,
  isClientTransport,
  isRpcProtocol,
  isServerTransport,
  protocolBrand,
  serverTransportBrand,
  setBrand,
} from './brand.ts';
import { RpcClient } from './client.ts';
import { RpcDispatcher } from './dispatcher.ts';
import { RpcServer } from './server.ts';
export {
  isPromiseLike,
  RpcDispatcher,
  type CallContext,
  type DispatchOptions,
  type MethodErrorSpec,
  type MethodOptions,
  type RegisteredMethod,
  type RpcMethod,
} from './dispatcher.ts';
export {
  createOpenRpcDocument,
  jsonSchemaOf,
  openRpcVersion,
  type DiscoveryInfo,
  type DiscoveryOptions,
  type JsonSchema,
  type OpenRpcContentDescriptor,
  type OpenRpcDocument,
  type OpenRpcMethod,
} from './discovery.ts';
export { rpcPublic, rpcPublic as public, type PublicOptions } from './public.ts';
export type {
  StandardSchemaIssue,
  StandardSchemaResult,
  StandardSchemaV1,
} from './standard-schema.ts';
export {
  RpcServer,
  type PeerListener,
  type RpcServerOptions,
  type TraceDirection,
  type TraceFunction,
} from './server.ts';
export {
  RpcClient,
  type BatchCallSpec,
  type CallOptions,
  type CallSpec,
  type RpcClientOptions,
} from './client.ts';
export { RpcPeer, type RpcPeerOptions } from './peer.ts';
export { defaultHighWaterMark, type StreamOptions } from './stream-consumer.ts';
export type { MethodNames, ProxyOptions, RpcOneWayProxy, RpcProxy } from './proxy.ts';
export {
  runInterceptors,
  type ClientCall,
  type ClientInterceptor,
  type InterceptedCallOptions,
  type Interceptor,
  type ServerCall,
  type ServerInterceptor,
} from './interceptor.ts';
export {
  concurrencyLimit,
  type ConcurrencyLimitOptions,
} from './interceptors/concurrency-limit.ts';
export { retry, type RetryOptions } from './interceptors/retry.ts';
export { logCalls, type LogCallsOptions } from './interceptors/log-calls.ts';
export { createMemoryTransport, type MemoryTransportPair } from './memory-transport.ts';
export {
  CallbackClientTransport,
  CallbackServerTransport,
  type CallbackChannel,
} from './callback-transport.ts';

/** `true` for a dispatcher from any installed copy of `@tinyrpc/core`. */
export const isRpcDispatcher = (value: unknown): value is RpcDispatcher =>
  RpcDispatcher.isRpcDispatcher(value);
/** `true` for a server from any installed copy of `@tinyrpc/core`. */
export const isRpcServer = (value: unknown): value is RpcServer => RpcServer.isRpcServer(value);
/** `true` for a client from any installed copy of `@tinyrpc/core`. */
export const isRpcClient = (value: unknown): value is RpcClient => RpcClient.isRpcClient(value);
