// Checks what would reach the registry, for every folder under packages/: packs each package as
// `pnpm publish` would (workspace: ranges rewritten) and inspects the tarball — no workspace:
// range left, LICENSE and README inside — then runs attw on it with the profile of the support
// matrix (ESM only: CommonJS callers require() it on Node 20.19+, see the root README).
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { root, workspacePackages } from './lib/workspace-packages.mjs';

const run = promisify(execFile);
const attw = join(root, 'node_modules/.bin/attw');
const folders = workspacePackages().map(({ folder }) => folder);
const out = mkdtempSync(join(tmpdir(), 'tinyrpc-tarballs-'));
const problems = [];

try {
  for (const folder of folders) {
    execFileSync('pnpm', ['pack', '--pack-destination', out], {
      cwd: join(root, 'packages', folder),
      stdio: 'ignore',
    });
  }
  const tarballs = readdirSync(out).filter((file) => file.endsWith('.tgz'));
  if (tarballs.length !== folders.length)
    problems.push(
      `packed ${String(tarballs.length)} tarballs for ${String(folders.length)} packages`,
    );

  for (const tarball of tarballs) {
    const path = join(out, tarball);
    const files = execFileSync('tar', ['-tzf', path], { encoding: 'utf8' }).split('\n');
    for (const file of ['package/package.json', 'package/LICENSE', 'package/README.md']) {
      if (!files.includes(file)) problems.push(`${tarball}: no ${file.slice('package/'.length)}`);
    }
    const manifest = JSON.parse(
      execFileSync('tar', ['-xzOf', path, 'package/package.json'], { encoding: 'utf8' }),
    );
    for (const field of ['dependencies', 'peerDependencies', 'optionalDependencies']) {
      for (const [name, range] of Object.entries(manifest[field] ?? {})) {
        if (String(range).startsWith('workspace:'))
          problems.push(`${tarball}: ${field} ${name} is still ${range}`);
      }
    }
  }

  // attw loads a TypeScript program per run; two at a time on two cores.
  const queue = [...tarballs];
  const worker = async () => {
    for (let tarball = queue.shift(); tarball !== undefined; tarball = queue.shift()) {
      try {
        await run(attw, [join(out, tarball), '--profile', 'esm-only', '--format', 'ascii']);
      } catch (error) {
        problems.push(`${tarball}: attw --profile esm-only fails\n${String(error.stdout)}`);
      }
    }
  };
  await Promise.all([worker(), worker()]);
} finally {
  rmSync(out, { recursive: true, force: true });
}

if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(
  `tarball check: ${String(folders.length)} tarballs with LICENSE and README, no workspace: range, attw (esm-only) clean`,
);
