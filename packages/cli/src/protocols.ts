// The protocols `--protocol` names, imported on first use like the transports.
import type { RpcProtocol } from '@tinyrpc/core';

/** A protocol `--protocol` can name. */
export type ProtocolName = 'jsonrpc' | 'msgpack';

/** Creates the protocol of each name. */
export const protocols: Readonly<Record<ProtocolName, () => Promise<RpcProtocol>>> = {
  jsonrpc: async () => new (await import('@tinyrpc/jsonrpc')).JsonRpcProtocol(),
  msgpack: async () => new (await import('@tinyrpc/msgpackrpc')).MsgpackRpcProtocol(),
};
