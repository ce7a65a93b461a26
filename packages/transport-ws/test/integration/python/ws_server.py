# Python tinyrpc's WSServerTransport (Debian's python3-tinyrpc) serving JSON-RPC, for the interop
# test. Usage: ws_server.py [text|binary]. Prints "READY <port>" once it listens.
#
# Adaptations of this peer, none of them to the wire format:
# - Debian's tinyrpc.transports.websocket is Python 2 code (`import Queue`): alias the module.
# - Debian's gevent-websocket mounts only WebSocketApplication subclasses; tinyrpc mounts a factory
#   instance. Mount a subclass bound to the transport's queue instead.
# - gevent-websocket hands on_message a None when the peer closes; skip it.
# - "binary": send each reply as bytes, which gevent-websocket writes as a binary frame. That is what
#   tinyrpc 1.1.7 does (its serialize() returns bytes); Debian's 0.6 returns str (a text frame).
import queue
import warnings
import sys
from collections import OrderedDict

sys.modules['Queue'] = queue

import gevent
import gevent.queue
from gevent.pywsgi import WSGIServer
from geventwebsocket.handler import WebSocketHandler
from geventwebsocket.resource import Resource
from tinyrpc.dispatch import RPCDispatcher
from tinyrpc.protocols.jsonrpc import JSONRPCProtocol
from tinyrpc.server.gevent import RPCServerGreenlets
from tinyrpc.transports.websocket import WSApplication, WSServerTransport

mode = sys.argv[1] if len(sys.argv) > 1 else 'text'

# tinyrpc builds a Resource from a plain dict, which gevent-websocket warns about; it is replaced below.
warnings.filterwarnings('ignore', message='Using an unordered dictionary')
transport = WSServerTransport(queue_class=gevent.queue.Queue)


class BoundApplication(WSApplication):
    def __init__(self, ws):
        super().__init__(ws)
        self.messages = transport.messages
        self._queue_class = gevent.queue.Queue

    def on_message(self, msg, *args, **kwargs):
        if msg is None:
            return
        super().on_message(msg, *args, **kwargs)


def static_app(environ, start_response):
    start_response('200 OK', [('Content-Type', 'text/plain')])
    return [b'Ready for WebSocket connection in /ws']


transport.handle = Resource(OrderedDict([('/ws', BoundApplication), ('/', static_app)]))

if mode == 'binary':
    def send_reply(context, reply):
        context.put(reply.encode('utf-8') if isinstance(reply, str) else reply)

    transport.send_reply = send_reply

dispatcher = RPCDispatcher()
notes = []


@dispatcher.public
def add(a, b):
    return a + b


@dispatcher.public
def reverse_string(s):
    return s[::-1]


@dispatcher.public
def fail(message):
    raise ValueError(message)


@dispatcher.public
def note(text):
    notes.append(text)


@dispatcher.public
def notes_so_far():
    return notes


@dispatcher.public
def nap(seconds, value):
    gevent.sleep(seconds)
    return value


server = WSGIServer(('127.0.0.1', 0), transport.handle, handler_class=WebSocketHandler, log=None)
server.start()
print('READY %d' % server.server_port, flush=True)
rpc_server = RPCServerGreenlets(transport, JSONRPCProtocol(), dispatcher)
rpc_server.serve_forever()
