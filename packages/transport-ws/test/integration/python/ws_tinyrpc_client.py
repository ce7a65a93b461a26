# Python tinyrpc's RPCClient over a WebSocket client transport that behaves as tinyrpc 1.1.7's
# HttpWebSocketClientTransport does: websocket-client, the message sent as bytes, and one message
# read after EVERY send, a one-way call's included (the reply is then thrown away).
# Usage: ws_tinyrpc_client.py URL. Prints one JSON line: what each step returned, or the error.
#
# Adaptations, none of them to the wire: Debian's python3-tinyrpc 0.6 has no WebSocket client (its
# websocket module is Python 2 code and a server only), so the transport is written here after
# 1.1.7's; 0.6's RPCClient passes no expect_reply, so it is read from one_way as 1.1.7 passes it.
import json
import sys

import websocket
from tinyrpc.client import RPCClient
from tinyrpc.protocols.jsonrpc import JSONRPCProtocol
from tinyrpc.transports import ClientTransport


class WebSocketClientTransport(ClientTransport):
    def __init__(self, endpoint):
        self.ws = websocket.create_connection(endpoint, timeout=2)

    def send_message(self, message, expect_reply=True):
        if isinstance(message, str):
            message = message.encode('utf-8')  # 1.1.7 serializes to bytes
        self.ws.send(message)
        reply = self.ws.recv()  # read whatever the call was: this is the flaw answerNotifications meets
        return reply if expect_reply else None


class Client(RPCClient):
    def _send_and_handle_reply(self, req, one_way, transport=None, no_exception=False):
        tport = self.transport if transport is None else transport
        reply = tport.send_message(req.serialize(), expect_reply=not one_way)
        if one_way:
            return None
        response = self.protocol.parse_reply(reply)
        if not no_exception and hasattr(response, 'error'):
            raise Exception('Error calling remote procedure: %s' % response.error)
        return response


results = {}
transport = WebSocketClientTransport(sys.argv[1])
client = Client(JSONRPCProtocol(), transport)
for name, method, args, one_way in [
    ('notify', 'remember', ['from python'], True),
    ('add', 'add', [1, 2], False),
    ('last_notification', 'last_notification', [], False),
]:
    try:
        results[name] = {'result': client.call(method, args, {}, one_way=one_way)}
    except Exception as error:
        results[name] = {'error': type(error).__name__}
        break
transport.ws.close()
print(json.dumps(results), flush=True)
