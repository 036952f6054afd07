import type { Contract, Shape } from '../../contracts/schema.js';
import type { Bf16Rounding } from '../../numerics/bf16.js';
import { checkContractForShape, ContractError } from '../../contracts/validate.js';
import { bf16FromF32Bits, f32BitsFromBf16 } from '../../numerics/bf16.js';
import { bitsFromF32, f32FromBits } from '../../numerics/f32.js';
import { FP8_DTYPE, type Tensor } from '../../numerics/tensor.js';
import { rankRotation, ranksDiverge } from './rankOrder.js';
import { sumOfSquares } from './sumOfSquares.js';
import { groupScale, quantizeValue } from './quant.js';
import { checkCaseInputs, outputName, quantGroups, quantGroupSize, scaleTensor, scaleWords, storeScale, type CaseInputs } from '../io.js';

// The CPU reference: one pass per token row, in the order the contract names. f32 values live
// in JS numbers and Float32Arrays; every f32 operation is Math.fround of the exact result
// (correctly rounded for + - * / sqrt on f32 operands, NUMERICS.md section 3), and every
// downcast goes through the bit-level converters.

const BF16_TABLE = new Float32Array(65536);
for (let b = 0; b < 65536; b++) BF16_TABLE[b] = f32FromBits(f32BitsFromBf16(b));

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
  const { ranks, tokens, hidden } = shape;
  refuseUnimplemented(contract);
  const sites = contract.bf16Rounding;
  const toBf16Bits = (v: number, site: Bf16Rounding): number => bf16FromF32Bits(bitsFromF32(v), site);
  const roundBf16 = (v: number, site: Bf16Rounding): number => BF16_TABLE[toBf16Bits(v, site)];

  const order = contract.allReduce.order;
  const rotation = rankRotation(order, ranks, tokens * hidden);
  const outputRanks = ranksDiverge(order) ? Array.from({ length: ranks }, (_, r) => r) : [0];
  const rankData = inputs.rankInputs.map((t) => t.data as Uint16Array);
  // A contract without a residual ignores one that the inputs happen to carry.
  const residual = contract.residual ? (inputs.residual?.data as Uint16Array) : null;
  const weight = effectiveWeight(contract, inputs.weight);
  const eps = Math.fround(contract.norm.eps);
  const quant = contract.quant;
  const groupSize = quant ? quantGroupSize(quant, hidden) : 0;
  const groups = quant ? quantGroups(quant, hidden) : 0;
  const emitNorm = !quant || quant.bf16SideOutput;
  const rows = hooks.rows ?? Array.from({ length: tokens }, (_, m) => m);

  const outputs = new Map<string, Tensor>();
  for (const outputRank of outputRanks) {
    const residualOut = new Uint16Array(tokens * hidden);
    const normOut = new Uint16Array(tokens * hidden);
    const qOut = new Uint8Array(quant ? tokens * hidden : 0);
    const scaleOut = new Uint32Array(quant ? scaleWords(quant.scaleLayout, tokens, groups) : 0);
    const x = new Float32Array(hidden);
    const normed = new Float32Array(hidden);

    for (const m of rows) {
      const rowBase = m * hidden;
      // 1. All-reduce in the contract's rank order, then the optional bf16 round trip.
      for (let h = 0; h < hidden; h++) {
        const e = rowBase + h;
        const start = rotation.startFor(e, outputRank);
        let acc = BF16_TABLE[rankData[rotation.base[start]][e]];
        for (let i = 1; i < ranks; i++) {
          const v = BF16_TABLE[rankData[rotation.base[(start + i) % ranks]][e]];
          acc = Math.fround(acc + v);
          if (contract.allReduce.accumulate === 'bf16') acc = roundBf16(acc, sites.allReduceHop);
        }
        if (contract.allReduce.roundResult === 'bf16') acc = roundBf16(acc, sites.allReduceResult);
        // 2. Residual add: kept in f32 or rounded to bf16.
        if (residual) {
          acc = Math.fround(acc + BF16_TABLE[residual[e]]);
          if (contract.residual?.add === 'bf16') acc = roundBf16(acc, sites.residualAdd);
          residualOut[e] = toBf16Bits(acc, sites.residualOut);
        }
        // 3. What the norm reads.
        x[h] = contract.norm.input === 'bf16' ? roundBf16(acc, sites.residualOut) : acc;
      }

      // 4. rstd, every step correctly rounded.
      const sumsq = sumOfSquares(x, contract.norm.sumOfSquares.tree, contract.norm.sumOfSquares.perThread === 'fma-chain', tokens);
      const meanSquare = contract.norm.variance === 'divide' ? Math.fround(sumsq / hidden) : Math.fround(sumsq * Math.fround(1 / hidden));
      const variance = Math.fround(meanSquare + eps);
      const reproducibleRstd = Math.fround(1 / Math.fround(Math.sqrt(variance)));
      const rstd = hooks.rstdOverride ? hooks.rstdOverride(m, reproducibleRstd) : reproducibleRstd;

      // 5. Weight multiply in the contract's order, with the optional intermediate rounding.
      for (let h = 0; h < hidden; h++) {
        const [first, second] = contract.norm.multiplyOrder === 'x-rstd-w' ? [rstd, weight[h]] : [weight[h], rstd];
        let t = Math.fround(x[h] * first);
        if (contract.norm.roundIntermediate) t = roundBf16(t, sites.normIntermediate);
        const y = Math.fround(t * second);
        normed[h] = y;
        normOut[rowBase + h] = toBf16Bits(y, sites.normOut);
      }

      // 6. Per-group FP8 quant of the f32 normed value or of its bf16 rounding.
      if (quant) {
        const values = new Float32Array(groupSize);
        for (let g = 0; g < groups; g++) {
          for (let k = 0; k < groupSize; k++) {
            const h = g * groupSize + k;
            values[k] = quant.input === 'bf16' ? BF16_TABLE[normOut[rowBase + h]] : normed[h];
          }
          const scale = hooks.scaleOverride ? hooks.scaleOverride(m, g, groupScale(values, quant)) : groupScale(values, quant);
          const reciprocal = Math.fround(1 / scale);
          for (let k = 0; k < groupSize; k++) {
            qOut[rowBase + g * groupSize + k] = quantizeValue(values[k], scale, reciprocal, quant);
          }
          storeScale(scaleOut, quant.scaleLayout, m, g, tokens, groups, bitsFromF32(scale));
        }
      }
    }

    const rank = outputRanks.length > 1 ? outputRank : null;
    if (residual) outputs.set(outputName('residual', rank), { dtype: 'BF16', shape: [tokens, hidden], data: residualOut });
    if (emitNorm) outputs.set(outputName('norm', rank), { dtype: 'BF16', shape: [tokens, hidden], data: normOut });
    if (quant) {
      outputs.set(outputName('q', rank), { dtype: FP8_DTYPE[quant.format], shape: [tokens, hidden], data: qOut });
      outputs.set(outputName('scale', rank), scaleTensor(quant.scaleLayout, tokens, groups, scaleOut));
    }
  }
  return outputs;
}

/** The weight as f32 values, after the contract's dtype and cast rules. */
function effectiveWeight(contract: Contract, weight: Tensor): Float32Array {
  const out = new Float32Array(weight.data.length);
  for (let h = 0; h < out.length; h++) {
    const bits = weight.dtype === 'BF16' ? f32BitsFromBf16(weight.data[h]) : weight.data[h];
    // torch's .to(bfloat16) is round-to-nearest-even, whatever the kernel's own downcast does.
    const w = contract.norm.weight.castToBf16 ? f32FromBits(f32BitsFromBf16(bf16FromF32Bits(bits, 'rne'))) : f32FromBits(bits);
    // Gemma's (1 + w): in f32, or as torch's bf16 `weight + 1` (rounded to nearest even).
    const offset = contract.norm.weight.offset;
    out[h] = offset === 'none' ? w : offset === 'f32' ? Math.fround(1 + w) : BF16_TABLE[bf16FromF32Bits(bitsFromF32(Math.fround(1 + w)), 'rne')];
  }
  if (out.length === 0) throw new ContractError('weight is empty');
  return out;
}

/** Dimensions of the schema this engine does not compute yet: refused with the field's path. */
function refuseUnimplemented(contract: Contract): void {
  const refuse = (path: string, value: string): never => {
    throw new ContractError(`cpu engine: ${path} ${value} is not implemented yet`);
  };
  if (contract.f32Subnormals === 'flush') refuse('f32Subnormals', "'flush'");
  for (const [slot, kind] of Object.entries(contract.hardwareOps)) if (kind !== 'ieee' && kind !== 'inferred') refuse(`hardwareOps.${slot}`, `'${kind}'`);
  const { perThread, tree } = contract.norm.sumOfSquares;
  if (perThread !== 'chain' && perThread !== 'fma-chain') refuse('norm.sumOfSquares.perThread', `'${perThread}'`);
  if (tree.kind !== 'sequential' && tree.kind !== 'butterfly' && tree.kind !== 'cub') refuse('norm.sumOfSquares.tree.kind', `'${tree.kind}'`);
  if (tree.kind === 'cub' && tree.vectorWidth !== 1) refuse('norm.sumOfSquares.tree.vectorWidth', String(tree.vectorWidth));
}
