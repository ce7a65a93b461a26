// The server of the JSON-RPC 2.0 specification's examples, over the memory transport, driven with
// raw request texts so that tests see exactly what goes over the wire.
import {
  createMemoryTransport,
  RpcDispatcher,
  RpcServer,
  type Message,
  type RpcServerOptions,
} from '@tinyrpc/core';
import { JsonRpcProtocol, type JsonRpcProtocolOptions } from '@tinyrpc/jsonrpc';

export interface SpecServer {
  readonly server: RpcServer;
  readonly dispatcher: RpcDispatcher;
  /** Methods the server ran, with their arguments, in order: notifications leave a trace here. */
  readonly calls: [string, unknown[]][];
  /** Sends `message` as it is; resolves with the parsed reply, or `undefined` when none came. */
  send(message: Message): Promise<unknown>;
  /** Sends `message` as it is; resolves with the raw reply. */
  sendRaw(message: Message): Promise<Message | undefined>;
}

export async function startSpecServer(
  options: { protocol?: JsonRpcProtocolOptions; server?: RpcServerOptions } = {},
): Promise<SpecServer> {
  const calls: [string, unknown[]][] = [];
  const record = <A extends unknown[], R>(name: string, fn: (...args: A) => R) =>
    // Keeps `length`: the dispatcher counts required arguments by it.
    Object.defineProperty(
      (...args: A): R => {
        calls.push([name, args]);
        return fn(...args);
      },
      'length',
      { value: fn.length },
    );
  const dispatcher = new RpcDispatcher()
    .add(
      'subtract',
      record('subtract', (minuend: number, subtrahend: number) => minuend - subtrahend),
      { params: ['minuend', 'subtrahend'] },
    )
    .add(
      'sum',
      record('sum', (...numbers: number[]) => numbers.reduce((a, b) => a + b, 0)),
    )
    .add(
      'update',
      record('update', () => undefined),
    )
    .add(
      'notify_hello',
      record('notify_hello', () => undefined),
    )
    .add(
      'notify_sum',
      record('notify_sum', (...numbers: number[]) => numbers.length),
    )
    .add(
      'get_data',
      record('get_data', () => ['hello', 5]),
    )
    .add(
      'echo',
      record('echo', (value: unknown) => value),
    );
  const { server: transport } = createMemoryTransport();
  const server = new RpcServer(
    transport,
    new JsonRpcProtocol(options.protocol),
    dispatcher,
    options.server,
  );
  await server.serve();
  const sendRaw = (message: Message) => server.handle(message);
  return {
    server,
    dispatcher,
    calls,
    sendRaw,
    async send(message) {
      const reply = await sendRaw(message);
      if (reply === undefined) return undefined;
      if (typeof reply !== 'string') throw new TypeError('JsonRpcProtocol replies with strings');
      return JSON.parse(reply) as unknown;
    },
  };
}
