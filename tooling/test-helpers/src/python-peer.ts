import { spawn, type ChildProcess } from 'node:child_process';

/** A Python process started by {@link startPython}. */
export interface PythonPeer {
  readonly process: ChildProcess;
  /** Everything the peer printed so far, stdout and stderr. */
  output(): string;
  /** Resolves with the first stdout line matching `pattern`'s match, or rejects after `timeoutMs`. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpMatchArray>;
  /** Kills the peer and waits for it to exit. */
  stop(): Promise<void>;
}

/**
 * Starts `/usr/bin/python3 -u -c script args…` as a child process. The script usually prints a
 * line such as `READY 43125` once it listens; wait for it with `waitFor(/READY (\d+)/)`.
 */
export function startPython(script: string, args: readonly string[] = []): PythonPeer {
  const child = spawn('/usr/bin/python3', ['-u', '-c', script, ...args], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let text = '';
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer): void => {
    text += chunk.toString('utf8');
    for (const waiter of waiters) waiter();
  };
  child.stdout.on('data', onData);
  child.stderr.on('data', onData);
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      resolve();
    }),
  );

  return {
    process: child,
    output: () => text,
    waitFor(pattern, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = (): void => {
          const match = pattern.exec(text);
          if (match !== null) {
            cleanup();
            resolve(match);
          } else if (child.exitCode !== null) {
            cleanup();
            reject(
              new Error(
                `Python peer exited (${String(child.exitCode)}) before printing ${String(pattern)}:\n${text}`,
              ),
            );
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(
            new Error(
              `Python peer did not print ${String(pattern)} within ${String(timeoutMs)} ms:\n${text}`,
            ),
          );
        }, timeoutMs);
        const cleanup = (): void => {
          clearTimeout(timer);
          waiters.delete(check);
          child.off('exit', check);
        };
        waiters.add(check);
        child.once('exit', check);
        check();
      });
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}
