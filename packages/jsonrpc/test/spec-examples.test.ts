// Every example of the JSON-RPC 2.0 specification (https://www.jsonrpc.org/specification#examples),
// request text as the specification writes it, reply compared exactly.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSpecServer, type SpecServer } from './spec-server.ts';

let spec: SpecServer;
beforeEach(async () => {
  spec = await startSpecServer();
});
afterEach(async () => {
  await spec.server.close();
});

const invalidRequest = {
  jsonrpc: '2.0',
  error: { code: -32600, message: 'Invalid Request' },
  id: null,
};

const examples: [title: string, request: string, response: unknown][] = [
  [
    'rpc call with positional parameters (1)',
    '{"jsonrpc": "2.0", "method": "subtract", "params": [42, 23], "id": 1}',
    { jsonrpc: '2.0', result: 19, id: 1 },
  ],
  [
    'rpc call with positional parameters (2)',
    '{"jsonrpc": "2.0", "method": "subtract", "params": [23, 42], "id": 2}',
    { jsonrpc: '2.0', result: -19, id: 2 },
  ],
  [
    'rpc call with named parameters (1)',
    '{"jsonrpc": "2.0", "method": "subtract", "params": {"subtrahend": 23, "minuend": 42}, "id": 3}',
    { jsonrpc: '2.0', result: 19, id: 3 },
  ],
  [
    'rpc call with named parameters (2)',
    '{"jsonrpc": "2.0", "method": "subtract", "params": {"minuend": 42, "subtrahend": 23}, "id": 4}',
    { jsonrpc: '2.0', result: 19, id: 4 },
  ],
  [
    'a notification (1)',
    '{"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]}',
    undefined,
  ],
  ['a notification (2)', '{"jsonrpc": "2.0", "method": "foobar"}', undefined],
  [
    'rpc call of non-existent method',
    '{"jsonrpc": "2.0", "method": "foobar", "id": "1"}',
    { jsonrpc: '2.0', error: { code: -32601, message: 'Method not found' }, id: '1' },
  ],
  [
    'rpc call with invalid JSON',
    '{"jsonrpc": "2.0", "method": "foobar, "params": "bar", "baz]',
    { jsonrpc: '2.0', error: { code: -32700, message: 'Parse error' }, id: null },
  ],
  [
    'rpc call with invalid Request object',
    '{"jsonrpc": "2.0", "method": 1, "params": "bar"}',
    invalidRequest,
  ],
  [
    'rpc call Batch, invalid JSON',
    `[
  {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
  {"jsonrpc": "2.0", "method"
]`,
    { jsonrpc: '2.0', error: { code: -32700, message: 'Parse error' }, id: null },
  ],
  ['rpc call with an empty Array', '[]', invalidRequest],
  ['rpc call with an invalid Batch (but not empty)', '[1]', [invalidRequest]],
  ['rpc call with invalid Batch', '[1,2,3]', [invalidRequest, invalidRequest, invalidRequest]],
  [
    'rpc call Batch',
    `[
  {"jsonrpc": "2.0", "method": "sum", "params": [1,2,4], "id": "1"},
  {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]},
  {"jsonrpc": "2.0", "method": "subtract", "params": [42,23], "id": "2"},
  {"foo": "boo"},
  {"jsonrpc": "2.0", "method": "foo.get", "params": {"name": "myself"}, "id": "5"},
  {"jsonrpc": "2.0", "method": "get_data", "id": "9"}
]`,
    [
      { jsonrpc: '2.0', result: 7, id: '1' },
      { jsonrpc: '2.0', result: 19, id: '2' },
      invalidRequest,
      { jsonrpc: '2.0', error: { code: -32601, message: 'Method not found' }, id: '5' },
      { jsonrpc: '2.0', result: ['hello', 5], id: '9' },
    ],
  ],
  [
    'rpc call Batch (all notifications)',
    `[
  {"jsonrpc": "2.0", "method": "notify_sum", "params": [1,2,4]},
  {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}
]`,
    undefined,
  ],
];

describe('JSON-RPC 2.0 specification examples', () => {
  it.each(examples)('%s', async (_title, request, response) => {
    expect(await spec.send(request)).toStrictEqual(response);
  });

  it('runs the notifications it does not answer', async () => {
    await spec.send('{"jsonrpc": "2.0", "method": "update", "params": [1,2,3,4,5]}');
    await spec.send(
      '[{"jsonrpc": "2.0", "method": "notify_sum", "params": [1,2,4]}, {"jsonrpc": "2.0", "method": "notify_hello", "params": [7]}]',
    );
    expect(spec.calls).toEqual([
      ['update', [1, 2, 3, 4, 5]],
      ['notify_sum', [1, 2, 4]],
      ['notify_hello', [7]],
    ]);
  });

  it('runs every valid member of the mixed batch, the notification included', async () => {
    await spec.send(examples[13]![1]);
    expect(spec.calls.map(([name]) => name).sort()).toEqual(
      ['get_data', 'notify_hello', 'subtract', 'sum'].sort(),
    );
  });
});
