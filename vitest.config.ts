import { readdirSync, existsSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

// Tests import workspace packages from their sources, so no build is needed to run them. Only our
// own condition is added: vitest hands these to Node as `--conditions`, where `import` or `module`
// would make CommonJS dependencies require() the ESM builds of theirs.
const conditions = ['@tinyrpc/source'];

// One vitest project per package or app that has a test folder: the list follows the folders.
const projects = ['packages', 'apps', 'tooling'].flatMap((group) =>
  existsSync(group)
    ? readdirSync(group)
        .filter((name) => existsSync(`${group}/${name}/test`))
        .map((name) => ({
          extends: true as const,
          test: {
            name: `${group}/${name}`,
            root: `${group}/${name}`,
            include: ['test/**/*.test.ts'],
          },
        }))
    : [],
);

export default defineConfig({
  resolve: { conditions: [...conditions, 'node'] },
  ssr: { resolve: { conditions: [...conditions, 'node'], externalConditions: conditions } },
  test: {
    projects,
    testTimeout: 20_000,
    hookTimeout: 30_000,
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
  },
});
