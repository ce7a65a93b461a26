// Wire compatibility with Python over ZeroMQ: MessagePack-RPC peers written to Python tinyrpc 1.1's
// MSGPACKRPCProtocol rules (peers/, python3-msgpack + python3-zmq) on a ROUTER and a REQ socket.
import { fileURLToPath } from 'node:url';
import { RemoteError, RpcClient, RpcDispatcher, RpcError, RpcServer } from '@tinyrpc/core';
import { MsgpackRpcProtocol } from '@tinyrpc/msgpackrpc';
import { gate, pythonHas, startPython, type PythonPeer } from '@tinyrpc/test-helpers';
import {
  ZmqClientTransport,
  ZmqReqClientTransport,
  ZmqServerTransport,
} from '@tinyrpc/transport-zmq';
import { afterEach, describe, expect, it } from 'vitest';

const available = gate(
  '/usr/bin/python3 with msgpack and zmq (python3-msgpack, python3-zmq)',
  await pythonHas(['msgpack', 'zmq']),
);
const peerFile = (name: string): string =>
  fileURLToPath(new URL(`./peers/${name}`, import.meta.url));
// The peers import msgpackrpc_wire.py from their own folder, so they run as files.
const runPeer = (name: string, args: string[]): PythonPeer =>
  startPython(
    'import os, runpy, sys; sys.argv = sys.argv[1:]; sys.path.insert(0, os.path.dirname(sys.argv[0])); runpy.run_path(sys.argv[0], run_name="__main__")',
    [peerFile(name), ...args],
  );

describe.skipIf(!available)('MessagePack-RPC over ZeroMQ with a Python tinyrpc 1.1 peer', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  for (const mode of ['dealer', 'req'] as const) {
    it(`our ${mode.toUpperCase()} client calls a Python ROUTER server`, async () => {
      const python = runPeer('zmq_server.py', ['60']);
      cleanups.push(() => python.stop());
      const [, port] = await python.waitFor(/READY (\d+)/);
      const endpoint = `tcp://127.0.0.1:${port!}`;
      const transport =
        mode === 'req'
          ? new ZmqReqClientTransport(endpoint, { notificationWait: 200 })
          : new ZmqClientTransport(endpoint);
      const client = new RpcClient(new MsgpackRpcProtocol(), transport, { timeout: 5000 });
      cleanups.push(() => client.close());

      expect(await client.call('add', [1, 2])).toBe(3);
      expect(await client.call('echo', ['héllo ✓'])).toBe('héllo ✓');
      expect(await client.call('type_of', [new Uint8Array([1])])).toBe('bytes');
      expect(await client.call('type_of', [2 ** 40])).toBe('int');
      const coded = await client.call('fail_coded').catch((e: unknown) => e);
      expect(RemoteError.is(coded)).toBe(true);
      expect(coded).toMatchObject({ code: 4001, message: 'Out of stock' });
      await expect(client.call('boom')).rejects.toMatchObject({ code: -32000, message: 'kaboom' });

      // The Python server answers a notification with nothing; the next call still works.
      await client.notify('remember', [`note-${mode}`]);
      expect(await client.call('recall')).toEqual([`note-${mode}`]);
    });
  }

  it('a Python REQ client calls our ROUTER server', async () => {
    const notes: unknown[] = [];
    const dispatcher = new RpcDispatcher()
      .add('add', (a: number, b: number) => a + b)
      .add('echo', (value: unknown) => value)
      .add('type_of', (value: unknown) =>
        value instanceof Uint8Array ? 'Uint8Array' : typeof value,
      )
      .add('fail_coded', () => {
        throw new RpcError('Out of stock', { code: 4001 });
      })
      .add('boom', () => {
        throw new Error('kaboom');
      })
      .add('remember', (note: unknown) => {
        notes.push(note);
      })
      .add('recall', () => [...notes]);
    const transport = new ZmqServerTransport({ endpoint: 'tcp://127.0.0.1:0' });
    const server = new RpcServer(transport, new MsgpackRpcProtocol(), dispatcher);
    await server.serve();
    cleanups.push(() => server.close());

    const python = runPeer('zmq_client.py', [transport.endpoint!]);
    cleanups.push(() => python.stop());
    const [, json] = await python.waitFor(/RESULT (.*)\n/, 30_000);
    const report = JSON.parse(json!) as Record<string, Record<string, unknown>>;
    const result = (step: string): unknown =>
      (report[step]?.['reply'] as { result?: unknown } | undefined)?.result;

    for (const step of ['add', 'echo_str', 'echo_bytes', 'recall']) {
      expect(report[step]?.['id_matches'], step).toBe(true);
    }
    expect(result('add')).toBe(3);
    expect(report['add']?.['type']).toBe('int');
    expect(result('echo_str')).toBe('h\u00e9llo');
    expect(result('echo_bytes')).toEqual({ $bytes: '0001ff' });
    expect(result('echo_int40')).toBe(2 ** 40);
    expect(result('type_of_bytes')).toBe('Uint8Array');
    expect(report['fail_coded']?.['reply']).toMatchObject({
      error: { code: 4001, message: 'Out of stock' },
    });
    expect(report['boom']?.['reply']).toMatchObject({ error: { code: -32000, message: 'kaboom' } });
    expect(report['missing']?.['reply']).toMatchObject({ error: { code: -32601 } });
    expect(notes).toEqual(['note-1']);
    expect(result('recall')).toEqual(['note-1']);
    expect(report['garbage']?.['raw']).toEqual([1, null, [-32700, 'Parse error'], null]);
    expect(result('after_garbage')).toBe(42);
  });
});
