"""A tinyrpc 1.1 MessagePack-RPC client on a ZeroMQ REQ socket, as tinyrpc's ZmqClientTransport.

    python3 -u zmq_client.py tcp://127.0.0.1:PORT

Runs the scenario of msgpackrpc_wire.run_client_scenario against the server at that endpoint and
prints 'RESULT <json report>'. A REQ socket must read a reply before it sends again, and a
notification has none, so notifications go out on a fresh REQ socket of their own. Every wait for
a reply gives up after 5 s (the step then reports 'timeout').
"""

import json
import sys

import zmq

from msgpackrpc_wire import run_client_scenario

TIMEOUT_MS = 5000


def main():
    endpoint = sys.argv[1]
    context = zmq.Context()
    state = {'socket': None}

    def fresh_socket():
        socket = context.socket(zmq.REQ)
        socket.setsockopt(zmq.LINGER, 1000)
        socket.connect(endpoint)
        return socket

    def send(data):
        if state['socket'] is None:
            state['socket'] = fresh_socket()
        socket = state['socket']
        socket.send(data)
        if socket.poll(TIMEOUT_MS):
            return socket.recv()
        # The REQ socket is stuck waiting; start over with a new one.
        socket.close(linger=0)
        state['socket'] = None
        return b'timeout'

    def send_one_way(data):
        socket = fresh_socket()
        socket.send(data)
        socket.close()

    report = run_client_scenario(send, send_one_way)
    print('RESULT ' + json.dumps(report), flush=True)
    if state['socket'] is not None:
        state['socket'].close(linger=0)
    context.term()


if __name__ == '__main__':
    main()
