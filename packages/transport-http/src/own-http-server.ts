import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import type { ErrorHandler } from '@tinyrpc/core';
import { listenNodeServer } from '@tinyrpc/core/transport';

/** Where and how the own server listens. */
export interface OwnHttpServerOptions {
  readonly port: number;
  readonly host: string;
  /** The only path served; requests for others go to `notFound`. */
  readonly path: string | undefined;
  readonly onError: ErrorHandler | undefined;
}

type Listener = (request: IncomingMessage, response: ServerResponse) => void;

/**
 * The transport's own `node:http` server, in its own-port mode: the `node:http` adapter behind a
 * path check, and the bookkeeping of its sockets so that `close` can let go of idle ones.
 */
export class OwnHttpServer {
  readonly server: Server;
  readonly #sockets = new Set<Socket>();

  private constructor(server: Server) {
    this.server = server;
    server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
  }

  /** The port it listens on. */
  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** Starts a server answering with `listener` (and `notFound` off `path`); rejects with a `TransportError`. */
  static async listen(
    listener: Listener,
    notFound: Listener,
    options: OwnHttpServerOptions,
  ): Promise<OwnHttpServer> {
    // Taken from Node at run time, not imported, so that bundling the package for a browser (for
    // the client) resolves no Node module at all (Node 20.16+ has getBuiltinModule).
    const { createServer } = process.getBuiltinModule('node:http');
    const { path } = options;
    const own = new OwnHttpServer(
      createServer(
        path === undefined
          ? listener
          : (request, response) => {
              const url = request.url ?? '/';
              const query = url.indexOf('?');
              if ((query === -1 ? url : url.slice(0, query)) === path) listener(request, response);
              else notFound(request, response);
            },
      ),
    );
    await listenNodeServer(own.server, { port: options.port, host: options.host });
    // Later server errors (a failed accept, say, when out of file descriptors) must not bring the
    // process down; the server keeps listening.
    const { onError } = options;
    own.server.on('error', (error) => onError?.(error));
    return own;
  }

  /** Stops accepting connections; resolves once the server closed. */
  stopAccepting(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => {
        resolve();
      });
    });
  }

  /**
   * Closes the connections that are idle: keep-alive ones, ones that never sent a request. Answers
   * still being flushed said `Connection: close` and end themselves.
   */
  closeIdle(): void {
    for (const socket of this.#sockets) {
      if (socket.writableLength === 0) socket.destroy();
    }
  }
}
