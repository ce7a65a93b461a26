import { spawn, type ChildProcess } from 'node:child_process';
import { waitUntil } from './waiting.ts';

/** A child process started by {@link startReadyProcess}. */
export interface ReadyProcess {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Resolves when the process has exited. */
  readonly exited: Promise<void>;
  /** Kills it with SIGKILL, as a crash would (unless it has exited), and waits for the exit. */
  kill(): Promise<void>;
}

/**
 * Starts `command` with `args` and waits until its output (stdout or stderr) matches `ready`;
 * rejects with that output when it exits first or is not ready within `timeoutMs`.
 */
export async function startReadyProcess(
  command: string,
  args: readonly string[],
  options: { cwd?: string; ready: RegExp; timeoutMs?: number },
): Promise<ReadyProcess> {
  const child = spawn(command, args, {
    ...(options.cwd === undefined ? {} : { cwd: options.cwd }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<void>((resolve) =>
    child.once('exit', () => {
      resolve();
    }),
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const kill = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  };
  try {
    await waitUntil(() => {
      if (child.exitCode !== null) throw new Error(`${command} exited:\n${output}`);
      return options.ready.test(output);
    }, options.timeoutMs ?? 20_000);
  } catch (error) {
    await kill();
    throw error;
  }
  return { child, pid: child.pid ?? -1, exited, kill };
}
