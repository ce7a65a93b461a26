// Wire compatibility with Python over HTTP: our HttpClientTransport + MsgpackRpcProtocol calling a
// WSGI peer served as tinyrpc 1.1.7's WsgiServerTransport serves it (peers/wsgi_server.py, werkzeug
// + python3-msgpack), which labels every answer `application/json`, MessagePack included. Before
// the client returned the kind of message it sent, 1 of these 16 checks passed.
import { fileURLToPath } from 'node:url';
import { RemoteError, RpcClient } from '@tinyrpc/core';
import { MsgpackRpcProtocol } from '@tinyrpc/msgpackrpc';
import { gate, pythonHas, startPython, type PythonPeer } from '@tinyrpc/test-helpers';
import { HttpClientTransport } from '@tinyrpc/transport-http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const available = gate(
  '/usr/bin/python3 with msgpack and werkzeug (python3-msgpack, python3-werkzeug)',
  await pythonHas(['msgpack', 'werkzeug']),
);
const peerFile = fileURLToPath(new URL('./peers/wsgi_server.py', import.meta.url));

describe.skipIf(!available)(
  'MessagePack-RPC over HTTP with a Python tinyrpc 1.1.7 WSGI peer',
  () => {
    let python: PythonPeer;
    let url: string;
    beforeAll(async () => {
      // The peer imports msgpackrpc_wire.py from its own folder, so it runs as a file.
      python = startPython(
        'import os, runpy, sys; sys.argv = sys.argv[1:]; sys.path.insert(0, os.path.dirname(sys.argv[0])); runpy.run_path(sys.argv[0], run_name="__main__")',
        [peerFile, '60'],
      );
      const [, port] = await python.waitFor(/READY (\d+)/);
      url = `http://127.0.0.1:${port!}/`;
    });
    afterAll(async () => {
      await python.stop();
    });

    it('our client calls it: results, bytes, big integers, errors and a notification', async () => {
      const labels: (string | null)[] = [];
      const sent: (string | null)[] = [];
      const transport = new HttpClientTransport(url, {
        fetch: async (input, init) => {
          sent.push(new Headers(init?.headers).get('content-type'));
          const response = await fetch(input, init);
          labels.push(response.headers.get('content-type'));
          return response;
        },
      });
      const client = new RpcClient(new MsgpackRpcProtocol(), transport, { timeout: 5000 });
      let checks = 0;
      const check = async (run: () => Promise<void>): Promise<void> => {
        await run();
        checks++;
      };

      await check(async () => {
        expect(await client.call('add', [1, 2])).toBe(3);
      });
      await check(async () => {
        expect(await client.call('echo', ['héllo ✓'])).toBe('héllo ✓');
      });
      await check(async () => {
        const bytes = await client.call<Uint8Array>('echo', [new Uint8Array([0, 1, 255])]);
        expect(bytes).toBeInstanceOf(Uint8Array);
        expect([...bytes]).toEqual([0, 1, 255]);
      });
      await check(async () => {
        expect(await client.call('echo', [{ a: [1, 2.5, null, true], b: { c: 'd' } }])).toEqual({
          a: [1, 2.5, null, true],
          b: { c: 'd' },
        });
      });
      await check(async () => {
        expect(await client.call('type_of', ['x'])).toBe('str');
      });
      await check(async () => {
        expect(await client.call('type_of', [new Uint8Array([1])])).toBe('bytes');
      });
      await check(async () => {
        expect(await client.call('type_of', [2n ** 63n - 1n])).toBe('int');
      });
      await check(async () => {
        const nested = await client.call<{ list: unknown[]; map: { k: Uint8Array } }>('nested');
        expect(nested.list).toEqual([1, 2.5, null, true, 'x']);
        expect([...nested.map.k]).toEqual([0, 255]);
      });
      await check(async () => {
        expect(await client.call('big')).toEqual([
          2 ** 40,
          2n ** 63n - 1n,
          -(2n ** 63n),
          2n ** 64n - 1n,
        ]);
      });
      await check(async () => {
        const coded = await client.call('fail_coded').catch((e: unknown) => e);
        expect(RemoteError.is(coded)).toBe(true);
        expect(coded).toMatchObject({ code: 4001, message: 'Out of stock' });
      });
      await check(async () => {
        await expect(client.call('boom')).rejects.toMatchObject({
          code: -32000,
          message: 'kaboom',
        });
      });
      await check(async () => {
        await expect(client.call('no_such_method')).rejects.toMatchObject({
          code: -32601,
          message: 'Method not found',
        });
      });
      await check(async () => {
        await expect(client.call('raw_error', ['map'])).rejects.toMatchObject({
          code: 7,
          message: 'mapped',
          data: [1, 2],
        });
      });
      await check(async () => {
        const results = await Promise.all(
          Array.from({ length: 8 }, (_, i) => client.call('add', [i, 100])),
        );
        expect(results).toEqual(Array.from({ length: 8 }, (_, i) => i + 100));
      });
      await check(async () => {
        // tinyrpc's WSGI transport never answers a notification: it is delivered and runs, and the
        // caller's signal ends the wait for an answer that does not come.
        const controller = new AbortController();
        const notified = client.notify('remember', ['note-http'], { signal: controller.signal });
        const deadline = Date.now() + 5000;
        let notes: unknown;
        while (Date.now() < deadline) {
          notes = await client.call('recall');
          if (Array.isArray(notes) && notes.length > 0) break;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        expect(notes).toEqual(['note-http']);
        controller.abort(new Error('no answer expected'));
        await expect(notified).rejects.toThrow('no answer expected');
      });
      await check(async () => {
        // Every request went out as MessagePack, every answer came back labelled JSON.
        expect(new Set(sent)).toEqual(new Set(['application/msgpack']));
        expect(new Set(labels)).toEqual(new Set(['application/json']));
      });
      expect(checks).toBe(16);
      await client.close();
    });

    it('stream() gets the ordinary reply and "not a stream"; the next call is ordinary', async () => {
      const client = new RpcClient(new MsgpackRpcProtocol(), new HttpClientTransport(url));
      const error = await (async () => {
        for await (const item of client.stream('add', [1, 2])) expect(item).toBeUndefined();
      })().catch((e: unknown) => e);
      expect(String(error)).toMatch(/answered a single result, not a stream/);
      expect(await client.call('add', [1, 2])).toBe(3);
      await client.close();
    });
  },
);
