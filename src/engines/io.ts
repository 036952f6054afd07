import type { Contract, QuantContract, Shape } from '../contracts/schema.js';
import { ContractError } from '../contracts/validate.js';
import { f32BitsFromE8m0 } from '../numerics/e8m0.js';
import type { Tensor } from '../numerics/tensor.js';

// What every engine takes and gives: bf16 rank inputs, an optional bf16 residual, a weight in
// the contract's dtype; outputs named as in the golden files.

export interface CaseInputs {
  /** `rank{r}.input`, BF16 [M, H], one per rank. */
  readonly rankInputs: readonly Tensor[];
  /** `residual`, BF16 [M, H]; null when the contract has no residual. */
  readonly residual: Tensor | null;
  /** `weight`, [H], BF16 or F32 as the contract's norm.weight.dtype says. */
  readonly weight: Tensor;
}

/** The outputs a case can have, in pipeline order: every report lists them in this order. */
export const OUTPUT_KINDS = ['residual', 'norm', 'q', 'scale'] as const;
export type OutputKind = (typeof OUTPUT_KINDS)[number];

export function outputName(kind: OutputKind, rank: number | null): string {
  return rank === null ? `out.${kind}` : `rank${rank}.out.${kind}`;
}

export function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

export type ScaleLayout = QuantContract['scaleLayout'];

/** Elements per quant group: groupSize, or the whole row for per-token quant ('token'). */
export function quantGroupSize(quant: QuantContract, hidden: number): number {
  return quant.groupSize === 'token' ? hidden : quant.groupSize;
}

/** Quant groups per token row. */
export function quantGroups(quant: QuantContract, hidden: number): number {
  return hidden / quantGroupSize(quant, hidden);
}

/** Token rows of the scale tensor: M, or M rounded up to the layout's tokenAlign (DeepGEMM's
 *  TMA-aligned column-major scales); the padding rows hold zeros. */
export function scaleTokens(layout: ScaleLayout, tokens: number): number {
  return layout.kind === 'row-major' ? tokens : Math.ceil(tokens / layout.tokenAlign) * layout.tokenAlign;
}

/** Packed UE8M0 scales: the exponent bytes of this many consecutive groups share one int32. */
export const PACKED_GROUPS_PER_WORD = 4;

/** dtype of `out.scale`: f32 scales, or int32 words of packed UE8M0 exponent bytes. */
export function scaleDtype(layout: ScaleLayout): 'F32' | 'I32' {
  return layout.kind === 'packed-ue8m0' ? 'I32' : 'F32';
}

/** Shape of `out.scale`: row-major [M, G], column-major [G, Mp], packed-ue8m0 [ceil(G/4), Mp]. */
export function scaleShape(layout: ScaleLayout, tokens: number, groups: number): number[] {
  switch (layout.kind) {
    case 'row-major':
      return [tokens, groups];
    case 'column-major':
      return [groups, scaleTokens(layout, tokens)];
    case 'packed-ue8m0':
      return [Math.ceil(groups / PACKED_GROUPS_PER_WORD), scaleTokens(layout, tokens)];
  }
}

/** The word of `out.scale` that holds token m's group g scale. */
export function scaleIndex(layout: ScaleLayout, m: number, g: number, tokens: number, groups: number): number {
  switch (layout.kind) {
    case 'row-major':
      return m * groups + g;
    case 'column-major':
      return g * scaleTokens(layout, tokens) + m;
    case 'packed-ue8m0':
      return Math.floor(g / PACKED_GROUPS_PER_WORD) * scaleTokens(layout, tokens) + m;
  }
}

/** Bit offset of group g's exponent byte within its packed word (little-endian: group 4k lowest). */
function packedShift(g: number): number {
  return 8 * (g % PACKED_GROUPS_PER_WORD);
}

/** Writes token m's group g scale (f32 bits) into the words of `out.scale`. A packed layout keeps
 *  the scale's f32 exponent field, the UE8M0 byte of a power of two (a zero scale gives 0,
 *  Inf and NaN give 0xff). */
export function storeScale(words: Uint32Array, layout: ScaleLayout, m: number, g: number, tokens: number, groups: number, scaleBits: number): void {
  const index = scaleIndex(layout, m, g, tokens, groups);
  if (layout.kind !== 'packed-ue8m0') {
    words[index] = scaleBits;
    return;
  }
  const shift = packedShift(g);
  const exponent = (scaleBits >>> 23) & 0xff;
  words[index] = ((words[index] & ~(0xff << shift)) | (exponent << shift)) >>> 0;
}

/** Token m's group g scale as f32 bits, read back from the words of `out.scale` (a packed byte
 *  e reads as 2^(e-127), 0xff as NaN). */
export function loadScale(words: Uint32Array, layout: ScaleLayout, m: number, g: number, tokens: number, groups: number): number {
  const word = words[scaleIndex(layout, m, g, tokens, groups)];
  if (layout.kind !== 'packed-ue8m0') return word;
  return f32BitsFromE8m0((word >>> packedShift(g)) & 0xff);
}

/** The words of `out.scale` as its tensor. */
export function scaleTensor(layout: ScaleLayout, tokens: number, groups: number, words: Uint32Array): Tensor {
  return { dtype: scaleDtype(layout), shape: scaleShape(layout, tokens, groups), data: words };
}

/** Words of `out.scale`. */
export function scaleWords(layout: ScaleLayout, tokens: number, groups: number): number {
  const [a, b] = scaleShape(layout, tokens, groups);
  return a * b;
}

export function checkCaseInputs(contract: Contract, shape: Shape, inputs: CaseInputs): void {
  const { ranks, tokens, hidden } = shape;
  const problems: string[] = [];
  if (inputs.rankInputs.length !== ranks) problems.push(`expected ${ranks} rank inputs, got ${inputs.rankInputs.length}`);
  inputs.rankInputs.forEach((t, r) => {
    if (t.dtype !== 'BF16') problems.push(`rank${r}.input: dtype ${t.dtype}, expected BF16`);
    if (!sameShape(t.shape, [tokens, hidden])) problems.push(`rank${r}.input: shape [${t.shape}], expected [${tokens}, ${hidden}]`);
  });
  if (contract.residual) {
    if (!inputs.residual) problems.push('residual: missing, but the contract adds a residual');
    else {
      if (inputs.residual.dtype !== 'BF16') problems.push(`residual: dtype ${inputs.residual.dtype}, expected BF16`);
      if (!sameShape(inputs.residual.shape, [tokens, hidden])) problems.push(`residual: shape [${inputs.residual.shape}], expected [${tokens}, ${hidden}]`);
    }
  }
  const weightDtype = contract.norm.weight.dtype === 'bf16' ? 'BF16' : 'F32';
  if (inputs.weight.dtype !== weightDtype) problems.push(`weight: dtype ${inputs.weight.dtype}, expected ${weightDtype}`);
  if (!sameShape(inputs.weight.shape, [hidden])) problems.push(`weight: shape [${inputs.weight.shape}], expected [${hidden}]`);
  if (problems.length > 0) throw new ContractError(`inputs do not match the case:\n  ${problems.join('\n  ')}`);
}
