import { getEventListeners } from 'node:events';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  clientTransportBrand,
  createMemoryTransport,
  InvalidReplyError,
  RemoteError,
  RpcClient,
  RpcDispatcher,
  RpcError,
  RpcServer,
  RpcTimeoutError,
  setBrand,
  TransportError,
  UnexpectedIdError,
  type CallContext,
  type ClientTransport,
  type ClientTransportListener,
  type Message,
  type RpcClientOptions,
  type TraceDirection,
} from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { createChannelPair, deferred, type ChannelPair } from './channel-pair.ts';

const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  vi.useRealTimers();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Methods the tests call; `hang` answers only when released, or when the server closes. */
function service() {
  const hanging = deferred();
  const notified: unknown[][] = [];
  const dispatcher = new RpcDispatcher()
    .add('add', (a: number, b: number) => a + b, { params: ['a', 'b'] })
    .add('fail', (code: number) => {
      throw new RpcError('failed on purpose', { code, data: { code } });
    })
    .add('note', (...args: unknown[]) => {
      notified.push(args);
    })
    .add('math.mul', (a: number, b: number) => a * b)
    .add(
      'hang',
      async (context: CallContext) => {
        await Promise.race([
          hanging.promise,
          new Promise((resolve) => {
            context.signal.addEventListener('abort', resolve);
          }),
        ]);
        return 'released';
      },
      { context: true },
    )
    .add('sleep', async (ms: number, value: unknown) => {
      await new Promise((resolve) => setTimeout(resolve, ms));
      return value;
    });
  return {
    dispatcher,
    notified,
    release: () => {
      hanging.resolve();
    },
  };
}

type Kind = 'memory (request/reply)' | 'MessageChannel (multiplexed)';

async function connect(kind: Kind, options: RpcClientOptions = {}) {
  const { dispatcher, notified, release } = service();
  const serverTraffic: [TraceDirection, string][] = [];
  let pair: ChannelPair | undefined;
  const transports =
    kind === 'memory (request/reply)' ? createMemoryTransport() : (pair = createChannelPair());
  const server = new RpcServer(transports.server, new JsonRpcProtocol(), dispatcher, {
    trace: (direction, _context, message) => {
      serverTraffic.push([direction, message as string]);
    },
  });
  await server.serve();
  const client = new RpcClient(new JsonRpcProtocol(), transports.client, options);
  cleanups.push(async () => {
    release();
    await server.close();
    pair?.close();
  });
  return { client, server, notified, release, serverTraffic };
}

const kinds: Kind[] = ['memory (request/reply)', 'MessageChannel (multiplexed)'];

describe.each(kinds)('RpcClient over %s', (kind) => {
  it('call() resolves results, with positional or named params', async () => {
    const { client } = await connect(kind);
    expect(await client.call('add', [1, 2])).toBe(3);
    expect(await client.call<number>('add', { b: 5, a: 2 })).toBe(7);
  });

  it('call() rejects with the server’s error as a RemoteError', async () => {
    const { client } = await connect(kind);
    const error = await client.call('fail', [4001]).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RemoteError);
    expect(error).toMatchObject({ code: 4001, message: 'failed on purpose', data: { code: 4001 } });
    await expect(client.call('missing')).rejects.toMatchObject({ code: -32601 });
  });

  it('notify() sends a notification that runs and answers nothing', async () => {
    const { client, notified, serverTraffic } = await connect(kind);
    await expect(client.notify('note', ['hi'])).resolves.toBeUndefined();
    await vi.waitFor(() => {
      expect(notified).toEqual([['hi']]);
    });
    expect(serverTraffic).toEqual([['-->', '{"jsonrpc":"2.0","method":"note","params":["hi"]}']]);
  });

  it('callAll() settles every call in order; one failure fails no other', async () => {
    const { client } = await connect(kind);
    const results = await client.callAll([
      { method: 'add', params: [1, 1] },
      { method: 'fail', params: [7] },
      { method: 'missing' },
      { method: 'add', params: { a: 2, b: 2 } },
    ]);
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'rejected',
      'rejected',
      'fulfilled',
    ]);
    expect(results[0]).toEqual({ status: 'fulfilled', value: 2 });
    expect(results[3]).toEqual({ status: 'fulfilled', value: 4 });
    expect((results[1] as PromiseRejectedResult).reason).toMatchObject({ code: 7 });
    expect((results[2] as PromiseRejectedResult).reason).toMatchObject({ code: -32601 });
  });

  it('batch() sends one message and settles each call in order', async () => {
    const { client, serverTraffic, notified } = await connect(kind);
    const results = await client.batch([
      { method: 'add', params: [1, 2] },
      { method: 'note', params: [1], oneWay: true },
      { method: 'fail', params: [9] },
      { method: 'add', params: { a: 3, b: 4 } },
    ]);
    expect(results[0]).toEqual({ status: 'fulfilled', value: 3 });
    expect(results[1]).toEqual({ status: 'fulfilled', value: undefined });
    expect(results[2]).toMatchObject({ status: 'rejected', reason: { code: 9 } });
    expect(results[3]).toEqual({ status: 'fulfilled', value: 7 });
    expect(notified).toEqual([[1]]);
    expect(serverTraffic.filter(([d]) => d === '-->')).toHaveLength(1);
    expect(JSON.parse(serverTraffic[0]![1])).toHaveLength(4);
  });

  it('batch() of notifications only resolves undefined for each, with no reply', async () => {
    const { client, notified, serverTraffic } = await connect(kind);
    const results = await client.batch([
      { method: 'note', params: [1], oneWay: true },
      { method: 'note', params: [2], oneWay: true },
    ]);
    expect(results).toEqual([
      { status: 'fulfilled', value: undefined },
      { status: 'fulfilled', value: undefined },
    ]);
    await vi.waitFor(() => {
      expect(notified).toEqual([[1], [2]]);
    });
    expect(serverTraffic.map(([d]) => d)).toEqual(['-->']);
    expect(client.pendingCount).toBe(0);
  });

  it('batch() of nothing is refused', async () => {
    const { client } = await connect(kind);
    await expect(client.batch([])).rejects.toBeInstanceOf(RpcError);
  });

  it('getProxy() calls by name, with a prefix, one-way, and can be awaited', async () => {
    const { client, notified, serverTraffic } = await connect(kind);
    const remote = client.getProxy<{ add(a: number, b: number): number }>();
    expect(await remote.add(2, 3)).toBe(5);
    const math = client.getProxy<{ mul(a: number, b: number): number }>({ prefix: 'math.' });
    expect(await math.mul(2, 3)).toBe(6);
    const oneWay = client.getProxy<{ note(x: string): void }>({ oneWay: true });
    await expect(oneWay.note('x')).resolves.toBeUndefined();
    await vi.waitFor(() => {
      expect(notified).toEqual([['x']]);
    });
    const before = serverTraffic.length;
    // eslint-disable-next-line @typescript-eslint/await-thenable -- awaiting it is the point
    expect(await remote).toBe(remote);
    expect(serverTraffic).toHaveLength(before);
  });

  it('trace sees the raw messages both ways on client and server', async () => {
    const clientTraffic: [TraceDirection, string][] = [];
    const { client, serverTraffic } = await connect(kind, {
      trace: (direction, _context, message) => {
        clientTraffic.push([direction, message as string]);
      },
    });
    await client.call('add', [1, 2]);
    const request = '{"jsonrpc":"2.0","method":"add","params":[1,2],"id":1}';
    const reply = '{"jsonrpc":"2.0","id":1,"result":3}';
    expect(clientTraffic).toEqual([
      ['-->', request],
      ['<--', reply],
    ]);
    expect(serverTraffic).toEqual([
      ['-->', request],
      ['<--', reply],
    ]);
  });

  it('runs calls concurrently on the server', async () => {
    const { client, server } = await connect(kind);
    // Each call waits until all three are running at once; run one after the other, the first
    // would wait in vain and answer 'alone' after a second.
    let active = 0;
    let peak = 0;
    const allIn = deferred();
    server.dispatcher.add('meet', async (name: string) => {
      active++;
      peak = Math.max(peak, active);
      if (active === 3) allIn.resolve();
      let timer: NodeJS.Timeout | undefined;
      const met = await Promise.race([
        allIn.promise.then(() => true),
        new Promise<boolean>((resolve) => (timer = setTimeout(resolve, 1000, false))),
      ]);
      clearTimeout(timer);
      active--;
      return met ? name : 'alone';
    });
    const results = await Promise.all(['a', 'b', 'c'].map((name) => client.call('meet', [name])));
    expect(results).toEqual(['a', 'b', 'c']);
    expect(peak).toBe(3);
  });

  it('timeout rejects with RpcTimeoutError and leaves no timer or pending call', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { client } = await connect(kind, { timeout: 60_000 });
    const call = client.call('hang', [], { timeout: 1000 });
    const outcome = call.catch((e: unknown) => e);
    await vi.waitFor(() => {
      expect(vi.getTimerCount()).toBe(1);
    });
    vi.advanceTimersByTime(1000);
    const error = await outcome;
    expect(error).toBeInstanceOf(RpcTimeoutError);
    expect((error as Error).message).toMatch(/1000 ms/);
    expect(vi.getTimerCount()).toBe(0);
    expect(client.pendingCount).toBe(0);
  });

  it('a call that answers in time clears its timer and its abort listener', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { client } = await connect(kind, { timeout: 5000 });
    const controller = new AbortController();
    expect(await client.call('add', [1, 2], { signal: controller.signal })).toBe(3);
    expect(await client.call('add', [1, 2])).toBe(3);
    expect(vi.getTimerCount()).toBe(0);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    expect(client.pendingCount).toBe(0);
  });

  it('abort rejects with the signal’s reason and leaves nothing behind', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const { client } = await connect(kind);
    const controller = new AbortController();
    const call = client.call('hang', [], { signal: controller.signal, timeout: 10_000 });
    const outcome = call.catch((e: unknown) => e);
    const reason = new Error('user gave up');
    controller.abort(reason);
    expect(await outcome).toBe(reason);
    expect(vi.getTimerCount()).toBe(0);
    expect(client.pendingCount).toBe(0);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    await expect(client.call('hang', [], { signal: controller.signal })).rejects.toBe(reason);
    expect(client.pendingCount).toBe(0);
  });
});

describe('RpcClient on a multiplexed transport', () => {
  it('counts pending calls and keeps none after they settle', async () => {
    const { client, release } = await connect('MessageChannel (multiplexed)');
    const calls = [client.call('hang'), client.call('hang'), client.call('add', [1, 2])];
    expect(client.pendingCount).toBe(3);
    expect(await calls[2]).toBe(3);
    expect(client.pendingCount).toBe(2);
    release();
    expect(await Promise.all(calls)).toEqual(['released', 'released', 3]);
    expect(client.pendingCount).toBe(0);
  });

  it('a reply after a timeout is reported as an unexpected id and disturbs nothing', async () => {
    const errors: RpcError[] = [];
    const { client, release } = await connect('MessageChannel (multiplexed)', {
      onError: (e) => errors.push(e),
      cancelRequests: false,
    });
    await expect(client.call('hang', [], { timeout: 20 })).rejects.toBeInstanceOf(RpcTimeoutError);
    const other = client.call('hang');
    release();
    expect(await other).toBe('released');
    await vi.waitFor(() => {
      expect(errors).toHaveLength(1);
    });
    expect(errors[0]).toBeInstanceOf(UnexpectedIdError);
  });

  it('the late answer of a call it cancelled is dropped quietly', async () => {
    const errors: RpcError[] = [];
    const { client, release } = await connect('MessageChannel (multiplexed)', {
      onError: (e) => errors.push(e),
    });
    await expect(client.call('hang', [], { timeout: 20 })).rejects.toBeInstanceOf(RpcTimeoutError);
    const other = client.call('hang');
    release();
    expect(await other).toBe('released');
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(errors).toEqual([]);
  });

  /** The client over a MessageChannel whose server end the test plays by hand. */
  function manualServer() {
    const pair = createChannelPair();
    cleanups.push(() => {
      pair.close();
    });
    const errors: RpcError[] = [];
    const requests: { id: number; method: string }[] = [];
    pair.serverPort.on('message', (message: string) => {
      requests.push(JSON.parse(message) as { id: number; method: string });
    });
    const client = new RpcClient(new JsonRpcProtocol(), pair.client, {
      onError: (e) => errors.push(e),
    });
    const reply = (message: Message) => {
      pair.serverPort.postMessage(message);
    };
    return { client, errors, requests, reply };
  }

  it('malformed replies and unknown ids go to onError, typed, and pending calls go on', async () => {
    const { client, errors, requests, reply } = manualServer();
    const first = client.call('a');
    const second = client.call('b');
    await vi.waitFor(() => {
      expect(requests).toHaveLength(2);
    });
    const garbage: Message[] = [
      'not json',
      '{"jsonrpc":"2.0","id":1}',
      '{"jsonrpc":"1.0","id":1,"result":1}',
      '{"jsonrpc":"2.0","id":1,"result":1,"error":{"code":1,"message":"x"}}',
      '{"jsonrpc":"2.0","id":1,"error":{"code":"1","message":"x"}}',
      '{"jsonrpc":"2.0","id":{},"result":1}',
      '[]',
      '42',
      new Uint8Array([0xff, 0xfe]),
      '{"jsonrpc":"2.0","id":999,"result":1}',
      '{"jsonrpc":"2.0","id":"1","result":1}',
      '[{"jsonrpc":"2.0","id":998,"result":1}]',
    ];
    for (const message of garbage) reply(message);
    await vi.waitFor(() => {
      expect(errors).toHaveLength(garbage.length);
    });
    expect(errors.slice(0, 9).every((e) => e instanceof InvalidReplyError)).toBe(true);
    expect(errors.slice(9).every((e) => e instanceof UnexpectedIdError)).toBe(true);
    expect(client.pendingCount).toBe(2);
    reply(`{"jsonrpc":"2.0","id":${String(requests[1]!.id)},"result":"b"}`);
    reply(`{"jsonrpc":"2.0","id":${String(requests[0]!.id)},"error":{"code":5,"message":"no"}}`);
    expect(await second).toBe('b');
    await expect(first).rejects.toMatchObject({ code: 5, message: 'no' });
    expect(client.pendingCount).toBe(0);
  });

  it('a reply already matched is not delivered twice', async () => {
    const { client, errors, requests, reply } = manualServer();
    const call = client.call('a');
    await vi.waitFor(() => {
      expect(requests).toHaveLength(1);
    });
    const answer = `{"jsonrpc":"2.0","id":${String(requests[0]!.id)},"result":1}`;
    reply(answer);
    reply(answer);
    expect(await call).toBe(1);
    await vi.waitFor(() => {
      expect(errors).toHaveLength(1);
    });
    expect(errors[0]).toBeInstanceOf(UnexpectedIdError);
  });

  it('batch() reports members the reply leaves out, and settles the rest', async () => {
    const { client, requests, reply } = manualServer();
    const batch = client.batch([{ method: 'a' }, { method: 'b' }, { method: 'c' }]);
    await vi.waitFor(() => {
      expect(requests).toHaveLength(1);
    });
    const ids = (requests[0] as unknown as { id: number }[]).map((r) => r.id);
    reply(
      JSON.stringify([
        { jsonrpc: '2.0', id: ids[2], result: 'c' },
        { jsonrpc: '2.0', id: ids[0], result: 'a' },
      ]),
    );
    const results = await batch;
    expect(results[0]).toEqual({ status: 'fulfilled', value: 'a' });
    expect(results[1]).toMatchObject({ status: 'rejected', reason: expect.any(InvalidReplyError) });
    expect(results[2]).toEqual({ status: 'fulfilled', value: 'c' });
    expect(client.pendingCount).toBe(0);
  });

  function closableTransport() {
    let listener: ClientTransportListener | undefined;
    const sent: Message[] = [];
    const close = vi.fn(async () => {});
    const transport: ClientTransport = {
      specificationVersion: 1,
      kind: 'connection',
      send: async (message) => {
        sent.push(message);
        return undefined;
      },
      subscribe: (l) => {
        listener = l;
        return () => {
          listener = undefined;
        };
      },
      close,
    };
    setBrand(transport, clientTransportBrand);
    return { transport, sent, close, listener: () => listener };
  }

  it('a lost connection rejects every pending call at once with a TransportError', async () => {
    const { transport, sent, listener } = closableTransport();
    const client = new RpcClient(new JsonRpcProtocol(), transport);
    const calls = [
      client.call('a'),
      client.call('b'),
      client.batch([{ method: 'c' }, { method: 'd' }]),
    ];
    const outcomes = Promise.allSettled(calls);
    expect(sent).toHaveLength(3);
    expect(client.pendingCount).toBe(3);
    const cause = new Error('connection reset by peer');
    listener()?.onClose(cause);
    const settled = await outcomes;
    for (const outcome of settled) {
      expect(outcome.status).toBe('rejected');
      const reason = (outcome as PromiseRejectedResult).reason as TransportError;
      expect(reason).toBeInstanceOf(TransportError);
      expect(reason.message).toBe('connection reset by peer');
      expect(reason.cause).toBe(cause);
    }
    expect(client.pendingCount).toBe(0);
  });

  it('a TransportError given to onClose is passed on as it is', async () => {
    const { transport, listener } = closableTransport();
    const client = new RpcClient(new JsonRpcProtocol(), transport);
    const call = client.call('a');
    const error = new TransportError('WebSocket closed: 1006');
    listener()?.onClose(error);
    await expect(call).rejects.toBe(error);
  });

  it('close() rejects pending calls, unsubscribes and closes the transport', async () => {
    const { transport, close, listener } = closableTransport();
    const client = new RpcClient(new JsonRpcProtocol(), transport);
    const call = client.call('a');
    await client.close();
    await expect(call).rejects.toBeInstanceOf(TransportError);
    expect(close).toHaveBeenCalledOnce();
    expect(listener()).toBeUndefined();
    expect(client.pendingCount).toBe(0);
  });

  it('a send that fails rejects the call and leaves nothing pending', async () => {
    const failure = new TransportError('cannot send');
    const transport: ClientTransport = {
      specificationVersion: 1,
      kind: 'connection',
      send: () => Promise.reject(failure),
      subscribe: () => () => {},
    };
    const client = new RpcClient(new JsonRpcProtocol(), transport);
    await expect(client.call('a')).rejects.toBe(failure);
    expect(client.pendingCount).toBe(0);
  });

  it('a send that throws instead of rejecting leaves nothing pending', async () => {
    const transport: ClientTransport = {
      specificationVersion: 1,
      kind: 'connection',
      send: () => {
        throw new TransportError('thrown, not rejected');
      },
      subscribe: () => () => {},
    };
    const client = new RpcClient(new JsonRpcProtocol(), transport);
    await expect(client.call('a')).rejects.toThrow('thrown, not rejected');
    expect(client.pendingCount).toBe(0);
  });
});

describe('RpcClient on a request/reply transport', () => {
  /** A transport that answers every message with `answer(request)`. */
  function scripted(answer: (request: string) => Message | undefined) {
    const transport: ClientTransport = {
      specificationVersion: 1,
      kind: 'request-reply',
      send: async (message, options) =>
        options?.expectReply === false ? undefined : answer(message as string),
    };
    return new RpcClient(new JsonRpcProtocol(), transport);
  }
  const idOf = (request: string) => (JSON.parse(request) as { id: number }).id;

  it('rejects a malformed reply with InvalidReplyError', async () => {
    for (const bad of ['not json', '{"jsonrpc":"2.0","id":1}', '[]', new Uint8Array([0xff])]) {
      await expect(scripted(() => bad).call('a')).rejects.toBeInstanceOf(InvalidReplyError);
    }
    await expect(scripted(() => undefined).call('a')).rejects.toBeInstanceOf(InvalidReplyError);
  });

  it('rejects a reply for another id with UnexpectedIdError', async () => {
    const client = scripted((r) => `{"jsonrpc":"2.0","id":${String(idOf(r) + 1)},"result":1}`);
    await expect(client.call('a')).rejects.toBeInstanceOf(UnexpectedIdError);
  });

  it('takes an error with id null as the answer to the call (the server could not read it)', async () => {
    const client = scripted(
      () => '{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"Parse error"}}',
    );
    await expect(client.call('a')).rejects.toMatchObject({ code: -32700, name: 'RemoteError' });
  });

  it('batch(): a single error reply fails every call; a missing member fails its call', async () => {
    const single = scripted(
      () => '{"jsonrpc":"2.0","id":null,"error":{"code":-32600,"message":"Invalid Request"}}',
    );
    const results = await single.batch([
      { method: 'a' },
      { method: 'b', oneWay: true },
      { method: 'c' },
    ]);
    expect(results[0]).toMatchObject({ status: 'rejected', reason: { code: -32600 } });
    expect(results[1]).toEqual({ status: 'fulfilled', value: undefined });
    expect(results[2]).toMatchObject({ status: 'rejected', reason: { code: -32600 } });

    const partial = scripted((r) => {
      const [first] = JSON.parse(r) as { id: number }[];
      return JSON.stringify([{ jsonrpc: '2.0', id: first!.id, result: 'first' }]);
    });
    const outcome = await partial.batch([{ method: 'a' }, { method: 'b' }]);
    expect(outcome[0]).toEqual({ status: 'fulfilled', value: 'first' });
    expect(outcome[1]).toMatchObject({ status: 'rejected', reason: expect.any(InvalidReplyError) });
  });

  it('batch(): a reply answering none of its calls is an unexpected id', async () => {
    const client = scripted(() => '[{"jsonrpc":"2.0","id":12345,"result":1}]');
    await expect(client.batch([{ method: 'a' }])).rejects.toBeInstanceOf(UnexpectedIdError);
  });
});

describe('RpcServer', () => {
  it.each(kinds)('close() answers in-flight calls before it resolves (%s)', async (kind) => {
    const { client, server, serverTraffic } = await connect(kind);
    const slow = client.call('sleep', [50, 'slow']);
    await vi.waitFor(() => {
      expect(serverTraffic).toHaveLength(1);
    });
    await server.close();
    // The reply has left the server by the time close() resolves.
    expect(serverTraffic.map(([direction]) => direction)).toEqual(['-->', '<--']);
    expect(await slow).toBe('slow');
  });

  it('close() waits for in-flight notifications too', async () => {
    const { client, server, notified } = await connect('memory (request/reply)');
    server.dispatcher.add('slowNote', async () => {
      await new Promise((resolve) => setTimeout(resolve, 30));
      notified.push(['slowNote']);
    });
    void client.notify('slowNote');
    await new Promise((resolve) => setTimeout(resolve, 5));
    await server.close();
    expect(notified).toEqual([['slowNote']]);
  });
});
