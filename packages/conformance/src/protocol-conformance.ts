import assert from 'node:assert/strict';
import {
  createMemoryTransport,
  isRpcProtocol,
  RemoteError,
  RpcClient,
  RpcDispatcher,
  RpcError,
  RpcServer,
  type Message,
  type Params,
  type RpcBatchRequest,
  type RpcBatchResponse,
  type RpcProtocol,
  type RpcRequest,
  type RpcResponse,
} from '@tinyrpc/core';
import { payloadDifference, textPayload } from './payloads.ts';
import { register, within, type ConformanceRunner } from './runner.ts';

/** What a protocol can do; cases it cannot pass are skipped. Every field has a default. */
export interface ProtocolCapabilities {
  /** Has batches (`createBatchRequest`). Default: the protocol's `supportsBatch`. */
  readonly batch?: boolean;
  /** Carries `Uint8Array` params and results as bytes. Default `false`. */
  readonly binaryValues?: boolean;
  /** Carries named params (a plain object). Default `true`. */
  readonly namedParams?: boolean;
  /** Carries an error's `data`. Default `true`. */
  readonly errorData?: boolean;
}

/** Options of {@link runProtocolConformance}. */
export interface ProtocolConformanceOptions {
  /** Names the suite: `protocol conformance: <name>`. */
  readonly name: string;
  /** Creates a fresh protocol instance; the kit uses one for the client side, one for the server side. */
  readonly createProtocol: () => RpcProtocol;
  readonly capabilities?: ProtocolCapabilities;
  /** Milliseconds one case may take. Default 3000. */
  readonly timeout?: number;
}

// Values every protocol carries exactly: JSON's types, nested, and text beyond ASCII.
const VALUES: readonly [string, unknown][] = [
  ['an integer', 42],
  ['a negative number', -2.5],
  ['the largest safe integer', Number.MAX_SAFE_INTEGER],
  ['a string', 'text é ✓ 😀 "quoted" \\ \n'],
  ['an empty string', ''],
  ['true', true],
  ['false', false],
  ['null', null],
  ['an array', [1, 'two', [3, [4]], { five: 5 }]],
  ['an object', { a: 1, nested: { b: [true, null], 'key with spaces': 'x' } }],
  ['an empty array', []],
  ['an empty object', {}],
];

// Inputs no protocol may take for a request or a reply.
const GARBAGE: readonly [string, Message][] = [
  ['an empty string', ''],
  ['empty bytes', new Uint8Array(0)],
  ['a word', 'garbage'],
  ['control characters', '\u0000\u0001\u0002'],
  ['bytes that are neither UTF-8 nor MessagePack', new Uint8Array([0xc1, 0xff, 0xfe, 0x00, 0x80])],
  ['a truncated object', '{"method":'],
  ['a bare number', '42'],
  ['null', 'null'],
  ['a string literal', '"call"'],
];

// A small deterministic generator, so a failing input can be reproduced.
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function randomInputs(count: number, seed: number, valid: readonly Message[]): Message[] {
  const next = random(seed);
  const inputs: Message[] = [];
  for (let i = 0; i < count; i++) {
    const kind = i % 4;
    if (kind === 0) {
      inputs.push(
        Uint8Array.from({ length: Math.floor(next() * 64) }, () => Math.floor(next() * 256)),
      );
    } else if (kind === 1) {
      inputs.push(
        String.fromCharCode(
          ...Array.from({ length: Math.floor(next() * 64) }, () => Math.floor(next() * 0x7f)),
        ),
      );
    } else {
      // A valid message, truncated or with bytes flipped.
      const source = valid[Math.floor(next() * valid.length)] as Message;
      const bytes = typeof source === 'string' ? new TextEncoder().encode(source) : source.slice();
      if (kind === 2) inputs.push(bytes.slice(0, Math.floor(next() * bytes.length)));
      else {
        for (let flips = 0; flips < 3; flips++)
          bytes[Math.floor(next() * bytes.length)] = Math.floor(next() * 256);
        inputs.push(typeof source === 'string' ? new TextDecoder().decode(bytes) : bytes);
      }
    }
  }
  return inputs;
}

const describeInput = (input: Message): string =>
  typeof input === 'string'
    ? JSON.stringify(input.slice(0, 80))
    : `bytes [${[...input.subarray(0, 40)].join(', ')}${input.length > 40 ? ', …' : ''}]`;

const describeError = (error: unknown): string =>
  error instanceof Error ? `${error.name}: ${error.message}` : String(error);

const single = (parsed: RpcRequest | RpcBatchRequest): RpcRequest => {
  assert.ok(!('batch' in parsed), 'A single request was read as a batch');
  return parsed;
};
const singleReply = (parsed: RpcResponse | RpcBatchResponse): RpcResponse => {
  assert.ok(!('batch' in parsed), 'A single response was read as a batch');
  return parsed;
};

/** Fails unless reading `input` with `read` throws an RpcError (and, for requests, one with a response). */
function expectRejected(
  read: () => unknown,
  input: Message,
  what: 'request' | 'reply',
  client: RpcProtocol,
): void {
  let thrown: unknown;
  try {
    read();
  } catch (error) {
    thrown = error;
  }
  assert.notEqual(
    thrown,
    undefined,
    `${what === 'request' ? 'parseRequest' : 'parseReply'} accepted ${describeInput(input)}`,
  );
  checkRejection(thrown, input, what, client);
}

function checkRejection(
  thrown: unknown,
  input: Message,
  what: 'request' | 'reply',
  client: RpcProtocol,
): void {
  assert.ok(
    RpcError.is(thrown),
    `Reading ${describeInput(input)} as a ${what} threw ${describeError(thrown)}, not an RpcError`,
  );
  if (what === 'reply') return;
  assert.ok(
    thrown.response !== undefined,
    `The RpcError for the ${what} ${describeInput(input)} carries no response to send back`,
  );
  const reply = singleReply(client.parseReply(thrown.response.serialize()));
  assert.ok(reply.error !== undefined, 'The response to bad input is not an error response');
  assert.ok(Number.isInteger(reply.error.code), 'The error response has no integer code');
  assert.equal(typeof reply.error.message, 'string', 'The error response has no message');
}

/**
 * Registers the protocol conformance cases with a test runner: round trips of requests (positional
 * and named params, notifications), responses, errors with code, message and data, batches where
 * supported, garbage input answered with errors, and calls through `RpcClient` and `RpcServer`.
 *
 * @example
 * ```ts
 * import { describe, it } from 'vitest'; // or 'node:test'
 * runProtocolConformance({ describe, it }, { name: 'json-rpc', createProtocol: () => new JsonRpcProtocol() });
 * ```
 */
export function runProtocolConformance(
  runner: ConformanceRunner,
  options: ProtocolConformanceOptions,
): void {
  const capabilities = options.capabilities ?? {};
  const batch = capabilities.batch ?? options.createProtocol().supportsBatch === true;
  const named = capabilities.namedParams ?? true;
  const errorData = capabilities.errorData ?? true;
  const timeout = options.timeout ?? 3000;
  const test = (
    name: string,
    enabled: boolean | string,
    body: (client: RpcProtocol, server: RpcProtocol) => void | Promise<void>,
  ): void => {
    register(runner, name, enabled, () =>
      within(
        Promise.resolve().then(() => body(options.createProtocol(), options.createProtocol())),
        timeout,
        'The case',
      ),
    );
  };

  // A request made by `client`, read by `server`, answered, and the answer read by `client`.
  const exchange = (
    client: RpcProtocol,
    server: RpcProtocol,
    params: Params | undefined,
    answer: (r: RpcRequest) => RpcResponse,
  ) => {
    const request = client.createRequest('method.name', params);
    const parsed = single(server.parseRequest(request.serialize()));
    const reply = singleReply(client.parseReply(answer(parsed).serialize()));
    assert.equal(reply.id, request.id, 'The response carries another id than its request');
    return reply;
  };

  runner.describe(`protocol conformance: ${options.name}`, () => {
    test('the protocol carries its brand', true, (client) => {
      assert.ok(
        isRpcProtocol(client),
        'The protocol has no brand: call setBrand(this, protocolBrand)',
      );
      if (batch)
        assert.equal(
          typeof client.createBatchRequest,
          'function',
          'Batches need createBatchRequest',
        );
    });

    test('a request with positional params round-trips', true, (client, server) => {
      const params = [1, 'two', { three: [3] }, null];
      const request = client.createRequest('math.sum', params);
      assert.equal(request.oneWay, false);
      assert.ok(request.id !== undefined && request.id !== null, 'A request needs an id');
      const parsed = single(server.parseRequest(request.serialize()));
      assert.equal(parsed.method, 'math.sum');
      assert.deepEqual(parsed.params, params);
      assert.equal(parsed.id, request.id);
      assert.equal(parsed.oneWay, false);
    });

    test('a request with named params round-trips', named, (client, server) => {
      const params = { a: 1, b: 'two', c: { d: [4] } };
      const parsed = single(server.parseRequest(client.createRequest('named', params).serialize()));
      assert.equal(parsed.method, 'named');
      assert.deepEqual(parsed.params, params);
    });

    test('a request without params round-trips', true, (client, server) => {
      const parsed = single(server.parseRequest(client.createRequest('ping').serialize()));
      assert.equal(parsed.method, 'ping');
      const { params } = parsed;
      assert.ok(
        params === undefined ||
          (Array.isArray(params) ? params.length === 0 : Object.keys(params).length === 0),
        `A request without params was read with params ${JSON.stringify(params)}`,
      );
    });

    test('a notification round-trips without an id', true, (client, server) => {
      const request = client.createRequest('log', ['message'], { oneWay: true });
      assert.equal(request.oneWay, true);
      assert.equal(request.id, undefined, 'A notification has no id');
      const parsed = single(server.parseRequest(request.serialize()));
      assert.equal(parsed.oneWay, true, 'A notification was read as a call');
      assert.equal(parsed.id, undefined);
      assert.deepEqual(parsed.params, ['message']);
    });

    test('requests get distinct ids', true, (client) => {
      const ids = Array.from({ length: 1000 }, () => client.createRequest('m').id);
      assert.equal(
        new Set(ids).size,
        ids.length,
        'Two requests of one protocol instance share an id',
      );
    });

    for (const [label, value] of VALUES) {
      test(`a response carrying ${label} round-trips`, true, (client, server) => {
        const reply = exchange(client, server, [value], (request) => request.respond(value));
        assert.equal(reply.error, undefined, 'A result was read as an error');
        assert.deepEqual(reply.result, value);
      });
    }

    test('1 MB of text round-trips as a param and a result', true, (client, server) => {
      const text = textPayload(1_000_000);
      const reply = exchange(client, server, [text], (request) => {
        assert.equal(
          payloadDifference((request.params as unknown[])[0], text),
          undefined,
          'The param changed',
        );
        return request.respond(text);
      });
      assert.equal(payloadDifference(reply.result, text), undefined, 'The result changed');
    });

    test(
      'bytes round-trip as a param and a result',
      capabilities.binaryValues ?? false,
      (client, server) => {
        const bytes = Uint8Array.from({ length: 300 }, (_, i) => (i * 7) & 0xff);
        const reply = exchange(client, server, [bytes], (request) => {
          const param = (request.params as unknown[])[0];
          assert.equal(payloadDifference(param, bytes), undefined, 'The bytes param changed');
          return request.respond(bytes);
        });
        assert.equal(payloadDifference(reply.result, bytes), undefined, 'The bytes result changed');
      },
    );

    test('an RpcError answers with its code, message and data', true, (client, server) => {
      const data = { sku: 'a-1', left: [0, 1] };
      const reply = exchange(client, server, [], (request) =>
        request.errorRespond(new RpcError('Out of stock', { code: 4001, data })),
      );
      assert.ok(reply.error, 'An error was read as a result');
      assert.equal(reply.error.code, 4001);
      assert.equal(reply.error.message, 'Out of stock');
      if (errorData) assert.deepEqual(reply.error.data, data);
      const bare = exchange(client, server, [], (request) =>
        request.errorRespond(new RpcError('Bare', { code: 4002 })),
      );
      assert.equal(bare.error?.code, 4002);
      assert.equal(bare.error.data, undefined, 'An error without data was read with data');
    });

    test('any other error answers -32000 with its message, or hides it', true, (client, server) => {
      const error = new Error('boom');
      error.stack = 'Error: boom\n    at secretFrame (/secret/path.js:1:1)';
      const plain = exchange(client, server, [], (request) => {
        const response = request.errorRespond(error);
        const wire = response.serialize();
        const text = typeof wire === 'string' ? wire : Buffer.from(wire).toString('latin1');
        assert.ok(!text.includes('secretFrame'), 'A stack trace travels in the error response');
        return response;
      });
      assert.equal(plain.error?.code, -32000);
      assert.equal(plain.error.message, 'boom');
      const hidden = exchange(client, server, [], (request) =>
        request.errorRespond(error, { hideMessage: true }),
      );
      assert.equal(hidden.error?.code, -32000);
      assert.notEqual(hidden.error.message, 'boom', 'hideMessage did not hide the message');
    });

    test('a batch round-trips in order', batch, (client, server) => {
      const requests = [
        client.createRequest('first', [1]),
        client.createRequest('note', [2], { oneWay: true }),
        client.createRequest('third', [3]),
      ];
      assert.equal(
        typeof client.createBatchRequest,
        'function',
        'The protocol has no createBatchRequest',
      );
      const parsed = server.parseRequest(
        (client.createBatchRequest as NonNullable<RpcProtocol['createBatchRequest']>)
          .call(client, requests)
          .serialize(),
      );
      assert.ok('batch' in parsed, 'A batch was read as a single request');
      assert.equal(parsed.requests.length, 3);
      const members = parsed.requests.map((member) => {
        assert.ok(!RpcError.is(member), `A batch member failed to parse: ${describeError(member)}`);
        return member;
      });
      assert.deepEqual(
        members.map((m) => [m.method, m.params, m.oneWay]),
        [
          ['first', [1], false],
          ['note', [2], true],
          ['third', [3], false],
        ],
      );
      const [first, , third] = members as [RpcRequest, RpcRequest, RpcRequest];
      const responses = [
        first.respond('one'),
        third.errorRespond(new RpcError('three failed', { code: 4003 })),
      ];
      const wire = parsed.createBatchResponse(responses).serialize();
      assert.notEqual(wire, undefined, 'A batch response with members serialized to nothing');
      const reply = client.parseReply(wire as Message);
      assert.ok('batch' in reply, 'A batch response was read as a single response');
      assert.deepEqual(
        reply.responses.map((r) => [r.id, r.error === undefined ? r.result : r.error.code]),
        [
          [requests[0]?.id, 'one'],
          [requests[2]?.id, 4003],
        ],
      );
      assert.equal(
        parsed.createBatchResponse([]).serialize(),
        undefined,
        'A batch of notifications must answer nothing',
      );
    });

    test(
      'garbage requests throw an RpcError carrying an error response',
      true,
      (client, server) => {
        for (const [, input] of GARBAGE)
          expectRejected(() => server.parseRequest(input), input, 'request', client);
      },
    );

    test('garbage replies throw an RpcError', true, (client) => {
      for (const [, input] of GARBAGE)
        expectRejected(() => client.parseReply(input), input, 'reply', client);
    });

    test(
      'random and damaged input never throws anything but an RpcError',
      true,
      (client, server) => {
        const valid = [
          client.createRequest('method', [1, 'two', { three: 3 }]).serialize(),
          client.createRequest('named', named ? { a: 1 } : [1]).serialize(),
          client.createRequest('note', ['x'], { oneWay: true }).serialize(),
        ];
        for (const input of randomInputs(400, 0x5eed, valid)) {
          for (const what of ['request', 'reply'] as const) {
            try {
              if (what === 'request') server.parseRequest(input);
              else client.parseReply(input);
            } catch (error) {
              checkRejection(error, input, what, client);
            }
          }
        }
      },
    );

    test('calls work end to end through RpcClient and RpcServer', true, async (client, server) => {
      const notes: unknown[] = [];
      const dispatcher = new RpcDispatcher()
        .add('add', (a: number, b: number) => a + b, { params: ['a', 'b'] })
        .add('note', (value: unknown) => {
          notes.push(value);
        });
      const { client: clientTransport, server: serverTransport } = createMemoryTransport();
      const rpcServer = new RpcServer(serverTransport, server, dispatcher);
      await rpcServer.serve();
      try {
        const rpcClient = new RpcClient(client, clientTransport);
        assert.equal(await rpcClient.call('add', [1, 2]), 3);
        if (named) assert.equal(await rpcClient.call('add', { a: 2, b: 3 }), 5);
        const missing = await rpcClient.call('no.such.method').then(
          () => undefined,
          (error: unknown) => error,
        );
        assert.ok(RemoteError.is(missing), `Expected a RemoteError, got ${describeError(missing)}`);
        assert.equal(
          missing.code,
          -32601,
          'An unknown method must answer method not found (-32601)',
        );
        await rpcClient.notify('note', ['noted']);
        assert.deepEqual(notes, ['noted']);
        assert.equal(
          await rpcServer.handle(client.createRequest('note', [1], { oneWay: true }).serialize()),
          undefined,
          'A notification was answered',
        );
        const garbage = await rpcServer.handle('garbage');
        assert.notEqual(garbage, undefined, 'Garbage was not answered');
        assert.ok(
          singleReply(client.parseReply(garbage as Message)).error,
          'Garbage was not answered with an error',
        );
        if (batch) {
          const results = await rpcClient.batch([
            { method: 'add', params: [1, 1] },
            { method: 'note', params: ['in batch'], oneWay: true },
            { method: 'no.such.method' },
          ]);
          assert.deepEqual(results[0], { status: 'fulfilled', value: 2 });
          assert.deepEqual(results[1], { status: 'fulfilled', value: undefined });
          assert.equal(results[2]?.status, 'rejected');
        }
      } finally {
        await rpcServer.close();
      }
    });
  });
}
