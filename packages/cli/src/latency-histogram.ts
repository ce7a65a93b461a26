// Latencies in fixed memory: logarithmic buckets 2 % wide, from 1 µs to about 3 hours, so a long
// run at any rate costs the same few kilobytes and percentiles are within 2 %.
const growth = 1.02;
const bucketCount = Math.ceil(Math.log(1e10) / Math.log(growth)) + 1;

/** One range of a {@link LatencyHistogram.rows} summary. */
export interface HistogramRow {
  readonly fromMs: number;
  readonly toMs: number;
  readonly count: number;
}

/** Counts latencies (in milliseconds) and answers percentiles within 2 %. */
export class LatencyHistogram {
  readonly #counts = new Float64Array(bucketCount);
  #total = 0;
  #sum = 0;
  #min = Infinity;
  #max = 0;

  /** Records one latency, in milliseconds. */
  record(ms: number): void {
    const micros = Math.max(1, ms * 1000);
    const index = Math.min(bucketCount - 1, Math.ceil(Math.log(micros) / Math.log(growth)));
    this.#counts[index] = (this.#counts[index] ?? 0) + 1;
    this.#total += 1;
    this.#sum += ms;
    if (ms < this.#min) this.#min = ms;
    if (ms > this.#max) this.#max = ms;
  }

  /** Latencies recorded. */
  get count(): number {
    return this.#total;
  }

  /** The largest latency, exactly; 0 before any. */
  get max(): number {
    return this.#max;
  }

  /** The mean latency; 0 before any. */
  get mean(): number {
    return this.#total === 0 ? 0 : this.#sum / this.#total;
  }

  /** The latency that `fraction` (0.5 for the median) of the calls did not exceed. */
  percentile(fraction: number): number {
    if (this.#total === 0) return 0;
    const rank = Math.max(1, Math.ceil(fraction * this.#total));
    let seen = 0;
    for (let index = 0; index < bucketCount; index += 1) {
      seen += this.#counts[index] ?? 0;
      if (seen >= rank) return Math.min(this.#max, Math.max(this.#min, upperMs(index)));
    }
    return this.#max;
  }

  /** `rows` ranges of equal width on a log scale, from the fastest to the slowest call. */
  rows(rows = 8): HistogramRow[] {
    if (this.#total === 0) return [];
    const low = Math.log(this.#min);
    const high = Math.log(this.#max);
    const step = (high - low) / rows || 1;
    const result = Array.from({ length: rows }, (_, row) => ({
      fromMs: Math.exp(low + row * step),
      toMs: Math.exp(low + (row + 1) * step),
      count: 0,
    }));
    for (let index = 0; index < bucketCount; index += 1) {
      const count = this.#counts[index] ?? 0;
      if (count === 0) continue;
      const value = Math.min(this.#max, Math.max(this.#min, upperMs(index)));
      const row = Math.min(rows - 1, Math.floor((Math.log(value) - low) / step));
      (result[row] as { count: number }).count += count;
    }
    return result;
  }
}

function upperMs(index: number): number {
  return growth ** index / 1000;
}
