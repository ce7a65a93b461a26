// The cases other JSON-RPC libraries get wrong, each over the memory transport with raw texts.
import { afterEach, describe, expect, it } from 'vitest';
import { startSpecServer, type SpecServer } from './spec-server.ts';

let spec: SpecServer | undefined;
afterEach(async () => {
  await spec?.server.close();
  spec = undefined;
});
const start = async (...args: Parameters<typeof startSpecServer>) => {
  spec = await startSpecServer(...args);
  return spec;
};

const invalid = (id: unknown = null) => ({
  jsonrpc: '2.0',
  error: { code: -32600, message: 'Invalid Request' },
  id,
});
const parseError = { jsonrpc: '2.0', error: { code: -32700, message: 'Parse error' }, id: null };
const request = (fields: Record<string, unknown>) => JSON.stringify({ jsonrpc: '2.0', ...fields });

describe('ids', () => {
  it('answers id 0', async () => {
    const { send } = await start();
    expect(await send(request({ method: 'sum', params: [1, 2], id: 0 }))).toStrictEqual({
      jsonrpc: '2.0',
      result: 3,
      id: 0,
    });
  });

  it('answers id null (a request, not a notification)', async () => {
    const { send } = await start();
    expect(await send('{"jsonrpc":"2.0","method":"sum","params":[1],"id":null}')).toStrictEqual({
      jsonrpc: '2.0',
      result: 1,
      id: null,
    });
    expect(await send('{"jsonrpc":"2.0","method":"nope","id":null}')).toStrictEqual({
      jsonrpc: '2.0',
      error: { code: -32601, message: 'Method not found' },
      id: null,
    });
  });

  it('answers string ids, the empty string included, and fractional ids', async () => {
    const { send } = await start();
    expect(await send(request({ method: 'sum', id: '' }))).toStrictEqual({
      jsonrpc: '2.0',
      result: 0,
      id: '',
    });
    expect(await send(request({ method: 'sum', id: 1.5 }))).toMatchObject({ id: 1.5 });
  });

  it.each([
    ['an object', { a: 1 }],
    ['an array', [1]],
    ['true', true],
    ['false', false],
  ])('rejects an id that is %s, answering with id null, and runs nothing', async (_, id) => {
    const { send, calls } = await start();
    expect(await send(request({ method: 'sum', params: [1], id }))).toStrictEqual(invalid(null));
    expect(calls).toEqual([]);
  });
});

describe('request objects', () => {
  it.each([
    ['jsonrpc missing', '{"method":"sum","id":1}', 1],
    ['jsonrpc "1.0"', '{"jsonrpc":"1.0","method":"sum","id":1}', 1],
    ['jsonrpc as a number', '{"jsonrpc":2.0,"method":"sum","id":1}', 1],
    ['method missing', '{"jsonrpc":"2.0","id":"a"}', 'a'],
    ['method a number', '{"jsonrpc":"2.0","method":5,"id":"a"}', 'a'],
    ['method null', '{"jsonrpc":"2.0","method":null,"id":2}', 2],
    ['params a string', '{"jsonrpc":"2.0","method":"sum","params":"bar","id":3}', 3],
    ['params a number', '{"jsonrpc":"2.0","method":"sum","params":5,"id":3}', 3],
    ['params null', '{"jsonrpc":"2.0","method":"sum","params":null,"id":3}', 3],
    ['params true', '{"jsonrpc":"2.0","method":"sum","params":true,"id":3}', 3],
    ['params a string, in a notification', '{"jsonrpc":"2.0","method":"sum","params":"x"}', null],
  ])('%s is an invalid request answered with the id it carries', async (_, text, id) => {
    const { send, calls } = await start();
    expect(await send(text)).toStrictEqual(invalid(id));
    expect(calls).toEqual([]);
  });

  it.each([['"just a string"'], ['42'], ['null'], ['true'], ['{}']])(
    '%s is an invalid request',
    async (text) => {
      const { send } = await start();
      expect(await send(text)).toStrictEqual(invalid());
    },
  );

  it.each([
    [''],
    ['   '],
    ['{'],
    ['{"jsonrpc":"2.0",}'],
    ["{'jsonrpc':'2.0'}"],
    ['\u00ef\u00bb\u00bf{}'],
    ['NaN'],
  ])('%j is a parse error', async (text) => {
    const { send } = await start();
    expect(await send(text)).toStrictEqual(parseError);
  });

  it('answers a method that returns nothing with result null', async () => {
    const { send } = await start();
    expect(await send(request({ method: 'update', params: [1], id: 7 }))).toStrictEqual({
      jsonrpc: '2.0',
      result: null,
      id: 7,
    });
  });

  it('treats a method named like an Object.prototype member as not found', async () => {
    const { send } = await start();
    for (const method of ['__proto__', 'constructor', 'hasOwnProperty', 'toString', 'valueOf']) {
      expect(await send(request({ method, id: 1 }))).toStrictEqual({
        jsonrpc: '2.0',
        error: { code: -32601, message: 'Method not found' },
        id: 1,
      });
    }
  });

  it('does not let a "__proto__" member of the params reach the method’s prototype', async () => {
    const { send } = await start();
    const reply = (await send(
      '{"jsonrpc":"2.0","method":"echo","params":[{"__proto__":{"polluted":true}}],"id":1}',
    )) as { result: Record<string, unknown> };
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(reply.result).toStrictEqual(JSON.parse('{"__proto__":{"polluted":true}}'));
    expect(
      await send(
        '{"jsonrpc":"2.0","method":"subtract","params":{"__proto__":{},"minuend":1},"id":2}',
      ),
    ).toMatchObject({ error: { code: -32602 }, id: 2 });
  });
});

describe('batches', () => {
  it('answers a one-element batch with an array', async () => {
    const { send } = await start();
    expect(await send(`[${request({ method: 'sum', params: [1, 2], id: 1 })}]`)).toStrictEqual([
      { jsonrpc: '2.0', result: 3, id: 1 },
    ]);
  });

  it('answers [null] with one invalid request in an array', async () => {
    const { send } = await start();
    expect(await send('[null]')).toStrictEqual([invalid()]);
  });

  it('does not unpack nested batches', async () => {
    const { send, calls } = await start();
    const inner = request({ method: 'sum', params: [1], id: 1 });
    expect(await send(`[[${inner}]]`)).toStrictEqual([invalid()]);
    expect(await send(`[[${inner}], ${inner}, []]`)).toStrictEqual([
      invalid(),
      { jsonrpc: '2.0', result: 1, id: 1 },
      invalid(),
    ]);
    expect(calls).toEqual([['sum', [1]]]);
  });

  it('answers a batch mixing valid and invalid members in order', async () => {
    const { send } = await start();
    const text = `[
      ${request({ method: 'sum', params: [1, 2], id: 'a' })},
      ${request({ method: 'sum', params: [5] })},
      {"jsonrpc": "2.0", "method": "sum", "id": {"x": 1}},
      "text",
      ${request({ method: 'sum', params: 'x', id: 'b' })},
      {"jsonrpc": "1.0", "method": "sum", "id": "c"},
      ${request({ method: 'missing', id: 'd' })},
      ${request({ method: 'subtract', params: { minuend: 1 }, id: 'e' })},
      ${request({ method: 'sum', params: [3], id: 0 })}
    ]`;
    expect(await send(text)).toStrictEqual([
      { jsonrpc: '2.0', result: 3, id: 'a' },
      invalid(null),
      invalid(null),
      invalid('b'),
      invalid('c'),
      { jsonrpc: '2.0', error: { code: -32601, message: 'Method not found' }, id: 'd' },
      {
        jsonrpc: '2.0',
        error: {
          code: -32602,
          message: 'Invalid params',
          data: "'subtract' takes at least 2 argument(s), got 1",
        },
        id: 'e',
      },
      { jsonrpc: '2.0', result: 3, id: 0 },
    ]);
  });

  it('answers a batch whose only answer is for an invalid member', async () => {
    const { send } = await start();
    expect(await send(`[${request({ method: 'sum' })}, 1]`)).toStrictEqual([invalid()]);
  });

  it('answers an over-long batch with one invalid request, and runs none of it', async () => {
    const { send, calls } = await start({ protocol: { maxBatchLength: 3 } });
    const member = request({ method: 'sum', params: [1], id: 1 });
    expect(await send(`[${[member, member, member, member].join(',')}]`)).toStrictEqual(invalid());
    expect(calls).toEqual([]);
    expect(await send(`[${[member, member, member].join(',')}]`)).toHaveLength(3);
  });

  it('limits batches to 1000 members by default', async () => {
    const { send } = await start();
    const member = request({ method: 'sum', id: 1 });
    expect(await send(`[${Array.from({ length: 1001 }, () => member).join(',')}]`)).toStrictEqual(
      invalid(),
    );
    expect(await send(`[${Array.from({ length: 1000 }, () => member).join(',')}]`)).toHaveLength(
      1000,
    );
  });
});

describe('bytes', () => {
  const encode = (text: string) => new TextEncoder().encode(text);

  it('reads a UTF-8 byte message', async () => {
    const { send } = await start();
    expect(
      await send(encode(request({ method: 'echo', params: ['héllo ✓ 😀'], id: 1 }))),
    ).toStrictEqual({
      jsonrpc: '2.0',
      result: 'héllo ✓ 😀',
      id: 1,
    });
  });

  it('answers a string reply to bytes, since JSON-RPC is text', async () => {
    const { sendRaw } = await start();
    expect(typeof (await sendRaw(encode(request({ method: 'sum', id: 1 }))))).toBe('string');
  });

  it.each([
    ['a lone continuation byte', [0x7b, 0x80, 0x7d]],
    ['0xff', [0x22, 0xff, 0x22]],
    ['a truncated sequence', [0x22, 0xe2, 0x82, 0x22]],
    ['an overlong encoding', [0x22, 0xc0, 0xaf, 0x22]],
    ['an encoded surrogate', [0x22, 0xed, 0xa0, 0x80, 0x22]],
  ])('answers invalid UTF-8 (%s) with a parse error', async (_, bytes) => {
    const { send } = await start();
    expect(await send(new Uint8Array(bytes))).toStrictEqual(parseError);
  });

  it('answers an empty byte message with a parse error', async () => {
    const { send } = await start();
    expect(await send(new Uint8Array())).toStrictEqual(parseError);
  });
});
