"""A tinyrpc 1.1 MessagePack-RPC peer over stdin/stdout, for interop tests without a network.

Messages travel as frames: a 4-byte big-endian length, then the MessagePack bytes.

    python3 -u pipe_peer.py server   answers requests read from stdin (methods: test_methods())
    python3 -u pipe_peer.py client   calls the server at the other end of the pipe, then prints
                                     'RESULT <json report>' on stderr and exits
"""

import json
import struct
import sys

from msgpackrpc_wire import Server, run_client_scenario, test_methods


def read_frame(stream):
    header = stream.read(4)
    if len(header) < 4:
        return None
    (length,) = struct.unpack('>I', header)
    data = stream.read(length)
    return data if len(data) == length else None


def write_frame(stream, data):
    stream.write(struct.pack('>I', len(data)) + data)
    stream.flush()


def main():
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    if sys.argv[1] == 'server':
        server = Server(test_methods())
        print('READY', file=sys.stderr, flush=True)
        while True:
            data = read_frame(stdin)
            if data is None:
                return
            reply = server.handle(data)
            if reply is not None:
                write_frame(stdout, reply)
    else:
        def send(data):
            write_frame(stdout, data)
            reply = read_frame(stdin)
            if reply is None:
                raise SystemExit('the other side closed the pipe')
            return reply

        report = run_client_scenario(send, lambda data: write_frame(stdout, data))
        print('RESULT ' + json.dumps(report), file=sys.stderr, flush=True)


if __name__ == '__main__':
    main()
