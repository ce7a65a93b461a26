/** A test body as the kit registers it: no arguments, settles when the case is done. */
export type ConformanceTest = () => Promise<void>;

/** The `it` (or `test`) function of a runner; `skip` is used for cases the capabilities turn off. */
export interface ConformanceIt {
  (name: string, fn: ConformanceTest): unknown;
  /** Registers a skipped case; when absent, cases that do not apply are left out. */
  readonly skip?: (name: string, fn: ConformanceTest) => unknown;
}

/**
 * The two functions of a test runner the kit registers its cases with: vitest's and node:test's
 * `describe` and `it` fit as they are, so do Jest's and Mocha's.
 *
 * The kit needs no hooks: every case sets up and tears down what it uses itself.
 */
export interface ConformanceRunner {
  /** Declares a group of cases named `name`; `fn` registers them. */
  readonly describe: (name: string, fn: () => void) => unknown;
  readonly it: ConformanceIt;
}

/** Registers `fn` as a case, or as a skipped case (or not at all) when `enabled` is false. */
export function register(
  runner: ConformanceRunner,
  name: string,
  enabled: boolean | string,
  fn: ConformanceTest,
): void {
  if (enabled === true) {
    runner.it(name, fn);
    return;
  }
  const reason = enabled === false ? '' : ` (${enabled})`;
  runner.it.skip?.(name + reason, fn);
}

/** Rejects with a clear message when `promise` has not settled after `ms` milliseconds. */
export async function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`${what} did not finish within ${String(ms)} ms`));
    }, ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

/** Resolves after `ms` milliseconds. */
export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => {
    setTimeout(resolve, ms);
  });

/** Waits until `condition()` holds, checking every few milliseconds; fails after `ms`. */
export async function until(condition: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = performance.now() + ms;
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`Timed out waiting until ${what}`);
    await sleep(2);
  }
}

/** Settles `promise` into a value or an error, so a test can look at a rejection it expects. */
export async function outcome<T>(
  promise: Promise<T>,
): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await promise };
  } catch (error) {
    return { ok: false, error };
  }
}
