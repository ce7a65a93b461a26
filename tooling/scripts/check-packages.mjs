// Checks what a hand-kept list would let drift: every workspace dependency of a package is also a
// TypeScript project reference of its build config, and every package has the fields we publish with.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
const problems = [];
const read = (path) => JSON.parse(readFileSync(path, 'utf8'));
const folders = readdirSync(join(root, 'packages')).filter((name) =>
  existsSync(join(root, 'packages', name, 'package.json')),
);
const names = new Map(
  folders.map((f) => [read(join(root, 'packages', f, 'package.json')).name, f]),
);

for (const folder of folders) {
  const dir = join(root, 'packages', folder);
  const pkg = read(join(dir, 'package.json'));
  if (pkg.name !== `@tinyrpc/${folder}`)
    problems.push(`${folder}: name ${pkg.name} differs from folder`);
  for (const field of ['exports', 'files', 'engines', 'description']) {
    if (pkg[field] === undefined) problems.push(`${pkg.name}: no "${field}"`);
  }
  if (pkg.type !== 'module') problems.push(`${pkg.name}: not "type": "module"`);
  if (pkg.sideEffects !== false) problems.push(`${pkg.name}: "sideEffects" is not false`);
  if (!existsSync(join(dir, 'README.md'))) problems.push(`${pkg.name}: no README.md`);
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
