// MessagePack-RPC against JSON-RPC: in-process request handling (message in, reply out, no
// transport) for a small call, a 1 KB and a 64 KB payload, with the raw libraries doing the same
// parse/call/encode as the limits; then whole calls over core's callback transport on a
// worker_threads MessageChannel (structured clone of the message both ways).
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import {
  CallbackClientTransport,
  CallbackServerTransport,
  RpcClient,
  RpcDispatcher,
  RpcServer,
  type CallbackChannel,
  type Message,
  type RpcProtocol,
  type ServerTransport,
} from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { defaultMsgpackrOptions, MsgpackRpcProtocol } from '@tinyrpc/msgpackrpc';
import { Packr, type Options } from 'msgpackr';
import { measure, type Result, type Scenario } from '../measure.ts';

const add = (a: number, b: number): number => a + b;
const echo = (value: string): string => value;
const methods: Record<string, (...args: never[]) => unknown> = { add, echo };

// The same standard-MessagePack settings the protocol uses, without its checks and walks.
const packr = new Packr({ ...defaultMsgpackrOptions } as Options);
const unused: ServerTransport = {
  specificationVersion: 1,
  listen: () => Promise.resolve(),
  close: () => Promise.resolve(),
};
const dispatcher = new RpcDispatcher().add('add', add).add('echo', echo);

/** 1024 distinct request messages, made before timing starts; `next()` cycles through them. */
function requests<T>(make: (id: number) => T): () => T {
  const list = Array.from({ length: 1024 }, (_, i) => make(i + 1));
  let next = 0;
  return () => list[next++ & 1023] as T;
}

function inProcess(method: 'add' | 'echo', params: unknown[]): [string, () => Promise<unknown>][] {
  const msgpackRequest = requests((id) => packr.pack([0, id, method, params]));
  const jsonRequest = requests((id) => JSON.stringify({ jsonrpc: '2.0', method, params, id }));
  const msgpackServer = new RpcServer(unused, new MsgpackRpcProtocol(), dispatcher);
  const jsonServer = new RpcServer(unused, new JsonRpcProtocol(), dispatcher);

  const rawMsgpack = async (bytes: Uint8Array): Promise<Uint8Array> => {
    const [, id, name, args] = packr.unpack(bytes) as [0, number, string, never[]];
    return packr.pack([1, id, null, (methods[name] as (...a: never[]) => unknown)(...args)]);
  };
  const rawJson = async (text: string): Promise<string> => {
    const r = JSON.parse(text) as { id: number; method: string; params: never[] };
    const result = (methods[r.method] as (...a: never[]) => unknown)(...r.params);
    return JSON.stringify({ jsonrpc: '2.0', id: r.id, result });
  };

  return [
    ['raw msgpackr unpack/call/pack', () => rawMsgpack(msgpackRequest())],
    ['@tinyrpc/msgpackrpc + RpcServer', () => msgpackServer.handle(msgpackRequest())],
    ['raw JSON.parse/call/JSON.stringify', () => rawJson(jsonRequest())],
    ['@tinyrpc/jsonrpc + RpcServer', () => jsonServer.handle(jsonRequest())],
  ];
}

function portChannel(port: MessagePort): CallbackChannel {
  return {
    send(message) {
      port.postMessage(message);
    },
    subscribe(listener) {
      const onMessage = (message: Message): void => {
        listener(message);
      };
      port.on('message', onMessage);
      return () => port.off('message', onMessage);
    },
  };
}

async function overChannel(
  name: string,
  protocol: () => RpcProtocol,
  method: 'add' | 'echo',
  params: unknown[],
): Promise<Result> {
  const { port1, port2 } = new MessageChannel();
  const server = new RpcServer(
    new CallbackServerTransport(portChannel(port2)),
    protocol(),
    dispatcher,
  );
  await server.serve();
  const client = new RpcClient(protocol(), new CallbackClientTransport(portChannel(port1)));
  try {
    return await measure(name, () => client.call(method, params), { latencies: true });
  } finally {
    await client.close();
    await server.close();
    port1.close();
    port2.close();
  }
}

// The raw limit over the channel: msgpackr-encoded call and reply, one at a time. The bytes are
// copied out of msgpackr's shared buffer (into Node's pool when small), as the protocol does once
// that buffer has grown: posting a view would clone all of it.
const packCopy = (value: unknown): Uint8Array => Buffer.from(packr.pack(value));

async function rawOverChannel(method: 'add' | 'echo', params: unknown[]): Promise<Result> {
  const { port1, port2 } = new MessageChannel();
  port2.on('message', (bytes: Uint8Array) => {
    const [, id, name, args] = packr.unpack(bytes) as [0, number, string, never[]];
    port2.postMessage(
      packCopy([1, id, null, (methods[name] as (...a: never[]) => unknown)(...args)]),
    );
  });
  let id = 0;
  const call = (): Promise<unknown> =>
    new Promise((resolve) => {
      port1.once('message', (bytes: Uint8Array) => {
        resolve((packr.unpack(bytes) as unknown[])[3]);
      });
      port1.postMessage(packCopy([0, ++id, method, params]));
    });
  try {
    return await measure('raw msgpackr over the MessageChannel', call, { latencies: true });
  } finally {
    port1.close();
    port2.close();
  }
}

const inProcessScenario = (title: string, method: 'add' | 'echo', params: unknown[]): Scenario => ({
  name: `in-process MessagePack-RPC vs JSON-RPC, ${title}`,
  baseline: 'raw msgpackr unpack/call/pack',
  async run() {
    const results = [];
    for (const [name, operation] of inProcess(method, params))
      results.push(await measure(name, operation));
    return results;
  },
});

const channelScenario = (title: string, method: 'add' | 'echo', params: unknown[]): Scenario => ({
  name: `MessagePack-RPC vs JSON-RPC over a MessageChannel (callback transport), ${title}`,
  baseline: 'raw msgpackr over the MessageChannel',
  async run() {
    return [
      await rawOverChannel(method, params),
      await overChannel(
        '@tinyrpc/msgpackrpc + RpcClient/RpcServer',
        () => new MsgpackRpcProtocol(),
        method,
        params,
      ),
      await overChannel(
        '@tinyrpc/jsonrpc + RpcClient/RpcServer',
        () => new JsonRpcProtocol(),
        method,
        params,
      ),
    ];
  },
});

const kilobyte = 'x'.repeat(1024);
const sixtyFourKilobytes = 'x'.repeat(64 * 1024);

export const scenarios: Scenario[] = [
  inProcessScenario('small call add(1, 2)', 'add', [1, 2]),
  inProcessScenario('1 KB payload echo', 'echo', [kilobyte]),
  inProcessScenario('64 KB payload echo', 'echo', [sixtyFourKilobytes]),
  channelScenario('small call add(1, 2)', 'add', [1, 2]),
  channelScenario('64 KB payload echo', 'echo', [sixtyFourKilobytes]),
];
