import { z } from 'zod';

// The explain report; `explain --json` prints only what this schema accepts.

const Count = z.number().int().nonnegative();
const Share = z.number().min(0).max(1);

export const DimensionChangeSchema = z.object({ path: z.string(), value: z.string() });

export const HypothesisReportSchema = z.object({
  /** A preset name, or 'BASE + path=value' for a variant of preset BASE. */
  name: z.string(),
  /** Other presets this hypothesis stands for: same contract, as far as the candidate's outputs go. */
  aliases: z.array(z.string()),
  kind: z.enum(['preset', 'variant']),
  /** For a variant: the hypothesis it was derived from, and the dimensions changed. */
  base: z.string().nullable(),
  changes: z.array(DimensionChangeSchema),
  /** Mean over the candidate's outputs of the bit-exact share (rstd-explained rows counted as exact with --rstd infer). */
  score: Share,
  outputs: z.array(z.object({ name: z.string(), share: Share, note: z.string().nullable() })),
  /** With --rstd infer: rows whose difference an rstd shift explains. */
  rstdExplainedRows: Count,
});

export const SeparationSchema = z.object({ path: z.string(), best: z.string(), other: z.string() });

export const ExplainReportSchema = z.object({
  golden: z.object({ file: z.string(), preset: z.string(), ranks: Count, tokens: Count, hidden: Count }),
  candidate: z.object({ file: z.string(), outputs: z.array(z.string()) }),
  rstdUlps: z.number().int().positive().nullable(),
  engineRuns: Count,
  /** Hypotheses tried in the search. */
  searched: Count,
  /** Token rows the search scored on (null: all rows); listed hypotheses are scored on all rows. */
  searchRows: z.array(Count).nullable(),
  /** Hypotheses scored on every row, best first. */
  hypotheses: z.array(HypothesisReportSchema),
  best: z.string(),
  /** The best reproduces every candidate output bit for bit (or up to rstd shifts). */
  exact: z.boolean(),
  /** The named preset nearest the best explanation (the preset a variant was derived from, else
   *  the best-scoring other preset) and the dimensions that separate them. */
  runnerUp: z.object({ name: z.string(), score: Share, separatedBy: z.array(SeparationSchema) }).nullable(),
  /** Where the best explanation differs from the contract the golden was made with. */
  vsGolden: z.array(z.object({ path: z.string(), golden: z.string(), best: z.string() })),
  /** Dimensions whose every tried alternative scores lower (the data pins them down). */
  confirmed: z.array(z.object({ path: z.string(), value: z.string(), alternative: z.string(), alternativeScore: Share })),
  /** Dimensions where an alternative scores the same: these inputs cannot tell them apart. */
  undetermined: z.array(z.object({ path: z.string(), value: z.string(), alternatives: z.array(z.string()), ruledOut: z.array(z.string()) })),
});

export type HypothesisReport = z.infer<typeof HypothesisReportSchema>;
export type ExplainReport = z.infer<typeof ExplainReportSchema>;
