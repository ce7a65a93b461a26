// A nats-server of the test's own, on a free port, that a test may kill and start again. The
// shared server at 4222 is never touched.
import { existsSync } from 'node:fs';
import { startReadyProcess, type ReadyProcess } from '@tinyrpc/test-helpers';

/** Where Debian's `nats-server` package installs the server. */
export const natsServerBinary = '/usr/sbin/nats-server';

/** `true` when the server binary is installed. */
export const natsServerInstalled = (): boolean => existsSync(natsServerBinary);

/** Starts nats-server on 127.0.0.1:`port` and waits until it says it is ready. */
export function startNatsServer(port: number): Promise<ReadyProcess> {
  return startReadyProcess(natsServerBinary, ['-a', '127.0.0.1', '-p', String(port)], {
    ready: /Server is ready/,
  });
}
