import { spawn } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { brokersOf, gate, tcpReachable } from '@tinyrpc/test-helpers';
import { expect, test } from 'vitest';

const root = fileURLToPath(new URL('..', import.meta.url));
// Every example: the seed's and one per transport and protocol, each a file of its own.
const examples = readdirSync(new URL('../src', import.meta.url)).filter((f) => f.endsWith('.ts'));

/** Runs one example from its sources, as `pnpm start` runs its build: a real process. */
async function run(file: string): Promise<{ output: string; code: number | null }> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', '--conditions=@tinyrpc/source', `src/${file}`],
    { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  // Generous: a loaded machine starts tsx slowly; a hanging example still fails.
  const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  clearTimeout(timer);
  return { output, code };
}

test('there is an example per transport and protocol beside the seed', () => {
  expect(examples).toContain('reverse-string.ts');
  expect(examples.length).toBeGreaterThan(1);
});

test.each(examples)(
  '%s prints the answer and exits 0 by itself',
  async (file) => {
    for (const broker of brokersOf(
      readFileSync(new URL(`../src/${file}`, import.meta.url), 'utf8'),
    )) {
      const up = await tcpReachable(broker.host, broker.port);
      if (!gate(`${broker.scheme} at ${broker.host}:${String(broker.port)} (${file})`, up)) return;
    }
    expect(await run(file)).toEqual({ output: 'Server answered: !dlroW ,olleH\n', code: 0 });
  },
  45_000,
);
