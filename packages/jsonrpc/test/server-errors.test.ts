// What methods throw and return, as the caller sees it: errors, hidden messages, no stacks,
// results JSON cannot encode, and the call context.
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  createMemoryTransport,
  RemoteError,
  RpcClient,
  RpcDispatcher,
  RpcError,
  RpcServer,
  type CallContext,
  type RpcServerOptions,
} from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { deferred } from './channel-pair.ts';

const servers: RpcServer[] = [];

afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function connect(dispatcher: RpcDispatcher, options?: RpcServerOptions) {
  const { client: clientTransport, server: serverTransport } = createMemoryTransport();
  const server = new RpcServer(serverTransport, new JsonRpcProtocol(), dispatcher, options);
  servers.push(server);
  await server.serve();
  const traffic: string[] = [];
  const client = new RpcClient(new JsonRpcProtocol(), clientTransport, {
    trace: (direction, _context, message) => {
      if (direction === '<--') traffic.push(message as string);
    },
  });
  return { server, client, clientTransport, traffic };
}

const failing = () =>
  new RpcDispatcher()
    .add('outOfStock', (sku: string) => {
      throw new RpcError('Out of stock', { code: 4001, data: { sku, left: 0 } });
    })
    .add('asyncOutOfStock', async () => {
      await Promise.resolve();
      throw new RpcError('Out of stock', { code: -32099, data: [1, 'two'] });
    })
    .add('crash', () => {
      throw new Error('database at /var/lib/secret is gone');
    })
    .add('asyncCrash', async () => {
      throw new TypeError('cannot read x of undefined');
    })
    .add('fine', () => 'ok');

const rejection = async (promise: Promise<unknown>): Promise<RemoteError> => {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(RemoteError);
  return error as RemoteError;
};

describe('errors thrown by methods', () => {
  it('an RpcError reaches the client intact as a RemoteError', async () => {
    const { client } = await connect(failing());
    const error = await rejection(client.call('outOfStock', ['A1']));
    expect(error).toMatchObject({
      code: 4001,
      message: 'Out of stock',
      data: { sku: 'A1', left: 0 },
      name: 'RemoteError',
    });
    expect(RemoteError.is(error)).toBe(true);
    const later = await rejection(client.call('asyncOutOfStock'));
    expect(later).toMatchObject({ code: -32099, message: 'Out of stock', data: [1, 'two'] });
  });

  it('any other error answers -32000 with its message', async () => {
    const { client } = await connect(failing());
    expect(await rejection(client.call('crash'))).toMatchObject({
      code: -32000,
      message: 'database at /var/lib/secret is gone',
      data: undefined,
    });
    expect(await rejection(client.call('asyncCrash'))).toMatchObject({
      code: -32000,
      message: 'cannot read x of undefined',
    });
  });

  it('hideErrorMessages answers "Server error" but keeps an RpcError’s own message', async () => {
    const { client, traffic } = await connect(failing(), { hideErrorMessages: true });
    expect(await rejection(client.call('crash'))).toMatchObject({
      code: -32000,
      message: 'Server error',
    });
    expect(await rejection(client.call('asyncCrash'))).toMatchObject({ message: 'Server error' });
    expect(await rejection(client.call('outOfStock', ['B2']))).toMatchObject({
      code: 4001,
      message: 'Out of stock',
      data: { sku: 'B2', left: 0 },
    });
    expect(traffic.join()).not.toContain('secret');
    expect(traffic.join()).not.toContain('undefined');
  });

  it('never puts a stack on the wire', async () => {
    const { client, traffic } = await connect(failing());
    for (const method of ['outOfStock', 'asyncOutOfStock', 'crash', 'asyncCrash', 'missing']) {
      await client.call(method, ['x']).catch(() => undefined);
    }
    expect(traffic).toHaveLength(5);
    for (const message of traffic) {
      const { error } = JSON.parse(message) as { error: Record<string, unknown> };
      expect(Object.keys(error).sort()).toEqual(
        'data' in error ? ['code', 'data', 'message'] : ['code', 'message'],
      );
      expect(message).not.toMatch(/stack|\bat .*:\d+/);
    }
  });

  it('a thrown value that cannot become a string is still answered', async () => {
    const dispatcher = new RpcDispatcher()
      .add('sync', () => {
        throw Object.create(null);
      })
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- on purpose
      .add('async', () => Promise.reject(Object.create(null)));
    const { client } = await connect(dispatcher);
    expect(await rejection(client.call('sync'))).toMatchObject({
      code: -32000,
      message: 'Server error',
    });
    expect(await rejection(client.call('async'))).toMatchObject({
      code: -32000,
      message: 'Server error',
    });
  });
});

describe('results JSON cannot encode', () => {
  const cyclic = (): unknown => {
    const value: Record<string, unknown> = {};
    value['self'] = value;
    return value;
  };
  const dispatcher = () =>
    new RpcDispatcher()
      .add('bigint', () => 10n)
      .add('cycle', cyclic)
      .add('asyncBigint', async () => ({ n: 1n }))
      .add('fine', (x: number) => x)
      .add('badData', () => {
        throw new RpcError('with bad data', { code: 1, data: 2n });
      });

  it.each(['bigint', 'cycle', 'asyncBigint', 'badData'])(
    '%s answers -32603 and the server keeps working',
    async (method) => {
      const { client } = await connect(dispatcher());
      expect(await rejection(client.call(method))).toMatchObject({
        code: -32603,
        message: 'Result could not be encoded',
      });
      expect(await client.call('fine', [5])).toBe(5);
    },
  );

  it('spoils only its own member of a batch', async () => {
    const { client } = await connect(dispatcher());
    const results = await client.batch([
      { method: 'fine', params: [1] },
      { method: 'bigint' },
      { method: 'asyncBigint' },
      { method: 'fine', params: [2] },
    ]);
    expect(
      results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as RpcError).code)),
    ).toEqual([1, -32603, -32603, 2]);
  });

  it('can cross with a replacer', async () => {
    const { client: ct, server: st } = createMemoryTransport();
    const protocol = () =>
      new JsonRpcProtocol({
        replacer: (_key, value) => (typeof value === 'bigint' ? `${value.toString()}n` : value),
      });
    const server = new RpcServer(st, protocol(), dispatcher());
    servers.push(server);
    await server.serve();
    expect(await new RpcClient(protocol(), ct).call('bigint')).toBe('10n');
  });
});

describe('the call context', () => {
  it('gives the request, the transport context and a signal', async () => {
    let seen: CallContext | undefined;
    const dispatcher = new RpcDispatcher().add(
      'inspect',
      (context: CallContext, a: number) => {
        seen = context;
        return a;
      },
      { context: true, params: ['a'] },
    );
    const { client } = await connect(dispatcher);
    expect(await client.call('inspect', { a: 4 })).toBe(4);
    expect(seen?.request).toMatchObject({ method: 'inspect', params: { a: 4 }, oneWay: false });
    expect(seen?.transport).toMatchObject({ transport: 'memory' });
    expect(seen?.signal).toBeInstanceOf(AbortSignal);
    expect(seen?.signal.aborted).toBe(false);
  });

  it('aborts the signal on server.close(), and close waits for the method to answer', async () => {
    const started = deferred<AbortSignal>();
    const dispatcher = new RpcDispatcher().add(
      'wait',
      (context: CallContext) =>
        new Promise((resolve) => {
          started.resolve(context.signal);
          context.signal.addEventListener('abort', () => {
            resolve(`stopped: ${(context.signal.reason as Error).message}`);
          });
        }),
      { context: true },
    );
    const { client, server } = await connect(dispatcher);
    const call = client.call('wait');
    const signal = await started.promise;
    expect(signal.aborted).toBe(false);
    const order: string[] = [];
    void call.then((v) => order.push(String(v)));
    await server.close().then(() => order.push('closed'));
    expect(signal.aborted).toBe(true);
    expect(order).toEqual(['stopped: Server closed', 'closed']);
  });

  it('aborts the signal when the connection’s signal aborts', async () => {
    const dispatcher = new RpcDispatcher().add(
      'wait',
      (context: CallContext) =>
        new Promise((resolve) => {
          context.signal.addEventListener('abort', () => {
            resolve('gone');
          });
        }),
      { context: true },
    );
    const server = new RpcServer(
      { specificationVersion: 1, listen: () => Promise.resolve(), close: () => Promise.resolve() },
      new JsonRpcProtocol(),
      dispatcher,
    );
    const connection = new AbortController();
    const reply = server.handle('{"jsonrpc":"2.0","method":"wait","id":1}', {
      signal: connection.signal,
    });
    connection.abort();
    expect(JSON.parse((await reply) as string)).toStrictEqual({
      jsonrpc: '2.0',
      result: 'gone',
      id: 1,
    });
    await server.close();
  });
});

describe('RpcServer.handle', () => {
  it('reports what cannot be answered to onError and resolves undefined', async () => {
    const onError = vi.fn();
    const server = new RpcServer(
      { specificationVersion: 1, listen: () => Promise.resolve(), close: () => Promise.resolve() },
      {
        createRequest: () => {
          throw new Error('unused');
        },
        parseRequest: () => {
          throw new Error('protocol bug');
        },
        parseReply: () => {
          throw new Error('unused');
        },
      },
      new RpcDispatcher(),
      { onError },
    );
    await expect(server.handle('x')).resolves.toBeUndefined();
    expect(onError).toHaveBeenCalledWith(expect.objectContaining({ message: 'protocol bug' }));
  });

  it('never throws or rejects, even when the serializer or the trace hook fails', async () => {
    let failures = 0;
    const protocol = new JsonRpcProtocol({
      serializer: {
        parse: (text) => JSON.parse(text) as unknown,
        stringify: () => {
          failures++;
          throw new Error('cannot stringify anything');
        },
      },
    });
    const onError = vi.fn();
    const dispatcher = new RpcDispatcher().add('now', () => 1).add('later', async () => 2);
    const server = new RpcServer(
      { specificationVersion: 1, listen: () => Promise.resolve(), close: () => Promise.resolve() },
      protocol,
      dispatcher,
      { onError },
    );
    for (const text of [
      '{"jsonrpc":"2.0","method":"now","id":1}',
      '{"jsonrpc":"2.0","method":"later","id":1}',
      '[{"jsonrpc":"2.0","method":"now","id":1}]',
      'not json',
    ]) {
      let outcome: Promise<unknown> | undefined;
      expect(() => (outcome = server.handle(text))).not.toThrow();
      await expect(outcome).resolves.toBeUndefined();
    }
    expect(failures).toBeGreaterThan(0);
    expect(onError).toHaveBeenCalled();

    const traceErrors = vi.fn();
    const tracing = new RpcServer(
      { specificationVersion: 1, listen: () => Promise.resolve(), close: () => Promise.resolve() },
      new JsonRpcProtocol(),
      dispatcher,
      {
        trace: () => {
          throw new Error('trace bug');
        },
        onError: traceErrors,
      },
    );
    const reply = await tracing.handle('{"jsonrpc":"2.0","method":"now","id":1}');
    expect(JSON.parse(reply as string)).toStrictEqual({ jsonrpc: '2.0', result: 1, id: 1 });
    expect(traceErrors).toHaveBeenCalledTimes(2);
    expect(traceErrors).toHaveBeenCalledWith(expect.objectContaining({ message: 'trace bug' }));
  });
});
