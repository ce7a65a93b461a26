// Checks what a hand-kept list would let drift, for every folder under packages/: every workspace
// dependency of a package is also a TypeScript project reference of its build config, every
// package has the fields we publish with, and its README installs it and links where the
// registry's page can follow. The repository's address lives once, in the root package.json:
// `node tooling/scripts/check-packages.mjs --fix` writes repository, homepage and bugs of every
// package from it.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
const fix = process.argv.includes('--fix');
const problems = [];
const read = (path) => JSON.parse(readFileSync(path, 'utf8'));
const folders = readdirSync(join(root, 'packages')).filter((name) =>
  existsSync(join(root, 'packages', name, 'package.json')),
);
const names = new Map(
  folders.map((f) => [read(join(root, 'packages', f, 'package.json')).name, f]),
);

// The one place the address is written: the root package.json's repository.
const rootPkg = read(join(root, 'package.json'));
const repositoryUrl = rootPkg.repository.url; // git+https://github.com/owner/name.git
const webBase = repositoryUrl.replace(/^git\+/, '').replace(/\.git$/, '');
const repositoryName = webBase.split('/').pop();
if (rootPkg.license !== 'MIT') problems.push('root package.json: license is not MIT');
if (!existsSync(join(root, 'LICENSE'))) problems.push('no LICENSE at the repository root');

/** The fields every package is published with that follow from the repository's address. */
const linkFields = (folder) => ({
  repository: { type: 'git', url: repositoryUrl, directory: `packages/${folder}` },
  homepage: `${webBase}/tree/main/packages/${folder}#readme`,
  bugs: { url: `${webBase}/issues` },
});

for (const folder of folders) {
  const dir = join(root, 'packages', folder);
  const pkgPath = join(dir, 'package.json');
  let pkg = read(pkgPath);
  if (pkg.name !== `@tinyrpc/${folder}`)
    problems.push(`${folder}: name ${pkg.name} differs from folder`);

  const expected = linkFields(folder);
  const drifted = Object.keys(expected).filter(
    (field) => JSON.stringify(pkg[field]) !== JSON.stringify(expected[field]),
  );
  if (drifted.length > 0 && fix) {
    // Rebuilt in order: the links right after "license", as `npm init` puts them.
    const next = {};
    for (const [key, value] of Object.entries(pkg)) {
      if (key in expected) continue;
      next[key] = value;
      if (key === 'license') Object.assign(next, expected);
    }
    pkg = 'license' in pkg ? next : { ...next, ...expected };
    writeFileSync(pkgPath, `${JSON.stringify(pkg, null, 2)}\n`);
  } else {
    for (const field of drifted)
      problems.push(`${pkg.name}: "${field}" is not ${JSON.stringify(expected[field])} (--fix)`);
  }

  for (const field of ['version', 'exports', 'files', 'engines', 'description']) {
    if (pkg[field] === undefined) problems.push(`${pkg.name}: no "${field}"`);
  }
  if (pkg.license !== 'MIT') problems.push(`${pkg.name}: "license" is not MIT`);
  if (!Array.isArray(pkg.keywords) || !pkg.keywords.includes('tinyrpc'))
    problems.push(`${pkg.name}: "keywords" lack "tinyrpc"`);
  if (pkg.type !== 'module') problems.push(`${pkg.name}: not "type": "module"`);
  if (pkg.sideEffects !== false) problems.push(`${pkg.name}: "sideEffects" is not false`);
  if (pkg.engines?.node !== rootPkg.engines.node)
    problems.push(`${pkg.name}: "engines.node" is not ${rootPkg.engines.node} as at the root`);

  const readmePath = join(dir, 'README.md');
  if (existsSync(readmePath)) {
    const readme = readFileSync(readmePath, 'utf8');
    // npm and pnpm users both find their line, and it names the package itself.
    for (const tool of ['npm install', 'pnpm add']) {
      const line = readme.split('\n').find((l) => l.startsWith(tool));
      if (line === undefined || !line.split(/\s+/).includes(pkg.name))
        problems.push(`${pkg.name}: README has no "${tool} … ${pkg.name}" line`);
    }
    // The registry shows the README away from the repository: relative links break there.
    for (const [, target] of readme.matchAll(/\]\(([^)\s]+)\)/g)) {
      if (!/^(https?:|mailto:|#)/.test(target))
        problems.push(`${pkg.name}: README links to ${target}, which breaks on the registry`);
      else if (target.includes(`/${repositoryName}`) && !target.startsWith(webBase))
        problems.push(`${pkg.name}: README links to ${target}, not under ${webBase}`);
    }
  } else problems.push(`${pkg.name}: no README.md`);

  // tsconfig files are JSON without comments in this repo.
  const tsconfig = read(join(dir, 'tsconfig.build.json'));
  const references = new Set(
    (tsconfig.references ?? []).map((r) => r.path.replace(/\/tsconfig\.build\.json$/, '')),
  );
  // What the shipped code imports must be built first; test-only devDependencies need no reference.
  const deps = { ...pkg.dependencies, ...pkg.peerDependencies };
  const allDeps = { ...deps, ...pkg.devDependencies };
  for (const dep of Object.keys(deps)) {
    const target = names.get(dep);
    if (target !== undefined && !references.has(`../${target}`)) {
      problems.push(
        `${pkg.name}: depends on ${dep} but tsconfig.build.json has no reference to ../${target}`,
      );
    }
  }
  for (const ref of references) {
    const target = ref.replace(/^\.\.\//, '');
    if (![...names.entries()].some(([name, f]) => f === target && allDeps[name] !== undefined)) {
      problems.push(`${pkg.name}: references ${ref} without depending on it`);
    }
  }
}

if (problems.length > 0) {
  console.error(problems.join('\n'));
  process.exit(1);
}
console.log(`package check: ${folders.length} packages consistent`);
