/** One measured contender of a scenario. */
export interface Result {
  readonly name: string;
  /** Completed operations per second. */
  readonly opsPerSecond: number;
  /** Latency percentiles in milliseconds, where the scenario records them. */
  readonly p50?: number;
  readonly p99?: number;
}

/** A benchmark scenario: measures its contenders side by side and returns one result each. */
export interface Scenario {
  readonly name: string;
  /** The contender the others are divided by (the raw baseline). */
  readonly baseline: string;
  run(): Promise<Result[]>;
}

/** Milliseconds each contender runs; `BENCH_SECONDS` changes it. */
export const durationMs = Number(process.env['BENCH_SECONDS'] ?? '2') * 1000;

/**
 * Runs `operation` back to back with `concurrency` loops in flight for `durationMs`, after a short
 * warm-up, and returns operations per second and latency percentiles. With `clock: 'cpu'` the
 * seconds are this process's CPU seconds (`process.cpuUsage()`, every thread: GC's included), for
 * work that never waits, where other load on the machine moves wall-clock time far more.
 */
export async function measure(
  name: string,
  operation: () => unknown,
  options: {
    concurrency?: number;
    duration?: number;
    latencies?: boolean;
    clock?: 'wall' | 'cpu';
  } = {},
): Promise<Result> {
  const concurrency = options.concurrency ?? 1;
  const duration = options.duration ?? durationMs;
  await runFor(operation, concurrency, Math.min(500, duration / 4), undefined);
  const samples: number[] | undefined = options.latencies ? [] : undefined;
  const started = performance.now();
  const cpu = process.cpuUsage();
  const count = await runFor(operation, concurrency, duration, samples);
  const used = process.cpuUsage(cpu);
  const elapsed =
    options.clock === 'cpu'
      ? (used.user + used.system) / 1e6
      : (performance.now() - started) / 1000;
  const result: Result = { name, opsPerSecond: count / elapsed };
  if (samples === undefined || samples.length === 0) return result;
  samples.sort((a, b) => a - b);
  const at = (q: number): number =>
    samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? 0;
  return { ...result, p50: at(0.5), p99: at(0.99) };
}

async function runFor(
  operation: () => unknown,
  concurrency: number,
  duration: number,
  samples: number[] | undefined,
): Promise<number> {
  const deadline = performance.now() + duration;
  let count = 0;
  const loop = async (): Promise<void> => {
    // Check the clock every few operations only: reading it costs as much as a small call.
    for (;;) {
      for (let i = 0; i < 64; i++) {
        if (samples === undefined) {
          await operation();
        } else {
          const t = performance.now();
          await operation();
          samples.push(performance.now() - t);
        }
        count++;
      }
      if (performance.now() >= deadline) return;
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  return count;
}

/** Prints a scenario's results with their ratio to the baseline (none: it printed its own). */
export function report(scenario: Scenario, results: readonly Result[]): void {
  if (results.length === 0) return;
  const base = results.find((r) => r.name === scenario.baseline);
  console.log(`\n## ${scenario.name}\n`);
  console.log('| contender | ops/s | × baseline | p50 ms | p99 ms |');
  console.log('| --- | ---: | ---: | ---: | ---: |');
  for (const r of results) {
    const ratio = base ? (r.opsPerSecond / base.opsPerSecond).toFixed(2) : '–';
    const ms = (v: number | undefined): string => (v === undefined ? '–' : v.toFixed(3));
    console.log(
      `| ${r.name} | ${Math.round(r.opsPerSecond).toLocaleString('en-US')} | ${ratio} | ${ms(r.p50)} | ${ms(r.p99)} |`,
    );
  }
}
