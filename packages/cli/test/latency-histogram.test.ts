import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LatencyHistogram } from '../src/latency-histogram.ts';

const exact = (sorted: number[], fraction: number): number =>
  sorted[Math.max(0, Math.ceil(fraction * sorted.length) - 1)] as number;

describe('LatencyHistogram', () => {
  it('answers percentiles within 2 % of the exact ones, and the exact max', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0.01, max: 60_000, noNaN: true }), {
          minLength: 1,
          maxLength: 2000,
        }),
        (latencies) => {
          const histogram = new LatencyHistogram();
          for (const ms of latencies) histogram.record(ms);
          const sorted = [...latencies].sort((a, b) => a - b);
          for (const fraction of [0.5, 0.9, 0.99]) {
            const want = exact(sorted, fraction);
            expect(Math.abs(histogram.percentile(fraction) - want)).toBeLessThanOrEqual(
              want * 0.0201,
            );
          }
          expect(histogram.max).toBe(sorted.at(-1));
          expect(histogram.count).toBe(latencies.length);
          expect(histogram.rows().reduce((sum, row) => sum + row.count, 0)).toBe(latencies.length);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('costs the same memory for a million calls as for one, and is empty before any', () => {
    const histogram = new LatencyHistogram();
    expect([histogram.percentile(0.5), histogram.max, histogram.mean, histogram.rows()]).toEqual([
      0,
      0,
      0,
      [],
    ]);
    for (let i = 0; i < 1_000_000; i += 1) histogram.record(1 + (i % 100) / 100);
    expect(histogram.count).toBe(1_000_000);
    expect(histogram.percentile(0.5)).toBeCloseTo(1.5, 1);
    // Past the largest bucket still counts, in the last one.
    histogram.record(1e12);
    expect(histogram.max).toBe(1e12);
  });
});
