import { readdirSync, existsSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

// Tests import workspace packages from their sources, so no build is needed to run them.
const conditions = ['@tinyrpc/source', 'module', 'node', 'import', 'default'];

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
  resolve: { conditions },
  ssr: { resolve: { conditions, externalConditions: ['@tinyrpc/source'] } },
  test: {
    projects,
    testTimeout: 20_000,
    hookTimeout: 30_000,
    typecheck: { enabled: true, include: ['test/**/*.test-d.ts'], tsconfig: './tsconfig.json' },
  },
});
