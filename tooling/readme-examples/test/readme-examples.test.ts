import { spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { brokersOf, gate, tcpReachable } from '@tinyrpc/test-helpers';
import { afterAll, describe, expect, it } from 'vitest';
import { findReadmes, runnableBlocks } from './readme-blocks.ts';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const tsx = createRequire(import.meta.url).resolve('tsx');
const exampleTimeout = 40_000;

// A project folder as a user's would be: the examples import @tinyrpc/* by name, which resolves
// to the workspace packages (and, through their real folders, to their own dependencies).
const project = mkdtempSync(join(tmpdir(), 'tinyrpc-readme-'));
writeFileSync(join(project, 'package.json'), JSON.stringify({ type: 'module', private: true }));
const readmes = findReadmes(root);
for (const { pkg } of readmes) {
  if (pkg === undefined) continue;
  const link = join(project, 'node_modules', pkg.name);
  mkdirSync(dirname(link), { recursive: true });
  symlinkSync(join(root, 'packages', pkg.folder), link, 'dir');
}
// What an example imports besides our packages (a schema library beside core, say) is what its
// package's README tells the user to install: take it from that package's own dependencies.
for (const { pkg } of readmes) {
  if (pkg === undefined) continue;
  const modules = join(root, 'packages', pkg.folder, 'node_modules');
  if (!existsSync(modules)) continue;
  for (const name of readdirSync(modules).flatMap((entry) =>
    entry.startsWith('@')
      ? readdirSync(join(modules, entry)).map((scoped) => `${entry}/${scoped}`)
      : [entry],
  )) {
    if (name.startsWith('.') || name.startsWith('@tinyrpc/')) continue;
    const link = join(project, 'node_modules', name);
    if (existsSync(link)) continue;
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(join(modules, name), link, 'dir');
  }
}
afterAll(() => {
  rmSync(project, { recursive: true, force: true });
});

/** Runs one file to its end, as `node --import tsx` would from the user's project. */
function runExample(
  file: string,
): Promise<{ code: number | null; killed: boolean; output: string }> {
  const child = spawn(process.execPath, ['--import', tsx, '--conditions=@tinyrpc/source', file], {
    cwd: project,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    child.kill('SIGKILL');
  }, exampleTimeout);
  return new Promise((resolve) => {
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, killed, output });
    });
  });
}

describe.each(readmes)('$path', ({ path }) => {
  const blocks = runnableBlocks(path, readFileSync(join(root, path), 'utf8'));

  it('has a runnable example', () => {
    expect(blocks.length).toBeGreaterThan(0);
  });

  it.each(blocks)(
    'runs the example at $where to its end',
    async ({ where, code }) => {
      for (const broker of brokersOf(code)) {
        const up = await tcpReachable(broker.host, broker.port);
        if (!gate(`${broker.scheme} at ${broker.host}:${String(broker.port)} (${where})`, up))
          return;
      }
      const file = join(project, `${where.replace(/[/:.]/g, '-')}.ts`);
      writeFileSync(file, code);
      const result = await runExample(file);
      // Ending by itself within the time is the point: an example that leaves a server or a
      // socket open is killed and fails here.
      expect({ ...result, output: result.output.slice(-2000) }).toMatchObject({
        killed: false,
        code: 0,
      });
    },
    exampleTimeout + 5_000,
  );
});
