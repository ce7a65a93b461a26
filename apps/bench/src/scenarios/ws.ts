// JSON-RPC over one WebSocket connection, server and client in this process, 1 and 256 calls in
// flight. The baseline is the raw `ws` library doing the same work by hand: JSON.parse, call,
// JSON.stringify on the server; a map of pending ids on the client.
import { RpcClient, RpcDispatcher, RpcServer } from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { WsClientTransport, WsServerTransport } from '@tinyrpc/transport-ws';
import { WebSocket, WebSocketServer } from 'ws';
import { measure, type Result, type Scenario } from '../measure.ts';
import { closeServer, listening, portOf, rpcWebsockets } from '../ws-servers.ts';

const add = (a: number, b: number): number => a + b;

interface Contender {
  readonly name: string;
  /** Starts server and client; resolves with one call and a function that stops both. */
  start(): Promise<{ call: () => Promise<unknown>; stop: () => Promise<void> }>;
}

const opened = (ws: { once(event: 'open', listener: () => void): unknown }): Promise<void> =>
  new Promise((resolve) => {
    ws.once('open', resolve);
  });

const raw: Contender = {
  name: 'raw ws + JSON.parse/call/JSON.stringify',
  async start() {
    const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    server.on('connection', (socket) => {
      socket.on('message', (data: Buffer) => {
        const request = JSON.parse(data.toString()) as { id: number; params: [number, number] };
        socket.send(
          JSON.stringify({ jsonrpc: '2.0', id: request.id, result: add(...request.params) }),
        );
      });
    });
    await listening(server);
    const ws = new WebSocket(`ws://127.0.0.1:${String(portOf(server))}`, {
      perMessageDeflate: false,
    });
    const pending = new Map<number, (result: unknown) => void>();
    ws.on('message', (data: Buffer) => {
      const reply = JSON.parse(data.toString()) as { id: number; result: unknown };
      const resolve = pending.get(reply.id);
      pending.delete(reply.id);
      resolve?.(reply.result);
    });
    await opened(ws);
    let nextId = 0;
    return {
      call: () =>
        new Promise((resolve) => {
          const id = ++nextId;
          pending.set(id, resolve);
          ws.send(JSON.stringify({ jsonrpc: '2.0', method: 'add', params: [1, 2], id }));
        }),
      async stop() {
        ws.terminate();
        await closeServer(server);
      },
    };
  },
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
