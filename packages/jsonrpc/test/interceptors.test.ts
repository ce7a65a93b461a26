import {
  RpcClient,
  RpcDispatcher,
  RpcError,
  RpcServer,
  TransportError,
  concurrencyLimit,
  createMemoryTransport,
  isPromiseLike,
  logCalls,
  retry,
  type ClientTransport,
  type ClientTransportListener,
  type Message,
  type SendOptions,
  type ServerCall,
} from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { afterEach, describe, expect, it } from 'vitest';

const servers: RpcServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function pair(dispatcher: RpcDispatcher): Promise<{ server: RpcServer; client: RpcClient }> {
  const { client: clientTransport, server: serverTransport } = createMemoryTransport();
  const server = new RpcServer(serverTransport, new JsonRpcProtocol(), dispatcher);
  servers.push(server);
  await server.serve();
  return { server, client: new RpcClient(new JsonRpcProtocol(), clientTransport) };
}

const methods = (): RpcDispatcher =>
  new RpcDispatcher()
    .add('add', (a: number, b: number) => a + b, { params: ['a', 'b'] })
    .add('fail', () => {
      throw new RpcError('No', { code: 4001, data: 'why' });
    });

describe('server interceptors', () => {
  it('run in the order added, see the call, and can replace params and map results', async () => {
    const { server, client } = await pair(methods());
    const seen: string[] = [];
    let observed: ServerCall | undefined;
    server
      .use(async (call, next) => {
        seen.push(`outer in ${call.method}`);
        observed = call;
        const result = await next();
        seen.push('outer out');
        return (result as number) * 10;
      })
      .use(async (call, next) => {
        seen.push('inner in');
        call.params = [100, 1];
        return next();
      });
    expect(await client.call('add', [1, 2])).toBe(1010);
    expect(seen).toEqual(['outer in add', 'inner in', 'outer out']);
    expect(observed).toMatchObject({ method: 'add', id: 1, oneWay: false });
    expect(observed?.context.transport).toMatchObject({ transport: 'memory' });
    expect(observed?.context.signal).toBeInstanceOf(AbortSignal);
  });

  it('short-circuit with a result or an error that keeps its code, and see method-not-found', async () => {
    const { server, client } = await pair(methods());
    const errors: unknown[] = [];
    server.use(async (call, next) => {
      if (call.method === 'cached') return 'from cache';
      if (call.method === 'secret') throw new RpcError('Forbidden', { code: 4003 });
      try {
        return await next();
      } catch (error) {
        errors.push(error);
        throw error;
      }
    });
    expect(await client.call('cached')).toBe('from cache');
    await expect(client.call('secret')).rejects.toMatchObject({ code: 4003, message: 'Forbidden' });
    await expect(client.call('nope')).rejects.toMatchObject({ code: -32601 });
    await expect(client.call('fail')).rejects.toMatchObject({ code: 4001, data: 'why' });
    expect(errors.map((e) => (e as RpcError).code)).toEqual([-32601, 4001]);
  });

  it('keep a synchronous call synchronous, and a throw of nothing is still a failure', () => {
    const request = new JsonRpcProtocol().parseRequest(
      JSON.stringify({ jsonrpc: '2.0', method: 'add', params: [1, 2], id: 7 }),
    );
    const answer = methods().dispatchAny(request, { interceptors: [(_call, next) => next()] });
    expect(isPromiseLike(answer)).toBe(false);
    expect(answer).toMatchObject({ id: 7, result: 3 });
    const failed = methods().dispatchAny(request, {
      interceptors: [
        () => {
          // eslint-disable-next-line @typescript-eslint/only-throw-error -- the point of the test
          throw undefined;
        },
      ],
    });
    expect(failed).toMatchObject({ id: 7, error: { code: -32000 } });
  });

  it('see each member of a batch on its own, notifications included', async () => {
    const { server, client } = await pair(methods());
    const calls: string[] = [];
    server.use((call, next) => {
      calls.push(`${call.method}${call.oneWay ? ' (one-way)' : ''}`);
      return next();
    });
    const results = await client.batch([
      { method: 'add', params: [1, 1] },
      { method: 'add', params: [2, 2], oneWay: true },
      { method: 'fail' },
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'rejected']);
    expect(calls).toEqual(['add', 'add (one-way)', 'fail']);
  });
});

describe('client interceptors', () => {
  it('see the call, its id after next(), replace params, and map errors', async () => {
    const { client } = await pair(methods());
    const ids: unknown[] = [];
    client.use(async (call, next) => {
      expect(call.id).toBeUndefined();
      call.params = { a: 2, b: 40 };
      try {
        return await next();
      } finally {
        ids.push(call.id);
      }
    });
    expect(await client.call('add', [0, 0])).toBe(42);
    const proxy = client.getProxy<{ fail(): void }>();
    await expect(proxy.fail()).rejects.toMatchObject({ code: 4001 });
    expect(ids).toEqual([1, 2]);
  });

  it('pass every member of a batch, which still travels as one message', async () => {
    const { client: clientTransport, server: serverTransport } = createMemoryTransport();
    const messages: Message[] = [];
    const server = new RpcServer(serverTransport, new JsonRpcProtocol(), methods(), {
      trace: (direction, _context, message) => {
        if (direction === '-->') messages.push(message);
      },
    });
    servers.push(server);
    await server.serve();
    const client = new RpcClient(new JsonRpcProtocol(), clientTransport);
    const seen: string[] = [];
    client.use(async (call, next) => {
      seen.push(call.method);
      if (call.method === 'local') return 'short';
      return next();
    });
    const results = await client.batch([
      { method: 'add', params: [1, 2] },
      { method: 'local' },
      { method: 'add', params: [3, 4] },
    ]);
    expect(results).toEqual([
      { status: 'fulfilled', value: 3 },
      { status: 'fulfilled', value: 'short' },
      { status: 'fulfilled', value: 7 },
    ]);
    expect(seen).toEqual(['add', 'local', 'add']);
    expect(messages).toHaveLength(1);
    expect(JSON.parse(messages[0] as string)).toHaveLength(2);
  });
});

describe('headers of a call', () => {
  it('reach a transport that has headers in SendOptions, and nothing else changes', async () => {
    const sent: SendOptions[] = [];
    const transport: ClientTransport = {
      specificationVersion: 1,
      kind: 'request-reply',
      supportsHeaders: true,
      send: (_message, options) => {
        sent.push(options ?? {});
        return Promise.resolve(JSON.stringify({ jsonrpc: '2.0', id: 1, result: 'ok' }));
      },
    };
    const client = new RpcClient(new JsonRpcProtocol(), transport).use((call, next) => {
      call.headers['traceparent'] = '00-abc-def-01';
      return next();
    });
    expect(await client.call('m')).toBe('ok');
    expect(sent[0]?.headers).toEqual({ traceparent: '00-abc-def-01' });
  });

  it('travel inside the message on a connection only with messageMeta, and reach the server call', async () => {
    const wire: string[] = [];
    const dispatcher = new RpcDispatcher().add('m', () => 'ok');
    const server = new RpcServer(
      { specificationVersion: 1, listen: () => Promise.resolve(), close: () => Promise.resolve() },
      new JsonRpcProtocol(),
      dispatcher,
    );
    const seen: ServerCall['headers'][] = [];
    server.use((call, next) => {
      seen.push(call.headers);
      return next();
    });
    const connection = (): ClientTransport => {
      let listener: ClientTransportListener | undefined;
      return {
        specificationVersion: 1,
        kind: 'connection',
        send: async (message) => {
          wire.push(message as string);
          const reply = await server.handle(message, { transport: 'test' });
          if (reply !== undefined) listener?.onMessage(reply);
          return undefined;
        },
        subscribe: (l) => {
          listener = l;
          return () => undefined;
        },
      };
    };
    const stamp = (client: RpcClient): RpcClient =>
      client.use((call, next) => {
        call.headers['traceparent'] = '00-abc-def-01';
        return next();
      });
    await stamp(new RpcClient(new JsonRpcProtocol(), connection())).call('m');
    await stamp(new RpcClient(new JsonRpcProtocol(), connection(), { messageMeta: true })).call(
      'm',
    );
    expect(JSON.parse(wire[0] as string)).not.toHaveProperty('$meta');
    expect(JSON.parse(wire[1] as string)).toMatchObject({
      $meta: { traceparent: '00-abc-def-01' },
    });
    expect(seen[0]).toEqual({});
    expect(seen[1]).toEqual({ traceparent: '00-abc-def-01' });
  });
});

describe('ready-made interceptors', () => {
  it('concurrencyLimit runs at most maxConcurrent at once, queues maxQueue, refuses the rest', async () => {
    let running = 0;
    let most = 0;
    const release: (() => void)[] = [];
    const dispatcher = new RpcDispatcher().add('slow', async () => {
      running++;
      most = Math.max(most, running);
      await new Promise<void>((resolve) => release.push(resolve));
      running--;
      return 'done';
    });
    const { server, client } = await pair(dispatcher);
    server.use(concurrencyLimit({ maxConcurrent: 2, maxQueue: 3 }));
    const calls = Array.from({ length: 8 }, () =>
      client.call('slow').then(String, (e: unknown) => (e as RpcError).message),
    );
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(running).toBe(2);
    while (release.length > 0 || running > 0) {
      release.shift()?.();
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const results = await Promise.all(calls);
    expect(results.filter((r) => r === 'done')).toHaveLength(5);
    expect(results.filter((r) => r.startsWith('Busy: 2 calls running and 3 waiting'))).toHaveLength(
      3,
    );
    expect(most).toBe(2);
  });

  it('retry repeats idempotent calls after transport errors only', async () => {
    let attempts = 0;
    let failures = 2;
    const transport: ClientTransport = {
      specificationVersion: 1,
      kind: 'request-reply',
      send: (message) => {
        attempts++;
        if (failures-- > 0) return Promise.reject(new TransportError('connection reset'));
        const { id, method } = JSON.parse(message as string) as { id: number; method: string };
        return Promise.resolve(
          method === 'bad'
            ? JSON.stringify({ jsonrpc: '2.0', id, error: { code: -32000, message: 'remote' } })
            : JSON.stringify({ jsonrpc: '2.0', id, result: method }),
        );
      },
    };
    const client = new RpcClient(new JsonRpcProtocol(), transport).use(
      retry({ idempotent: ['get', 'bad'], backoff: { initialDelay: 1, jitter: 0 } }),
    );
    expect(await client.call('get')).toBe('get');
    expect(attempts).toBe(3);
    attempts = 0;
    await expect(client.call('bad')).rejects.toMatchObject({ message: 'remote' });
    expect(attempts).toBe(1); // an error response is never retried
    failures = 1;
    attempts = 0;
    await expect(client.call('put')).rejects.toThrow('connection reset'); // not idempotent
    expect(attempts).toBe(1);
    failures = 10;
    attempts = 0;
    await expect(client.call('get')).rejects.toThrow('connection reset');
    expect(attempts).toBe(4); // 3 retries by default
  });

  it('logCalls writes one line per call with its outcome', async () => {
    const { server, client } = await pair(methods());
    const lines: string[] = [];
    server.use(logCalls({ log: (line) => lines.push(line) }));
    await client.call('add', [1, 2]);
    await client.call('fail').catch(() => undefined);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^add \d+\.\d ms ok$/);
    expect(lines[1]).toMatch(/^fail \d+\.\d ms error 4001 No$/);
  });
});
