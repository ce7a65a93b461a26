import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';

const read = (path: string): string => readFileSync(new URL(path, import.meta.url), 'utf8');

describe('the README example', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('is the same in the README, in index.ts and in the fixture that runs it', () => {
    const readme = /```ts\n(import \{ generateApiType[\s\S]*?)```/.exec(read('../README.md'))?.[1];
    const tsdoc = /```ts\n([\s\S]*?) \* ```/
      .exec(read('../src/index.ts'))?.[1]
      ?.replace(/^ \*( |$)/gm, '');
    const fixture = read('./fixtures/readme-example.ts');
    expect(readme).toBe(fixture);
    expect(tsdoc).toBe(fixture);
  });

  it('prints the type the README shows', async () => {
    const printed: unknown[] = [];
    vi.spyOn(console, 'log').mockImplementation((text: unknown) => {
      printed.push(text);
    });
    await import('./fixtures/readme-example.ts');
    const shown = /prints\n\n```ts\n([\s\S]*?)```/.exec(read('../README.md'))?.[1];
    expect(printed).toEqual([shown]);
  });
});
