// Wire compatibility with Python tinyrpc's ZeroMQ transports, each side played by the original in
// a child process: its REQ client against this server, this client (DEALER and REQ) against its
// ROUTER server.
import { describe, expect, it } from 'vitest';
import { RpcDispatcher, RpcError } from '@tinyrpc/core';
import { gate, pythonHas, startPython, type PythonPeer } from '@tinyrpc/test-helpers';
import { connect, defer, startServer } from '../helpers.ts';

const available = gate('Python 3 with tinyrpc and pyzmq', await pythonHas(['tinyrpc', 'zmq']));

// Python tinyrpc's REQ client: calls, an error, a notification followed by a call on the same
// socket (which jams against Python's own server), named parameters.
const pythonClient = String.raw`
import json, sys, zmq
from tinyrpc.client import RPCClient
from tinyrpc.exc import RPCError
from tinyrpc.protocols.jsonrpc import JSONRPCProtocol
from tinyrpc.transports.zmq import ZmqClientTransport

context = zmq.Context()
transport = ZmqClientTransport.create(context, sys.argv[1])
transport.socket.setsockopt(zmq.RCVTIMEO, 5000)  # fail instead of hanging
transport.socket.setsockopt(zmq.LINGER, 0)
client = RPCClient(JSONRPCProtocol(), transport)
out = {}
out['add'] = client.call('add', [1, 2], None)
out['echo'] = client.get_proxy().echo('h\u00e9llo \u2603')
try:
    client.call('fail', [], None)
    out['fail'] = None
except RPCError as e:
    out['fail'] = str(e)
client.call('note', ['from python'], None, one_way=True)
out['after_note'] = client.call('add', [2, 3], None)
client.call('note', ['again'], None, one_way=True)
client.call('note', ['and again'], None, one_way=True)
out['named'] = client.call('add', None, {'a': 4, 'b': 5})
print('RESULT ' + json.dumps(out), flush=True)
`;

// Python tinyrpc's ROUTER server with its own RPCServer loop.
const pythonServer = String.raw`
import zmq
from tinyrpc.dispatch import RPCDispatcher
from tinyrpc.protocols.jsonrpc import JSONRPCProtocol
from tinyrpc.server import RPCServer
from tinyrpc.transports.zmq import ZmqServerTransport

dispatcher = RPCDispatcher()
notes = []

@dispatcher.public
def add(a, b):
    return a + b

@dispatcher.public
def note(text):
    notes.append(text)

@dispatcher.public
def seen():
    return notes

@dispatcher.public
def fail():
    raise ValueError('python failed')

transport = ZmqServerTransport.create(zmq.Context(), 'tcp://127.0.0.1:*')
print('READY ' + transport.socket.getsockopt(zmq.LAST_ENDPOINT).decode(), flush=True)
RPCServer(transport, JSONRPCProtocol(), dispatcher).serve_forever()
`;

function python(script: string, args: readonly string[] = []): PythonPeer {
  const peer = startPython(script, args);
  defer(() => peer.stop());
  return peer;
}

describe.runIf(available)('Python tinyrpc over ZeroMQ', () => {
  it('its REQ client calls this server, notifications included', async () => {
    const notes: string[] = [];
    const dispatcher = new RpcDispatcher()
      .add('add', (a: number, b: number) => a + b, { params: ['a', 'b'] })
      .add('echo', (s: string) => s)
      .add('note', (s: string) => notes.push(s))
      .add('fail', () => {
        throw new RpcError('refused', { code: 4001 });
      });
    const { endpoint } = await startServer(dispatcher);
    const peer = python(pythonClient, [endpoint]);
    const [, json] = await peer.waitFor(/RESULT (.*)/, 15_000);
    expect(JSON.parse(json as string)).toEqual({
      add: 3,
      echo: 'héllo ☃',
      fail: 'Error calling remote procedure: refused',
      after_note: 5,
      named: 9,
    });
    expect(notes).toEqual(['from python', 'again', 'and again']);
  });

  it.each(['dealer', 'req'] as const)('this client (%s) calls its ROUTER server', async (mode) => {
    const peer = python(pythonServer);
    const [, endpoint] = await peer.waitFor(/READY (\S+)/);
    // Python's server answers notifications with nothing: REQ mode waits notificationWait.
    const { client } = connect(endpoint as string, {
      mode,
      defaultTimeout: 5000,
      notificationWait: 200,
    });
    expect(await client.call('add', [1, 2])).toBe(3);
    expect(await client.call('add', { a: 'x', b: 'y' })).toBe('xy');
    await expect(client.call('fail')).rejects.toMatchObject({
      code: -32000,
      message: 'python failed',
    });
    await expect(client.call('missing')).rejects.toMatchObject({ code: -32601 });
    await client.notify('note', ['one']);
    expect(await client.call('add', [2, 3])).toBe(5);
    await client.notify('note', ['two']);
    const many = await Promise.all(
      Array.from({ length: 50 }, (_, i) => client.call('add', [i, 1])),
    );
    expect(many).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    expect(await client.call('seen')).toEqual(['one', 'two']);
    expect(client.pendingCount).toBe(0);
  });
});
