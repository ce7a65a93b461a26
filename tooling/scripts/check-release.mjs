// Checks that the pending changesets make a clean release, for every folder under packages/: a
// package never released yet (no CHANGELOG.md, which `changeset version` writes) sits at 0.0.0 and
// its changesets take it to exactly 0.1.0, so a first release is one consistent 0.1.0; and
// changesets understands every workspace range (one it cannot match to the current version drops
// that dependency from its graph, so dependents would silently stop being bumped).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { root, workspacePackages } from './lib/workspace-packages.mjs';

const firstVersion = '0.1.0';
const read = (path) => JSON.parse(readFileSync(path, 'utf8'));
const folders = workspacePackages().map(({ folder }) => folder);
const problems = [];

const dir = mkdtempSync(join(tmpdir(), 'tinyrpc-release-'));
let releases;
try {
  const output = join(dir, 'status.json');
  const status = spawnSync(
    join(root, 'node_modules/.bin/changeset'),
    ['status', `--output=${output}`],
    { cwd: root, encoding: 'utf8' },
  );
  if (status.status !== 0) problems.push(`changeset status failed:\n${status.stderr}`);
  for (const line of `${status.stdout}\n${status.stderr}`.split('\n')) {
    if (line.includes('must depend on the current version')) problems.push(`changesets: ${line}`);
  }
  releases = existsSync(output) ? read(output).releases : [];
} finally {
  rmSync(dir, { recursive: true, force: true });
}

let unreleased = 0;
for (const folder of folders) {
  const pkg = read(join(root, 'packages', folder, 'package.json'));
  if (existsSync(join(root, 'packages', folder, 'CHANGELOG.md'))) continue;
  unreleased++;
  if (pkg.version !== '0.0.0')
    problems.push(`${pkg.name}: never released, so its version is 0.0.0, not ${pkg.version}`);
  const release = releases.find((r) => r.name === pkg.name);
  if (release?.newVersion !== firstVersion)
    problems.push(
      `${pkg.name}: the pending changesets release it at ${release?.newVersion ?? 'nothing'}, not ${firstVersion} (add a "minor" changeset)`,
    );
}

if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
const bumped = releases.filter((r) => r.type !== 'none').length;
console.log(
  `release check: ${String(bumped)} packages to release, ${String(unreleased)} of them first releases at ${firstVersion}`,
);
