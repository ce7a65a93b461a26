// One suite, run over every transport this package can reach without a transport package: the
// memory transport (request/reply) and core's callback transports over a worker_threads
// MessageChannel (multiplexed, structured-clone copies of the bytes, replies matched by msgid).
import { MessageChannel } from 'node:worker_threads';
import {
  CallbackClientTransport,
  CallbackServerTransport,
  InvalidParamsError,
  RemoteError,
  RpcClient,
  RpcDispatcher,
  RpcError,
  RpcServer,
  RpcTimeoutError,
  createMemoryTransport,
  type ClientTransport,
  type Message,
  type RpcServerOptions,
  type ServerTransport,
} from '@tinyrpc/core';
import { MsgpackRpcProtocol, type MsgpackRpcProtocolOptions } from '@tinyrpc/msgpackrpc';
import { exchange, portChannel } from '@tinyrpc/test-helpers';
import { pack, unpack } from 'msgpackr';
import { afterEach, describe, expect, it } from 'vitest';

interface Link {
  readonly client: ClientTransport;
  readonly server: ServerTransport;
  /** Sends raw bytes and resolves with the raw reply, or `undefined` when none came in 200 ms. */
  raw(message: Message): Promise<Message | undefined>;
  close(): void;
}

const links: [string, () => Link][] = [
  [
    'memory transport',
    () => {
      const { client, server } = createMemoryTransport();
      return {
        client,
        server,
        raw: (message) => exchange(client, message),
        close() {},
      };
    },
  ],
  [
    'callback transport over a worker_threads MessageChannel',
    () => {
      const { port1, port2 } = new MessageChannel();
      const channel = portChannel(port1);
      return {
        client: new CallbackClientTransport(channel),
        server: new CallbackServerTransport(portChannel(port2)),
        raw: (message) =>
          new Promise((resolve) => {
            const timer = setTimeout(() => {
              stop();
              resolve(undefined);
            }, 200);
            const stop = channel.subscribe((reply) => {
              clearTimeout(timer);
              stop();
              resolve(reply);
            });
            channel.send(message);
          }),
        close() {
          port1.close();
          port2.close();
        },
      };
    },
  ],
];

const wait = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(links)('MessagePack-RPC over the %s', (_, makeLink) => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  const notes: unknown[] = [];
  const received: Message[] = [];

  function dispatcher(): RpcDispatcher {
    notes.length = 0;
    return new RpcDispatcher()
      .add('add', (a: number, b: number) => a + b)
      .add('echo', (value: unknown) => value)
      .add('describe', (value: unknown) =>
        value instanceof Uint8Array ? `bytes:${String(value.length)}` : typeof value,
      )
      .add('nothing', () => undefined)
      .add('slow', async (ms: number, value: unknown) => {
        await wait(ms);
        return value;
      })
      .add('fail', () => {
        throw new RpcError('Out of stock', { code: 4001, data: { sku: 'a-1' } });
      })
      .add('boom', () => {
        throw new Error('kaboom');
      })
      .add('symbol', () => Symbol('not encodable'))
      .add('strict', (a: number, b: number) => a * b, { params: ['a', 'b'] })
      .add('note', (value: unknown) => {
        notes.push(value);
      });
  }

  async function start(
    options: MsgpackRpcProtocolOptions = {},
    serverOptions: RpcServerOptions = {},
  ): Promise<{ client: RpcClient; link: Link; errors: RpcError[] }> {
    const link = makeLink();
    received.length = 0;
    const server = new RpcServer(link.server, new MsgpackRpcProtocol(options), dispatcher(), {
      trace: (direction, _context, message) => {
        if (direction === '-->') received.push(message);
      },
      ...serverOptions,
    });
    await server.serve();
    const errors: RpcError[] = [];
    const client = new RpcClient(new MsgpackRpcProtocol(options), link.client, {
      onError: (error) => errors.push(error),
    });
    cleanups.push(() => {
      link.close();
    });
    cleanups.push(() => server.close());
    cleanups.push(() => client.close());
    return { client, link, errors };
  }

  it('calls with positional params; messages travel as bytes', async () => {
    const { client } = await start();
    expect(await client.call('add', [1, 2])).toBe(3);
    expect(received.length).toBe(1);
    expect(received[0]).toBeInstanceOf(Uint8Array);
  });

  it('carries strings, bytes, maps, nil and numbers faithfully', async () => {
    const { client } = await start();
    const bytes = new Uint8Array([0, 1, 2, 254, 255]);
    expect(await client.call('describe', [bytes])).toBe('bytes:5');
    expect(await client.call('describe', ['text'])).toBe('string');
    const back = await client.call<Uint8Array>('echo', [bytes]);
    expect(back).toBeInstanceOf(Uint8Array);
    expect([...back]).toEqual([...bytes]);
    const value = { text: 'héllo ✓', list: [1, -1, 0.5, null, true], nested: { deep: ['x'] } };
    expect(await client.call('echo', [value])).toEqual(value);
    expect(await client.call('nothing')).toBeNull();
    expect(await client.call('echo', [2 ** 40])).toBe(2 ** 40);
    expect(await client.call('echo', [-(2 ** 53) + 1])).toBe(-(2 ** 53) + 1);
    expect(await client.call('echo', [2n ** 63n - 1n])).toBe(2n ** 63n - 1n);
    expect(await client.call('echo', [2n ** 64n - 1n])).toBe(2n ** 64n - 1n);
    const date = new Date(1_700_000_000_123);
    expect(await client.call('echo', [date])).toEqual(date);
  });

  it('calls through a typed proxy', async () => {
    const { client } = await start();
    const remote = client.getProxy<{ add(a: number, b: number): number }>();
    expect(await remote.add(20, 22)).toBe(42);
  });

  it('answers a method error with its code and message, without data by default', async () => {
    const { client } = await start();
    const error = await client.call('fail').catch((e: unknown) => e);
    expect(RemoteError.is(error)).toBe(true);
    expect(error).toMatchObject({ code: 4001, message: 'Out of stock', data: undefined });
  });

  it('carries error data when errorData is on', async () => {
    const { client } = await start({ errorData: true });
    await expect(client.call('fail')).rejects.toMatchObject({
      code: 4001,
      message: 'Out of stock',
      data: { sku: 'a-1' },
    });
  });

  it('answers other failures as server errors, method-not-found and invalid params', async () => {
    const { client } = await start();
    await expect(client.call('boom')).rejects.toMatchObject({ code: -32000, message: 'kaboom' });
    await expect(client.call('missing')).rejects.toMatchObject({
      code: -32601,
      message: 'Method not found',
    });
    await expect(client.call('strict', [1, 2, 3])).rejects.toMatchObject({ code: -32602 });
    await expect(client.call('toString')).rejects.toMatchObject({ code: -32601 });
  });

  it('hides messages of unexpected errors when the server says so', async () => {
    const { client } = await start({}, { hideErrorMessages: true });
    await expect(client.call('boom')).rejects.toMatchObject({
      code: -32000,
      message: 'Server error',
    });
  });

  it('answers a result msgpack cannot carry with an internal error', async () => {
    const { client } = await start();
    await expect(client.call('symbol')).rejects.toMatchObject({
      code: -32603,
      message: 'Result could not be encoded',
    });
    expect(await client.call('add', [1, 1])).toBe(2);
  });

  it('refuses params msgpack cannot carry before sending, leaving nothing pending', async () => {
    const { client } = await start();
    await expect(client.call('echo', [Symbol('x')])).rejects.toThrow(TypeError);
    await expect(client.call('echo', [2n ** 64n])).rejects.toThrow(/cannot encode/);
    expect(client.pendingCount).toBe(0);
    expect(received).toHaveLength(0);
  });

  it('delivers notifications and answers nothing', async () => {
    const { client, errors } = await start();
    await client.notify('note', ['first']);
    await client.getProxy<{ note(value: string): void }>({ oneWay: true }).note('second');
    // A call after the notifications: its reply is the only one, and it comes after them.
    expect(await client.call('add', [0, 0])).toBe(0);
    await wait(20);
    expect(notes).toEqual(['first', 'second']);
    expect(errors).toEqual([]);
  });

  it('runs many calls at once and matches out-of-order replies by msgid', async () => {
    const { client } = await start();
    const delays = Array.from({ length: 24 }, (_, i) => (i * 7) % 40);
    const results = await Promise.all(delays.map((ms, i) => client.call('slow', [ms, i])));
    expect(results).toEqual(delays.map((_, i) => i));
    expect(client.pendingCount).toBe(0);
  });

  it('has no batches: batch() says so, callAll() works', async () => {
    const { client } = await start();
    await expect(client.batch([{ method: 'add', params: [1, 2] }])).rejects.toThrow(
      /no batch requests; use callAll\(\)/,
    );
    const outcomes = await client.callAll([
      { method: 'add', params: [1, 2] },
      { method: 'missing' },
    ]);
    expect(outcomes[0]).toEqual({ status: 'fulfilled', value: 3 });
    expect(outcomes[1]).toMatchObject({ status: 'rejected', reason: { code: -32601 } });
  });

  it('refuses named params by default and takes them with namedParams on both sides', async () => {
    const { client } = await start();
    await expect(client.call('strict', { a: 2, b: 3 })).rejects.toBeInstanceOf(InvalidParamsError);
    expect(received).toHaveLength(0);
    const named = await start({ namedParams: true });
    expect(await named.client.call('strict', { a: 2, b: 3 })).toBe(6);
  });

  it('times out a slow call and leaves nothing pending', async () => {
    const { client } = await start();
    await expect(client.call('slow', [300, 'late'], { timeout: 30 })).rejects.toBeInstanceOf(
      RpcTimeoutError,
    );
    expect(client.pendingCount).toBe(0);
  });

  it('answers bad bytes with error responses and keeps serving', async () => {
    const { client, link } = await start();
    const answers: [Message, unknown][] = [
      [Buffer.from('c1', 'hex'), [1, null, [-32700, 'Parse error'], null]],
      [Buffer.from('9400', 'hex'), [1, null, [-32700, 'Parse error'], null]],
      [pack([0, 5, 'add']), [1, 5, [-32600, expect.stringMatching(/4 elements/)], null]],
      [pack([0, 6, 7, []]), [1, 6, [-32600, expect.stringMatching(/method/)], null]],
      [pack([0, 7, 'add', 'x']), [1, 7, [-32602, expect.stringMatching(/array/)], null]],
      [pack({ jsonrpc: '2.0' }), [1, null, [-32600, expect.any(String)], null]],
    ];
    for (const [message, expected] of answers) {
      const reply = await link.raw(message);
      expect(reply).toBeInstanceOf(Uint8Array);
      expect(unpack(reply as Uint8Array)).toEqual(expected);
    }
    expect(await client.call('add', [2, 2])).toBe(4);
  });

  it('answers a well-formed notification for a missing method with nothing', async () => {
    const { link } = await start();
    expect(await link.raw(pack([2, 'missing', []]))).toBeUndefined();
  });
});
