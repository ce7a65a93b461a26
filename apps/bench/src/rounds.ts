import { durationMs, measure, type Result } from './measure.ts';

/** A contender of a round-based scenario, started once before any is measured. */
export interface RoundContender {
  readonly name: string;
  /** Starts what the contender needs; returns one call and a function that tears it down. */
  start(): Promise<{ call: () => Promise<unknown>; stop: () => Promise<void> }>;
}

/**
 * Starts every contender, then measures them in `rounds` interleaved rounds of `durationMs /
 * rounds` each and returns each one's median round: on a shared machine, load drifts within a run,
 * and taking turns lets every contender meet the same drift. Prints each contender's CPU time of
 * this process per call under `title`, a figure that moves far less with the machine's load.
 */
export async function interleavedRounds(
  title: string,
  contenders: readonly RoundContender[],
  options: { concurrency: number; rounds?: number },
): Promise<Result[]> {
  const rounds = options.rounds ?? 5;
  const started: { call: () => Promise<unknown>; stop: () => Promise<void> }[] = [];
  try {
    for (const contender of contenders) started.push(await contender.start());
    const samples: Result[][] = contenders.map(() => []);
    const cpu = contenders.map(() => ({ micros: 0, calls: 0 }));
    for (let round = 0; round < rounds; round++) {
      for (const [index, contender] of contenders.entries()) {
        const { call } = started[index] as { call: () => Promise<unknown> };
        const usage = cpu[index] as { micros: number; calls: number };
        const counted = (): Promise<unknown> => {
          usage.calls++;
          return call();
        };
        const before = process.cpuUsage();
        samples[index]?.push(
          await measure(contender.name, counted, {
            concurrency: options.concurrency,
            latencies: true,
            duration: durationMs / rounds,
          }),
        );
        const spent = process.cpuUsage(before);
        usage.micros += spent.user + spent.system;
      }
    }
    console.log(`\nCPU of this process per call, ${title}:`);
    for (const [index, contender] of contenders.entries()) {
      const { micros, calls } = cpu[index] as { micros: number; calls: number };
      console.log(`- ${contender.name}: ${(micros / calls).toFixed(1)} µs`);
    }
    return samples.map((list) => {
      const sorted = [...list].sort((a, b) => a.opsPerSecond - b.opsPerSecond);
      return sorted[Math.floor(sorted.length / 2)] as Result;
    });
  } finally {
    for (const { stop } of started) await stop();
  }
}
