import { listPresets } from '../contracts/presets.js';
import type { QuantContract } from '../contracts/schema.js';
import { bf16FromF32Bits } from '../numerics/bf16.js';
import { bitsFromF32, f32FromBits } from '../numerics/f32.js';
import { f32BitsFromFp8 } from '../numerics/fp8.js';
import type { Tensor } from '../numerics/tensor.js';
import type { Engine } from '../engines/engine.js';
import { loadScale, quantGroups, quantGroupSize } from '../engines/io.js';
import { buildCase, contractForCase, type BuiltCase } from '../fixtures/golden.js';
import { CaseSpecSchema, type CaseSpec } from '../fixtures/caseSpec.js';
import { isRegenerable } from '../fixtures/customCase.js';
import { z } from 'zod';
import { compareTensors } from './compare.js';
import { table } from './table.js';
import { addComparison, differingPercent, EMPTY_TALLY, OutputTallySchema } from './tally.js';

// Fused vs reference: each preset with a reference is run beside it on the same inputs, and
// each output they share is compared bit for bit.

export const SUMMARY_SCHEMA_VERSION = 1;

export const OutputDivergenceSchema = OutputTallySchema.extend({
  /** The output compared (out.residual, ...), or DEQUANT_OUTPUT. */
  output: z.string(),
});
export type OutputDivergence = z.infer<typeof OutputDivergenceSchema>;

export const SummaryRowSchema = z.object({
  preset: z.string(),
  /** The preset it is compared with, or 'own FP8 codes' (DEQUANT_OUTPUT). */
  reference: z.string(),
  cases: z.number().int().nonnegative(),
  outputs: z.array(OutputDivergenceSchema),
});
export type SummaryRow = z.infer<typeof SummaryRowSchema>;

/** `summary --json`: the rows, under a schema version. */
export const SummaryReportSchema = z.object({
  schemaVersion: z.literal(SUMMARY_SCHEMA_VERSION),
  rows: z.array(SummaryRowSchema),
});
export type SummaryReport = z.infer<typeof SummaryReportSchema>;

export function summaryReport(rows: readonly SummaryRow[]): SummaryReport {
  return SummaryReportSchema.parse({ schemaVersion: SUMMARY_SCHEMA_VERSION, rows });
}

/** Scales as [M, H/G] whatever the layout, so layouts compare element for element. */
function rowMajorScales(scale: Tensor, quant: QuantContract, tokens: number, hidden: number): Tensor {
  if (quant.scaleLayout.kind === 'row-major') return scale;
  const groups = quantGroups(quant, hidden);
  const data = new Uint32Array(groups * tokens);
  for (let g = 0; g < groups; g++)
    for (let m = 0; m < tokens; m++) data[m * groups + g] = loadScale(scale.data as Uint32Array, quant.scaleLayout, m, g, tokens, groups);
  return { dtype: 'F32', shape: [tokens, groups], data };
}

function normalise(outputs: Map<string, Tensor>, built: BuiltCase): Map<string, Tensor> {
  const quant = built.contract.quant;
  if (!quant) return outputs;
  const out = new Map(outputs);
  for (const [name, t] of outputs) if (name.endsWith('out.scale')) out.set(name, rowMajorScales(t, quant, built.shape.tokens, built.shape.hidden));
  return out;
}

/** bf16(decode(q) * scale): what a consumer of the FP8 codes gets back (SGLang PR 22258). */
export function dequantizeToBf16(q: Tensor, scale: Tensor, quant: QuantContract): Tensor {
  const [tokens, hidden] = q.shape;
  const groupSize = quantGroupSize(quant, hidden);
  const groups = hidden / groupSize;
  const data = new Uint16Array(tokens * hidden);
  for (let m = 0; m < tokens; m++) {
    for (let h = 0; h < hidden; h++) {
      const g = Math.floor(h / groupSize);
      const s = f32FromBits(loadScale(scale.data as Uint32Array, quant.scaleLayout, m, g, tokens, groups));
      const v = Math.fround(f32FromBits(f32BitsFromFp8(q.data[m * hidden + h], quant.format)) * s);
      data[m * hidden + h] = bf16FromF32Bits(bitsFromF32(v), 'rne');
    }
  }
  return { dtype: 'BF16', shape: [tokens, hidden], data };
}

function accumulate(into: Map<string, OutputDivergence>, output: string, expected: Tensor, actual: Tensor): void {
  into.set(output, { output, ...addComparison(into.get(output) ?? EMPTY_TALLY, compareTensors(expected, actual)) });
}

export const DEQUANT_OUTPUT = 'bf16(q*scale) vs out.norm';

/** The presets the summary covers: each with a reference, and the single-rank quant ones with a
 *  bf16 side output (their own FP8 codes against it). */
function summaryPresets() {
  return listPresets().filter((p) => p.reference !== null || (p.contract.quant?.bf16SideOutput && p.ranks === 1));
}

/**
 * Summary rows accumulated case by case. A caller that has already built a case and run it
 * (`suite`, while writing it) hands both over, so the case's inputs are generated once and its
 * fused contract run once; the reference is built on the same generated arrays.
 */
export class SummaryAccumulator {
  private readonly presets = summaryPresets();
  private readonly divergence = new Map<string, Map<string, OutputDivergence>>();
  private readonly cases = new Map<string, number>();

  constructor(private readonly engine: Engine) {}

  /** Whether a case takes part: a regenerable case of a summarised preset. */
  covers(spec: CaseSpec): boolean {
    return isRegenerable(spec) && this.presets.some((p) => p.name === spec.preset);
  }

  /** Adds one case (a no-op for a case not covered), built and run here unless given. */
  async add(spec: CaseSpec, given?: { readonly built: BuiltCase; readonly outputs: Map<string, Tensor> }): Promise<void> {
    const preset = this.presets.find((p) => p.name === spec.preset);
    if (!preset || !isRegenerable(spec)) return;
    const built = given?.built ?? buildCase(spec);
    const fused = normalise(given?.outputs ?? (await this.engine.run(built.contract, built.shape, built.inputs)), built);
    const divergence = this.divergence.get(preset.name) ?? new Map<string, OutputDivergence>();
    this.divergence.set(preset.name, divergence);
    this.cases.set(preset.name, (this.cases.get(preset.name) ?? 0) + 1);
    if (preset.reference) {
      const refSpec = { ...spec, preset: preset.reference };
      const refBuilt = buildCase(refSpec, contractForCase(CaseSpecSchema.parse(refSpec)), built);
      const reference = normalise(await this.engine.run(refBuilt.contract, refBuilt.shape, refBuilt.inputs), refBuilt);
      for (const [name, tensor] of fused) {
        const ref = reference.get(name);
        if (ref && ref.dtype === tensor.dtype) accumulate(divergence, name, ref, tensor);
      }
    } else {
      // Scales were normalised to row-major above.
      const quant = { ...built.contract.quant!, scaleLayout: { kind: 'row-major' } as const };
      const dequant = dequantizeToBf16(fused.get('out.q')!, fused.get('out.scale')!, quant);
      accumulate(divergence, DEQUANT_OUTPUT, fused.get('out.norm')!, dequant);
    }
  }

  /** One row per preset that met a case, in the preset list's order. */
  rows(): SummaryRow[] {
    return this.presets.flatMap((preset) => {
      const divergence = this.divergence.get(preset.name);
      if (!divergence) return [];
      const cases = this.cases.get(preset.name) ?? 0;
      return [{ preset: preset.name, reference: preset.reference ?? 'own FP8 codes', cases, outputs: [...divergence.values()] }];
    });
  }
}

export async function summarize(
  allSpecs: readonly CaseSpec[],
  engine: Engine,
  progress: (done: number, total: number) => void = () => {},
): Promise<SummaryRow[]> {
  const summary = new SummaryAccumulator(engine);
  // Preset by preset, as the rows are listed.
  const specs = summaryPresets().flatMap((preset) => allSpecs.filter((s) => s.preset === preset.name && summary.covers(s)));
  for (const [i, spec] of specs.entries()) {
    await summary.add(spec);
    progress(i + 1, specs.length);
  }
  return summary.rows();
}

export function formatSummary(rows: readonly SummaryRow[]): string {
  const header = ['preset', 'vs', 'output', 'cases', 'elements', 'differ', 'NaN', 'Inf', 'max ULP'];
  const cells = rows.flatMap((row) =>
    row.outputs.map((o, i) => [
      i === 0 ? row.preset : '',
      i === 0 ? row.reference : '',
      o.output,
      i === 0 ? String(row.cases) : '',
      String(o.elements),
      differingPercent(o),
      String(o.nanMismatches),
      String(o.infMismatches),
      String(o.maxUlp),
    ]),
  );
  return table(header, cells, new Set([3, 4, 5, 6, 7, 8]));
}
