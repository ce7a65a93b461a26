import type { ConformanceRunner, ConformanceTest } from '@tinyrpc/conformance';

/** How one registered case ended. */
export interface CaseResult {
  readonly name: string;
  readonly status: 'passed' | 'failed' | 'skipped';
  readonly error?: unknown;
}

/**
 * A test runner that only records: the kit registers its cases with it, `run()` runs them one
 * after another and reports how each ended, so a test can assert that the kit fails a transport.
 */
export function recordingRunner(): { runner: ConformanceRunner; run(): Promise<CaseResult[]> } {
  const cases: { name: string; fn: ConformanceTest; skip: boolean }[] = [];
  const path: string[] = [];
  const add = (skip: boolean) => (name: string, fn: ConformanceTest) => {
    cases.push({ name: [...path, name].join(' > '), fn, skip });
  };
  const runner: ConformanceRunner = {
    describe(name, fn) {
      path.push(name);
      try {
        fn();
      } finally {
        path.pop();
      }
    },
    it: Object.assign(add(false), { skip: add(true) }),
  };
  return {
    runner,
    async run() {
      const results: CaseResult[] = [];
      for (const { name, fn, skip } of cases) {
        if (skip) {
          results.push({ name, status: 'skipped' });
          continue;
        }
        try {
          await fn();
          results.push({ name, status: 'passed' });
        } catch (error) {
          results.push({ name, status: 'failed', error });
        }
      }
      return results;
    },
  };
}
