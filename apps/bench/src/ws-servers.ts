// What the WebSocket scenarios share: a `ws` server's port, listening and closing, and the
// rpc-websockets contender.
import { Client as RpcWebSocketsClient, Server as RpcWebSocketsServer } from 'rpc-websockets';
import type { WebSocketServer } from 'ws';
import type { RoundContender } from './rounds.ts';

/** The port a listening `ws` server took. */
export const portOf = (server: WebSocketServer): number =>
  (server.address() as { port: number }).port;

/** Resolves once the `ws` server listens. */
export const listening = (server: WebSocketServer): Promise<void> =>
  new Promise((resolve) => {
    server.once('listening', resolve);
  });

/** Terminates the server's clients and closes it. */
export const closeServer = (server: WebSocketServer): Promise<void> =>
  new Promise((resolve) => {
    for (const client of server.clients) client.terminate();
    server.close(() => {
      resolve();
    });
  });

/** rpc-websockets' server and client, calling `add(1, 2)`. */
export const rpcWebsockets: RoundContender = {
  name: 'rpc-websockets',
  async start() {
    const server = new RpcWebSocketsServer({ port: 0, host: '127.0.0.1' });
    server.register('add', (params) => {
      const [a, b] = params as [number, number];
      return a + b;
    });
    await listening(server.wss);
    const client = new RpcWebSocketsClient(`ws://127.0.0.1:${String(portOf(server.wss))}`, {
      reconnect: false,
    });
    await new Promise<void>((resolve) => {
      client.once('open', resolve);
    });
    return {
      call: () => client.call('add', [1, 2]),
      async stop() {
        client.close();
        await closeServer(server.wss);
      },
    };
  },
};
