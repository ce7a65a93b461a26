import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

describe('the package documentation', () => {
  it('shows the README example', () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const index = readFileSync(new URL('../src/index.ts', import.meta.url), 'utf8');
    const fromReadme = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
    const fromIndex = /@example\n \* ```ts\n([\s\S]*?) \* ```/
      .exec(index)?.[1]
      ?.split('\n')
      .map((line) => line.replace(/^ \* ?/, ''))
      .join('\n');
    expect(fromIndex).toBe(fromReadme);
  });
});
