import { z } from 'zod';
import { OUTPUT_KINDS } from '../engines/io.js';
import { FP8_FORMATS } from '../numerics/fp8.js';
import { RSTD_MISS_REASONS } from './rstd.js';
import { SCALE_MISS_REASONS } from './scaleDeviation.js';

// The diff report: the zod schema is the single source of the type, and `diff --json` prints
// only what this schema accepts.

const Count = z.number().int().nonnegative();

export const OutputKindSchema = z.enum(OUTPUT_KINDS);
const Share = z.number().min(0).max(1);

export const CodeValueSchema = z.object({
  /** The bits, hex at the dtype's width (0x3F80). */
  bits: z.string(),
  /** The decoded number: shortest decimal naming the exact value; NaN, Inf, -Inf, -0 spelled out. */
  value: z.string(),
});

export const MismatchClassSchema = z.enum(['ulp', 'nan', 'inf']);

export const ElementSchema = z.object({
  index: Count,
  rank: Count.nullable(),
  row: Count,
  /** Hidden index; for scales, the group index. */
  column: Count,
  /** Quant group of the element (q and scale outputs), else null. */
  group: Count.nullable(),
  class: MismatchClassSchema,
  /** Signed distance in steps of the output's unit; null for NaN and Inf mismatches. */
  ulp: z.number().int().nullable(),
  /** Scales only: |candidate - golden| / |golden| (null elsewhere, for NaN/Inf, and when the
   *  golden scale is 0 and the candidate's is not). */
  relativeError: z.number().nonnegative().nullable(),
  golden: CodeValueSchema,
  candidate: CodeValueSchema,
});

export const HistogramBinSchema = z.object({ ulp: z.number().int(), count: Count });

export const MismatchStatsSchema = z.object({
  differing: Count,
  nanMismatches: Count,
  infMismatches: Count,
  /** Largest |ULP| among finite mismatches. */
  maxUlp: Count,
  /** Token rows with at least one differing element. */
  rows: Count,
});

export const OutputReportSchema = z.object({
  /** The candidate tensor. */
  name: z.string(),
  /** The golden output it was compared with. */
  reference: z.string(),
  kind: OutputKindSchema,
  rank: Count.nullable(),
  dtype: z.string(),
  shape: z.array(Count),
  /** What one ULP step is: bf16 steps, fp8 code steps of a format, f32 ULP, or for packed UE8M0
   *  scales (I32 words) exponent steps of each word's bytes (one byte per group, 0xFF NaN). */
  unit: z.enum(['bf16', 'f32', ...FP8_FORMATS, 'ue8m0']),
  /** Compared codes: the tensor's elements, or for packed UE8M0 scales its bytes (4 per word,
   *  padding included). */
  elements: Count,
  bitExact: Count,
  bitExactShare: Share,
  stats: MismatchStatsSchema,
  /** Scales only: the largest finite relative error among differing scales; null elsewhere. */
  maxRelativeError: z.number().nonnegative().nullable(),
  /** Signed ULP distance -> count over finite mismatches, ascending. */
  histogram: z.array(HistogramBinSchema),
  worst: z.array(ElementSchema),
  /** Differing token rows (ascending; the list stops at `listLimit`, `count` is exact). */
  differingRows: z.object({ count: Count, rows: z.array(Count) }),
  /** Differing (row, group) pairs of q and scale outputs; null for other outputs. */
  differingGroups: z.object({ count: Count, groups: z.array(z.object({ row: Count, group: Count })) }).nullable(),
  /** With rstd or scale inference: the same statistics without the rows an rstd shift explains
   *  and the quant groups a scale or reciprocal shift explains; null without inference. */
  afterInference: MismatchStatsSchema.nullable(),
  /** The --max-ulp this output had to meet (its own, its kind's, or the default). */
  tolerance: Count,
  /** Bit-exact, or every remaining mismatch finite and within its tolerance. */
  pass: z.boolean(),
});

export const RankDivergenceSchema = z.object({
  kind: OutputKindSchema,
  /** The rank every other rank is compared with (the lowest the candidate holds). */
  baseRank: Count,
  ranks: z.array(z.object({ rank: Count, elements: Count, differing: Count, nanMismatches: Count, infMismatches: Count, maxUlp: Count })),
});

export const RowRefSchema = z.object({ rank: Count.nullable(), row: Count });

export const RstdReportSchema = z.object({
  /** Searched rstd values within +-ulps f32 ULP of the reproducible one. */
  ulps: z.number().int().positive(),
  /** Rows whose norm-side outputs differ while their residual matches: the rows searched. */
  examined: Count,
  explained: z.array(RowRefSchema.extend({ deltaUlp: z.number().int() })),
  /** Rows no searched rstd reproduces, and rows whose residual already differs. */
  unexplained: z.array(
    RowRefSchema.extend({
      reason: z.enum(RSTD_MISS_REASONS),
      /** With the sum-of-squares reason: the shift past the range that reproduces the row. */
      shiftNeededUlp: z.number().int().optional(),
    }),
  ),
});

export const GroupRefSchema = z.object({ rank: Count.nullable(), row: Count, group: Count });

/** Per-group inference of an approximate reciprocal or divide (hardwareOps 'inferred', or --scale
 *  infer): groups a shifted scale or reciprocal reproduces are reported apart from true mismatches. */
export const ScaleInferenceSchema = z.object({
  /** Searched scales (and reciprocals) within +-ulps f32 ULP of the reproducible one. */
  ulps: z.number().int().positive(),
  /** Differing groups in rows whose norm side is reproduced: the groups searched. */
  examined: Count,
  /** slot 'scale': the scale and the codes follow a shifted scale; 'reciprocal': the scale is
   *  reproduced and the codes follow a shifted 1/scale (quantize 'reciprocal'). */
  explained: z.array(GroupRefSchema.extend({ slot: z.enum(['scale', 'reciprocal']), deltaUlp: z.number().int() })),
  /** True mismatches: differing groups no shift reproduces, and groups of rows whose norm differs. */
  unexplained: z.array(GroupRefSchema.extend({ reason: z.enum(SCALE_MISS_REASONS) })),
  /** Why the inference was run: the contract marks the reciprocal or divide 'inferred', or asked. */
  trigger: z.enum(['contract', 'flag']),
});

export const QuantConsistencySchema = z.object({
  /** The candidate's q tensor. */
  name: z.string(),
  rank: Count.nullable(),
  /** What was quantized: the candidate's own bf16 norm output (when the contract's quantizer
   *  reads exactly that), else the golden's normed values (rstd shifts applied). */
  basis: z.enum(['candidate norm', 'golden inputs']),
  /** q codes that differ from the golden. */
  differingCodes: Count,
  /** Of those, codes equal to that basis quantized with the candidate's own scale. */
  consistentWithCandidateScale: Count,
  /** Codes the candidate's own scale does not explain either. */
  inconsistent: Count,
  /** Quant groups whose candidate scale differs from the golden's. */
  groupsWithDifferentScale: Count,
});

/** Bumped when a field changes meaning or goes away (adding one keeps the version).
 *  3: afterRstd became afterInference (rstd rows and scale groups left out); packed UE8M0
 *  scales are compared per exponent byte (unit 'ue8m0'); `scale` added. */
export const DIFF_SCHEMA_VERSION = 3;

export const DiffReportSchema = z.object({
  schemaVersion: z.literal(DIFF_SCHEMA_VERSION),
  golden: z.object({ file: z.string(), preset: z.string(), ranks: Count, tokens: Count, hidden: Count }),
  candidate: z.object({ file: z.string() }),
  /** The default --max-ulp (per-output tolerances are on each output). */
  maxUlp: Count,
  /** Lists (rows, groups) stop at this many entries. */
  listLimit: Count,
  outputs: z.array(OutputReportSchema),
  rankDivergence: z.array(RankDivergenceSchema),
  rstd: RstdReportSchema.nullable(),
  scale: ScaleInferenceSchema.nullable(),
  quantConsistency: z.array(QuantConsistencySchema),
  /** Candidate output tensors with no golden counterpart (not compared). */
  ignored: z.array(z.string()),
  pass: z.boolean(),
});

export type CodeValue = z.infer<typeof CodeValueSchema>;
export type ElementReport = z.infer<typeof ElementSchema>;
export type MismatchStats = z.infer<typeof MismatchStatsSchema>;
export type OutputReport = z.infer<typeof OutputReportSchema>;
export type RankDivergence = z.infer<typeof RankDivergenceSchema>;
export type RstdReport = z.infer<typeof RstdReportSchema>;
export type ScaleInference = z.infer<typeof ScaleInferenceSchema>;
export type QuantConsistency = z.infer<typeof QuantConsistencySchema>;
export type DiffReport = z.infer<typeof DiffReportSchema>;
