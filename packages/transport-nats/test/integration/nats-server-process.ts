// A nats-server of the test's own, on a free port, that a test may kill and start again. The
// shared server at 4222 is never touched.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { tcpReachable } from '@tinyrpc/test-helpers';
import { waitUntilAsync } from './nats.ts';

/** Where Debian's `nats-server` package installs the server. */
export const natsServerBinary = '/usr/sbin/nats-server';

/** `true` when the server binary is installed. */
export const natsServerInstalled = (): boolean => existsSync(natsServerBinary);

/** A running nats-server child process. */
export interface NatsServerProcess {
  readonly port: number;
  /** Kills it with SIGKILL, as a crash would, and waits for it to exit. */
  kill(): Promise<void>;
}

/** Starts nats-server on 127.0.0.1:`port` and waits until it accepts connections. */
export async function startNatsServer(port: number): Promise<NatsServerProcess> {
  const child: ChildProcess = spawn(natsServerBinary, ['-a', '127.0.0.1', '-p', String(port)], {
    stdio: 'ignore',
  });
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      resolve();
    }),
  );
  await waitUntilAsync(async () => {
    if (child.exitCode !== null)
      throw new Error(`nats-server exited with ${String(child.exitCode)}`);
    return tcpReachable('127.0.0.1', port, 200);
  }, 10_000);
  return {
    port,
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
