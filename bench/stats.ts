// What the bench scripts share: a list flag's numbers, and min / median / max / mean of timings.

/** "128,1024,8192" as numbers; an empty list for "". */
export function numberList(text: string): number[] {
  return text
    .split(',')
    .filter((t) => t !== '')
    .map(Number);
}

export interface TimingSummary {
  readonly min: number;
  /** The middle sample, or the mean of the two middle ones for an even count. */
  readonly median: number;
  readonly max: number;
  readonly mean: number;
  readonly samples: number;
}

export function summarize(times: readonly number[]): TimingSummary {
  const sorted = [...times].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { min: sorted[0], median, max: sorted[sorted.length - 1], mean: times.reduce((a, b) => a + b, 0) / times.length, samples: times.length };
}
