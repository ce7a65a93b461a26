# Drives a JSON-RPC WebSocket server the way Python tinyrpc's WebSocket client does: websocket-client,
# requests as text frames (tinyrpc 1.1.7 hands it bytes and the default text opcode), one reply read
# per request. Debian's python3-tinyrpc has no WebSocket client, so this speaks the wire directly.
# Usage: ws_client.py URL. Prints one JSON line with what came back, frame types included.
import json
import sys

import websocket
from websocket import ABNF

ws = websocket.create_connection(sys.argv[1], timeout=10)
results = {}


def call(name, payload, expect_reply=True):
    ws.send(json.dumps(payload).encode('utf-8'))  # bytes, text opcode: as tinyrpc 1.1.7 sends
    if not expect_reply:
        return
    opcode, data = ws.recv_data()
    results[name] = {
        'frame': 'text' if opcode == ABNF.OPCODE_TEXT else 'binary',
        'reply': json.loads(data.decode('utf-8')),
    }


call('add', {'jsonrpc': '2.0', 'method': 'add', 'params': [1, 2], 'id': 1})
call('named', {'jsonrpc': '2.0', 'method': 'add', 'params': {'a': 40, 'b': 2}, 'id': 'two'})
call('notify', {'jsonrpc': '2.0', 'method': 'note', 'params': ['from python']}, expect_reply=False)
call('notes', {'jsonrpc': '2.0', 'method': 'notes_so_far', 'id': 3})
call('missing', {'jsonrpc': '2.0', 'method': 'no_such_method', 'id': 4})
call('fails', {'jsonrpc': '2.0', 'method': 'fail', 'params': ['broken on purpose'], 'id': 5})
call('batch', [
    {'jsonrpc': '2.0', 'method': 'add', 'params': [1, 1], 'id': 6},
    {'jsonrpc': '2.0', 'method': 'note', 'params': ['in a batch']},
    {'jsonrpc': '2.0', 'method': 'reverse_string', 'params': ['abc'], 'id': 7},
])
ws.send('{"this is": not json')
opcode, data = ws.recv_data()
results['parse_error'] = {'frame': 'text' if opcode == ABNF.OPCODE_TEXT else 'binary', 'reply': json.loads(data)}
call('after', {'jsonrpc': '2.0', 'method': 'reverse_string', 'params': ['still here'], 'id': 8})
ws.close()
print(json.dumps(results), flush=True)
