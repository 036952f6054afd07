import { z } from 'zod';
import type { TensorComparison } from './compare.js';

// One tally per output, summed over cases, ranks or rows: what `summary` and `crosscheck`
// report for each output (diff keeps the full histogram and worst elements besides).

const Count = z.number().int().nonnegative();

export const OutputTallySchema = z.object({
  elements: Count,
  /** Elements whose bits differ (NaN against NaN excepted). */
  differing: Count,
  nanMismatches: Count,
  infMismatches: Count,
  /** Largest |ULP| among finite mismatches. */
  maxUlp: Count,
});
export type OutputTally = z.infer<typeof OutputTallySchema>;

export const EMPTY_TALLY: OutputTally = { elements: 0, differing: 0, nanMismatches: 0, infMismatches: 0, maxUlp: 0 };

/** `tally` with one more comparison counted in. */
export function addComparison(tally: OutputTally, c: Pick<TensorComparison, keyof OutputTally>): OutputTally {
  return {
    elements: tally.elements + c.elements,
    differing: tally.differing + c.differing,
    nanMismatches: tally.nanMismatches + c.nanMismatches,
    infMismatches: tally.infMismatches + c.infMismatches,
    maxUlp: Math.max(tally.maxUlp, c.maxUlp),
  };
}

/** Share of elements that differ, as a percentage with two decimals, never 0.00% for a
 *  nonzero count nor 100.00% short of every element. */
export function differingPercent(t: OutputTally): string {
  if (t.differing === 0) return '0%';
  if (t.differing === t.elements) return '100%';
  return `${Math.min(Math.max((100 * t.differing) / t.elements, 0.01), 99.99).toFixed(2)}%`;
}
