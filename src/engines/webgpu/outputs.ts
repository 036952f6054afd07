import { FP8_DTYPE, type Tensor } from '../../numerics/tensor.js';
import { outputName, scaleTensor, storeScale, type ScaleLayout } from '../io.js';
import type { ItemRange } from './limits.js';
import { bf16Words, type EnginePlan } from './plan.js';

// Where each output sits in the GPU's buffers (packed: bf16 two per word, fp8 four, scales a word
// each, row-major) and how the host turns it into the tensors the CPU engine gives:
// shared by both readback strategies (readbackCopy.ts, readbackMapped.ts) and by the upload,
// which sizes the readback buffers.

export type OutputRole = 'residualOut' | 'normOut' | 'scales' | 'q';

/** One output rank's outputs on the host, whole case, before they become named tensors. */
export interface RankOutputData {
  readonly residualOut: Uint16Array;
  readonly normOut: Uint16Array;
  readonly q: Uint8Array;
  readonly scales: Uint32Array;
}

/** What a readback strategy gives executeCase. */
export interface HostOutputs {
  readonly outputs: Map<string, Tensor>;
  /** Milliseconds spent on the host placing outputs, not waiting for them. */
  readonly hostMs: number;
  /** Milliseconds until the queue was idle, where the readback waited for that first. */
  readonly gpuMs?: number;
}

/** The outputs the case reads back, in readback order. */
export function emittedRoles(plan: EnginePlan): OutputRole[] {
  return [
    ...(plan.emits.residual ? (['residualOut'] as const) : []),
    ...(plan.emits.norm ? (['normOut'] as const) : []),
    ...(plan.emits.quant ? (['q', 'scales'] as const) : []),
  ];
}

/** Words `rows` rows of an output take, packed: bf16 two per word, fp8 four, a scale one. */
export function outputWords(plan: EnginePlan, role: OutputRole, rows: number): number {
  const elements = rows * plan.shape.hidden;
  switch (role) {
    case 'residualOut':
    case 'normOut':
      return bf16Words(elements);
    case 'q':
      return Math.ceil(elements / 4);
    case 'scales':
      return rows * plan.groups;
  }
}

/** Where row `firstRow` starts in a whole-case output buffer (a word boundary: see checkMappedReadback). */
export function outputOffsetBytes(plan: EnginePlan, role: OutputRole, firstRow: number): number {
  const first = firstRow * plan.shape.hidden;
  switch (role) {
    case 'residualOut':
    case 'normOut':
      return 2 * first;
    case 'q':
      return first;
    case 'scales':
      return 4 * firstRow * plan.groups;
  }
}

export const ROW_MAJOR: ScaleLayout = { kind: 'row-major' };

/** A chunk's scales (row-major within the chunk) into the scale tensor's layout. */
export function placeScales(scales: Uint32Array, chunkScales: Uint32Array, range: ItemRange, groups: number, tokens: number, layout: ScaleLayout): void {
  if (layout.kind === 'row-major') {
    // storeScale's row-major index (m * groups + g): the chunk's words are the tensor's, in place.
    scales.set(chunkScales.subarray(0, range.count * groups), range.first * groups);
    return;
  }
  for (let row = 0; row < range.count; row++) {
    const m = range.first + row;
    for (let g = 0; g < groups; g++) storeScale(scales, layout, m, g, tokens, groups, chunkScales[row * groups + g]);
  }
}

/** The outputs as tensors, named and ordered as the CPU engine's. */
export function outputTensors(plan: EnginePlan, perRank: readonly RankOutputData[]): Map<string, Tensor> {
  const { tokens, hidden } = plan.shape;
  const quant = plan.contract.quant;
  const outputs = new Map<string, Tensor>();
  for (const [rankIndex, outputRank] of plan.outputRanks.entries()) {
    const rank = plan.outputRanks.length > 1 ? outputRank : null;
    const out = perRank[rankIndex];
    if (plan.emits.residual) outputs.set(outputName('residual', rank), { dtype: 'BF16', shape: [tokens, hidden], data: out.residualOut });
    if (plan.emits.norm) outputs.set(outputName('norm', rank), { dtype: 'BF16', shape: [tokens, hidden], data: out.normOut });
    if (quant) {
      outputs.set(outputName('q', rank), { dtype: FP8_DTYPE[quant.format], shape: [tokens, hidden], data: out.q });
      outputs.set(outputName('scale', rank), scaleTensor(quant.scaleLayout, tokens, plan.groups, out.scales));
    }
  }
  return outputs;
}
