import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect, test } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));

// Runs the example from its sources, as `pnpm start` runs its build: a real process, a real server.
test('reverse-string prints the answer and exits 0', async () => {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=@tinyrpc/source', 'src/reverse-string.ts'],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  expect(output).toBe('Server answered: !dlroW ,olleH\n');
  expect(code).toBe(0);
});
