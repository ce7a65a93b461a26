"""MessagePack-RPC as Python tinyrpc 1.1's MSGPACKRPCProtocol writes and reads it.

Debian ships tinyrpc 0.6, which has no MessagePack-RPC protocol, so the test peers carry the wire
rules of tinyrpc 1.1 here, written against python3-msgpack (``packb(use_bin_type=True)``,
``unpackb(raw=False)``):

- request ``[0, msgid, method, args]``, notification ``[2, method, args]`` (args always a list;
  keyword arguments are refused), msgids counting up from 1;
- response ``[1, msgid, None, result]``; error response ``[1, msgid, [code, message], None]`` (an
  error carries no data); unreadable requests are answered with msgid ``None``: parse error -32700,
  invalid request -32600 (the msgid is kept once it was read as an int); params that are not a list
  are invalid params -32602; unknown methods -32601 'Method not found'; any exception a method
  raises -32000 with ``str(exception)``, or its own ``msgpackrpc_error_code``;
- a notification is answered with nothing, not even an error;
- a reply must be a list of 4 starting with 1, with an int msgid and not both error and result; an
  error ``[code, message]`` (int, str) gives code and message, any other error is kept as it is
  with no code.
"""

import time

import msgpack


class ProtocolError(Exception):
    def __init__(self, code, message, msgid=None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.msgid = msgid


class InvalidReply(Exception):
    pass


def pack(value):
    return msgpack.packb(value, use_bin_type=True)


def unpack(data):
    return msgpack.unpackb(data, raw=False)


class Client:
    """The client half: builds requests and reads replies."""

    def __init__(self):
        self._next_id = 0

    def create_request(self, method, args=None, kwargs=None, one_way=False):
        if kwargs:
            raise ValueError('Does not support kwargs')
        args = list(args) if args is not None else []
        if one_way:
            return None, pack([2, method, args])
        self._next_id += 1
        return self._next_id, pack([0, self._next_id, method, args])

    @staticmethod
    def parse_reply(data):
        try:
            rep = unpack(data)
        except Exception as e:
            raise InvalidReply('unreadable: %s' % e)
        if not isinstance(rep, list) or len(rep) != 4:
            raise InvalidReply('MSGPACKRPC spec requires reply of length 4')
        if rep[0] != 1:
            raise InvalidReply('Invalid MSGPACK message type')
        if not isinstance(rep[1], int):
            raise InvalidReply('Invalid or missing message ID in response')
        if rep[2] is not None and rep[3] is not None:
            raise InvalidReply('Reply must contain only one of result and error.')
        if rep[2] is None:
            return {'id': rep[1], 'result': rep[3]}
        error = rep[2]
        if (isinstance(error, list) and len(error) == 2 and isinstance(error[0], int)
                and isinstance(error[1], str)):
            return {'id': rep[1], 'error': {'code': error[0], 'message': error[1]}}
        return {'id': rep[1], 'error': {'code': None, 'message': error}}


class CodedError(Exception):
    """An exception that chooses its code, as tinyrpc's errors with ``msgpackrpc_error_code``."""

    def __init__(self, code, message):
        super().__init__(message)
        self.msgpackrpc_error_code = code


class RawReply(Exception):
    """Raised by a test method to send an exact reply array (for odd error shapes)."""

    def __init__(self, reply):
        super().__init__('raw reply')
        self.reply = reply


def parse_request(data):
    """Returns (msgid or None, method, args); raises ProtocolError."""
    try:
        req = unpack(data)
    except Exception:
        raise ProtocolError(-32700, 'Parse error')
    if not isinstance(req, list) or len(req) < 1:
        raise ProtocolError(-32600, 'Invalid request')
    if req[0] == 0:
        if len(req) != 4 or not isinstance(req[1], int):
            raise ProtocolError(-32600, 'Invalid request')
        msgid, method, params = req[1], req[2], req[3]
        if not isinstance(method, str):
            raise ProtocolError(-32600, 'Invalid request', msgid)
    elif req[0] == 2:
        if len(req) != 3 or not isinstance(req[1], str):
            raise ProtocolError(-32600, 'Invalid request')
        msgid, method, params = None, req[1], req[2]
    else:
        raise ProtocolError(-32600, 'Invalid request')
    if not isinstance(params, list):
        raise ProtocolError(-32602, 'Invalid params', msgid)
    return msgid, method, params


def error_reply(msgid, code, message):
    return pack([1, msgid, [code, str(message)], None])


class Server:
    """The server half: answers one message with bytes, or None when no reply is due."""

    def __init__(self, methods):
        self.methods = methods

    def handle(self, data):
        try:
            msgid, method, args = parse_request(data)
        except ProtocolError as e:
            return error_reply(e.msgid, e.code, e.message)
        one_way = msgid is None
        fn = self.methods.get(method)
        if fn is None:
            return None if one_way else error_reply(msgid, -32601, 'Method not found')
        try:
            result = fn(*args)
        except RawReply as e:
            return None if one_way else pack([1, msgid] + e.reply)
        except Exception as e:
            code = getattr(e, 'msgpackrpc_error_code', -32000)
            return None if one_way else error_reply(msgid, code, str(e))
        return None if one_way else pack([1, msgid, None, result])


RAW_ERRORS = {
    'string': ['plain failure', None],
    'map': [{'code': 7, 'message': 'mapped', 'data': [1, 2]}, None],
    'old-tinyrpc': [{'error': 'old style', 'error_code': -32001}, None],
    'code-only': [42, None],
    'triple': [[5, 'five', {'k': 'v'}], None],
    'bytes-message': [[9, b'bytes message'], None],
    'both': ['error wins', 'result too'],
}


def test_methods():
    """The methods a Python test server offers to our client."""
    notes = []

    def raw_error(kind):
        raise RawReply(RAW_ERRORS[kind])

    def remember(note):
        notes.append(note)

    def fail_coded():
        raise CodedError(4001, 'Out of stock')

    def boom():
        raise ValueError('kaboom')

    return {
        'add': lambda a, b: a + b,
        'echo': lambda value: value,
        'type_of': lambda value: type(value).__name__,
        'nested': lambda: {'list': [1, 2.5, None, True, 'x'], 'map': {'k': b'\x00\xff'}},
        'big': lambda: [2 ** 40, 2 ** 63 - 1, -2 ** 63, 2 ** 64 - 1],
        'raw_error': raw_error,
        'remember': remember,
        'recall': lambda: list(notes),
        'fail_coded': fail_coded,
        'boom': boom,
    }


def to_json(value):
    """Makes a decoded value JSON-friendly: bytes as {'$bytes': hex}, big ints as {'$int': str}."""
    if isinstance(value, bytes):
        return {'$bytes': value.hex()}
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value if -2 ** 53 <= value <= 2 ** 53 else {'$int': str(value)}
    if isinstance(value, list):
        return [to_json(item) for item in value]
    if isinstance(value, dict):
        return {str(key): to_json(item) for key, item in value.items()}
    return value


def run_client_scenario(send, send_one_way):
    """Calls a server (ours) as a tinyrpc 1.1 client would, and reports what came back.

    ``send(bytes) -> bytes`` sends a message and returns the reply; ``send_one_way(bytes)`` sends a
    notification. Each step reports the reply as tinyrpc's parse_reply reads it, the raw reply
    array, and the Python type of the result where that matters.
    """
    client = Client()
    report = {}

    def call(step, method, args=None):
        msgid, data = client.create_request(method, args)
        record(step, send(data), expected_id=msgid)

    def raw(step, value_or_bytes):
        data = value_or_bytes if isinstance(value_or_bytes, bytes) else pack(value_or_bytes)
        record(step, send(data), expected_id=None)

    def record(step, reply, expected_id):
        entry = {}
        try:
            entry['raw'] = to_json(unpack(reply))
        except Exception as e:
            entry['raw'] = 'unreadable: %s' % e
        try:
            parsed = Client.parse_reply(reply)
            entry['reply'] = to_json(parsed)
            if 'result' in parsed:
                entry['type'] = type(parsed['result']).__name__
            entry['id_matches'] = parsed['id'] == expected_id
        except InvalidReply as e:
            entry['invalid_reply'] = str(e)
        report[step] = entry

    call('add', 'add', [1, 2])
    call('echo_str', 'echo', ['h\u00e9llo'])
    call('echo_bytes', 'echo', [b'\x00\x01\xff'])
    call('echo_nested', 'echo', [{'a': [1, 2.5, None, True], 'b': {'c': 'd'}}])
    call('echo_int40', 'echo', [2 ** 40])
    call('echo_int63', 'echo', [2 ** 63 - 1])
    call('echo_int_min', 'echo', [-2 ** 63])
    call('echo_uint64', 'echo', [2 ** 64 - 1])
    call('type_of_bytes', 'type_of', [b'abc'])
    call('type_of_str', 'type_of', ['abc'])
    call('fail_coded', 'fail_coded')
    call('boom', 'boom')
    call('missing', 'no_such_method')
    send_one_way(client.create_request('remember', ['note-1'], one_way=True)[1])
    # A notification may travel on another connection than the calls (a fresh REQ socket): ask
    # until it has arrived, a bounded number of times.
    for _ in range(40):
        call('recall', 'recall')
        if report['recall'].get('reply', {}).get('result') == ['note-1']:
            break
        time.sleep(0.05)
    raw('named_params', [0, 99, 'add', {'a': 1, 'b': 2}])
    raw('garbage', b'\xc1')
    raw('truncated', pack([0, 100, 'add', [1, 2]])[:-1])
    raw('wrong_length', [0, 101, 'add'])
    raw('method_not_str', [0, 102, 5, []])
    raw('msgid_not_int', [0, 'x', 'add', []])
    raw('response_as_request', [1, 5, None, 1])
    call('after_garbage', 'add', [20, 22])
    return report
