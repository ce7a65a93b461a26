// What the WebSocket scenarios share: a `ws` server's port, listening and closing, the raw `ws`
// baseline doing `add(1, 2)` by hand, and the rpc-websockets contender.
import type { Duplex } from 'node:stream';
import { Client as RpcWebSocketsClient, Server as RpcWebSocketsServer } from 'rpc-websockets';
import { WebSocket, WebSocketServer } from 'ws';
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

// A send function for `ws` that, when `corked`, corks the TCP socket at the first frame of a tick
// and uncorks it on the next: the frames of one tick leave in one write, as our transport sends.
export function sender(ws: WebSocket, corked: boolean): (text: string) => void {
  const socket = (ws as unknown as { _socket: Duplex })._socket;
  if (!corked)
    return (text) => {
      ws.send(text);
    };
  let pending = false;
  const uncork = (): void => {
    pending = false;
    socket.uncork();
  };
  return (text) => {
    if (!pending) {
      pending = true;
      socket.cork();
      process.nextTick(uncork);
    }
    ws.send(text);
  };
}

const add = (a: number, b: number): number => a + b;

/**
 * The raw `ws` baseline: a server doing JSON.parse, `add`, JSON.stringify by hand and a client with
 * a map of pending ids, calling `add(1, 2)`; `corked`, both send as {@link sender} does.
 */
export async function startRawWsAdd(
  corked: boolean,
): Promise<{ call: () => Promise<unknown>; stop: () => Promise<void> }> {
  const server = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  server.on('connection', (socket) => {
    const send = sender(socket, corked);
    socket.on('message', (data: Buffer) => {
      const request = JSON.parse(data.toString()) as { id: number; params: [number, number] };
      send(JSON.stringify({ jsonrpc: '2.0', id: request.id, result: add(...request.params) }));
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
  await new Promise((resolve) => ws.once('open', resolve));
  const send = sender(ws, corked);
  let nextId = 0;
  return {
    call: () =>
      new Promise((resolve) => {
        const id = ++nextId;
        pending.set(id, resolve);
        send(JSON.stringify({ jsonrpc: '2.0', method: 'add', params: [1, 2], id }));
      }),
    async stop() {
      ws.terminate();
      await closeServer(server);
    },
  };
}

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
