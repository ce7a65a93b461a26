// Wire compatibility with Python tinyrpc (Debian's python3-tinyrpc), both directions, over HTTP.
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { RemoteError, RpcClient } from '@tinyrpc/core';
import { JsonRpcProtocol } from '@tinyrpc/jsonrpc';
import { gate, pythonHas, startPython, type PythonPeer } from '@tinyrpc/test-helpers';
import { HttpClientTransport } from '../../src/index.ts';
import { startServer, type Seen } from '../support.ts';

const available = gate(
  'python3-tinyrpc',
  await pythonHas(['tinyrpc', 'gevent', 'werkzeug', 'requests']),
);

// Python's HttpPostClientTransport + JSONRPCProtocol + RPCClient calling our server. It prints one
// JSON line with what it got back.
const pythonClient = `
import json, sys
from tinyrpc import RPCClient
from tinyrpc.client import RPCCall
from tinyrpc.exc import RPCError
from tinyrpc.protocols.jsonrpc import JSONRPCProtocol
from tinyrpc.transports.http import HttpPostClientTransport

client = RPCClient(JSONRPCProtocol(), HttpPostClientTransport(sys.argv[1]))
proxy = client.get_proxy()
out = {}
out['reverse'] = proxy.reverse_string('Hello, World!')
out['add'] = client.call('add', [2, 3], None)
out['add_named'] = client.call('add', None, {'a': 4, 'b': 5})
try:
    client.call('fail', [], None)
except RPCError as e:
    out['error_text'] = str(e)
# call_all answers with the response objects, so the error code can be read.
failed, missing = client.call_all([RPCCall('fail', [], None), RPCCall('no_such_method', [], None)])
out['error'] = [failed.error, failed._jsonrpc_error_code]
out['missing'] = [missing.error, missing._jsonrpc_error_code]
out['one_way'] = client.call('note', ['from python'], None, one_way=True)
proxy_one_way = client.get_proxy(one_way=True)
proxy_one_way.note('from a one-way proxy')
print('RESULT ' + json.dumps(out), flush=True)
`;

// A Python tinyrpc server: WsgiServerTransport under gevent's WSGIServer, port chosen by the OS.
const pythonServer = `
import gevent, gevent.queue
from gevent.pywsgi import WSGIServer
from tinyrpc.dispatch import RPCDispatcher
from tinyrpc.protocols.jsonrpc import JSONRPCProtocol
from tinyrpc.server.gevent import RPCServerGreenlets
from tinyrpc.transports.wsgi import WsgiServerTransport

class OutOfStock(Exception):
    jsonrpc_error_code = 4001

state = {}
def reverse_string(s): return s[::-1]
def add(a, b): return a + b
def fail(): raise OutOfStock('Out of stock')
def remember(value): state['last'] = value
def recall(): return state.get('last')

dispatcher = RPCDispatcher()
for f in (reverse_string, add, fail, remember, recall):
    dispatcher.add_method(f)
transport = WsgiServerTransport(queue_class=gevent.queue.Queue)
wsgi = WSGIServer(('127.0.0.1', 0), transport.handle, log=None)
wsgi.start()
print('READY %d' % wsgi.server_port, flush=True)
RPCServerGreenlets(transport, JSONRPCProtocol(), dispatcher).serve_forever()
`;

describe.runIf(available)('Python tinyrpc client -> HttpServerTransport', () => {
  test('calls with positional and named params, gets errors with codes, sends notifications', async () => {
    const seen: Seen = { contexts: [], notes: [], aborted: [] };
    const { url, server } = await startServer({}, seen);
    const peer = startPython(pythonClient, [url]);
    try {
      const [, line] = await peer.waitFor(/RESULT (.*)/, 15_000);
      const out = JSON.parse(line as string);
      expect(out.reverse).toBe('!dlroW ,olleH');
      expect(out.add).toBe(5);
      expect(out.add_named).toBe(9);
      expect(out.error_text).toBe('Error calling remote procedure: Out of stock');
      expect(out.error).toEqual(['Out of stock', 4001]);
      expect(out.missing).toEqual(['Method not found', -32601]);
      expect(out.one_way).toBeNull();
      expect(seen.notes).toEqual(['from python', 'from a one-way proxy']);
    } finally {
      await peer.stop();
      await server.close();
    }
  });
});

// Python's client sending a call over the server's maxMessageSize: the 413's body is a JSON-RPC
// error response, so Python reads an RPC error (before: a text body it could not parse).
const pythonOverSize = `
import json, sys
from tinyrpc import RPCClient
from tinyrpc.exc import RPCError
from tinyrpc.protocols.jsonrpc import JSONRPCProtocol
from tinyrpc.transports.http import HttpPostClientTransport

client = RPCClient(JSONRPCProtocol(), HttpPostClientTransport(sys.argv[1]))
out = {}
try:
    client.call('reverse_string', ['x' * 500], None)
except RPCError as e:
    out['error_text'] = str(e)
except Exception as e:
    out['other'] = '%s: %s' % (type(e).__name__, e)
out['after'] = client.call('add', [20, 22], None)
print('RESULT ' + json.dumps(out), flush=True)
`;

describe.runIf(available)(
  'Python tinyrpc client -> HttpServerTransport, over maxMessageSize',
  () => {
    test('reads the 413 as an RPC error naming the limit, and the next call is served', async () => {
      const { url, server } = await startServer({ maxMessageSize: 200 });
      const peer = startPython(pythonOverSize, [url]);
      try {
        const [, line] = await peer.waitFor(/RESULT (.*)/, 15_000);
        expect(JSON.parse(line as string)).toEqual({
          error_text: expect.stringMatching(
            /^Error calling remote procedure: A message of 5\d\d bytes is over the limit of 200 bytes \(maxMessageSize\)$/,
          ),
          after: 42,
        });
      } finally {
        await peer.stop();
        await server.close();
      }
    });
  },
);

describe.runIf(available)('HttpClientTransport -> Python tinyrpc WsgiServerTransport', () => {
  let peer: PythonPeer;
  let url: string;
  beforeAll(async () => {
    peer = startPython(pythonServer);
    const [, port] = await peer.waitFor(/READY (\d+)/, 15_000);
    url = `http://127.0.0.1:${String(port)}/`;
  });
  afterAll(async () => {
    await peer.stop();
  });

  test('calls with positional params and reads the results', async () => {
    const client = new RpcClient(new JsonRpcProtocol(), new HttpClientTransport(url));
    const remote = client.getProxy<{
      reverse_string(s: string): string;
      add(a: number, b: number): number;
    }>();
    expect(await remote.reverse_string('Hello, World!')).toBe('!dlroW ,olleH');
    expect(await remote.add(2, 3)).toBe(5);
    expect(await client.call('add', { a: 1, b: 2 })).toBe(3);
    await client.close();
  });

  test('gets errors with their codes', async () => {
    const client = new RpcClient(new JsonRpcProtocol(), new HttpClientTransport(url));
    const error = await client.call('fail').catch((e: unknown) => e);
    expect(RemoteError.is(error)).toBe(true);
    expect(error).toMatchObject({ code: 4001, message: 'Out of stock' });
    await expect(client.call('no_such_method')).rejects.toMatchObject({ code: -32601 });
    await client.close();
  });

  test('stream() gets the ordinary reply and "not a stream"; nothing else changes', async () => {
    const sent: Headers[] = [];
    const labels: (string | null)[] = [];
    const client = new RpcClient(
      new JsonRpcProtocol(),
      new HttpClientTransport(url, {
        fetch: async (input, init) => {
          sent.push(new Headers(init?.headers));
          const response = await fetch(input, init);
          labels.push(response.headers.get('content-type'));
          return response;
        },
      }),
    );
    const items: unknown[] = [];
    const error = await (async () => {
      for await (const item of client.stream('add', [2, 3])) items.push(item);
    })().catch((e: unknown) => e);
    expect(items).toEqual([]);
    expect(String(error)).toMatch(/answered a single result, not a stream/);
    // Python ignored the headers and answered as always; the next call is an ordinary one.
    expect(sent[0]?.get('tinyrpc-stream')).toBe('64');
    expect(labels[0]).not.toMatch(/ndjson|frames/);
    expect(await client.call('add', [2, 3])).toBe(5);
    expect(sent[1]?.get('tinyrpc-stream')).toBeNull();
    await client.close();
  });

  test('delivers notifications (which Python tinyrpc never answers)', async () => {
    const client = new RpcClient(new JsonRpcProtocol(), new HttpClientTransport(url));
    // Python's WsgiServerTransport waits for a reply that a notification never gets, so the HTTP
    // answer never comes: the notification arrives and runs, and the caller's signal ends the wait.
    const controller = new AbortController();
    const notified = client.notify('remember', ['noted'], { signal: controller.signal });
    const deadline = Date.now() + 5000;
    let last: unknown;
    while (Date.now() < deadline && (last = await client.call('recall')) !== 'noted') {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(last).toBe('noted');
    controller.abort(new Error('no answer expected'));
    await expect(notified).rejects.toThrow('no answer expected');
    await client.close();
  });
});
