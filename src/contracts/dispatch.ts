import type { Contract, Shape } from './schema.js';
import { getPreset } from './presets.js';
import { ContractError, parseContract } from './validate.js';

// Which algorithm a library runs depends on the problem size (NUMERICS.md section 4, "Dispatch"):
// the source of batch variance. A dispatch family maps a shape to the contract of the algorithm
// its rule picks, named, with the comparison that decided it. Contracts are built from presets.

const KIB = 1024;
const BF16_BYTES = 2;

/** Bytes of one rank's bf16 [tokens, hidden] input: what every size rule below measures. */
export function allReduceBytes(shape: Pick<Shape, 'tokens' | 'hidden'>): number {
  return shape.tokens * shape.hidden * BF16_BYTES;
}

export interface DispatchDecision {
  readonly algorithm: string;
  /** The comparison that chose it, with the numbers (e.g. 'bytes 131072 <= 128 KiB'). */
  readonly reason: string;
}

/** aiter per-group fused AR+RMSNorm+quant: 1-stage up to 128 KiB (inclusive, and H <= 8192),
 *  2-stage up to 512 KiB, else the split kernels. */
export function aiterPerGroupDispatch(shape: Shape): DispatchDecision {
  const bytes = allReduceBytes(shape);
  if (bytes <= 128 * KIB && shape.hidden <= 8192) return { algorithm: '1-stage', reason: `bytes ${bytes} <= 128 KiB and hidden ${shape.hidden} <= 8192` };
  if (bytes <= 512 * KIB) {
    const why = bytes > 128 * KIB ? `128 KiB < bytes ${bytes} <= 512 KiB` : `hidden ${shape.hidden} > 8192, bytes ${bytes} <= 512 KiB`;
    return { algorithm: '2-stage', reason: why };
  }
  return { algorithm: 'split', reason: `bytes ${bytes} > 512 KiB` };
}

/** aiter fused_ar_rms without quant: 1-stage when bytes <= 128*7168*2/world (and H <= 8192). */
export function aiterFusedArRmsDispatch(shape: Shape): DispatchDecision {
  const bytes = allReduceBytes(shape);
  // Integer division, as in the kernel's size_t arithmetic (same test for integer byte counts).
  const limit = Math.floor((128 * 7168 * BF16_BYTES) / shape.ranks);
  if (bytes <= limit && shape.hidden <= 8192) return { algorithm: '1-stage', reason: `bytes ${bytes} <= 128*7168*2/${shape.ranks} = ${limit}` };
  const why = bytes > limit ? `bytes ${bytes} > 128*7168*2/${shape.ranks} = ${limit}` : `hidden ${shape.hidden} > 8192`;
  return { algorithm: '2-stage', reason: why };
}

/** vLLM custom all-reduce: world 2 -> 1-stage; else 1-stage when (world <= 4 and bytes < 512 KiB)
 *  or (world <= 8 and bytes < 256 KiB), strict; otherwise 2-stage. */
export function vllmCustomArDispatch(shape: Shape): DispatchDecision {
  const bytes = allReduceBytes(shape);
  const world = shape.ranks;
  if (world <= 2) return { algorithm: '1-stage', reason: `world ${world} <= 2` };
  if (world <= 4 && bytes < 512 * KIB) return { algorithm: '1-stage', reason: `world ${world} <= 4 and bytes ${bytes} < 512 KiB` };
  if (world <= 8 && bytes < 256 * KIB) return { algorithm: '1-stage', reason: `world ${world} <= 8 and bytes ${bytes} < 256 KiB` };
  const limit = world <= 4 ? '512 KiB' : world <= 8 ? '256 KiB' : 'any size';
  return { algorithm: '2-stage', reason: `world ${world}, bytes ${bytes} >= ${limit}` };
}

export interface DispatchChoice extends DispatchDecision {
  readonly family: string;
  readonly contract: Contract;
}

export interface DispatchFamily {
  readonly name: string;
  readonly source: string;
  readonly models: string;
  /** A preset every choice shares its inputs with (weight dtype, residual): builds the cases. */
  readonly inputsPreset: string;
  /** Set when the family models a fixed rank count. */
  readonly ranks?: number;
  select(shape: Shape): DispatchChoice;
}

function family(
  name: string,
  source: string,
  models: string,
  inputsPreset: string,
  rule: (shape: Shape) => DispatchDecision,
  contracts: Readonly<Record<string, Contract>>,
): DispatchFamily {
  return {
    name, source, models, inputsPreset,
    select(shape) {
      const decision = rule(shape);
      return { family: name, ...decision, contract: contracts[decision.algorithm] };
    },
  };
}

const ROTATED = { kind: 'rotated', packElems: 8 } as const;

function withRotatedOrder(contract: Contract): Contract {
  return parseContract({ ...contract, allReduce: { ...contract.allReduce, order: ROTATED } });
}

function buildFamilies(): DispatchFamily[] {
  const aiter1 = getPreset('aiter-1stage').contract;
  const aiter2 = getPreset('aiter-2stage').contract;
  const aiter1Quant = getPreset('aiter-1stage-quant').contract;
  const unfusedQuant = getPreset('unfused-quant').contract;
  const vllm = getPreset('vllm-unfused').contract;
  const vllmQuant = getPreset('vllm-group-quant').contract;
  return [
    family(
      'aiter-fused', 'ROCm/aiter fused_ar_rms dispatch (custom_all_reduce.cuh)',
      'aiter fused AR+RMSNorm: the 1-stage kernel for small inputs, the 2-stage kernel (bf16 x) above 128*7168*2/world bytes.',
      'aiter-1stage', aiterFusedArRmsDispatch, { '1-stage': aiter1, '2-stage': aiter2 },
    ),
    family(
      'aiter-fused-quant', 'ROCm/aiter allreduce_fusion per-group quant dispatch (custom_all_reduce.cuh)',
      'aiter fused AR+RMSNorm+per-group FP8: 1-stage up to 128 KiB, 2-stage up to 512 KiB, else split kernels. The split path is modelled as the rotated-order unfused AR followed by add_rmsnorm_quant ((x*w)*rstd, standalone quant); its wave64 DPP tree is approximated by the aiter butterfly.',
      'aiter-1stage-quant', aiterPerGroupDispatch,
      {
        '1-stage': aiter1Quant,
        '2-stage': parseContract({ ...aiter2, quant: aiter1Quant.quant }),
        split: parseContract({
          ...unfusedQuant,
          allReduce: { ...unfusedQuant.allReduce, order: ROTATED },
          norm: { ...aiter2.norm, multiplyOrder: 'x-w-rstd' },
        }),
      },
    ),
    family(
      'vllm', 'vllm csrc/custom_all_reduce.cuh + vllm/distributed custom_all_reduce.py, then fused_add_rms_norm',
      'vLLM custom all-reduce (1-stage natural order, or 2-stage with the owner-rotated order) then fused_add_rms_norm, whose cub block size also depends on the token count.',
      'vllm-unfused', vllmCustomArDispatch, { '1-stage': vllm, '2-stage': withRotatedOrder(vllm) },
    ),
    family(
      'vllm-quant', 'vllm custom all-reduce, fused_add_rms_norm, per_token_group_quant',
      'The vllm family followed by per-group FP8 quant (scale floored at 1e-10, true division).',
      'vllm-group-quant', vllmCustomArDispatch, { '1-stage': vllmQuant, '2-stage': withRotatedOrder(vllmQuant) },
    ),
  ];
}

let families: readonly DispatchFamily[] | null = null;

export function listDispatchFamilies(): readonly DispatchFamily[] {
  families ??= buildFamilies();
  return families;
}

/** A dispatch family by name, or a preset as a family of one algorithm (its contract is fixed,
 *  though a cub 'vllm' block size still follows the token count). */
export function getDispatchFamily(name: string): DispatchFamily {
  const found = listDispatchFamilies().find((f) => f.name === name);
  if (found) return found;
  let preset;
  try {
    preset = getPreset(name);
  } catch {
    throw new ContractError(`unknown dispatch family or preset '${name}'; families: ${listDispatchFamilies().map((f) => f.name).join(', ')} (or any preset name)`);
  }
  return {
    name: preset.name, source: preset.source, models: preset.models, inputsPreset: preset.name,
    ...(preset.ranks === undefined ? {} : { ranks: preset.ranks }),
    select: () => ({ family: preset.name, algorithm: preset.name, reason: 'fixed contract (a preset, not a dispatch family)', contract: preset.contract }),
  };
}
