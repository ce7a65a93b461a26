import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/** A server listening on 127.0.0.1 whose connections a test can cut, as a broken network would. */
export interface SeverableServer<S extends Server> {
  readonly server: S;
  /** The port the server listens on. */
  readonly port: number;
  /** Destroys every open connection; the server keeps listening. */
  sever(): void;
  /** Severs, then stops listening. */
  close(): Promise<void>;
}

/**
 * Listens with `server` (a `net.Server` or `http.Server`) on 127.0.0.1 port 0 and tracks its
 * connections, so `sever()` can destroy them while the server keeps running.
 */
export async function listenSeverable<S extends Server>(server: S): Promise<SeverableServer<S>> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const sever = (): void => {
    for (const socket of sockets) socket.destroy();
  };
  return {
    server,
    port: (server.address() as AddressInfo).port,
    sever,
    close: () =>
      new Promise<void>((resolve) => {
        sever();
        server.close(() => {
          resolve();
        });
      }),
  };
}

/**
 * A TCP relay on 127.0.0.1 in front of the port `targetPort()` names (read at each connection, so
 * the target may restart elsewhere). Severing it cuts every relayed connection.
 */
export function tcpRelay(targetPort: () => number): Promise<SeverableServer<Server>> {
  const relay = createServer((inbound) => {
    const outbound = connect(targetPort(), '127.0.0.1');
    outbound.on('error', () => undefined);
    inbound.pipe(outbound).pipe(inbound);
    inbound.on('close', () => outbound.destroy());
    outbound.on('close', () => inbound.destroy());
  });
  return listenSeverable(relay);
}
