"""A tinyrpc 1.1 MessagePack-RPC server behind WSGI, as tinyrpc 1.1.7's WsgiServerTransport serves it.

    python3 -u wsgi_server.py [seconds]

Serves on http://127.0.0.1:<random>/ with werkzeug's threaded server and prints 'READY <port>'.
Exits after `seconds` (default 120).

The transport follows 1.1.7's `WsgiServerTransport.handle`:
- POST: the body is read whole and handed to the server; its reply is the answer's body, labelled
  `Content-Type: application/json` whatever the protocol (1.1.7 sets that one header on every POST
  answer, MessagePack included), with the access-control headers;
- a notification gets no reply, and 1.1.7's handler waits for one that never comes: here the
  answer is held back for `NOTIFICATION_HOLD` seconds, then the request ends with an empty body;
- OPTIONS: the access-control headers; any other method: 405 'Only POST supported'.
"""

import sys
import threading
import time

from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from msgpackrpc_wire import Server, test_methods

NOTIFICATION_HOLD = 30.0

ACCESS_CONTROL = {
    'Access-Control-Allow-Methods': 'POST',
    'Access-Control-Allow-Origin': '*',
    'Access-Control-Allow-Headers': 'Content-Type, X-Requested-With, Accept, Origin',
}


class QuietHandler(WSGIRequestHandler):
    def log(self, *args):
        pass


def make_app(server):
    lock = threading.Lock()

    def app(environ, start_response):
        request = Request(environ)
        if request.method == 'OPTIONS':
            response = Response(headers=ACCESS_CONTROL)
        elif request.method == 'POST':
            message = request.stream.read()
            with lock:
                reply = server.handle(message)
            if reply is None:
                time.sleep(NOTIFICATION_HOLD)
                reply = b''
            headers = {'Content-Type': 'application/json'}
            headers.update(ACCESS_CONTROL)
            response = Response(reply, headers=headers)
        else:
            response = Response('Only POST supported', 405)
        return response(environ, start_response)

    return app


def main():
    lifetime = float(sys.argv[1]) if len(sys.argv) > 1 else 120.0
    httpd = make_server(
        '127.0.0.1', 0, make_app(Server(test_methods())), threaded=True, request_handler=QuietHandler
    )
    print('READY %d' % httpd.server_port, flush=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    time.sleep(lifetime)
    httpd.shutdown()


if __name__ == '__main__':
    main()
