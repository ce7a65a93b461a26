import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { natsAvailable } from './nats.ts';

const read = (path: string): string => readFileSync(new URL(path, import.meta.url), 'utf8');
const available = await natsAvailable();

describe('the README example', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('is the same in the README, in index.ts and in the fixture that runs it', () => {
    const readme = /```ts\n([\s\S]*?)```/.exec(read('../../README.md'))?.[1];
    const tsdoc = /```ts\n([\s\S]*?) \* ```/
      .exec(read('../../src/index.ts'))?.[1]
      ?.replace(/^ \*( |$)/gm, '');
    const fixture = read('../fixtures/readme-example.ts');
    expect(readme).toBe(fixture);
    expect(tsdoc).toBe(fixture);
  });

  it.skipIf(!available)('runs against NATS and prints what the server answered', async () => {
    const lines: unknown[][] = [];
    vi.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      lines.push(args);
    });
    await import('../fixtures/readme-example.ts');
    expect(lines).toEqual([['Server answered:', '!dlroW ,olleH']]);
  });
});
