import { readFileSync } from 'node:fs';
import { describe, expect, it, vi } from 'vitest';
import { inMemoryTelemetry, kindOf } from './tracing.ts';

describe('the README example', () => {
  it('is the package documentation example and makes a client and a server span', async () => {
    const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
    const example = /```ts\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';
    expect(example).toContain('serverTracing()');
    const { spans } = inMemoryTelemetry();
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const file = new URL('./.readme-example.ts', import.meta.url);
    const { writeFileSync, rmSync } = await import('node:fs');
    writeFileSync(file, example);
    try {
      await import(/* @vite-ignore */ file.href);
      expect(log).toHaveBeenCalledWith(3);
    } finally {
      rmSync(file);
      log.mockRestore();
    }
    expect(spans.getFinishedSpans().map(kindOf).sort()).toEqual(['CLIENT', 'SERVER']);
  });
});
