import { TransportError } from '../errors.ts';
import { describeError } from './describe-error.ts';

/** The part of a `net.Server` or `http.Server` that {@link listenNodeServer} uses. */
export interface ListenableServer {
  /** Starts listening on a port or socket path; calls `ready` once it does. */
  listen(options: { port: number; host: string } | { path: string }, ready: () => void): unknown;
  /** Hears the next `error`, such as a port already in use. */
  once(event: 'error', listener: (error: Error) => void): unknown;
  /** Stops hearing `error`. */
  off(event: 'error', listener: (error: Error) => void): unknown;
}

/** Where a server transport of its own listens: a TCP port (0 picks one) or a socket path. */
export type ListenAddress =
  { readonly port: number; readonly host?: string } | { readonly path: string };

/**
 * Starts a Node server listening, on `127.0.0.1` unless a host is given; rejects with a
 * {@link TransportError} that names the address when it cannot (a port in use, a bad path).
 */
export function listenNodeServer(server: ListenableServer, where: ListenAddress): Promise<void> {
  const target =
    'path' in where ? { path: where.path } : { port: where.port, host: where.host ?? '127.0.0.1' };
  const name = 'path' in target ? target.path : `${target.host}:${String(target.port)}`;
  return new Promise<void>((resolve, reject) => {
    const failed = (error: Error): void => {
      reject(
        new TransportError(`Could not listen on ${name}: ${describeError(error)}`, {
          cause: error,
        }),
      );
    };
    server.once('error', failed);
    server.listen(target, () => {
      server.off('error', failed);
      resolve();
    });
  });
}
