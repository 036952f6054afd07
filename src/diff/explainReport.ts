import { z } from 'zod';
import { ContractSchema } from '../contracts/schema.js';
import { STAGES } from './explainSpace.js';
import { RSTD_MISS_REASONS } from './rstd.js';
import { SCALE_MISS_REASONS } from './scaleDeviation.js';

// The explain report; `explain --json` prints only what this schema accepts.

const Count = z.number().int().nonnegative();
const RankRef = z.number().int().nonnegative().nullable();
const OutputKindSchema = z.enum(['residual', 'norm', 'q', 'scale']);

export const StageReportSchema = z.object({
  stage: z.enum(STAGES),
  /** Output kinds the stage was fitted on (a stage without outputs of its own joins the next). */
  outputs: z.array(OutputKindSchema),
  /** Distinct contracts scored on the probe rows. */
  evaluated: Count,
  /** Mismatching candidate elements of these outputs on the probe rows, at the fit. */
  probeMismatches: Count,
  /** Whether numbers no preset gives were searched over powers of two (only when the seeded
   *  values left mismatches; else ties among them are not listed). */
  grid: z.boolean(),
  /** Every dimension this stage searched, its fitted value, and the values that tie with it
   *  (score the same on the tie rows: these inputs cannot tell them apart). Empty ties: pinned. */
  dimensions: z.array(z.object({ path: z.string(), value: z.string(), ties: z.array(z.string()) })),
});

export const ElementRefSchema = z.object({ name: z.string(), row: Count, column: Count, expected: z.string(), actual: z.string() });

export const ExplainReportSchema = z.object({
  golden: z.object({ file: z.string(), preset: z.string(), ranks: Count, tokens: Count, hidden: Count }),
  candidate: z.object({ file: z.string(), outputs: z.array(z.string()) }),
  /** Token rows the stages were fitted on; ties were confirmed on tieRows; the fit on every row. */
  probeRows: z.array(Count),
  tieRows: z.array(Count),
  engineRuns: Count,
  stages: z.array(StageReportSchema),
  /** The fitted contract: every searched dimension at its fitted value. */
  contract: ContractSchema,
  /** bit-exact: every element reproduced; approximate: the rest explained by approximate
   *  hardware operations; bug: a few elements no hypothesis reproduces, all else explained;
   *  unexplained: no contract in the search space reproduces the candidate. */
  verdict: z.enum(['bit-exact', 'approximate', 'bug', 'unexplained']),
  outputs: z.array(
    z.object({
      name: z.string(),
      elements: Count,
      differing: Count,
      /** Differing elements an approximate hardware operation explains (rstd row, scale group). */
      approximated: Count,
      /** Differing elements the fit reproduces from the candidate's own bf16 residual or norm
       *  output (they follow from an earlier wrong element). */
      inherited: Count,
      unexplained: Count,
      note: z.string().nullable(),
    }),
  ),
  approximations: z.object({
    rstd: z
      .object({
        ulps: Count,
        rows: z.array(z.object({ rank: RankRef, row: Count, deltaUlp: z.number().int() })),
        misses: z.array(z.object({ rank: RankRef, row: Count, reason: z.enum(RSTD_MISS_REASONS), message: z.string() })),
      })
      .nullable(),
    scale: z
      .object({
        ulps: Count,
        /** slot 'scale': the scale and the codes follow a shifted scale; 'reciprocal': the scale
         *  is reproduced and the codes follow a shifted 1/scale. */
        groups: z.array(z.object({ rank: RankRef, row: Count, group: Count, slot: z.enum(['scale', 'reciprocal']), deltaUlp: z.number().int() })),
        /** Differing groups no shift reproduces, with why (the same reasons `diff` gives). */
        misses: z.array(z.object({ rank: RankRef, row: Count, group: Count, reason: z.enum(SCALE_MISS_REASONS) })),
      })
      .nullable(),
  }),
  /** The first elements that no hypothesis reproduces, and how many there are. */
  unexplained: z.array(ElementRefSchema),
  unexplainedCount: Count,
  /** The preset with the fewest dimensions apart from the fit, and those dimensions. */
  nearestPreset: z.object({
    name: z.string(),
    differences: z.array(z.object({ path: z.string(), preset: z.string(), fitted: z.string() })),
    /** Presets as near (they differ from the named one only where no searched dimension does:
     *  the weight's dtype, the group size, or the same dimensions apart from the fit). */
    alsoNearest: z.array(z.string()),
  }),
  /** Where the fit differs from the contract the golden was made with. */
  vsGolden: z.array(z.object({ path: z.string(), golden: z.string(), fitted: z.string() })),
  /** The command that makes a golden of the fitted contract, with the JSON its --contract file holds. */
  gen: z.object({ command: z.string(), contractFile: z.string(), contractJson: z.string() }),
});

export type StageReport = z.infer<typeof StageReportSchema>;
export type ExplainReport = z.infer<typeof ExplainReportSchema>;
