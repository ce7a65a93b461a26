"""A tinyrpc 1.1 MessagePack-RPC server on a ZeroMQ ROUTER socket, as tinyrpc's ZmqServerTransport.

    python3 -u zmq_server.py [seconds]

Binds tcp://127.0.0.1 on a random port and prints 'READY <port>'. Each message is
[envelope..., payload]; the reply goes back as [envelope..., reply] (a REQ peer's empty delimiter
frame is part of the envelope). Notifications get no reply. Exits after `seconds` (default 120).
"""

import sys
import time

import zmq

from msgpackrpc_wire import Server, test_methods


def main():
    lifetime = float(sys.argv[1]) if len(sys.argv) > 1 else 120.0
    context = zmq.Context()
    socket = context.socket(zmq.ROUTER)
    socket.setsockopt(zmq.LINGER, 0)
    port = socket.bind_to_random_port('tcp://127.0.0.1')
    server = Server(test_methods())
    print('READY %d' % port, flush=True)
    deadline = time.monotonic() + lifetime
    while time.monotonic() < deadline:
        if not socket.poll(200):
            continue
        frames = socket.recv_multipart()
        envelope, message = frames[:-1], frames[-1]
        reply = server.handle(message)
        if reply is not None:
            socket.send_multipart(envelope + [reply])
    socket.close()
    context.term()


if __name__ == '__main__':
    main()
