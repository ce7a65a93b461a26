// JSON-RPC over one WebSocket connection, server and client in this process, 1 and 256 calls in
// flight. The baseline is the raw `ws` library doing the same work by hand: JSON.parse, call,
// JSON.stringify on the server; a map of pending ids on the client.
import { RpcClient, RpcDispatcher, RpcServer } from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { WsClientTransport, WsServerTransport } from '@tinyrpc/transport-ws';
import { measure, type Result, type Scenario } from '../measure.ts';
import { rpcWebsockets, startRawWsAdd } from '../ws-servers.ts';

const add = (a: number, b: number): number => a + b;

interface Contender {
  readonly name: string;
  /** Starts server and client; resolves with one call and a function that stops both. */
  start(): Promise<{ call: () => Promise<unknown>; stop: () => Promise<void> }>;
}

const raw: Contender = {
  name: 'raw ws + JSON.parse/call/JSON.stringify',
  start: () => startRawWsAdd(false),
};

const tinyrpc: Contender = {
  name: '@tinyrpc/transport-ws + RpcServer/RpcClient',
  async start() {
    const transport = new WsServerTransport({ port: 0 });
    const dispatcher = new RpcDispatcher().add('add', add);
    const server = new RpcServer(transport, new JsonRpcProtocol(), dispatcher);
    await server.serve();
    const clientTransport = new WsClientTransport(`ws://127.0.0.1:${String(transport.port)}/`);
    await clientTransport.connect();
    const client = new RpcClient(new JsonRpcProtocol(), clientTransport);
    return {
      call: () => client.call('add', [1, 2]),
      async stop() {
        await client.close();
        await server.close();
      },
    };
  },
};

const scenario = (concurrency: number): Scenario => ({
  name: `WebSocket JSON-RPC add(1, 2), one connection, ${String(concurrency)} in flight`,
  baseline: raw.name,
  async run() {
    const results: Result[] = [];
    for (const contender of [raw, tinyrpc, rpcWebsockets]) {
      const { call, stop } = await contender.start();
      try {
        results.push(await measure(contender.name, call, { concurrency, latencies: true }));
      } finally {
        await stop();
      }
    }
    return results;
  },
});

export const scenarios: Scenario[] = [scenario(1), scenario(256)];
