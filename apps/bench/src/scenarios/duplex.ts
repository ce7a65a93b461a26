// Calls in both directions over one connection (issue 13), WebSocket and TCP stream, server and
// client in this process: RpcPeer against RpcClient on the same transport, the server calling its
// client (through `onConnection`) against the client calling the server, and, over WebSocket, our
// client against a raw `ws` baseline that corks the frames of one tick into one socket write (the
// fair limit: our transport does the same) and against rpc-websockets at 1 in flight.
import type { AddressInfo } from 'node:net';
import {
  RpcClient,
  RpcDispatcher,
  RpcPeer,
  RpcServer,
  type Connection,
  type ServerTransport,
} from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { StreamClientTransport, StreamServerTransport } from '@tinyrpc/transport-stream';
import { WsClientTransport, WsServerTransport } from '@tinyrpc/transport-ws';
import type { Result, Scenario } from '../measure.ts';
import { rpcWebsockets, startRawWsAdd } from '../ws-servers.ts';
import { interleavedRounds, type RoundContender } from '../rounds.ts';

const add = (a: number, b: number): number => a + b;
const protocol = new JsonRpcProtocol();
const methods = (): RpcDispatcher => new RpcDispatcher().add('add', add);

interface Pair {
  readonly serverTransport: ServerTransport;
  connect(): Promise<Connection>;
}

const wsPair = (): Pair => {
  const serverTransport = new WsServerTransport({ port: 0 });
  return {
    serverTransport,
    async connect() {
      const connection = new WsClientTransport(`ws://127.0.0.1:${String(serverTransport.port)}/`);
      await connection.connect();
      return connection;
    },
  };
};

const streamPair = (): Pair => {
  const serverTransport = new StreamServerTransport({ port: 0 });
  return {
    serverTransport,
    connect: () =>
      StreamClientTransport.connect({ port: (serverTransport.address as AddressInfo).port }),
  };
};

const clientToServer = (name: string, makePair: () => Pair, asPeer: boolean): RoundContender => ({
  name,
  async start() {
    const pair = makePair();
    const server = new RpcServer(pair.serverTransport, protocol, methods());
    await server.serve();
    const connection = await pair.connect();
    const client = asPeer ? new RpcPeer(connection, protocol) : new RpcClient(protocol, connection);
    return {
      call: () => client.call('add', [1, 2]),
      async stop() {
        await client.close();
        await server.close();
      },
    };
  },
});

// The server calls the client: the client is an RpcPeer serving `add`, the server's peer of its
// connection (from onConnection) makes the calls.
const serverToClient = (name: string, makePair: () => Pair): RoundContender => ({
  name,
  async start() {
    const pair = makePair();
    const server = new RpcServer(pair.serverTransport, protocol, new RpcDispatcher());
    const connected = new Promise<RpcPeer>((resolve) => {
      server.onConnection(resolve);
    });
    await server.serve();
    const client = new RpcPeer(await pair.connect(), protocol, { dispatcher: methods() });
    const peer = await connected;
    return {
      call: () => peer.call('add', [1, 2]),
      async stop() {
        await client.close();
        await server.close();
      },
    };
  },
});

const rawWs = (name: string, corked: boolean): RoundContender => ({
  name,
  start: () => startRawWsAdd(corked),
});

const CLIENT = 'RpcClient → server';
const PEER = 'RpcPeer → server';
const BACK = 'server peer.call → client RpcPeer';
const CORKED = 'raw ws, frames of a tick corked';

/** Prints `a / b` for each named pair, the figures the goals are about. */
function ratios(results: readonly Result[], pairs: readonly [string, string, string][]): void {
  const rate = (name: string): number => results.find((r) => r.name === name)?.opsPerSecond ?? NaN;
  for (const [label, a, b] of pairs) console.log(`- ${label}: ${(rate(a) / rate(b)).toFixed(2)}`);
}

const duplex = (transport: string, makePair: () => Pair, ws: boolean): Scenario => ({
  name: `${transport} add(1, 2), one connection, 256 in flight, both directions`,
  baseline: ws ? CORKED : CLIENT,
  async run() {
    const contenders = [
      ...(ws ? [rawWs(CORKED, true), rawWs('raw ws, frame by frame', false)] : []),
      clientToServer(CLIENT, makePair, false),
      clientToServer(PEER, makePair, true),
      serverToClient(BACK, makePair),
    ];
    const results = await interleavedRounds(`${transport}, 256 in flight`, contenders, {
      concurrency: 256,
    });
    console.log(`\nRatios (${transport}, 256 in flight):`);
    ratios(results, [
      ['RpcPeer ÷ RpcClient (goal ≥ 0.95)', PEER, CLIENT],
      ['server→client ÷ client→server (goal ≥ 0.9)', BACK, PEER],
      ...(ws
        ? [['RpcClient ÷ corked raw ws (goal ≥ 0.95)', CLIENT, CORKED] as [string, string, string]]
        : []),
    ]);
    return results;
  },
});

const oneInFlight: Scenario = {
  name: 'WebSocket add(1, 2), one connection, 1 in flight',
  baseline: 'raw ws, frame by frame',
  async run() {
    const results = await interleavedRounds(
      'WebSocket, 1 in flight',
      [
        rawWs('raw ws, frame by frame', false),
        clientToServer(CLIENT, wsPair, false),
        clientToServer(PEER, wsPair, true),
        rpcWebsockets,
      ],
      { concurrency: 1 },
    );
    console.log('\nRatios (WebSocket, 1 in flight):');
    ratios(results, [['RpcClient ÷ rpc-websockets (goal: level)', CLIENT, 'rpc-websockets']]);
    return results;
  },
};

export const scenarios: Scenario[] = [
  duplex('WebSocket', wsPair, true),
  duplex('TCP stream', streamPair, false),
  oneInFlight,
];
