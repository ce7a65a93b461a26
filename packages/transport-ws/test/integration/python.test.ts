import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { RemoteError, RpcClient, RpcDispatcher, RpcServer } from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { gate, pythonHas, startPython, type PythonPeer } from '@tinyrpc/test-helpers';
import { WsClientTransport, WsServerTransport } from '@tinyrpc/transport-ws';

const available = gate(
  'Python tinyrpc with gevent-websocket and websocket-client',
  await pythonHas(['tinyrpc', 'gevent', 'geventwebsocket', 'websocket']),
);
const script = (name: string): string =>
  readFileSync(new URL(`./python/${name}`, import.meta.url), 'utf8');

const peers: PythonPeer[] = [];
const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
  for (const peer of peers.splice(0)) await peer.stop();
});

describe.runIf(available)('Python tinyrpc interop over WebSocket', () => {
  // Python's WSApplication waits for a reply to every message, so a notification would stall its
  // socket: these calls all expect replies.
  describe.each([
    ['text', 'string'],
    ['binary', 'Uint8Array'],
  ] as const)('our client calls Python WSServerTransport replying in %s frames', (mode, kind) => {
    it('calls, named params, errors, batches and concurrent calls', async () => {
      const peer = startPython(script('ws_server.py'), [mode]);
      peers.push(peer);
      const [, port] = await peer.waitFor(/READY (\d+)/);
      const replyTypes = new Set<string>();
      const client = new RpcClient(
        new JsonRpcProtocol(),
        new WsClientTransport(`ws://127.0.0.1:${String(port)}/ws`),
        {
          timeout: 5000,
          trace: (direction, _context, message) => {
            if (direction === '<--')
              replyTypes.add(typeof message === 'string' ? 'string' : message.constructor.name);
          },
        },
      );
      closers.push(() => client.close());

      expect(await client.call('add', [1, 2])).toBe(3);
      expect(await client.call('add', { a: 40, b: 2 })).toBe(42);
      const remote = client.getProxy<{ reverse_string(s: string): string }>();
      expect(await remote.reverse_string('Hello, World!')).toBe('!dlroW ,olleH');

      const failed = await client.call('fail', ['broken on purpose']).catch((e: unknown) => e);
      expect(RemoteError.is(failed)).toBe(true);
      expect((failed as RemoteError).code).toBe(-32000);
      expect((failed as RemoteError).message).toBe('broken on purpose');
      const missing = await client.call('no_such_method').catch((e: unknown) => e);
      expect((missing as RemoteError).code).toBe(-32601);

      const batch = await client.batch([
        { method: 'add', params: [1, 1] },
        { method: 'reverse_string', params: ['abc'] },
      ]);
      expect(batch).toEqual([
        { status: 'fulfilled', value: 2 },
        { status: 'fulfilled', value: 'cba' },
      ]);

      // Many calls in flight on one connection; the Python side answers them one by one.
      const values = await Promise.all(
        Array.from({ length: 10 }, (_, i) => client.call('nap', [0.01, i])),
      );
      expect(values).toEqual(Array.from({ length: 10 }, (_, i) => i));
      expect([...replyTypes]).toEqual([kind]);
    });
  });

  it('a Python websocket-client drives our WsServerTransport', async () => {
    const notes: string[] = [];
    const dispatcher = new RpcDispatcher()
      .add('add', (a: number, b: number) => a + b, { params: ['a', 'b'] })
      .add('reverse_string', (s: string) => Array.from(s).reverse().join(''))
      .add('note', (text: string) => {
        notes.push(text);
      })
      .add('notes_so_far', () => notes)
      .add('fail', (message: string) => {
        throw new Error(message);
      });
    const transport = new WsServerTransport({ port: 0, path: '/ws' });
    const server = new RpcServer(transport, new JsonRpcProtocol(), dispatcher);
    await server.serve();
    closers.push(() => server.close());

    const peer = startPython(script('ws_client.py'), [
      `ws://127.0.0.1:${String(transport.port)}/ws`,
    ]);
    peers.push(peer);
    const [line] = await peer.waitFor(/^\{.*\}$/m);
    const names = [
      'add',
      'named',
      'notes',
      'missing',
      'fails',
      'batch',
      'parse_error',
      'after',
    ] as const;
    const results: Record<(typeof names)[number], { frame: string; reply: unknown }> =
      JSON.parse(line);
    expect(Object.keys(results).sort()).toEqual([...names].sort());

    for (const entry of Object.values(results)) expect(entry.frame).toBe('text');
    expect(results.add.reply).toEqual({ jsonrpc: '2.0', id: 1, result: 3 });
    expect(results.named.reply).toEqual({ jsonrpc: '2.0', id: 'two', result: 42 });
    // The notification was run before the next call, and answered nothing.
    expect(results.notes.reply).toEqual({ jsonrpc: '2.0', id: 3, result: ['from python'] });
    expect(results.missing.reply).toEqual({
      jsonrpc: '2.0',
      id: 4,
      error: { code: -32601, message: 'Method not found' },
    });
    expect(results.fails.reply).toEqual({
      jsonrpc: '2.0',
      id: 5,
      error: { code: -32000, message: 'broken on purpose' },
    });
    expect(results.batch.reply).toEqual([
      { jsonrpc: '2.0', id: 6, result: 2 },
      { jsonrpc: '2.0', id: 7, result: 'cba' },
    ]);
    expect(results.parse_error.reply).toEqual({
      jsonrpc: '2.0',
      id: null,
      error: { code: -32700, message: 'Parse error' },
    });
    expect(results.after.reply).toEqual({ jsonrpc: '2.0', id: 8, result: 'ereh llits' });
    expect(notes).toEqual(['from python', 'in a batch']);
  });
  describe('Python tinyrpc RPCClient over a 1.1.7-style WebSocket client transport', () => {
    // That transport reads one message after every send, a notification's included.
    async function run(answerNotifications: boolean): Promise<Record<string, unknown>> {
      let last: unknown = null;
      const dispatcher = new RpcDispatcher()
        .add('add', (a: number, b: number) => a + b)
        .add('remember', (text: string) => {
          last = text;
        })
        .add('last_notification', () => last);
      const transport = new WsServerTransport({ port: 0, path: '/ws', answerNotifications });
      const server = new RpcServer(transport, new JsonRpcProtocol(), dispatcher);
      await server.serve();
      closers.push(() => server.close());
      const peer = startPython(script('ws_tinyrpc_client.py'), [
        `ws://127.0.0.1:${String(transport.port)}/ws`,
      ]);
      peers.push(peer);
      const [line] = await peer.waitFor(/^\{.*\}$/m, 15_000);
      return JSON.parse(line) as Record<string, unknown>;
    }

    it('with answerNotifications: a one-way call, then a call on the same connection, then the notification is there', async () => {
      expect(await run(true)).toEqual({
        notify: { result: null },
        add: { result: 3 },
        last_notification: { result: 'from python' },
      });
    });

    it('without it, the one-way call waits for an answer that never comes (why the option exists)', async () => {
      expect(await run(false)).toEqual({ notify: { error: 'WebSocketTimeoutException' } });
    });
  });
});
