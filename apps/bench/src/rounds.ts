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
 * and taking turns lets every contender meet the same drift.
 */
export async function interleavedRounds(
  contenders: readonly RoundContender[],
  options: { concurrency: number; rounds?: number },
): Promise<Result[]> {
  const rounds = options.rounds ?? 5;
  const started: { call: () => Promise<unknown>; stop: () => Promise<void> }[] = [];
  try {
    for (const contender of contenders) started.push(await contender.start());
    const samples: Result[][] = contenders.map(() => []);
    for (let round = 0; round < rounds; round++) {
      for (const [index, contender] of contenders.entries()) {
        const { call } = started[index] as { call: () => Promise<unknown> };
        samples[index]?.push(
          await measure(contender.name, call, {
            concurrency: options.concurrency,
            latencies: true,
            duration: durationMs / rounds,
          }),
        );
      }
    }
    return samples.map((list) => {
      const sorted = [...list].sort((a, b) => a.opsPerSecond - b.opsPerSecond);
      return sorted[Math.floor(sorted.length / 2)] as Result;
    });
  } finally {
    for (const { stop } of started) await stop();
  }
}
