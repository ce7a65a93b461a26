import { execFile } from 'node:child_process';
import { createConnection } from 'node:net';

/** `true` when something accepts TCP connections at host:port within `timeoutMs`. */
export function tcpReachable(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(timeoutMs, () => {
      done(false);
    });
    socket.once('connect', () => {
      done(true);
    });
    socket.once('error', () => {
      done(false);
    });
  });
}

/** `true` when `/usr/bin/python3` exists and imports every one of `modules`. */
export function pythonHas(modules: readonly string[]): Promise<boolean> {
  return new Promise((resolve) => {
    execFile('/usr/bin/python3', ['-c', modules.map((m) => `import ${m}`).join('; ')], (error) => {
      resolve(error === null);
    });
  });
}

/**
 * Decides whether tests that need `what` run. Missing outside CI: a message says what is skipped
 * and `false` comes back. Missing under `CI=true`: throws, so a missing service fails CI instead
 * of hiding.
 */
export function gate(what: string, available: boolean): boolean {
  if (available) return true;
  if (process.env['CI'] === 'true') {
    throw new Error(`${what} is required under CI=true but is not available`);
  }
  console.warn(`skipping tests: ${what} is not available`);
  return false;
}

// Brokers a piece of code may connect to, by URL scheme (amqp://user:pass@host:5672 and the like).
const brokerUrl = /\b(amqps?|nats|redis|mqtt):\/\/(?:[^@\s'"`/]*@)?([\w.-]+):(\d+)/g;

/** The brokers that `code` (an example's source) names in URLs with a port, so a test can gate on them. */
export function brokersOf(code: string): { scheme: string; host: string; port: number }[] {
  return [...code.matchAll(brokerUrl)].map(([, scheme = '', host = '', port = '']) => ({
    scheme,
    host,
    port: Number(port),
  }));
}
