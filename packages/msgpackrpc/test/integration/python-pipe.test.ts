// Wire compatibility with Python: a child process speaks MessagePack-RPC as Python tinyrpc 1.1's
// MSGPACKRPCProtocol does (peers/msgpackrpc_wire.py, python3-msgpack), over its stdin/stdout in
// length-prefixed frames. Python's msgpack encodes and decodes every message: our client reads
// Python-built responses, our server answers Python-built requests.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import {
  CallbackClientTransport,
  CallbackServerTransport,
  RemoteError,
  RpcClient,
  RpcDispatcher,
  RpcError,
  RpcServer,
  type CallbackChannel,
  type Message,
} from '@tinyrpc/core';
import { MsgpackRpcProtocol } from '@tinyrpc/msgpackrpc';
import { gate, pythonHas } from '@tinyrpc/test-helpers';
import { pack } from 'msgpackr';
import { afterEach, describe, expect, it } from 'vitest';

const available = gate(
  '/usr/bin/python3 with msgpack (python3-msgpack)',
  await pythonHas(['msgpack']),
);
const peer = fileURLToPath(new URL('./peers/pipe_peer.py', import.meta.url));

interface PipePeer {
  readonly channel: CallbackChannel;
  /** Everything the peer wrote on stderr so far. */
  stderr(): string;
  /** Resolves with the first match of `pattern` on stderr; rejects after `timeoutMs` or on exit. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  stop(): Promise<void>;
}

function startPeer(mode: 'server' | 'client'): PipePeer {
  const child: ChildProcessWithoutNullStreams = spawn('/usr/bin/python3', ['-u', peer, mode]);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      resolve();
    }),
  );
  const listeners = new Set<(message: Message) => void>();
  let pending = Buffer.alloc(0);
  child.stdout.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 4) {
      const length = pending.readUInt32BE(0);
      if (pending.length < 4 + length) break;
      const frame = new Uint8Array(pending.subarray(4, 4 + length));
      pending = pending.subarray(4 + length);
      for (const listener of listeners) listener(frame);
    }
  });
  let text = '';
  child.stderr.on('data', (chunk: Buffer) => {
    text += chunk.toString('utf8');
  });
  child.stdin.on('error', () => undefined); // the peer may exit first
  return {
    channel: {
      send(message) {
        const bytes = typeof message === 'string' ? Buffer.from(message) : message;
        const header = Buffer.alloc(4);
        header.writeUInt32BE(bytes.length);
        child.stdin.write(Buffer.concat([header, bytes]));
      },
      subscribe(listener) {
        listeners.add(listener);
        return () => listeners.delete(listener);
      },
    },
    stderr: () => text,
    async waitFor(pattern, timeoutMs = 10_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const match = pattern.exec(text);
        if (match !== null) return match;
        if (child.exitCode !== null || Date.now() > deadline) {
          throw new Error(`The Python peer did not print ${String(pattern)}:\n${text}`);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** Sends raw bytes to the peer and resolves with the next frame it sends back. */
function exchange(channel: CallbackChannel, message: Uint8Array): Promise<Message> {
  return new Promise((resolve) => {
    const stop = channel.subscribe((reply) => {
      stop();
      resolve(reply);
    });
    void channel.send(message);
  });
}

describe.skipIf(!available)('MessagePack-RPC with a Python tinyrpc 1.1 peer (pipe)', () => {
  const peers: PipePeer[] = [];
  afterEach(async () => {
    await Promise.all(peers.splice(0).map((p) => p.stop()));
  });

  it('our client reads what a Python server answers', async () => {
    const python = startPeer('server');
    peers.push(python);
    await python.waitFor(/READY/);
    const client = new RpcClient(
      new MsgpackRpcProtocol(),
      new CallbackClientTransport(python.channel),
      { timeout: 5000 },
    );

    expect(await client.call('add', [1, 2])).toBe(3);
    expect(await client.call('echo', ['héllo ✓'])).toBe('héllo ✓');
    // Strings arrive in Python as str, Uint8Array as bytes, large whole numbers as int.
    expect(await client.call('type_of', ['x'])).toBe('str');
    expect(await client.call('type_of', [new Uint8Array([1])])).toBe('bytes');
    expect(await client.call('type_of', [2 ** 40])).toBe('int');
    expect(await client.call('type_of', [2n ** 63n - 1n])).toBe('int');
    expect(await client.call('type_of', [0.5])).toBe('float');
    const bytes = await client.call<Uint8Array>('echo', [new Uint8Array([0, 1, 255])]);
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect([...bytes]).toEqual([0, 1, 255]);
    const nested = await client.call<{ list: unknown[]; map: { k: Uint8Array } }>('nested');
    expect(nested.list).toEqual([1, 2.5, null, true, 'x']);
    expect([...nested.map.k]).toEqual([0, 255]);
    expect(await client.call('big')).toEqual([
      2 ** 40,
      2n ** 63n - 1n,
      -(2n ** 63n),
      2n ** 64n - 1n,
    ]);

    // Errors with code and message, as Python tinyrpc writes them.
    const coded = await client.call('fail_coded').catch((e: unknown) => e);
    expect(RemoteError.is(coded)).toBe(true);
    expect(coded).toMatchObject({ code: 4001, message: 'Out of stock' });
    await expect(client.call('boom')).rejects.toMatchObject({ code: -32000, message: 'kaboom' });
    await expect(client.call('no_such_method')).rejects.toMatchObject({
      code: -32601,
      message: 'Method not found',
    });

    // A notification gets no reply: the next reply is the call's.
    await client.notify('remember', ['note-1']);
    expect(await client.call('recall')).toEqual(['note-1']);
    expect(client.pendingCount).toBe(0);
    await client.close();
  });

  it('our client reads every error shape a Python-encoded reply may have', async () => {
    const python = startPeer('server');
    peers.push(python);
    await python.waitFor(/READY/);
    const client = new RpcClient(
      new MsgpackRpcProtocol(),
      new CallbackClientTransport(python.channel),
      { timeout: 5000 },
    );
    const shapes: [string, object][] = [
      ['string', { code: -32000, message: 'plain failure' }],
      ['map', { code: 7, message: 'mapped', data: [1, 2] }],
      ['old-tinyrpc', { code: -32001, message: 'old style' }],
      ['code-only', { code: 42 }],
      ['triple', { code: 5, message: 'five', data: { k: 'v' } }],
      ['bytes-message', { code: 9, message: 'bytes message' }],
      ['both', { code: -32000, message: 'error wins' }],
    ];
    for (const [kind, expected] of shapes) {
      const error = await client.call('raw_error', [kind]).catch((e: unknown) => e);
      expect(RemoteError.is(error), kind).toBe(true);
      expect(error, kind).toMatchObject(expected);
    }
    await client.close();
  });

  it('a Python server answers our malformed requests as tinyrpc 1.1 does', async () => {
    const python = startPeer('server');
    peers.push(python);
    await python.waitFor(/READY/);
    const protocol = new MsgpackRpcProtocol();
    const garbage = protocol.parseReply(await exchange(python.channel, Buffer.from('c1', 'hex')));
    expect(garbage).toMatchObject({ id: null, error: { code: -32700, message: 'Parse error' } });
    const named = protocol.parseReply(
      await exchange(python.channel, pack([0, 77, 'add', { a: 1, b: 2 }])),
    );
    expect(named).toMatchObject({ id: 77, error: { code: -32602, message: 'Invalid params' } });
  });

  it('our server answers what a Python client sends', async () => {
    const python = startPeer('client');
    peers.push(python);
    const notes: unknown[] = [];
    const dispatcher = new RpcDispatcher()
      .add('add', (a: number, b: number) => a + b)
      .add('echo', (value: unknown) => value)
      .add('type_of', (value: unknown) =>
        value instanceof Uint8Array ? 'Uint8Array' : typeof value,
      )
      .add('fail_coded', () => {
        throw new RpcError('Out of stock', { code: 4001, data: { sku: 'a-1' } });
      })
      .add('boom', () => {
        throw new Error('kaboom');
      })
      .add('remember', (note: unknown) => {
        notes.push(note);
      })
      .add('recall', () => [...notes]);
    const server = new RpcServer(
      new CallbackServerTransport(python.channel),
      new MsgpackRpcProtocol(),
      dispatcher,
    );
    await server.serve();
    const [, json] = await python.waitFor(/RESULT (.*)\n/);
    await server.close();
    const report = JSON.parse(json!) as Record<string, Record<string, unknown>>;
    const result = (step: string): unknown =>
      (report[step]?.['reply'] as { result?: unknown }).result;

    // Results, read by tinyrpc 1.1's parse_reply rules, with the msgid of the request.
    for (const step of [
      'add',
      'echo_str',
      'echo_bytes',
      'echo_nested',
      'recall',
      'after_garbage',
    ]) {
      expect(report[step]?.['id_matches'], step).toBe(true);
    }
    expect(result('add')).toBe(3);
    expect(report['add']?.['type']).toBe('int');
    expect(result('echo_str')).toBe('h\u00e9llo');
    expect(report['echo_str']?.['type']).toBe('str');
    expect(result('echo_bytes')).toEqual({ $bytes: '0001ff' });
    expect(report['echo_bytes']?.['type']).toBe('bytes');
    expect(result('echo_nested')).toEqual({ a: [1, 2.5, null, true], b: { c: 'd' } });
    // 2^40 goes back to Python as an int, not a float.
    expect(result('echo_int40')).toBe(2 ** 40);
    expect(report['echo_int40']?.['type']).toBe('int');
    expect(result('echo_int63')).toEqual({ $int: '9223372036854775807' });
    expect(result('echo_int_min')).toEqual({ $int: '-9223372036854775808' });
    expect(result('echo_uint64')).toEqual({ $int: '18446744073709551615' });
    expect(result('type_of_bytes')).toBe('Uint8Array');
    expect(result('type_of_str')).toBe('string');

    // Errors as [code, message], read by Python into code and message.
    expect(report['fail_coded']?.['reply']).toEqual({
      id: 11,
      error: { code: 4001, message: 'Out of stock' },
    });
    expect(report['boom']?.['reply']).toMatchObject({ error: { code: -32000, message: 'kaboom' } });
    expect(report['missing']?.['reply']).toMatchObject({
      error: { code: -32601, message: 'Method not found' },
    });

    // The notification reached us and got no reply (else recall would have read it).
    expect(notes).toEqual(['note-1']);
    expect(result('recall')).toEqual(['note-1']);

    // Malformed requests: error responses, msgid kept where it could be read, nil otherwise.
    const raw = (step: string): unknown => report[step]?.['raw'];
    expect(raw('named_params')).toEqual([1, 99, [-32602, expect.any(String)], null]);
    expect(raw('garbage')).toEqual([1, null, [-32700, 'Parse error'], null]);
    expect(raw('truncated')).toEqual([1, null, [-32700, 'Parse error'], null]);
    expect(raw('wrong_length')).toEqual([1, 101, [-32600, expect.any(String)], null]);
    expect(raw('method_not_str')).toEqual([1, 102, [-32600, expect.any(String)], null]);
    expect(raw('msgid_not_int')).toEqual([1, null, [-32600, expect.any(String)], null]);
    expect(raw('response_as_request')).toEqual([1, null, [-32600, expect.any(String)], null]);
    // tinyrpc 1.1's own client refuses a reply whose msgid is nil, as it refuses its own server's.
    expect(report['garbage']?.['invalid_reply']).toMatch(/message ID/);
    expect(result('after_garbage')).toBe(42);
  });
});
