// The built bin against real Python tinyrpc servers (Debian's python3-tinyrpc), over HTTP and ZeroMQ.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { gate, pythonHas, startPython, type PythonPeer } from '@tinyrpc/test-helpers';
import { tinyrpc } from '../support.ts';

const http = gate(
  'python3-tinyrpc with gevent and werkzeug',
  await pythonHas(['tinyrpc', 'gevent', 'werkzeug']),
);
const zmq = gate('python3-tinyrpc with pyzmq', await pythonHas(['tinyrpc', 'zmq']));

const methods = String.raw`
from tinyrpc.dispatch import RPCDispatcher
from tinyrpc.protocols.jsonrpc import JSONRPCProtocol

class OutOfStock(Exception):
    jsonrpc_error_code = 4001

notes = []
def reverse_string(s): return s[::-1]
def add(a, b): return a + b
def fail(): raise OutOfStock('Out of stock')
def note(text): notes.append(text)
def seen(): return notes

dispatcher = RPCDispatcher()
for f in (reverse_string, add, fail, note, seen):
    dispatcher.add_method(f)
`;

// WsgiServerTransport under gevent's WSGIServer, as the HTTP interop tests run it.
const pythonHttpServer = String.raw`
import gevent, gevent.queue
from gevent.pywsgi import WSGIServer
from tinyrpc.server.gevent import RPCServerGreenlets
from tinyrpc.transports.wsgi import WsgiServerTransport
${methods}
transport = WsgiServerTransport(queue_class=gevent.queue.Queue)
wsgi = WSGIServer(('127.0.0.1', 0), transport.handle, log=None)
wsgi.start()
print('READY %d' % wsgi.server_port, flush=True)
RPCServerGreenlets(transport, JSONRPCProtocol(), dispatcher).serve_forever()
`;

// Its ROUTER server with its own RPCServer loop.
const pythonZmqServer = String.raw`
import zmq
from tinyrpc.server import RPCServer
from tinyrpc.transports.zmq import ZmqServerTransport
${methods}
transport = ZmqServerTransport.create(zmq.Context(), 'tcp://127.0.0.1:*')
print('READY ' + transport.socket.getsockopt(zmq.LAST_ENDPOINT).decode(), flush=True)
RPCServer(transport, JSONRPCProtocol(), dispatcher).serve_forever()
`;

describe.runIf(http)('tinyrpc against a Python tinyrpc HTTP server', () => {
  let peer: PythonPeer;
  let url: string;
  beforeAll(async () => {
    peer = startPython(pythonHttpServer);
    const [, port] = await peer.waitFor(/READY (\d+)/, 15_000);
    url = `http://127.0.0.1:${String(port)}/`;
  });
  afterAll(() => peer.stop());

  it('calls with positional and named params (exit 0)', async () => {
    expect(await tinyrpc(['call', url, 'reverse_string', 'Hello, World!'])).toEqual({
      code: 0,
      stdout: '"!dlroW ,olleH"\n',
      stderr: '',
    });
    expect(await tinyrpc(['call', url, 'add', '2', '3'])).toMatchObject({ code: 0, stdout: '5\n' });
    const named = await tinyrpc(['call', url, 'add', '--params', '{"a": "x", "b": "y"}']);
    expect(named).toMatchObject({ code: 0, stdout: '"xy"\n' });
  });

  it('exits 1 with the code of an error response', async () => {
    expect(await tinyrpc(['call', url, 'fail'])).toMatchObject({
      code: 1,
      stderr: 'error 4001: Out of stock\n',
    });
    expect(await tinyrpc(['call', url, 'missing'])).toMatchObject({
      code: 1,
      stderr: 'error -32601: Method not found\n',
    });
    // Python tinyrpc has no rpc.discover; a hand-written document and generate stand in for it.
    expect((await tinyrpc(['discover', url])).code).toBe(1);
  });

  it('benches it', async () => {
    const run = await tinyrpc([
      'bench',
      url,
      'add',
      '1',
      '2',
      '--duration',
      '1',
      '--concurrency',
      '4',
      '--json',
    ]);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout) as { calls: number; errors: number };
    expect(result.errors).toBe(0);
    expect(result.calls).toBeGreaterThan(10);
  });
});

describe.runIf(zmq)('tinyrpc against a Python tinyrpc ZeroMQ ROUTER server', () => {
  let peer: PythonPeer;
  let url: string;
  beforeAll(async () => {
    peer = startPython(pythonZmqServer);
    const [, endpoint] = await peer.waitFor(/READY (\S+)/, 15_000);
    url = (endpoint as string).replace(/^tcp:/, 'zmq+tcp:');
  });
  afterAll(() => peer.stop());

  it.each([[[]], [['--req']]])('calls, gets errors and sends notifications %j', async (flags) => {
    expect(await tinyrpc(['call', url, 'reverse_string', 'héllo', ...flags])).toEqual({
      code: 0,
      stdout: '"olléh"\n',
      stderr: '',
    });
    expect(
      await tinyrpc(['call', url, 'add', '--params', '{"a": 4, "b": 5}', ...flags]),
    ).toMatchObject({
      code: 0,
      stdout: '9\n',
    });
    expect(await tinyrpc(['call', url, 'fail', ...flags])).toMatchObject({
      code: 1,
      stderr: 'error 4001: Out of stock\n',
    });
    const text = `from the cli ${flags.join('')}`;
    expect(await tinyrpc(['call', url, 'note', text, '--notify', ...flags])).toMatchObject({
      code: 0,
    });
    const seen = await tinyrpc(['call', url, 'seen', ...flags]);
    expect(JSON.parse(seen.stdout)).toContain(text);
  });
});
