import { listPresets } from '../contracts/presets.js';
import type { QuantContract } from '../contracts/schema.js';
import { bf16FromF32Bits } from '../numerics/bf16.js';
import { bitsFromF32, f32FromBits } from '../numerics/f32.js';
import { f32BitsFromFp8 } from '../numerics/fp8.js';
import type { Tensor } from '../numerics/tensor.js';
import type { Engine } from '../engines/engine.js';
import { loadScale, quantGroups, quantGroupSize } from '../engines/io.js';
import { buildCase, type BuiltCase } from '../fixtures/golden.js';
import type { CaseSpec } from '../fixtures/caseSpec.js';
import { compareTensors } from './compare.js';

// Fused vs reference: each preset with a reference is run beside it on the same inputs, and
// each output they share is compared bit for bit.

export interface OutputDivergence {
  readonly output: string;
  readonly elements: number;
  readonly differing: number;
  readonly nanMismatches: number;
  readonly maxUlp: number;
}

export interface SummaryRow {
  readonly preset: string;
  readonly reference: string;
  readonly cases: number;
  readonly outputs: readonly OutputDivergence[];
}

/** Scales as [M, H/G] whatever the layout, so layouts compare element for element. */
function rowMajorScales(scale: Tensor, quant: QuantContract, tokens: number, hidden: number): Tensor {
  if (quant.scaleLayout.kind === 'row-major') return scale;
  const groups = quantGroups(quant, hidden);
  const data = new Uint32Array(groups * tokens);
  for (let g = 0; g < groups; g++) for (let m = 0; m < tokens; m++) data[m * groups + g] = loadScale(scale.data as Uint32Array, quant.scaleLayout, m, g, tokens, groups);
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
  const c = compareTensors(expected, actual);
  const prev = into.get(output) ?? { output, elements: 0, differing: 0, nanMismatches: 0, maxUlp: 0 };
  into.set(output, {
    output,
    elements: prev.elements + c.elements,
    differing: prev.differing + c.differing,
    nanMismatches: prev.nanMismatches + c.nanMismatches,
    maxUlp: Math.max(prev.maxUlp, c.maxUlp),
  });
}

export const DEQUANT_OUTPUT = 'bf16(q*scale) vs out.norm';

export async function summarize(specs: readonly CaseSpec[], engine: Engine, progress: (done: number, total: number) => void = () => {}): Promise<SummaryRow[]> {
  const rows: SummaryRow[] = [];
  const presets = listPresets().filter((p) => p.reference !== null || (p.contract.quant?.bf16SideOutput && p.ranks === 1));
  let done = 0;
  const total = specs.filter((s) => presets.some((p) => p.name === s.preset)).length;
  for (const preset of presets) {
    const divergence = new Map<string, OutputDivergence>();
    const cases = specs.filter((s) => s.preset === preset.name);
    for (const spec of cases) {
      const built = buildCase(spec);
      const fused = normalise(await engine.run(built.contract, built.shape, built.inputs), built);
      if (preset.reference) {
        const refBuilt = buildCase({ ...spec, preset: preset.reference });
        const reference = normalise(await engine.run(refBuilt.contract, refBuilt.shape, refBuilt.inputs), refBuilt);
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
      progress(++done, total);
    }
    if (cases.length > 0) {
      rows.push({ preset: preset.name, reference: preset.reference ?? 'own FP8 codes', cases: cases.length, outputs: [...divergence.values()] });
    }
  }
  return rows;
}

export function formatSummary(rows: readonly SummaryRow[]): string {
  const header = ['preset', 'vs', 'output', 'cases', 'elements', 'differ', 'NaN', 'max ULP'];
  const lines: string[][] = [header];
  for (const row of rows) {
    row.outputs.forEach((o, i) => {
      const share = o.elements === 0 ? 0 : (100 * o.differing) / o.elements;
      lines.push([i === 0 ? row.preset : '', i === 0 ? row.reference : '', o.output, i === 0 ? String(row.cases) : '', String(o.elements), `${share.toFixed(2)}%`, String(o.nanMismatches), String(o.maxUlp)]);
    });
  }
  const widths = header.map((_, c) => Math.max(...lines.map((l) => l[c].length)));
  return lines.map((l) => l.map((cell, c) => (c >= 3 ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd()).join('\n');
}

