import type { Contract, Shape } from '../../contracts/schema.js';
import { checkContractForShape } from '../../contracts/validate.js';
import { bitsFromF32 } from '../../numerics/f32.js';
import { FP8_DTYPE, type Tensor } from '../../numerics/tensor.js';
import { ranksDiverge } from '../layout/rankOrder.js';
import { checkCaseInputs, outputName, scaleTensor, scaleWords, storeScale, type CaseInputs } from '../io.js';
import { allReduce } from './allReduce.js';
import { bf16Value, cpuCase, quantConstants, type CpuCase } from './context.js';
import { normalize } from './normalize.js';
import { groupScale, quantize } from './quant.js';
import { sumOfSquares } from './sumOfSquares.js';

// The CPU reference: one pass per token row through the stages, each the twin of a WGSL entry
// point of shaders/engine (src/engines/stages.ts pairs them). f32 values live in JS numbers and
// Float32Arrays; every f32 operation is correctly rounded (src/numerics/f32ops.ts, with the
// contract's subnormal rule and the soft-float's NaN bits), and every downcast goes through the
// bit-level converters.

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
  const outputs = allocateCpuOutputs(contract, shape, (bytes) => new ArrayBuffer(bytes));
  computeCpuRows(contract, shape, inputs, outputs, hooks.rows ?? Array.from({ length: shape.tokens }, (_, m) => m), hooks);
  return outputs;
}

/** The ranks whose outputs a contract has: every rank where their rank orders differ, else one. */
function outputRanksOf(contract: Contract, ranks: number): number[] {
  return ranksDiverge(contract.allReduce.order) ? Array.from({ length: ranks }, (_, r) => r) : [0];
}

/** A run's output tensors, zero, on buffers from `allocate` (SharedArrayBuffers where worker
 *  threads fill row ranges of them: src/engines/cpu/parallel.ts). */
export function allocateCpuOutputs(contract: Contract, shape: Shape, allocate: (bytes: number) => ArrayBufferLike): Map<string, Tensor> {
  const { ranks, tokens, hidden } = shape;
  const q = contract.quant && quantConstants(contract.quant, hidden);
  const outputRanks = outputRanksOf(contract, ranks);
  const outputs = new Map<string, Tensor>();
  for (const outputRank of outputRanks) {
    const rank = outputRanks.length > 1 ? outputRank : null;
    const bf16 = (): Uint16Array => new Uint16Array(allocate(2 * tokens * hidden));
    if (contract.residual) outputs.set(outputName('residual', rank), { dtype: 'BF16', shape: [tokens, hidden], data: bf16() });
    if (!q || q.quant.bf16SideOutput) outputs.set(outputName('norm', rank), { dtype: 'BF16', shape: [tokens, hidden], data: bf16() });
    if (q) {
      outputs.set(outputName('q', rank), { dtype: FP8_DTYPE[q.quant.format], shape: [tokens, hidden], data: new Uint8Array(allocate(tokens * hidden)) });
      const words = new Uint32Array(allocate(4 * scaleWords(q.quant.scaleLayout, tokens, q.groups)));
      outputs.set(outputName('scale', rank), scaleTensor(q.quant.scaleLayout, tokens, q.groups, words));
    }
  }
  return outputs;
}

/** Computes `rows` into `outputs` (from allocateCpuOutputs); inputs and shape already checked.
 *  Rows touch disjoint parts of every output (a packed scale word holds one row's groups), so
 *  threads may fill disjoint row sets of the same buffers. */
export function computeCpuRows(
  contract: Contract,
  shape: Shape,
  inputs: CaseInputs,
  outputs: Map<string, Tensor>,
  rows: readonly number[],
  hooks: CpuEngineHooks,
): void {
  const c = cpuCase(contract, shape, inputs);
  const { ranks, hidden } = shape;
  const outputRanks = outputRanksOf(contract, ranks);
  const x = new Float32Array(hidden);
  const scratch = rowScratch(c);
  // Rows of outputs the contract does not emit (the residual without a residual add, the norm
  // of a quant contract without the side output) are still computed: into these.
  const scratchResidual = new Uint16Array(hidden);
  const scratchNorm = new Uint16Array(hidden);

  for (const outputRank of outputRanks) {
    const rank = outputRanks.length > 1 ? outputRank : null;
    const residualOut = outputs.get(outputName('residual', rank))?.data as Uint16Array | undefined;
    const normOut = outputs.get(outputName('norm', rank))?.data as Uint16Array | undefined;
    const qOut = outputs.get(outputName('q', rank))?.data as Uint8Array | undefined;
    const scaleOut = outputs.get(outputName('scale', rank))?.data as Uint32Array | undefined;

    for (const m of rows) {
      const rowBase = m * hidden;
      allReduce(c, m, outputRank, x, residualOut ? residualOut.subarray(rowBase, rowBase + hidden) : scratchResidual);
      const reproducibleRstd = sumOfSquares(c, x);
      const rstd = hooks.rstdOverride ? hooks.rstdOverride(m, reproducibleRstd) : reproducibleRstd;
      const normRow = normOut ? normOut.subarray(rowBase, rowBase + hidden) : scratchNorm;
      const quantOut = qOut && scaleOut ? { codes: qOut, codesOffset: rowBase, scales: scaleOut } : null;
      afterRstd(c, m, x, rstd, scratch, normRow, quantOut, hooks.scaleOverride);
    }
  }
}

/** Scratch rows of the stages after the rstd. */
export interface RowScratch {
  readonly normed: Float32Array;
  readonly values: Float32Array;
}

export function rowScratch(c: CpuCase): RowScratch {
  return { normed: new Float32Array(c.shape.hidden), values: new Float32Array(c.quant ? c.quant.groupSize : 0) };
}

/** Where one row's quant writes: its codes at codes[codesOffset ..], its scales into the words
 *  of `out.scale` (at row m, in the contract's layout). */
export interface RowQuantOut {
  readonly codes: Uint8Array;
  readonly codesOffset: number;
  readonly scales: Uint32Array;
}

/** The stages of row m after its rstd: the norm (bf16 bits into normRow), then, when the
 *  contract quantizes and quantOut is given, per group the scale and the codes. The rstd
 *  inference of diff and explain (src/diff/rstd.ts) reruns only these for each rstd it tries. */
export function afterRstd(
  c: CpuCase,
  m: number,
  x: Float32Array,
  rstd: number,
  scratch: RowScratch,
  normRow: Uint16Array,
  quantOut: RowQuantOut | null,
  scaleOverride?: CpuEngineHooks['scaleOverride'],
): void {
  const { normed, values } = scratch;
  normalize(c, x, rstd, normed, normRow);
  const q = c.quant;
  if (!q || !quantOut) return;
  const { tokens } = c.shape;
  // Per-group FP8 quant of the f32 normed value or of its bf16 rounding.
  for (let g = 0; g < q.groups; g++) {
    const first = g * q.groupSize;
    for (let k = 0; k < q.groupSize; k++) values[k] = q.quant.input === 'bf16' ? bf16Value(normRow[first + k]) : normed[first + k];
    const computed = groupScale(q, c.f32, values);
    const scale = scaleOverride ? scaleOverride(m, g, computed) : computed;
    quantize(q, c.f32, values, scale, quantOut.codes, quantOut.codesOffset + first);
    storeScale(quantOut.scales, q.quant.scaleLayout, m, g, tokens, q.groups, bitsFromF32(scale));
  }
}
