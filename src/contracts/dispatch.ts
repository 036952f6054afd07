import type { Contract, Shape } from './schema.js';
import { describeKernels, getPreset } from './presets.js';
import { ContractError, parseContract } from './validate.js';

// Which algorithm a library runs depends on the problem size (each rule below cites its source lines):
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

/** aiter per-group fused AR+RMSNorm+quant: 1-stage up to 128 KiB (inclusive, and H/8 <= 1024),
 *  2-stage up to 512 KiB, else the split kernels.
 *  ROCm/aiter@e4048607 aiter/dist/device_communicators/communicator_cuda.py:507-514 (use_1stage),
 *  csrc/include/custom_all_reduce.cuh:4587-4611 (n_constrain, 512 KiB, split). */
export function aiterPerGroupDispatch(shape: Shape): DispatchDecision {
  const bytes = allReduceBytes(shape);
  if (bytes <= 128 * KIB && shape.hidden <= 8192) return { algorithm: '1-stage', reason: `bytes ${bytes} <= 128 KiB and hidden ${shape.hidden} <= 8192` };
  if (bytes <= 512 * KIB) {
    const why = bytes > 128 * KIB ? `128 KiB < bytes ${bytes} <= 512 KiB` : `hidden ${shape.hidden} > 8192, bytes ${bytes} <= 512 KiB`;
    return { algorithm: '2-stage', reason: why };
  }
  return { algorithm: 'split', reason: `bytes ${bytes} > 512 KiB` };
}

/** aiter fused_ar_rms without quant: 1-stage when bytes <= 128*7168*2/world (and H/8 <= 1024);
 *  otherwise reduce-scatter + local_device_load_rmsnorm with 512 threads for H/8 >= 256, else 256.
 *  ROCm/aiter@e4048607 communicator_cuda.py:251-259, custom_all_reduce.cuh:4128-4129, 4259-4300. */
export function aiterFusedArRmsDispatch(shape: Shape): DispatchDecision {
  const bytes = allReduceBytes(shape);
  // Integer division, as in the Python size rule (same test for integer byte counts).
  const limit = Math.floor((128 * 7168 * BF16_BYTES) / shape.ranks);
  if (bytes <= limit && shape.hidden <= 8192) return { algorithm: '1-stage', reason: `bytes ${bytes} <= 128*7168*2/${shape.ranks} = ${limit}` };
  const why = bytes > limit ? `bytes ${bytes} > 128*7168*2/${shape.ranks} = ${limit}` : `hidden ${shape.hidden} > 8192`;
  const threads = shape.hidden / 8 >= 256 ? 512 : 256;
  return { algorithm: `2-stage (${threads} threads)`, reason: `${why}; H/8 = ${shape.hidden / 8} ${threads === 512 ? '>= 256' : '< 256'}` };
}

/** vLLM custom all-reduce: world 2 -> 1-stage; else 1-stage when (world <= 4 and bytes < 512 KiB)
 *  or (world <= 8 and bytes < 256 KiB), strict; otherwise 2-stage (owner-rotated order).
 *  ROCm/aiter@e4048607 custom_all_reduce.cuh:3868-3887 (aiter's copy of vLLM's REDUCE_CASE), 316-372. */
export function vllmCustomArDispatch(shape: Shape): DispatchDecision {
  const bytes = allReduceBytes(shape);
  const world = shape.ranks;
  if (world <= 2) return { algorithm: '1-stage', reason: `world ${world} <= 2` };
  if (world <= 4 && bytes < 512 * KIB) return { algorithm: '1-stage', reason: `world ${world} <= 4 and bytes ${bytes} < 512 KiB` };
  if (world <= 8 && bytes < 256 * KIB) return { algorithm: '1-stage', reason: `world ${world} <= 8 and bytes ${bytes} < 256 KiB` };
  const limit = world <= 4 ? '512 KiB' : world <= 8 ? '256 KiB' : 'any size';
  return { algorithm: '2-stage', reason: `world ${world}, bytes ${bytes} >= ${limit}` };
}

/** FlashInfer trtllm_allreduce_fusion default: one-shot when tokens*H*2*world*2 bytes, in MiB, is at
 *  most 512 / 64 / 42 for world 2 / 4 / 8 (B200-tuned), else two-shot.
 *  flashinfer-ai/flashinfer@fb28d724 flashinfer/comm/trtllm_ar.py:973-986, 1109-1112. */
export function flashinferOneShotDispatch(shape: Shape): DispatchDecision {
  const heuristic: Readonly<Record<number, number>> = { 2: 512, 4: 64, 8: 42 };
  const limitMib = heuristic[shape.ranks];
  if (limitMib === undefined) throw new ContractError(`flashinfer: no one-shot heuristic for world size ${shape.ranks} (2, 4 or 8)`);
  const mib = (shape.tokens * shape.hidden * 2 * shape.ranks * BF16_BYTES) / (1024 * 1024);
  if (mib <= limitMib) return { algorithm: 'one-shot', reason: `${mib.toFixed(3)} MiB <= ${limitMib} MiB (world ${shape.ranks})` };
  return { algorithm: 'two-shot', reason: `${mib.toFixed(3)} MiB > ${limitMib} MiB (world ${shape.ranks})` };
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
    name,
    source,
    models,
    inputsPreset,
    select(shape) {
      const decision = rule(shape);
      const contract = contracts[decision.algorithm];
      if (!contract) throw new ContractError(`${name}: no contract for '${decision.algorithm}'`);
      return { family: name, ...decision, contract };
    },
  };
}

/** aiter's 2-stage non-quant tree: 512 threads when H/8 >= 256, else 256 (custom_all_reduce.cuh:4259-4300). */
function withHalvingBlock(contract: Contract, threads: 256 | 512): Contract {
  const tree = contract.norm.sumOfSquares.tree;
  if (tree.kind !== 'smem-halving') return contract;
  return parseContract({ ...contract, norm: { ...contract.norm, sumOfSquares: { ...contract.norm.sumOfSquares, tree: { ...tree, blockSize: threads } } } });
}

const ROTATED = { kind: 'rotated', packElems: 8 } as const;

function withRotatedOrder(contract: Contract): Contract {
  return parseContract({ ...contract, allReduce: { ...contract.allReduce, order: ROTATED } });
}

function buildFamilies(): DispatchFamily[] {
  const aiter = (['gfx950', 'gfx942'] as const).flatMap((arch) => {
    const suffix = arch === 'gfx950' ? '' : `@${arch}`;
    const twoStage = getPreset(`aiter-2stage@${arch}`).contract;
    return [
      family(
        `aiter-fused${suffix}`,
        `${describeKernels(getPreset(`aiter-1stage@${arch}`))}; ${describeKernels(getPreset(`aiter-2stage@${arch}`))}`,
        `aiter fused_ar_rms on ${arch}: the 1-stage kernel for small inputs, above 128*7168*2/world bytes reduce-scatter + local_device_load_rmsnorm (f32 ` +
          `residual, shared-memory halving tree of 512 or 256 threads, (x*w)*rstd).`,
        `aiter-1stage@${arch}`,
        aiterFusedArRmsDispatch,
        {
          '1-stage': getPreset(`aiter-1stage@${arch}`).contract,
          '2-stage (512 threads)': withHalvingBlock(twoStage, 512),
          '2-stage (256 threads)': withHalvingBlock(twoStage, 256),
        },
      ),
      family(
        `aiter-fused-quant${suffix}`,
        describeKernels(getPreset(`aiter-1stage-quant@${arch}`)),
        `aiter fused AR+RMSNorm+per-group FP8 on ${arch}: 1-stage up to 128 KiB, 2-stage up to 512 KiB, else the split kernels (natural reduce-scatter + the ` +
          `same fused epilogue: the 2-stage bits).`,
        `aiter-1stage-quant@${arch}`,
        aiterPerGroupDispatch,
        {
          '1-stage': getPreset(`aiter-1stage-quant@${arch}`).contract,
          '2-stage': getPreset(`aiter-2stage-quant@${arch}`).contract,
          split: getPreset(`aiter-split-quant@${arch}`).contract,
        },
      ),
    ];
  });
  const vllm = getPreset('vllm-unfused').contract;
  const vllmQuant = getPreset('vllm-group-quant').contract;
  return [
    ...aiter,
    family(
      'vllm',
      'vllm-project/vllm custom all-reduce (aiter copy: ROCm/aiter@e4048607 custom_all_reduce.cuh:3868-3887) then fused_add_rms_norm',
      'vLLM on CUDA: custom all-reduce (1-stage natural order, or 2-stage with the owner-rotated order) then fused_add_rms_norm width 8, whose cub block ' +
        'size also depends on the token count.',
      'vllm-unfused',
      vllmCustomArDispatch,
      { '1-stage': vllm, '2-stage': withRotatedOrder(vllm) },
    ),
    family(
      'vllm-quant',
      'vllm-project/vllm custom all-reduce, fused_add_rms_norm, per_token_group_quant',
      'The vllm family followed by per-group FP8 quant (amax floored at 1e-10, true division).',
      'vllm-group-quant',
      vllmCustomArDispatch,
      { '1-stage': vllmQuant, '2-stage': withRotatedOrder(vllmQuant) },
    ),
    family(
      'flashinfer',
      `${describeKernels(getPreset('flashinfer-oneshot@sm90'))}; ${describeKernels(getPreset('flashinfer-twoshot'))}`,
      'FlashInfer trtllm_allreduce_fusion on SM90 with its default one-shot heuristic: one-shot (cluster per token) for small messages, two-shot above.',
      'flashinfer-oneshot@sm90',
      flashinferOneShotDispatch,
      { 'one-shot': getPreset('flashinfer-oneshot@sm90').contract, 'two-shot': getPreset('flashinfer-twoshot').contract },
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
    throw new ContractError(
      `unknown dispatch family or preset '${name}'; families: ${listDispatchFamilies()
        .map((f) => f.name)
        .join(', ')} (or any preset name)`,
    );
  }
  return {
    name: preset.name,
    source: describeKernels(preset),
    models: preset.models,
    inputsPreset: preset.name,
    ...(preset.ranks === undefined ? {} : { ranks: preset.ranks }),
    select: () => ({ family: preset.name, algorithm: preset.name, reason: 'fixed contract (a preset, not a dispatch family)', contract: preset.contract }),
  };
}
