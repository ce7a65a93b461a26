// Property tests: whatever arrives, parseRequest answers with a request or an RpcError that knows a
// valid JSON-RPC error response, and RpcServer.handle always resolves with a valid reply or nothing.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  RpcDispatcher,
  RpcError,
  RpcServer,
  type Message,
  type RpcBatchRequest,
  type RpcRequest,
} from '@tinyrpc/core';
import {
  JsonRpcErrorResponse,
  JsonRpcProtocol,
  JsonRpcRequest,
  JsonRpcSuccessResponse,
} from '@tinyrpc/jsonrpc';

const protocol = new JsonRpcProtocol({ maxBatchLength: 8 });
const stringify = (value: unknown) => JSON.stringify(value);
const sameJson = (value: unknown): unknown => JSON.parse(JSON.stringify(value));

const isValidId = (id: unknown) =>
  id === null || typeof id === 'string' || (typeof id === 'number' && Number.isFinite(id));

/** Asserts that `text` is one valid JSON-RPC 2.0 error response, exactly its members and no more. */
function expectErrorResponse(text: unknown): void {
  expect(typeof text).toBe('string');
  const value = JSON.parse(text as string) as Record<string, unknown>;
  expect(Object.keys(value).sort()).toEqual(['error', 'id', 'jsonrpc']);
  expect(value['jsonrpc']).toBe('2.0');
  expect(isValidId(value['id'])).toBe(true);
  const error = value['error'] as Record<string, unknown>;
  expect(Number.isInteger(error['code'])).toBe(true);
  expect(typeof error['message']).toBe('string');
  expect(Object.keys(error).every((k) => ['code', 'message', 'data'].includes(k))).toBe(true);
}

/** Asserts that `value` is one valid JSON-RPC 2.0 response (success or error). */
function expectResponse(value: Record<string, unknown>): void {
  expect(value['jsonrpc']).toBe('2.0');
  expect(isValidId(value['id'])).toBe(true);
  if ('result' in value) {
    expect(Object.keys(value).sort()).toEqual(['id', 'jsonrpc', 'result']);
  } else {
    expectErrorResponse(JSON.stringify(value));
  }
}

function checkParsed(parsed: RpcRequest | RpcBatchRequest): void {
  const checkRequest = (request: RpcRequest) => {
    expect(typeof request.method).toBe('string');
    expect(request.id === undefined || isValidId(request.id)).toBe(true);
    expect(request.oneWay).toBe(request.id === undefined);
    expect(request.params === undefined || typeof request.params === 'object').toBe(true);
    expect(request.params).not.toBeNull();
  };
  if ('batch' in parsed) {
    expect(parsed.requests.length).toBeGreaterThan(0);
    expect(parsed.requests.length).toBeLessThanOrEqual(protocol.maxBatchLength);
    for (const member of parsed.requests) {
      if (RpcError.is(member)) expectErrorResponse(member.response?.serialize());
      else checkRequest(member);
    }
  } else {
    checkRequest(parsed);
  }
}

/** parseRequest either parses, or throws an RpcError whose response is a valid error response. */
function parseOrProtocolError(data: Message): void {
  let parsed: RpcRequest | RpcBatchRequest;
  try {
    parsed = protocol.parseRequest(data);
  } catch (error) {
    expect(RpcError.is(error)).toBe(true);
    expectErrorResponse((error as RpcError).response?.serialize());
    return;
  }
  checkParsed(parsed);
}

// Values near what a request holds, so that generated texts reach every check, not just the JSON parser.
const id = fc.oneof(
  fc.string(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constant(null),
  fc.boolean(),
  fc.array(fc.integer(), { maxLength: 2 }),
  fc.object({ maxDepth: 1 }),
);
const requestLike = fc.record(
  {
    jsonrpc: fc.oneof(fc.constant('2.0'), fc.constant('1.0'), fc.constant(2), fc.constant(null)),
    method: fc.oneof(
      fc.string(),
      fc.constantFrom('sum', '__proto__', 'toString', 'constructor'),
      fc.integer(),
    ),
    params: fc.oneof(
      fc.array(fc.jsonValue(), { maxLength: 4 }),
      fc.dictionary(fc.string(), fc.jsonValue()),
      fc.jsonValue(),
    ),
    id,
  },
  { requiredKeys: [] },
);
const member = fc.oneof(
  { weight: 4, arbitrary: requestLike },
  { weight: 1, arbitrary: fc.jsonValue() },
);
const requestText = fc.oneof(
  requestLike.map(stringify),
  fc.array(member, { maxLength: 10 }).map(stringify),
  fc.json(),
  fc.string({ unit: 'binary' }),
  fc.string(),
);
const anyText = fc.oneof(
  requestText,
  requestText.map((t) => t.slice(0, Math.floor(t.length / 2))),
);
const anyBytes = fc.oneof(
  fc.uint8Array({ maxLength: 200 }),
  requestText.map((t) => new TextEncoder().encode(t)),
  fc
    .tuple(requestText, fc.uint8Array({ minLength: 1, maxLength: 4 }), fc.nat())
    .map(([t, noise, at]) => {
      const bytes = new TextEncoder().encode(t);
      const cut = bytes.length === 0 ? 0 : at % bytes.length;
      return Uint8Array.from([...bytes.subarray(0, cut), ...noise, ...bytes.subarray(cut)]);
    }),
);

describe('parseRequest', () => {
  it('parses any string or throws an RpcError with a valid error response', () => {
    fc.assert(fc.property(anyText, parseOrProtocolError), { numRuns: 1000 });
  });

  it('parses any byte sequence or throws an RpcError with a valid error response', () => {
    fc.assert(fc.property(anyBytes, parseOrProtocolError), { numRuns: 1000 });
  });
});

describe('RpcServer.handle', () => {
  const dispatcher = new RpcDispatcher()
    .add('sum', (...n: unknown[]) => n.length)
    .add('echo', (value: unknown) => value)
    .add('fail', () => {
      throw new Error('no');
    })
    .add('big', () => 1n)
    .add('later', async (value: unknown) => value);
  const server = new RpcServer(
    { specificationVersion: 1, listen: () => Promise.resolve(), close: () => Promise.resolve() },
    protocol,
    dispatcher,
  );
  const methods = fc.constantFrom('sum', 'echo', 'fail', 'big', 'later', 'missing', '__proto__');
  const callLike = fc.record(
    {
      jsonrpc: fc.constant('2.0'),
      method: methods,
      params: fc.oneof(
        fc.array(fc.jsonValue(), { maxLength: 3 }),
        fc.dictionary(fc.string(), fc.jsonValue()),
      ),
      id,
    },
    { requiredKeys: ['jsonrpc', 'method'] },
  );
  const input = fc.oneof(
    anyText,
    anyBytes,
    callLike.map(stringify),
    fc.array(fc.oneof(callLike, member), { maxLength: 10 }).map(stringify),
  );

  it('always resolves, with nothing or a valid response (or batch of them)', async () => {
    await fc.assert(
      fc.asyncProperty(input, async (message) => {
        const reply = await server.handle(message);
        if (reply === undefined) return;
        expect(typeof reply).toBe('string');
        const value = JSON.parse(reply as string) as unknown;
        if (Array.isArray(value)) {
          expect(value.length).toBeGreaterThan(0);
          for (const response of value) expectResponse(response as Record<string, unknown>);
        } else {
          expectResponse(value as Record<string, unknown>);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('round trips', () => {
  const validId = fc.oneof(
    fc.string(),
    fc.integer(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.constant(null),
  );
  const params = fc.option(
    fc.oneof(
      fc.array(fc.jsonValue(), { maxLength: 5 }),
      fc.dictionary(fc.string(), fc.jsonValue()),
    ),
    { nil: undefined },
  );

  it('request → serialize → parseRequest keeps method, params and id', () => {
    fc.assert(
      fc.property(
        fc.string({ unit: 'binary' }),
        params,
        fc.option(validId, { nil: undefined }),
        (method, p, requestId) => {
          const request = new JsonRpcRequest(requestId, method, p, stringify);
          const parsed = protocol.parseRequest(request.serialize());
          expect('batch' in parsed).toBe(false);
          const single = parsed as RpcRequest;
          expect(single.method).toBe(method);
          expect(single.params).toStrictEqual(p === undefined ? undefined : sameJson(p));
          expect(single.id).toStrictEqual(
            requestId === undefined ? undefined : sameJson(requestId),
          );
          expect(single.oneWay).toBe(requestId === undefined);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('createRequest / createBatchRequest → parseRequest keeps every member', () => {
    const client = new JsonRpcProtocol();
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.string(), params, fc.boolean()), { minLength: 1, maxLength: 8 }),
        (calls) => {
          const requests = calls.map(([method, p, oneWay]) =>
            client.createRequest(method, p as never, { oneWay }),
          );
          const parsed = protocol.parseRequest(client.createBatchRequest(requests).serialize());
          expect('batch' in parsed).toBe(true);
          const members = (parsed as RpcBatchRequest).requests as RpcRequest[];
          expect(members.map((r) => [r.method, r.params, r.id])).toStrictEqual(
            requests.map((r) => [
              r.method,
              r.params === undefined ? undefined : sameJson(r.params),
              r.id,
            ]),
          );
        },
      ),
      { numRuns: 300 },
    );
  });

  it('success response → serialize → parseReply keeps id and result', () => {
    fc.assert(
      fc.property(validId, fc.jsonValue(), (responseId, result) => {
        const reply = protocol.parseReply(
          new JsonRpcSuccessResponse(responseId, result, stringify).serialize(),
        );
        expect('batch' in reply).toBe(false);
        expect(reply).toMatchObject({ id: sameJson(responseId), error: undefined });
        expect((reply as { result: unknown }).result).toStrictEqual(sameJson(result));
      }),
      { numRuns: 1000 },
    );
  });

  it("a server's success response is exactly JSON.stringify of the response object", () => {
    // The default protocol writes the text around the result's own text; whatever the result, it
    // must be the text of the whole object, byte for byte.
    class Keyed {
      toJSON(key: string) {
        return { key };
      }
    }
    const awkward = fc.constantFrom<unknown>(
      new Keyed(),
      { nested: new Keyed() },
      new Date(0),
      () => 1,
      Symbol('s'),
      Number.NaN,
      -0,
      Infinity,
      undefined,
      [undefined, () => 1],
      { skipped: undefined, kept: 1 },
      '\u2028"\\</script>',
    );
    const server = new JsonRpcProtocol();
    fc.assert(
      fc.property(validId, fc.oneof(fc.jsonValue(), awkward), (requestId, result) => {
        const request = server.parseRequest(
          JSON.stringify({ jsonrpc: '2.0', method: 'm', id: requestId }),
        ) as RpcRequest;
        expect(request.respond(result).serialize()).toBe(
          JSON.stringify({ jsonrpc: '2.0', id: requestId, result: result ?? null }),
        );
      }),
      { numRuns: 2000 },
    );
  });

  it('error response → serialize → parseReply keeps id, code, message and data', () => {
    fc.assert(
      fc.property(
        validId,
        fc.integer(),
        fc.string({ unit: 'binary' }),
        fc.option(fc.jsonValue(), { nil: undefined }),
        (responseId, code, message, data) => {
          const error = data === undefined ? { code, message } : { code, message, data };
          const reply = protocol.parseReply(
            new JsonRpcErrorResponse(responseId, error, stringify).serialize(),
          );
          expect(reply).toMatchObject({ id: sameJson(responseId) });
          expect((reply as { error: unknown }).error).toStrictEqual(sameJson(error));
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('batch response → serialize → parseReply keeps every member in order', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(validId, fc.jsonValue()), { minLength: 1, maxLength: 6 }),
        (members) => {
          const responses = members.map(([i, r]) => new JsonRpcSuccessResponse(i, r, stringify));
          const batch = protocol.createBatchRequest([]).createBatchResponse(responses);
          const reply = protocol.parseReply(batch.serialize() as string);
          expect('batch' in reply).toBe(true);
          expect(
            (
              reply as { readonly responses: readonly { id: unknown; result?: unknown }[] }
            ).responses.map((r) => [r.id, r.result]),
          ).toStrictEqual(members.map(([i, r]) => [sameJson(i), sameJson(r)]));
        },
      ),
      { numRuns: 300 },
    );
  });
});
