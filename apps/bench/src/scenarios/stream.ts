// JSON-RPC over a TCP connection on 127.0.0.1: tinyrpc's stream transport with both framings,
// against a hand-written NDJSON client and server on node:net (the baseline: the least any
// multiplexed JSON-RPC over a socket must do).
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { RpcClient, RpcDispatcher, RpcServer } from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import {
  StreamClientTransport,
  StreamServerTransport,
  type Framing,
} from '@tinyrpc/transport-stream';
import { measure, type Result, type Scenario } from '../measure.ts';

const BASELINE = 'raw node:net + NDJSON';

interface Contender {
  readonly call: () => Promise<unknown>;
  close(): Promise<void>;
}

const listening = (server: Server): Promise<number> =>
  new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve((server.address() as AddressInfo).port);
    });
  });

// Reads newline-delimited lines from a socket.
function onLines(socket: Socket, handle: (line: string) => void): void {
  let buffered = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    let end: number;
    while ((end = buffered.indexOf('\n')) !== -1) {
      handle(buffered.slice(0, end));
      buffered = buffered.slice(end + 1);
    }
  });
}

async function raw(method: string, params: unknown[]): Promise<Contender> {
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    onLines(socket, (line) => {
      const request = JSON.parse(line) as { id: number; method: string; params: unknown[] };
      const [a, b] = request.params as [number, number];
      const result = request.method === 'add' ? a + b : a;
      socket.write(`${JSON.stringify({ jsonrpc: '2.0', id: request.id, result })}\n`);
    });
  });
  const port = await listening(server);
  const socket = connect({ port, host: '127.0.0.1' });
  socket.setNoDelay(true);
  await new Promise((resolve) => socket.once('connect', resolve));
  const pending = new Map<number, (result: unknown) => void>();
  onLines(socket, (line) => {
    const reply = JSON.parse(line) as { id: number; result: unknown };
    pending.get(reply.id)?.(reply.result);
    pending.delete(reply.id);
  });
  let nextId = 0;
  return {
    call: () =>
      new Promise((resolve) => {
        const id = ++nextId;
        pending.set(id, resolve);
        socket.write(`${JSON.stringify({ jsonrpc: '2.0', method, params, id })}\n`);
      }),
    async close() {
      socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

async function tinyrpc(framing: Framing, method: string, params: unknown[]): Promise<Contender> {
  const dispatcher = new RpcDispatcher()
    .add('add', (a: number, b: number) => a + b)
    .add('echo', (value: unknown) => value);
  const transport = new StreamServerTransport({ port: 0, framing });
  const server = new RpcServer(transport, new JsonRpcProtocol(), dispatcher);
  await server.serve();
  const { port } = transport.address as AddressInfo;
  const client = new RpcClient(
    new JsonRpcProtocol(),
    await StreamClientTransport.connect({ port, framing }),
  );
  return {
    call: () => client.call(method, params),
    async close() {
      await client.close();
      await server.close();
    },
  };
}

function scenario(title: string, method: string, params: unknown[], concurrency: number): Scenario {
  return {
    name: title,
    baseline: BASELINE,
    async run() {
      const contenders: [string, () => Promise<Contender>][] = [
        [BASELINE, () => raw(method, params)],
        ['@tinyrpc/transport-stream, newline', () => tinyrpc('newline', method, params)],
        [
          '@tinyrpc/transport-stream, content-length',
          () => tinyrpc('content-length', method, params),
        ],
      ];
      const results: Result[] = [];
      for (const [name, start] of contenders) {
        const contender = await start();
        try {
          results.push(await measure(name, contender.call, { concurrency, latencies: true }));
        } finally {
          await contender.close();
        }
      }
      return results;
    },
  };
}

export const scenarios: Scenario[] = [
  scenario('TCP JSON-RPC, small call add(1, 2), one at a time', 'add', [1, 2], 1),
  scenario('TCP JSON-RPC, small call add(1, 2), 32 in flight', 'add', [1, 2], 32),
  scenario('TCP JSON-RPC, 64 KiB payload echo, 8 in flight', 'echo', ['x'.repeat(65_536)], 8),
];
