import {
  InvalidParamsError,
  InvalidReplyError,
  InvalidRequestError,
  ParseError,
  RpcError,
  isRpcProtocol,
} from '@tinyrpc/core';
import {
  MsgpackRpcErrorResponse,
  MsgpackRpcProtocol,
  MsgpackRpcRequest,
  MsgpackRpcSuccessResponse,
} from '@tinyrpc/msgpackrpc';
import { FLOAT32_OPTIONS, Packr, pack, unpack } from 'msgpackr';
import { describe, expect, it } from 'vitest';

const protocol = new MsgpackRpcProtocol();
const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex');
// A decoder with no msgpackr extras, reading 64-bit integers as bigint: what a plain peer sees.
const plain = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'bigint' });
const decode = (bytes: Uint8Array): unknown => plain.unpack(bytes);

/** What `parseRequest` threw for `bytes`: the error and its response as it travels, decoded. */
function rejectRequest(bytes: Uint8Array | string): { error: RpcError; wire: unknown } {
  try {
    protocol.parseRequest(bytes);
  } catch (error) {
    if (!RpcError.is(error)) throw error;
    expect(error.response).toBeDefined();
    return { error, wire: unpack(error.response!.serialize() as Uint8Array) };
  }
  throw new Error('parseRequest accepted the message');
}

describe('MsgpackRpcProtocol: requests it writes', () => {
  it('is a branded protocol without batches', () => {
    expect(isRpcProtocol(protocol)).toBe(true);
    expect(protocol.supportsBatch).toBe(false);
    expect('createBatchRequest' in protocol).toBe(false);
  });

  it('writes [0, msgid, method, params] with msgids from 1', () => {
    const own = new MsgpackRpcProtocol();
    const first = own.createRequest('add', [1, 2]);
    const second = own.createRequest('add', [3, 4]);
    expect(decode(first.serialize())).toEqual([0, 1, 'add', [1, 2]]);
    expect(decode(second.serialize())).toEqual([0, 2, 'add', [3, 4]]);
    expect(first.oneWay).toBe(false);
  });

  it('writes exactly the bytes of the specification for a small call', () => {
    const own = new MsgpackRpcProtocol();
    // fixarray(4) 0 1 fixstr(3)"add" fixarray(2) 1 2
    expect(hex(own.createRequest('add', [1, 2]).serialize())).toBe('940001a3616464920102');
  });

  it('writes notifications as [2, method, params] and absent params as []', () => {
    const notification = protocol.createRequest('log', undefined, { oneWay: true });
    expect(notification.oneWay).toBe(true);
    expect(notification.id).toBeUndefined();
    expect(decode(notification.serialize())).toEqual([2, 'log', []]);
  });

  it('wraps msgids as unsigned 32-bit integers', () => {
    const own = new MsgpackRpcProtocol({ firstId: 2 ** 32 - 2 });
    expect([0, 1, 2].map(() => own.createRequest('m').id)).toEqual([2 ** 32 - 2, 2 ** 32 - 1, 0]);
    // The largest msgid still travels as uint32 (0xce), not as a 64-bit integer or a float.
    const last = new MsgpackRpcProtocol({ firstId: 2 ** 32 - 1 }).createRequest('m');
    expect(hex(last.serialize()).slice(4, 14)).toBe('ceffffffff');
  });

  it('refuses a firstId that is not an unsigned 32-bit integer', () => {
    expect(() => new MsgpackRpcProtocol({ firstId: -1 })).toThrow(RangeError);
    expect(() => new MsgpackRpcProtocol({ firstId: 2 ** 32 })).toThrow(RangeError);
    expect(() => new MsgpackRpcProtocol({ firstId: 1.5 })).toThrow(RangeError);
  });

  it('refuses named params unless namedParams is on', () => {
    expect(() => protocol.createRequest('add', { a: 1 })).toThrow(InvalidParamsError);
    expect(() => protocol.createRequest('add', { a: 1 })).toThrow(/by position/);
    const named = new MsgpackRpcProtocol({ namedParams: true });
    expect(decode(named.createRequest('add', { a: 1 }).serialize())).toEqual([
      0,
      1,
      'add',
      { a: 1 },
    ]);
  });

  it('writes Uint8Array as bin and strings as str, with no msgpackr extension', () => {
    const bytes = new Uint8Array([0, 1, 255]);
    const request = new MsgpackRpcProtocol().createRequest('put', ['k', bytes]);
    // ... fixarray(2) fixstr(1)"k" bin8(3) 00 01 ff
    expect(hex(request.serialize())).toBe('940001a3707574' + '92a16b' + 'c4030001ff');
    const wire = decode(request.serialize()) as unknown[];
    expect(wire[3]).toEqual(['k', Buffer.from(bytes)]);
  });

  it('writes undefined as nil, objects as maps, and no records however often a shape repeats', () => {
    const own = new MsgpackRpcProtocol();
    const rows = Array.from({ length: 5 }, (_, i) => ({ id: i, name: 'n' }));
    const bytes = own.createRequest('save', [rows, undefined]).serialize();
    const text = hex(bytes);
    expect(text).not.toMatch(/d472|c7..72/); // the record extension marker
    expect(decode(bytes)).toEqual([0, 1, 'save', [rows, null]]);
    // A standard reader (no msgpackr extensions) sees the same.
    expect(unpack(bytes)).toEqual([0, 1, 'save', [rows, null]]);
  });

  it('writes whole numbers beyond 32 bits as integers, not floats', () => {
    const own = new MsgpackRpcProtocol();
    const values = [2 ** 40, -(2 ** 40), Number.MAX_SAFE_INTEGER, 1.5, 2 ** 31];
    const bytes = own.createRequest('m', [values, { nested: [2 ** 33] }]).serialize();
    expect(decode(bytes)).toEqual([
      0,
      1,
      'm',
      [
        [2n ** 40n, -(2n ** 40n), BigInt(Number.MAX_SAFE_INTEGER), 1.5, 2 ** 31],
        { nested: [2n ** 33n] },
      ],
    ]);
    const floats = new MsgpackRpcProtocol({ largeIntegersAsInt64: false });
    expect(decode(floats.createRequest('m', [2 ** 40]).serialize())).toEqual([
      0,
      1,
      'm',
      [2 ** 40],
    ]);
    expect(hex(floats.createRequest('m', [2 ** 40]).serialize())).toContain('cb4270000000000000');
  });

  it('does not change the values it is given', () => {
    const params = [{ big: 2 ** 40 }, new Map([['k', 2 ** 41]])];
    new MsgpackRpcProtocol().createRequest('m', params).serialize();
    expect(params).toEqual([{ big: 2 ** 40 }, new Map([['k', 2 ** 41]])]);
  });

  it('writes bigint as 64-bit integers and fails clearly beyond 64 bits', () => {
    const request = protocol.createRequest('m', [2n ** 63n - 1n, -(2n ** 63n), 2n ** 64n - 1n]);
    expect((decode(request.serialize()) as unknown[])[3]).toEqual([
      2n ** 63n - 1n,
      -(2n ** 63n),
      2n ** 64n - 1n,
    ]);
    expect(() => protocol.createRequest('m', [2n ** 64n]).serialize()).toThrow(
      /MessagePack cannot encode this value/,
    );
    expect(() => protocol.createRequest('m', [Symbol('x')]).serialize()).toThrow(TypeError);
  });

  it("copies messages out of msgpackr's shared buffer once that has grown", () => {
    const own = new MsgpackRpcProtocol();
    const large = own.createRequest('m', ['x'.repeat(100_000)]).serialize();
    expect(large.buffer.byteLength).toBeLessThanOrEqual(16 * large.byteLength);
    const small = own.createRequest('m', [1]).serialize();
    expect(small.buffer.byteLength).toBeLessThanOrEqual(16 * 1024);
    expect(decode(small)).toEqual([0, 2, 'm', [1]]);
  });

  it('lets msgpackr options through', () => {
    const floats32 = new MsgpackRpcProtocol({ msgpackr: { useFloat32: FLOAT32_OPTIONS.ALWAYS } });
    expect(hex(floats32.createRequest('m', [0.5]).serialize())).toContain('ca3f000000');
  });
});

describe('MsgpackRpcProtocol: requests it reads', () => {
  it('reads requests and notifications', () => {
    const request = protocol.parseRequest(pack([0, 7, 'add', [1, 2]]));
    expect(request).toBeInstanceOf(MsgpackRpcRequest);
    expect(request).toMatchObject({ id: 7, method: 'add', params: [1, 2], oneWay: false });
    const notification = protocol.parseRequest(pack([2, 'log', ['x']]));
    expect(notification).toMatchObject({ id: undefined, method: 'log', params: ['x'] });
    expect(notification.oneWay).toBe(true);
  });

  it('takes msgid 0, any integer msgid, and a 64-bit encoded small msgid', () => {
    expect(protocol.parseRequest(pack([0, 0, 'm', []])).id).toBe(0);
    expect(protocol.parseRequest(pack([0, 2 ** 40, 'm', []])).id).toBe(2 ** 40);
    // uint64 encoding of 5: cf 0000000000000005
    const bytes = Buffer.from('9400cf0000000000000005a16d90', 'hex');
    expect(protocol.parseRequest(bytes).id).toBe(5);
  });

  it('reads nil params as no params', () => {
    expect(protocol.parseRequest(pack([0, 1, 'm', null])).params).toBeUndefined();
  });

  it('reads binary params as bytes that outlive the message buffer', () => {
    const bytes = pack([0, 1, 'put', [new Uint8Array([1, 2, 3])]]);
    const request = protocol.parseRequest(bytes);
    bytes.fill(0);
    const [value] = request.params as [Uint8Array];
    expect(value).toBeInstanceOf(Uint8Array);
    expect([...value]).toEqual([1, 2, 3]);
  });

  it('answers unreadable bytes with a parse error and msgid nil', () => {
    const unreadable = [
      Buffer.from('c1', 'hex'), // the never-used byte
      Buffer.from('940001a16d91c1', 'hex'), // [0, 1, 'm', [0xc1]]
      Buffer.alloc(0),
      pack([0, 1, 'm', []]).subarray(0, 4),
      Buffer.from('dd7fffffff', 'hex'), // an array claiming 2^31 elements
      Buffer.from('dbffffffff', 'hex'), // a string claiming 4 GiB
    ];
    for (const bytes of unreadable) {
      const { error, wire } = rejectRequest(bytes);
      expect(error).toBeInstanceOf(ParseError);
      expect(wire).toEqual([1, null, [-32700, 'Parse error'], null]);
    }
  });

  it('answers trailing bytes after the message with a parse error', () => {
    const bytes = Buffer.concat([pack([0, 1, 'm', []]), Buffer.from([0])]);
    expect(rejectRequest(bytes).error).toBeInstanceOf(ParseError);
  });

  it('answers text with a parse error', () => {
    const { error, wire } = rejectRequest('[0, 1, "m", []]');
    expect(error.message).toMatch(/binary/);
    expect(wire).toMatchObject([1, null, [-32700, expect.any(String)], null]);
  });

  it.each([
    ['a map', { method: 'm' }, null],
    ['an empty array', [], null],
    ['a response', [1, 1, null, 3], null],
    ['an unknown type', [3, 1, 'm', []], null],
    ['a string type', ['0', 1, 'm', []], null],
    ['a request of 3 elements', [0, 9, 'm'], 9],
    ['a request of 5 elements', [0, 9, 'm', [], 1], 9],
    ['a request whose msgid is a string', [0, '9', 'm', []], null],
    ['a request whose msgid is a float', [0, 1.5, 'm', []], null],
    ['a request whose msgid is nil', [0, null, 'm', []], null],
    ['a request whose method is not a string', [0, 9, 5, []], 9],
    ['a request whose method is bytes', [0, 9, new Uint8Array([109]), []], 9],
    ['a notification of 4 elements', [2, 'm', [], 1], null],
    ['a notification whose method is not a string', [2, 5, []], null],
  ])('answers %s with invalid request', (_, value, msgid) => {
    const { error, wire } = rejectRequest(pack(value));
    expect(error).toBeInstanceOf(InvalidRequestError);
    expect(wire).toEqual([1, msgid, [-32600, error.message], null]);
    expect(error.message).toMatch(/^Invalid request: /);
  });

  it.each([
    ['a map', { a: 1 }],
    ['a string', 'x'],
    ['a number', 1],
    ['bytes', new Uint8Array([1])],
  ])('answers params that are %s with invalid params, keeping the msgid', (_, params) => {
    const { error, wire } = rejectRequest(pack([0, 12, 'm', params]));
    expect(error).toBeInstanceOf(InvalidParamsError);
    expect(wire).toEqual([1, 12, [-32602, error.message], null]);
  });

  it('takes map params as named params when namedParams is on', () => {
    const named = new MsgpackRpcProtocol({ namedParams: true });
    expect(named.parseRequest(pack([0, 1, 'm', { a: 1 }])).params).toEqual({ a: 1 });
    expect(() => named.parseRequest(pack([0, 1, 'm', 'x']))).toThrow(InvalidParamsError);
  });

  it('keeps __proto__ keys from changing prototypes', () => {
    const bytes = Buffer.from(
      '9400' + '01' + 'a16d' + '91' + '81a95f5f70726f746f5f5f81a178a179',
      'hex',
    );
    const [value] = protocol.parseRequest(bytes).params as [Record<string, unknown>];
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)['x']).toBeUndefined();
  });
});

describe('MsgpackRpcProtocol: responses', () => {
  const request = new MsgpackRpcProtocol().parseRequest(pack([0, 42, 'm', []]));

  it('writes results as [1, msgid, nil, result] and undefined as nil', () => {
    expect(decode(request.respond({ ok: true }).serialize())).toEqual([1, 42, null, { ok: true }]);
    expect(decode(request.respond(undefined).serialize())).toEqual([1, 42, null, null]);
  });

  it('writes errors as [code, message], as Python tinyrpc does, leaving data out', () => {
    const error = new RpcError('Out of stock', { code: 4001, data: { sku: 'a' } });
    expect(decode(request.errorRespond(error).serialize())).toEqual([
      1,
      42,
      [4001, 'Out of stock'],
      null,
    ]);
    expect(decode(request.errorRespond(new Error('kaboom')).serialize())).toEqual([
      1,
      42,
      [-32000, 'kaboom'],
      null,
    ]);
    const hidden = request.errorRespond(new Error('secret'), { hideMessage: true });
    expect(decode(hidden.serialize())).toEqual([1, 42, [-32000, 'Server error'], null]);
  });

  it('writes [code, message, data] when errorData is on and there is data', () => {
    const own = new MsgpackRpcProtocol({ errorData: true });
    const withData = own.parseRequest(pack([0, 1, 'm', []]));
    const error = new RpcError('Out of stock', { code: 4001, data: { sku: 'a' } });
    expect(decode(withData.errorRespond(error).serialize())).toEqual([
      1,
      1,
      [4001, 'Out of stock', { sku: 'a' }],
      null,
    ]);
    expect(decode(withData.errorRespond(new Error('x')).serialize())).toEqual([
      1,
      1,
      [-32000, 'x'],
      null,
    ]);
  });

  it('reads results and errors', () => {
    const success = protocol.parseReply(pack([1, 3, null, 'ok']));
    expect(success).toBeInstanceOf(MsgpackRpcSuccessResponse);
    expect(success).toMatchObject({ id: 3, result: 'ok', error: undefined });
    const failure = protocol.parseReply(pack([1, 3, [-32601, 'Method not found'], null]));
    expect(failure).toBeInstanceOf(MsgpackRpcErrorResponse);
    expect(failure).toMatchObject({ id: 3, error: { code: -32601, message: 'Method not found' } });
    expect(protocol.parseReply(pack([1, 3, null, null]))).toMatchObject({ id: 3, result: null });
  });

  it('reads an error answer to an unreadable request (msgid nil)', () => {
    const reply = protocol.parseReply(pack([1, null, [-32700, 'Parse error'], null]));
    expect(reply).toMatchObject({ id: null, error: { code: -32700, message: 'Parse error' } });
  });

  it.each([
    ['[code, message]', [7, 'seven'], { code: 7, message: 'seven' }],
    [
      '[code, message, data]',
      [7, 'seven', { k: 1 }],
      { code: 7, message: 'seven', data: { k: 1 } },
    ],
    ['[code, bytes message]', [7, new Uint8Array([104, 105])], { code: 7, message: 'hi' }],
    ['[code, message] with a 64-bit code', [BigInt(-32000), 'x'], { code: -32000, message: 'x' }],
    ['a string', 'it broke', { code: -32000, message: 'it broke' }],
    ['bytes', new Uint8Array([104, 105]), { code: -32000, message: 'hi' }],
    ['an integer', 42, { code: 42, message: 'Remote error 42' }],
    [
      '{code, message, data}',
      { code: 5, message: 'm', data: [1] },
      { code: 5, message: 'm', data: [1] },
    ],
    [
      '{error, error_code} of early tinyrpc',
      { error: 'old', error_code: -32001 },
      { code: -32001, message: 'old' },
    ],
    ['{message} alone', { message: 'm' }, { code: -32000, message: 'm' }],
    [
      'a map of other keys',
      { what: 1 },
      { code: -32000, message: 'Remote error', data: { what: 1 } },
    ],
    ['an odd array', ['x', 'y'], { code: -32000, message: 'Remote error', data: ['x', 'y'] }],
    ['an empty array', [], { code: -32000, message: 'Remote error', data: [] }],
    ['true', true, { code: -32000, message: 'true', data: true }],
    ['false', false, { code: -32000, message: 'false', data: false }],
    ['a float', 1.5, { code: -32000, message: '1.5', data: 1.5 }],
  ])('reads an error that is %s', (_, error, expected) => {
    const reply = protocol.parseReply(pack([1, 3, error, null]));
    expect(reply.error).toEqual(expected);
  });

  it('takes the error when a reply carries both error and result', () => {
    const reply = protocol.parseReply(pack([1, 3, 'bad', 'result']));
    expect(reply.error).toEqual({ code: -32000, message: 'bad' });
  });

  it.each([
    ['unreadable bytes', Buffer.from('c1', 'hex')],
    ['no bytes', Buffer.alloc(0)],
    ['truncated bytes', pack([1, 3, null, 'ok']).subarray(0, 3)],
    ['a map', pack({ id: 1 })],
    ['a request', pack([0, 1, 'm', []])],
    ['a notification', pack([2, 'm', []])],
    ['a response of 3 elements', pack([1, 3, null])],
    ['a response of 5 elements', pack([1, 3, null, 1, 2])],
    ['a result with msgid nil', pack([1, null, null, 1])],
    ['a result with a string msgid', pack([1, '3', null, 1])],
    ['an error with a float msgid', pack([1, 1.5, 'x', null])],
  ])('refuses %s with InvalidReplyError', (_, bytes) => {
    expect(() => protocol.parseReply(bytes)).toThrow(InvalidReplyError);
  });

  it('refuses a text reply', () => {
    expect(() => protocol.parseReply('[1, 1, null, 1]')).toThrow(/binary/);
  });
});
