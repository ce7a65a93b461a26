import { InvalidReplyError, RpcError } from '@tinyrpc/core';
import { MsgpackRpcProtocol, MsgpackRpcRequest } from '@tinyrpc/msgpackrpc';
import fc from 'fast-check';
import { Packr, pack } from 'msgpackr';
import { describe, expect, it } from 'vitest';

// A strict, plain reader: what any standard MessagePack peer sees in our bytes.
const plain = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'bigint' });

const isInteger = (value: unknown): boolean =>
  (typeof value === 'number' && Number.isInteger(value)) || typeof value === 'bigint';

/** `true` when `bytes` are a MessagePack-RPC error response: `[1, msgid|nil, [code, message], nil]`. */
function isErrorResponse(bytes: Uint8Array): boolean {
  const value: unknown = plain.unpack(bytes);
  if (!Array.isArray(value) || value.length !== 4) return false;
  const [type, msgid, error, result] = value as unknown[];
  return (
    type === 1 &&
    (msgid === null || isInteger(msgid)) &&
    Array.isArray(error) &&
    error.length === 2 &&
    isInteger(error[0]) &&
    typeof error[1] === 'string' &&
    result === null
  );
}

// Values msgpack carries and msgpackr reads back as they were.
const leaf = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.maxSafeInteger(),
  fc.double().map((n) => (Object.is(n, -0) ? 0 : n)),
  fc.string({ unit: 'grapheme' }),
  fc.uint8Array({ maxLength: 64 }),
  fc.bigInt(2n ** 53n + 1n, 2n ** 64n - 1n),
  fc.bigInt(-(2n ** 63n), -(2n ** 53n) - 1n),
);
const { value: msgpackValue } = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(
      fc.string().filter((key) => key !== '__proto__'),
      tie('value'),
      { maxKeys: 5 },
    ),
  ),
}));

// Buffers and Uint8Arrays compare equal by content.
function normalize(value: unknown): unknown {
  if (value instanceof Uint8Array) return { bytes: [...value] };
  if (Array.isArray(value)) return value.map(normalize);
  if (typeof value === 'object' && value !== null) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, normalize(v)]));
  }
  return value;
}

/** parseRequest either reads a request or throws an RpcError that carries a valid error response. */
function checkParseRequest(protocol: MsgpackRpcProtocol, bytes: Uint8Array): void {
  let request: unknown;
  try {
    request = protocol.parseRequest(bytes);
  } catch (error) {
    expect(RpcError.is(error)).toBe(true);
    const response = (error as RpcError).response;
    expect(response).toBeDefined();
    expect(isErrorResponse(response!.serialize() as Uint8Array)).toBe(true);
    return;
  }
  expect(request).toBeInstanceOf(MsgpackRpcRequest);
}

describe('MsgpackRpcProtocol properties', () => {
  const protocol = new MsgpackRpcProtocol();

  it('reads random bytes as a request or answers them with a valid error response', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        checkParseRequest(protocol, bytes);
      }),
      { numRuns: 2000 },
    );
  });

  it('reads random MessagePack values, and near-requests, the same way', () => {
    const nearRequest = fc.oneof(
      msgpackValue,
      fc.array(fc.oneof(fc.constantFrom(0, 1, 2), fc.string({ maxLength: 3 }), msgpackValue), {
        maxLength: 5,
      }),
      fc.tuple(fc.constantFrom(0, 2), msgpackValue, msgpackValue, msgpackValue),
      fc.tuple(fc.constant(2), fc.string(), msgpackValue),
    );
    fc.assert(
      fc.property(nearRequest, (value) => {
        checkParseRequest(protocol, pack(value));
      }),
      { numRuns: 1000 },
    );
  });

  it('reads random bytes as a reply or refuses them with an RpcError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        try {
          protocol.parseReply(bytes);
        } catch (error) {
          expect(error).toBeInstanceOf(InvalidReplyError);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips requests and notifications', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 2 ** 32 - 1 }),
        fc.string(),
        fc.option(fc.array(msgpackValue, { maxLength: 4 }), { nil: undefined }),
        fc.boolean(),
        (firstId, method, params, oneWay) => {
          const sender = new MsgpackRpcProtocol({ firstId });
          const request = sender.createRequest(method, params, { oneWay });
          const read = protocol.parseRequest(request.serialize());
          expect(read.id).toBe(oneWay ? undefined : firstId);
          expect(read.method).toBe(method);
          expect(read.oneWay).toBe(oneWay);
          expect(normalize(read.params)).toEqual(normalize(params ?? []));
        },
      ),
    );
  });

  it('round-trips results and errors', () => {
    fc.assert(
      fc.property(
        fc.nat({ max: 2 ** 32 - 1 }),
        msgpackValue,
        fc.integer(),
        fc.string(),
        (msgid, result, code, message) => {
          const request = protocol.parseRequest(pack([0, msgid, 'm', []]));
          const success = protocol.parseReply(request.respond(result).serialize());
          expect(success.id).toBe(msgid);
          expect(normalize(success.result)).toEqual(normalize(result));
          const failure = protocol.parseReply(
            request.errorRespond(new RpcError(message, { code })).serialize(),
          );
          expect(failure).toMatchObject({ id: msgid, error: { code, message } });
        },
      ),
    );
  });
});
