import type { Contract, QuantContract, Shape } from '../contracts/schema.js';
import { ContractError } from '../contracts/validate.js';
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

/** Shape of `out.scale`: row-major [M, H/G] or column-major [H/G, M]. */
export function scaleShape(layout: ScaleLayout, tokens: number, groups: number): number[] {
  return layout === 'row-major' ? [tokens, groups] : [groups, tokens];
}

/** Where token m's group g scale sits in `out.scale`. */
export function scaleIndex(layout: ScaleLayout, m: number, g: number, tokens: number, groups: number): number {
  return layout === 'row-major' ? m * groups + g : g * tokens + m;
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
