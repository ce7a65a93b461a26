// `tinyrpc call`: the built bin in a child process against our own servers, exit codes included.
import { describe, expect, it } from 'vitest';
import { freePort } from '@tinyrpc/test-helpers';
import { expectCalls, serveShop, tinyrpc, type ShopScheme } from './support.ts';

describe('tinyrpc call over HTTP', () => {
  it('prints the result as JSON and exits 0', async () => {
    const { url } = await serveShop('http');
    const run = await tinyrpc(['call', url, 'reverse_string', 'Hello, World!']);
    expect(run).toEqual({ code: 0, stdout: '"!dlroW ,olleH"\n', stderr: '' });
  });

  it('parses each argument as JSON when it parses, else takes it as a string', async () => {
    const { url } = await serveShop('http');
    const echo = async (arg: string): Promise<unknown> =>
      JSON.parse((await tinyrpc(['call', url, 'echo', arg])).stdout) as unknown;
    expect(await echo('42')).toBe(42);
    expect(await echo('"42"')).toBe('42');
    expect(await echo('[1,{"a":null}]')).toEqual([1, { a: null }]);
    expect(await echo('true')).toBe(true);
    expect(await echo('not json')).toBe('not json');
    expect(await echo('{broken')).toBe('{broken');
  });

  it('takes the whole params from --params, by name or by position', async () => {
    const { url } = await serveShop('http');
    const named = await tinyrpc(['call', url, 'order', '--params', '{"sku":"a","quantity":3}']);
    expect(named.code).toBe(0);
    expect(JSON.parse(named.stdout)).toEqual({ sku: 'a', quantity: 3 });
    const positional = await tinyrpc(['call', url, 'order', '--params', '["b"]']);
    expect(JSON.parse(positional.stdout)).toEqual({ sku: 'b', quantity: 1 });
  });

  it('exits 1 with the code, message and data on stderr for an error response', async () => {
    const { url } = await serveShop('http');
    const failed = await tinyrpc(['call', url, 'fail']);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toBe('');
    expect(failed.stderr).toBe('error 4001: Out of stock\ndata: {\n  "sku": "x"\n}\n');
    const missing = await tinyrpc(['call', url, 'no_such_method']);
    expect(missing).toMatchObject({ code: 1, stderr: 'error -32601: Method not found\n' });
    const invalid = await tinyrpc(['call', url, 'order', '42']);
    expect(invalid.code).toBe(1);
    expect(invalid.stderr).toMatch(/^error -32602: Invalid params.*\ndata: \[\n/);
  });

  it('sends a notification with --notify: nothing printed, exit 0, delivered', async () => {
    const { url, notes } = await serveShop('http');
    const run = await tinyrpc(['call', url, 'note', '{"from":"cli"}', '--notify']);
    expect(run).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(notes).toEqual([{ from: 'cli' }]);
  });

  it('speaks MessagePack-RPC with --protocol msgpack', async () => {
    const { url } = await serveShop('http', 'msgpack');
    const run = await tinyrpc(['call', url, 'order', 'x', '2', '--protocol', 'msgpack']);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual({ sku: 'x', quantity: 2 });
  });

  it('exits 2 when the endpoint cannot be reached or does not answer in time', async () => {
    const port = await freePort();
    const refused = await tinyrpc(['call', `http://127.0.0.1:${String(port)}/`, 'x']);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^failed: .*ECONNREFUSED/);
    const { url } = await serveShop('http');
    const started = Date.now();
    const slow = await tinyrpc(['call', url, 'sleep', '5000', '--timeout', '300']);
    expect(slow.code).toBe(2);
    expect(slow.stderr).toMatch(/^failed: RpcTimeoutError/);
    expect(Date.now() - started).toBeLessThan(4000);
  });

  it.concurrent.each([
    [[], 'give a URL and a method'],
    [['http://127.0.0.1:1/'], 'give a URL and a method'],
    [['nonsense', 'm'], "'nonsense' is not a URL"],
    [
      ['gopher://host/', 'm'],
      'no transport for gopher:// URLs; use one of: http:// https:// ws://',
    ],
    [['tcp://127.0.0.1/', 'm'], 'a tcp:// URL needs a port'],
    [['amqp://127.0.0.1/', 'm'], 'say which queue to call'],
    [['http://127.0.0.1:1/', 'm', 'a', '--params', '[]'], 'give --params or arguments, not both'],
    [['http://127.0.0.1:1/', 'm', '--params', '{x'], '--params is not JSON'],
    [['http://127.0.0.1:1/', 'm', '--params', '3'], '--params must be a JSON array or object'],
    [['http://127.0.0.1:1/', 'm', '--protocol', 'xml'], '--protocol must be jsonrpc or msgpack'],
    [['http://127.0.0.1:1/', 'm', '--timeout=-1'], '--timeout must be a positive number'],
    [
      ['http://127.0.0.1:1/', 'm', '--timeout', 'soon'],
      "--timeout must be a positive number, not 'soon'",
    ],
    [
      ['tcp://127.0.0.1:1', 'm', '--framing', 'lines'],
      '--framing must be content-length or newline',
    ],
    [['http://127.0.0.1:1/', 'm', '--bogus'], "Unknown option '--bogus'"],
  ])('exits 2 on wrong arguments: %j', async (args, message) => {
    const run = await tinyrpc(['call', ...args]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain(message);
    expect(run.stderr).toContain('(see tinyrpc call --help)');
  });

  it('takes arguments that start with a dash after --', async () => {
    const { url } = await serveShop('http');
    const run = await tinyrpc(['call', url, 'echo', '--', '-5']);
    expect(run).toMatchObject({ code: 0, stdout: '-5\n' });
  });
});

// Every first-party transport: the same calls, by URL scheme.
const schemes: [ShopScheme, readonly string[]][] = [
  ['ws', []],
  ['tcp', []],
  ['tcp-newline', ['--framing', 'newline']],
  ['unix', []],
  ['zmq', []],
  ['zmq', ['--req']],
];

describe.each(schemes)('tinyrpc call over %s %j', (scheme, flags) => {
  it('answers results (exit 0) and error responses (exit 1)', async () => {
    await expectCalls(scheme, flags);
  });
});

describe('tinyrpc call over msgpack on a multiplexed transport', () => {
  it('works over tcp:// too', async () => {
    const { url } = await serveShop('tcp', 'msgpack');
    const run = await tinyrpc([
      'call',
      url,
      'echo',
      '[1,"two",{"three":3}]',
      '--protocol',
      'msgpack',
    ]);
    expect(run.code).toBe(0);
    expect(JSON.parse(run.stdout)).toEqual([1, 'two', { three: 3 }]);
  });
});

describe('unreachable endpoints on every scheme exit 2', () => {
  it.each([
    ['ws', (port: number) => `ws://127.0.0.1:${String(port)}/`],
    ['tcp', (port: number) => `tcp://127.0.0.1:${String(port)}`],
    ['unix', () => 'unix:/nonexistent/tinyrpc.sock'],
    // ZeroMQ connects lazily and never says no: the call times out.
    ['zmq', (port: number) => `zmq+tcp://127.0.0.1:${String(port)}`],
  ])('%s', async (_scheme, url) => {
    const run = await tinyrpc(['call', url(await freePort()), 'x', '--timeout', '500']);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^failed: /);
  });
});
