import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// The kit under node:test: spawns `node --test` on plain .mjs files that import the kit as a user
// would. tsx and the `@tinyrpc/source` condition let Node 20 read the TypeScript sources, so no
// build is needed; a published package's users import the built files and need neither.
const packageDir = fileURLToPath(new URL('..', import.meta.url));

function nodeTest(
  file: string,
): Promise<{ code: number; pass: number; fail: number; output: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', '--conditions=@tinyrpc/source', '--test', '--test-reporter=tap', file],
      { cwd: packageDir, timeout: 30_000, env: { ...process.env, NODE_OPTIONS: '' } },
      (error, stdout, stderr) => {
        const count = (name: string): number =>
          Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(stdout)?.[1] ?? -1);
        resolve({
          code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1,
          pass: count('pass'),
          fail: count('fail'),
          output: stdout + stderr,
        });
      },
    );
  });
}

describe.concurrent('the kit under node:test', () => {
  it('passes the memory transport and the built-in protocol', async () => {
    const result = await nodeTest('test/node-test/kit.mjs');
    expect(result.fail, result.output).toBe(0);
    expect(result.pass, result.output).toBeGreaterThan(40);
    expect(result.code, result.output).toBe(0);
  });

  it('fails a transport that drops every tenth reply', async () => {
    const result = await nodeTest('test/node-test/broken.mjs');
    expect(result.fail, result.output).toBeGreaterThan(0);
    expect(result.output).toMatch(/not ok \d+ - 100 concurrent calls/);
    expect(result.code, result.output).not.toBe(0);
  });
});
