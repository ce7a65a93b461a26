// The support matrix, checked. For every package under packages/ (found from the folders) and
// every entry point in its exports map, a consumer project is generated that imports it, and
// each TypeScript of this package's devDependencies (`typescript-X-Y`) type-checks it with
// skipLibCheck off, in each mode below; then Node imports and require()s every entry point of
// the builds. Run after `pnpm build`.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { linkWorkspacePackages, workspacePackages } from '../scripts/lib/workspace-packages.mjs';

const run = promisify(execFile);
const here = new URL('.', import.meta.url).pathname;
const read = (path) => JSON.parse(readFileSync(path, 'utf8'));

// The oldest TypeScript of each mode, and why (the root README states the same):
// - 5.7: the declarations use `Uint8Array<ArrayBuffer>`; Uint8Array is generic from 5.7 on.
// - 5.8: a CommonJS file may import an ES module under `nodenext` from 5.8 on (require of ESM).
const strictest = {
  strict: true,
  skipLibCheck: false,
  noEmit: true,
  target: 'ES2022',
  types: ['node'],
  exactOptionalPropertyTypes: true,
  noUncheckedIndexedAccess: true,
};
const modes = [
  {
    name: 'NodeNext (ESM package)',
    folder: 'nodenext',
    since: '5.7',
    type: 'module',
    compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2023'] },
  },
  {
    name: 'bundler',
    folder: 'bundler',
    since: '5.7',
    type: 'module',
    compilerOptions: {
      module: 'ESNext',
      moduleResolution: 'bundler',
      lib: ['ES2023', 'DOM', 'DOM.Iterable'],
    },
  },
  {
    name: 'NodeNext (CommonJS package)',
    folder: 'commonjs',
    since: '5.8',
    type: 'commonjs',
    compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2023'] },
  },
];

const devDependencies = read(join(here, 'package.json')).devDependencies;
const compilers = Object.keys(devDependencies)
  .filter((name) => name.startsWith('typescript-'))
  .map((name) => {
    const dir = join(here, 'node_modules', name);
    const pkg = read(join(dir, 'package.json'));
    return { name, version: pkg.version, tsc: join(dir, pkg.bin.tsc) };
  });
const atLeast = (version, since) => {
  const [a, b] = version.split('.').map(Number);
  const [c, d] = since.split('.').map(Number);
  return a > c || (a === c && b >= d);
};

// Every entry point of every package: its name plus each subpath of its exports map.
const entries = workspacePackages().flatMap(({ name, manifest }) =>
  Object.keys(manifest.exports)
    .filter((subpath) => subpath !== './package.json')
    .map((subpath) => ({ name, specifier: name + subpath.slice(1) })),
);

const work = mkdtempSync(join(tmpdir(), 'tinyrpc-consumer-'));
const problems = [];
const passed = [];
try {
  linkWorkspacePackages(work);
  mkdirSync(join(work, 'node_modules/@types'), { recursive: true });
  symlinkSync(
    join(here, 'node_modules/@types/node'),
    join(work, 'node_modules/@types/node'),
    'dir',
  );

  const imports = entries.map(
    ({ specifier }, i) => `import * as entry${String(i)} from '${specifier}';`,
  );
  const source = `${imports.join('\n')}\n\nexport const entries = [${entries.map((_, i) => `entry${String(i)}`).join(', ')}];\n`;
  for (const mode of modes) {
    const dir = join(work, mode.folder);
    mkdirSync(dir);
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ type: mode.type }));
    writeFileSync(join(dir, 'index.ts'), source);
    writeFileSync(
      join(dir, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: { ...strictest, ...mode.compilerOptions },
        files: ['index.ts'],
      }),
    );
  }

  const natsDeclaration = /node_modules\/\.pnpm\/nats@[^/]+\/node_modules\/nats\//;

  // Type-checks, two at a time on two cores.
  const jobs = compilers.flatMap((compiler) =>
    modes
      .filter((mode) => atLeast(compiler.version, mode.since))
      .map((mode) => ({ compiler, mode })),
  );
  const worker = async () => {
    for (let job = jobs.shift(); job !== undefined; job = jobs.shift()) {
      const { compiler, mode } = job;
      const label = `TypeScript ${compiler.version}, ${mode.name}`;
      try {
        await run(process.execPath, [compiler.tsc, '-p', join(work, mode.folder, 'tsconfig.json')]);
        passed.push(label);
      } catch (error) {
        const output = `${String(error.stdout)}${String(error.stderr)}`;
        const errors = output.split('\n').filter((line) => /error TS\d+/.test(line));
        // The nats client's own declarations (nats 2.x) do not compile with skipLibCheck off (TextEncoder
        // used as a type without the DOM lib; classes that break exactOptionalPropertyTypes): a
        // limit of that dependency, written in transport-nats' README. Our own must all compile.
        if (errors.length > 0 && errors.every((line) => natsDeclaration.test(line))) {
          passed.push(`${label} (errors only in the nats client's own declarations)`);
        } else {
          problems.push(`${label}:\n${output}`);
        }
      }
    }
  };
  await Promise.all([worker(), worker()]);

  // Node: every entry point by import and by require() (ESM from CommonJS, Node 20.19+).
  const specifiers = JSON.stringify(entries.map((e) => e.specifier));
  writeFileSync(
    join(work, 'load.cjs'),
    `for (const s of ${specifiers}) { const m = require(s); if (Object.keys(m).length === 0) throw new Error(s + ' exports nothing'); }\n`,
  );
  writeFileSync(
    join(work, 'load.mjs'),
    `for (const s of ${specifiers}) { const m = await import(s); if (Object.keys(m).length === 0) throw new Error(s + ' exports nothing'); }\n`,
  );
  for (const file of ['load.cjs', 'load.mjs']) {
    const label = `Node ${process.version}, ${file.endsWith('.cjs') ? 'require()' : 'import'}`;
    try {
      await run(process.execPath, [join(work, file)], { cwd: work });
      passed.push(label);
    } catch (error) {
      problems.push(`${label}:\n${String(error.stderr)}`);
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

console.log(`${String(entries.length)} entry points:\n  ${passed.sort().join('\n  ')}`);
if (problems.length > 0) {
  console.error(`\nfailed:\n${problems.join('\n')}`);
  process.exit(1);
}
