import { describe, expect, it, vi } from 'vitest';
import {
  InvalidParamsError,
  MethodNotFoundError,
  RpcDispatcher,
  RpcError,
  isRpcDispatcher,
  type CallContext,
  type RpcBatchResponse,
  type StandardSchemaV1,
} from '@tinyrpc/core';
import { stubBatch, stubNotification, stubRequest, type StubResponse } from './stubs.ts';

const dispatch = async (
  dispatcher: RpcDispatcher,
  ...args: Parameters<typeof stubRequest>
): Promise<StubResponse | undefined> =>
  (await dispatcher.dispatch(stubRequest(...args))) as StubResponse | undefined;

const errorOf = async (
  dispatcher: RpcDispatcher,
  ...args: Parameters<typeof stubRequest>
): Promise<StubResponse['error']> => (await dispatch(dispatcher, ...args))?.error;

/** A Standard Schema for `[number, number]` that also accepts numeric strings and converts them. */
const pairOfNumbers: StandardSchemaV1<unknown, [number, number]> = {
  '~standard': {
    version: 1,
    vendor: 'test',
    validate(value) {
      if (!Array.isArray(value) || value.length !== 2)
        return { issues: [{ message: 'Expected two arguments' }] };
      const numbers = value.map(Number);
      const bad = numbers.findIndex((n) => Number.isNaN(n));
      if (bad !== -1) return { issues: [{ message: 'Expected a number', path: [bad] }] };
      return { value: numbers as [number, number] };
    },
  },
};

/** The same check, answering asynchronously, as some schema libraries do. */
const asyncPair: StandardSchemaV1<unknown, [number, number]> = {
  '~standard': {
    ...pairOfNumbers['~standard'],
    validate: async (value) => pairOfNumbers['~standard'].validate(value),
  },
};

describe('RpcDispatcher: params', () => {
  const subtract = new RpcDispatcher().add(
    'subtract',
    (minuend: number, subtrahend: number) => minuend - subtrahend,
    { params: ['minuend', 'subtrahend'] },
  );

  it('takes positional params', async () => {
    expect((await dispatch(subtract, 'subtract', [42, 23]))?.result).toBe(19);
    expect((await dispatch(subtract, 'subtract', [23, 42]))?.result).toBe(-19);
  });

  it('takes named params in any order when it knows the names', async () => {
    expect((await dispatch(subtract, 'subtract', { subtrahend: 23, minuend: 42 }))?.result).toBe(
      19,
    );
    expect((await dispatch(subtract, 'subtract', { minuend: 42, subtrahend: 23 }))?.result).toBe(
      19,
    );
  });

  it('answers an unknown name with invalid params', async () => {
    const error = await errorOf(subtract, 'subtract', { minuend: 1, subtrahend: 2, extra: 3 });
    expect(error).toMatchObject({ code: -32602, message: 'Invalid params' });
    expect(error?.data).toContain('extra');
  });

  it('answers too few arguments with invalid params, positional or named', async () => {
    expect(await errorOf(subtract, 'subtract', [1])).toMatchObject({ code: -32602 });
    expect(await errorOf(subtract, 'subtract', { minuend: 1 })).toMatchObject({ code: -32602 });
    expect(await errorOf(subtract, 'subtract', [])).toMatchObject({ code: -32602 });
    expect(await errorOf(subtract, 'subtract')).toMatchObject({ code: -32602 });
  });

  it('answers more positional arguments than names with invalid params', async () => {
    expect(await errorOf(subtract, 'subtract', [1, 2, 3])).toMatchObject({ code: -32602 });
  });

  it('leaves out trailing names not given, so defaults apply', async () => {
    const d = new RpcDispatcher().add(
      'greet',
      (name: string, greeting = 'Hello') => `${greeting}, ${name}`,
      {
        params: ['name', 'greeting'],
      },
    );
    expect((await dispatch(d, 'greet', { name: 'Ann' }))?.result).toBe('Hello, Ann');
    expect((await dispatch(d, 'greet', { greeting: 'Hi', name: 'Ann' }))?.result).toBe('Hi, Ann');
    expect((await dispatch(d, 'greet', ['Bo']))?.result).toBe('Hello, Bo');
  });

  it('passes named params as one object when it does not know the names', async () => {
    const seen = vi.fn((options: unknown) => options);
    const d = new RpcDispatcher().add('configure', seen);
    expect((await dispatch(d, 'configure', { a: 1, b: [2] }))?.result).toStrictEqual({
      a: 1,
      b: [2],
    });
    expect(seen).toHaveBeenCalledWith({ a: 1, b: [2] });
  });

  it('passes positional params through without names, however many', async () => {
    const d = new RpcDispatcher().add('sum', (...n: number[]) => n.reduce((a, b) => a + b, 0));
    expect((await dispatch(d, 'sum', [1, 2, 4]))?.result).toBe(7);
    expect((await dispatch(d, 'sum'))?.result).toBe(0);
  });
});

describe('RpcDispatcher: Standard Schema', () => {
  it('validates and converts the argument list', async () => {
    const d = new RpcDispatcher().add('add', (a: number, b: number) => a + b, {
      schema: pairOfNumbers,
    });
    expect((await dispatch(d, 'add', ['1', 2]))?.result).toBe(3);
  });

  it('answers a failed validation with invalid params carrying the issues', async () => {
    const d = new RpcDispatcher().add('add', (a: number, b: number) => a + b, {
      schema: pairOfNumbers,
    });
    expect(await errorOf(d, 'add', [1, 'x'])).toStrictEqual({
      code: -32602,
      message: 'Invalid params: 1: Expected a number',
      data: [{ message: 'Expected a number', path: ['1'] }],
    });
    expect(await errorOf(d, 'add', [1])).toEqual({
      code: -32602,
      message: 'Invalid params: Expected two arguments',
      data: [{ message: 'Expected two arguments' }],
    });
  });

  it('names the parameter in the issues of named params', async () => {
    const d = new RpcDispatcher().add('add', (a: number, b: number) => a + b, {
      schema: pairOfNumbers,
      params: ['a', 'b'],
    });
    expect(await errorOf(d, 'add', { a: 1, b: 'x' })).toStrictEqual({
      code: -32602,
      message: 'Invalid params: b: Expected a number',
      data: [{ message: 'Expected a number', path: ['b'] }],
    });
    // Positional calls keep the index they sent; path steps given as { key } objects are read too.
    const keyed: StandardSchemaV1 = {
      '~standard': {
        version: 1,
        vendor: 'test',
        validate: () => ({ issues: [{ message: 'Too small', path: [{ key: 0 }, 'min'] }] }),
      },
    };
    const k = new RpcDispatcher().add('f', (x: unknown) => x, { schema: keyed, params: ['x'] });
    expect(await errorOf(k, 'f', [1])).toMatchObject({
      message: 'Invalid params: 0.min: Too small',
      data: [{ path: ['0', 'min'] }],
    });
    expect(await errorOf(k, 'f', { x: 1 })).toMatchObject({ data: [{ path: ['x', 'min'] }] });
  });

  it('checks the argument count on the schema’s output, so schema defaults apply', async () => {
    const withDefault: StandardSchemaV1<unknown, [number, number]> = {
      '~standard': {
        version: 1,
        vendor: 'test',
        validate: (value) => {
          const [a, b = 10] = value as number[];
          return { value: [Number(a), b] };
        },
      },
    };
    const d = new RpcDispatcher()
      .add('add', (a: number, b: number) => a + b, { schema: withDefault, params: ['a', 'b'] })
      .add('shrink', (a: number, b: number) => a + b, {
        schema: { '~standard': { version: 1, vendor: 'test', validate: () => ({ value: [] }) } },
      });
    expect((await dispatch(d, 'add', [1]))?.result).toBe(11);
    expect((await dispatch(d, 'add', { a: 2 }))?.result).toBe(12);
    expect(await errorOf(d, 'shrink', [1, 2])).toMatchObject({ code: -32602 });
  });

  it('works with asynchronous schemas and named params', async () => {
    const fn = vi.fn((a: number, b: number) => a * b);
    const d = new RpcDispatcher().add('mul', fn, { schema: asyncPair, params: ['a', 'b'] });
    expect((await dispatch(d, 'mul', { b: '3', a: 2 }))?.result).toBe(6);
    expect(await errorOf(d, 'mul', { a: 2, b: 'z' })).toMatchObject({ code: -32602 });
    expect(fn).toHaveBeenCalledTimes(1);
  });
});

describe('RpcDispatcher: context', () => {
  it('passes a call context first when asked, and not otherwise', async () => {
    let seen: CallContext | undefined;
    const d = new RpcDispatcher()
      .add(
        'whoami',
        (context: CallContext, greeting: string) => {
          seen = context;
          return `${greeting} ${String(context.transport['remoteAddress'])}`;
        },
        { context: true, params: ['greeting'] },
      )
      .add('plain', (...args: unknown[]) => args);
    const transport = { transport: 'test', remoteAddress: '127.0.0.1' };
    const request = stubRequest('whoami', { greeting: 'hi' });
    const response = (await d.dispatch(request, { transport })) as StubResponse;
    expect(response.result).toBe('hi 127.0.0.1');
    expect(seen?.request).toBe(request);
    expect(seen?.transport).toBe(transport);
    expect(seen?.signal.aborted).toBe(false);
    const plain = (await d.dispatch(stubRequest('plain', [1]), { transport })) as StubResponse;
    expect(plain.result).toEqual([1]);
  });

  it('does not count the context argument as a required param', async () => {
    const d = new RpcDispatcher().add('ping', (context: CallContext) => context.request.method, {
      context: true,
    });
    expect((await dispatch(d, 'ping'))?.result).toBe('ping');
  });

  it('aborts the signal when the server’s or the connection’s signal aborts', async () => {
    const server = new AbortController();
    const connection = new AbortController();
    const signals: AbortSignal[] = [];
    const d = new RpcDispatcher().add(
      'wait',
      (context: CallContext) => {
        signals.push(context.signal);
      },
      { context: true },
    );
    await d.dispatch(stubRequest('wait'), {
      signal: server.signal,
      transport: { signal: connection.signal },
    });
    await d.dispatch(stubRequest('wait'), {
      signal: server.signal,
      transport: { signal: connection.signal },
    });
    await d.dispatch(stubRequest('wait'), { transport: { signal: connection.signal } });
    expect(signals.map((s) => s.aborted)).toEqual([false, false, false]);
    connection.abort(new Error('gone'));
    expect(signals.map((s) => s.aborted)).toEqual([true, true, true]);

    const later = new AbortController();
    const d2: AbortSignal[] = [];
    const dispatcher = new RpcDispatcher().add('wait', (c: CallContext) => d2.push(c.signal), {
      context: true,
    });
    await dispatcher.dispatch(stubRequest('wait'), {
      signal: later.signal,
      transport: { signal: new AbortController().signal },
    });
    later.abort();
    expect(d2[0]?.aborted).toBe(true);
  });
});

describe('RpcDispatcher: registration and lookup', () => {
  it('throws on a duplicate name, an empty name and a non-function', () => {
    const d = new RpcDispatcher().add('a', () => 1);
    expect(() => d.add('a', () => 2)).toThrow(TypeError);
    expect(() => d.add('a', () => 2)).toThrow(/already registered/);
    expect(() => d.add('', () => 2)).toThrow(TypeError);
    expect(() => d.add('b', 42 as never)).toThrow(TypeError);
    expect(d.names()).toEqual(['a']);
  });

  it.each([
    '__proto__',
    'constructor',
    'hasOwnProperty',
    'toString',
    'valueOf',
    'isPrototypeOf',
    'then',
  ])('%s is method not found', async (name) => {
    const d = new RpcDispatcher().add('real', () => 1);
    d.addSubdispatch(
      new RpcDispatcher().add('x', () => 1),
      'sub.',
    );
    expect(await errorOf(d, name)).toStrictEqual({ code: -32601, message: 'Method not found' });
    expect(await errorOf(d, `sub.${name}`)).toStrictEqual({
      code: -32601,
      message: 'Method not found',
    });
    expect(() => d.get(name)).toThrow(MethodNotFoundError);
  });

  it('finds a registered name even when it is a prototype member’s', async () => {
    const d = new RpcDispatcher().add('toString', () => 'mine');
    expect((await dispatch(d, 'toString'))?.result).toBe('mine');
  });

  it('get() returns what was registered', () => {
    const fn = (a: number): number => a;
    const d = new RpcDispatcher().add('id', fn, { params: ['a'] });
    expect(d.get('id')).toMatchObject({ name: 'id', fn, options: { params: ['a'] } });
  });

  it('answers names under a prefix from a subdispatcher', async () => {
    const inner = new RpcDispatcher().add('get', () => 'inner');
    const deeper = new RpcDispatcher().add('x', () => 'deeper');
    inner.addSubdispatch(deeper, 'deep.');
    const outer = new RpcDispatcher().add('get', () => 'outer').addSubdispatch(inner, 'foo.');
    expect((await dispatch(outer, 'get'))?.result).toBe('outer');
    expect((await dispatch(outer, 'foo.get'))?.result).toBe('inner');
    expect((await dispatch(outer, 'foo.deep.x'))?.result).toBe('deeper');
    expect(await errorOf(outer, 'foo.missing')).toMatchObject({ code: -32601 });
    expect(await errorOf(outer, 'x')).toMatchObject({ code: -32601 });
    expect(outer.names().sort()).toEqual(['foo.deep.x', 'foo.get', 'get']);
    expect(() => outer.addSubdispatch(outer)).toThrow(TypeError);
  });

  it('is recognised by its brand', () => {
    expect(isRpcDispatcher(new RpcDispatcher())).toBe(true);
    expect(RpcDispatcher.isRpcDispatcher({})).toBe(false);
  });
});

describe('RpcDispatcher: errors', () => {
  it('answers an RpcError with its own code, message and data', async () => {
    const d = new RpcDispatcher().add('buy', () => {
      throw new RpcError('Out of stock', { code: 4001, data: { sku: 'A1' } });
    });
    expect(await errorOf(d, 'buy')).toStrictEqual({
      code: 4001,
      message: 'Out of stock',
      data: { sku: 'A1' },
    });
  });

  it('answers any other error with -32000 and its message, or a generic one when hidden', async () => {
    const d = new RpcDispatcher()
      .add('sync', () => {
        throw new Error('disk full');
      })
      .add('async', async () => {
        throw new TypeError('bad thing');
      });
    expect(await errorOf(d, 'sync')).toStrictEqual({ code: -32000, message: 'disk full' });
    expect(await errorOf(d, 'async')).toStrictEqual({ code: -32000, message: 'bad thing' });
    const hidden = { hideErrorMessages: true };
    const sync = (await d.dispatch(stubRequest('sync'), hidden)) as StubResponse;
    const async = (await d.dispatch(stubRequest('async'), hidden)) as StubResponse;
    expect(sync.error).toStrictEqual({ code: -32000, message: 'Server error' });
    expect(async.error).toStrictEqual({ code: -32000, message: 'Server error' });
  });

  it('answers thrown non-errors, even ones that cannot become strings', async () => {
    const d = new RpcDispatcher()
      .add('string', () => {
        // eslint-disable-next-line @typescript-eslint/only-throw-error -- methods may throw anything
        throw 'plain string';
      })
      .add('null', () => {
        throw Object.create(null);
      })
      // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors -- on purpose
      .add('asyncNull', () => Promise.reject(Object.create(null)));
    expect(await errorOf(d, 'string')).toStrictEqual({ code: -32000, message: 'plain string' });
    expect(await errorOf(d, 'null')).toStrictEqual({ code: -32000, message: 'Server error' });
    expect(await errorOf(d, 'asyncNull')).toStrictEqual({ code: -32000, message: 'Server error' });
  });

  it('answers nothing for a notification, whatever happens', async () => {
    const ran = vi.fn();
    const d = new RpcDispatcher()
      .add('ok', ran)
      .add('fail', () => {
        throw new Error('x');
      })
      .add('slowFail', async () => Promise.reject(new Error('x')));
    for (const method of ['ok', 'fail', 'slowFail', 'missing']) {
      expect(await d.dispatch(stubNotification(method, [1]))).toBeUndefined();
    }
    expect(ran).toHaveBeenCalledWith(1);
  });

  it('dispatchAny answers synchronously when the method does', () => {
    const d = new RpcDispatcher().add('now', () => 1).add('later', async () => 2);
    const now = d.dispatchAny(stubRequest('now'));
    expect(now).not.toBeInstanceOf(Promise);
    expect((now as StubResponse).result).toBe(1);
    expect(d.dispatchAny(stubRequest('later'))).toBeInstanceOf(Promise);
  });
});

describe('RpcDispatcher: batches', () => {
  it('answers members in order, skips notifications and keeps members that failed to parse', async () => {
    const d = new RpcDispatcher()
      .add('now', (x: number) => x)
      .add('later', async (x: number) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        return x;
      });
    const unreadable = new InvalidParamsError();
    unreadable.response = stubRequest('x', undefined, null).errorRespond(unreadable);
    const batch = stubBatch([
      stubRequest('later', [1], 1),
      stubNotification('now', [2]),
      unreadable,
      stubRequest('now', [3], 3),
      stubRequest('missing', [], 4),
    ]);
    const answer = (await d.dispatch(batch)) as RpcBatchResponse;
    expect(answer.responses.map((r) => [r.id, r.result ?? r.error?.code])).toEqual([
      [1, 1],
      [null, -32602],
      [3, 3],
      [4, -32601],
    ]);
  });

  it('answers an all-notification batch with a response that serializes to nothing', async () => {
    const d = new RpcDispatcher().add('n', () => 1);
    const answer = await d.dispatch(
      stubBatch([stubNotification('n'), stubNotification('missing')]),
    );
    expect(answer?.serialize()).toBeUndefined();
  });
});
