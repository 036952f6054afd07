import type { Contract, Shape } from '../../contracts/schema.js';
import { checkContractForShape } from '../../contracts/validate.js';
import { bitsFromF32 } from '../../numerics/f32.js';
import { FP8_DTYPE, type Tensor } from '../../numerics/tensor.js';
import { ranksDiverge } from '../layout/rankOrder.js';
import { checkCaseInputs, outputName, scaleTensor, scaleWords, storeScale, type CaseInputs } from '../io.js';
import { allReduce } from './allReduce.js';
import { bf16Value, cpuCase } from './context.js';
import { normalize } from './normalize.js';
import { groupScale, quantize } from './quant.js';
import { sumOfSquares } from './sumOfSquares.js';

// The CPU reference: one pass per token row through the stages, each the twin of a WGSL entry
// point of shaders/engine (src/engines/stages.ts pairs them). f32 values live in JS numbers and
// Float32Arrays; every f32 operation is correctly rounded (src/numerics/f32ops.ts, with the
// contract's subnormal rule), and every downcast goes through the bit-level converters.

/** What the diff tools change in a run; a plain run passes none. */
export interface CpuEngineHooks {
  /** Compute only these token rows; the others stay zero in the outputs. */
  readonly rows?: readonly number[];
  /** Replaces a row's rstd (diff --rstd infer tries a few f32 ULP around the reproducible one). */
  readonly rstdOverride?: (row: number, rstd: number) => number;
  /** Replaces a quant group's scale (checks FP8 codes against a candidate's own scales). */
  readonly scaleOverride?: (row: number, group: number, scale: number) => number;
}

export function runCpuEngine(contract: Contract, shapeInput: Shape, inputs: CaseInputs, hooks: CpuEngineHooks = {}): Map<string, Tensor> {
  const shape = checkContractForShape(contract, shapeInput);
  checkCaseInputs(contract, shape, inputs);
  const c = cpuCase(contract, shape, inputs);
  const { ranks, tokens, hidden } = shape;
  const q = c.quant;
  const outputRanks = ranksDiverge(contract.allReduce.order) ? Array.from({ length: ranks }, (_, r) => r) : [0];
  const emitNorm = !q || q.quant.bf16SideOutput;
  const rows = hooks.rows ?? Array.from({ length: tokens }, (_, m) => m);

  const outputs = new Map<string, Tensor>();
  for (const outputRank of outputRanks) {
    const residualOut = new Uint16Array(tokens * hidden);
    const normOut = new Uint16Array(tokens * hidden);
    const qOut = new Uint8Array(q ? tokens * hidden : 0);
    const scaleOut = new Uint32Array(q ? scaleWords(q.quant.scaleLayout, tokens, q.groups) : 0);
    const x = new Float32Array(hidden);
    const normed = new Float32Array(hidden);
    const values = new Float32Array(q ? q.groupSize : 0);

    for (const m of rows) {
      const rowBase = m * hidden;
      allReduce(c, m, outputRank, x, residualOut.subarray(rowBase, rowBase + hidden));
      const reproducibleRstd = sumOfSquares(c, x);
      const rstd = hooks.rstdOverride ? hooks.rstdOverride(m, reproducibleRstd) : reproducibleRstd;
      const normRow = normOut.subarray(rowBase, rowBase + hidden);
      normalize(c, x, rstd, normed, normRow);
      if (!q) continue;
      // Per-group FP8 quant of the f32 normed value or of its bf16 rounding.
      for (let g = 0; g < q.groups; g++) {
        const first = g * q.groupSize;
        for (let k = 0; k < q.groupSize; k++) values[k] = q.quant.input === 'bf16' ? bf16Value(normRow[first + k]) : normed[first + k];
        const computed = groupScale(q, c.f32, values);
        const scale = hooks.scaleOverride ? hooks.scaleOverride(m, g, computed) : computed;
        quantize(q, c.f32, values, scale, qOut, rowBase + first);
        storeScale(scaleOut, q.quant.scaleLayout, m, g, tokens, q.groups, bitsFromF32(scale));
      }
    }

    const rank = outputRanks.length > 1 ? outputRank : null;
    if (contract.residual) outputs.set(outputName('residual', rank), { dtype: 'BF16', shape: [tokens, hidden], data: residualOut });
    if (emitNorm) outputs.set(outputName('norm', rank), { dtype: 'BF16', shape: [tokens, hidden], data: normOut });
    if (q) {
      outputs.set(outputName('q', rank), { dtype: FP8_DTYPE[q.quant.format], shape: [tokens, hidden], data: qOut });
      outputs.set(outputName('scale', rank), scaleTensor(q.quant.scaleLayout, tokens, q.groups, scaleOut));
    }
  }
  return outputs;
}
