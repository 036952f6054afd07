import type { ContractInput, Contract } from './schema.js';
import { parseContract, ContractError } from './validate.js';

// Presets are data: each models one real kernel or chain. Building blocks are named after what
// they model so a preset reads as a list of the choices its kernel makes.

const EPS = 1e-6;

const AR_F32_NATURAL_ROUNDED = { order: { kind: 'natural' }, accumulate: 'f32', roundResult: 'bf16' } as const;
const AR_F32_NATURAL_UNROUNDED = { order: { kind: 'natural' }, accumulate: 'f32', roundResult: 'none' } as const;
const AR_BF16_NATURAL = { order: { kind: 'natural' }, accumulate: 'bf16', roundResult: 'bf16' } as const;
const AR_NCCL_RING = { order: { kind: 'ring' }, accumulate: 'bf16', roundResult: 'bf16' } as const;

const SUMSQ_SEQUENTIAL = { perThread: 'chain', tree: { kind: 'sequential' } } as const;
const SUMSQ_AITER = { perThread: 'chain', tree: { kind: 'butterfly', perThread: 8, warpSize: 32 } } as const;
const SUMSQ_CUB = { perThread: 'chain', tree: { kind: 'cub', blockSize: 'vllm', warpSize: 32, vectorWidth: 1 } } as const;

const WEIGHT_BF16 = { dtype: 'bf16', castToBf16: false, offset: 'none' } as const;

/** Every f32 -> bf16 downcast rounds to nearest even. */
const BF16_RNE = {
  allReduceHop: 'rne', allReduceResult: 'rne', residualAdd: 'rne', residualOut: 'rne', normIntermediate: 'rne', normOut: 'rne',
} as const;
/** IEEE f32 throughout: subnormals kept, every operation correctly rounded. */
const F32_IEEE = { f32Subnormals: 'keep', hardwareOps: { rsqrt: 'ieee', reciprocal: 'ieee', divide: 'ieee' } } as const;
/** A hardware rsqrt whose table is unknown here: the golden keeps the ieee rstd, diff infers the deviation. */
const F32_INFERRED_RSQRT = { f32Subnormals: 'keep', hardwareOps: { rsqrt: 'inferred', reciprocal: 'ieee', divide: 'ieee' } } as const;

/** One rounding: bf16(fround(fround(x*rstd)*w)). */
function norm(
  input: 'f32' | 'bf16',
  sumOfSquares: ContractInput['norm']['sumOfSquares'],
  extra: Partial<ContractInput['norm']> = {},
): ContractInput['norm'] {
  return { input, sumOfSquares, variance: 'divide', eps: EPS, weight: WEIGHT_BF16, multiplyOrder: 'x-rstd-w', roundIntermediate: false, ...extra };
}

/** aiter fused per-group quant: f32 normed input, amax==0 -> scale 1, true division, no clamp. */
function aiterFusedQuant(format: 'e4m3fn' | 'e4m3fnuz', bf16SideOutput: boolean): NonNullable<ContractInput['quant']> {
  return {
    groupSize: 128, format, input: 'f32', staticScale: null, divisor: 'format-max', amaxFloor: null, scaleFloor: null,
    zeroAmaxScaleOne: true, scale: 'divide', ue8m0: 'none', quantize: 'divide', clamp: 'none', saturation: 'overflow',
    scaleLayout: { kind: 'row-major' }, bf16SideOutput,
  };
}

/** aiter standalone dynamic_per_group_scaled_quant on the bf16 norm output. */
function aiterStandaloneQuant(format: 'e4m3fn' | 'e4m3fnuz', bf16SideOutput: boolean): NonNullable<ContractInput['quant']> {
  return {
    groupSize: 128, format, input: 'bf16', staticScale: null, divisor: 'format-max', amaxFloor: 1e-10, scaleFloor: null,
    zeroAmaxScaleOne: false, scale: 'reciprocal', ue8m0: 'none', quantize: 'reciprocal', clamp: format === 'e4m3fnuz' ? 240 : 448,
    saturation: 'overflow', scaleLayout: { kind: 'row-major' }, bf16SideOutput,
  };
}

/** vLLM per_token_group_quant (CUDA): scale floored at 1e-10, divide, clamp to the format max. */
function vllmGroupQuant(extra: Partial<NonNullable<ContractInput['quant']>> = {}): NonNullable<ContractInput['quant']> {
  return {
    groupSize: 128, format: 'e4m3fn', input: 'bf16', staticScale: null, divisor: 'format-max', amaxFloor: null,
    scaleFloor: { value: 1e-10, stage: 'before-ue8m0' }, zeroAmaxScaleOne: false, scale: 'divide', ue8m0: 'none',
    quantize: 'divide', clamp: 448, saturation: 'satfinite', scaleLayout: { kind: 'row-major' }, bf16SideOutput: false, ...extra,
  };
}

export interface PresetDefinition {
  readonly name: string;
  /** Where the arithmetic comes from: repository and file or PR. */
  readonly source: string;
  /** One sentence: what it models. */
  readonly models: string;
  /** The preset the summary compares it with (same inputs), or null. */
  readonly reference: string | null;
  /** Set when the modelled system has a fixed rank count (a norm without all-reduce is N = 1). */
  readonly ranks?: number;
  readonly contract: ContractInput;
}

const UNFUSED: ContractInput = {
  allReduce: AR_F32_NATURAL_ROUNDED, bf16Rounding: BF16_RNE, ...F32_IEEE, residual: { add: 'bf16' },
  norm: norm('bf16', SUMSQ_SEQUENTIAL), quant: null,
};
const AITER_1STAGE: ContractInput = {
  allReduce: AR_F32_NATURAL_ROUNDED, bf16Rounding: BF16_RNE, ...F32_INFERRED_RSQRT, residual: { add: 'f32' },
  norm: norm('f32', SUMSQ_AITER), quant: null,
};
const VLLM_UNFUSED: ContractInput = {
  allReduce: AR_F32_NATURAL_ROUNDED, bf16Rounding: BF16_RNE, ...F32_INFERRED_RSQRT, residual: { add: 'bf16' },
  norm: norm('bf16', SUMSQ_CUB, { roundIntermediate: true }), quant: null,
};
const TRTLLM_ONESHOT: ContractInput = {
  allReduce: AR_F32_NATURAL_ROUNDED, bf16Rounding: BF16_RNE, ...F32_INFERRED_RSQRT, residual: { add: 'bf16' },
  norm: norm('bf16', SUMSQ_AITER), quant: null,
};
const VLLM_AR_RMS_QUANT: ContractInput = {
  ...TRTLLM_ONESHOT, quant: vllmGroupQuant(),
};

export const PRESET_DEFINITIONS: readonly PresetDefinition[] = [
  {
    name: 'unfused', reference: null,
    source: 'reference chain: f32 all-reduce + bf16 cast, then torch add and RMSNorm (NUMERICS.md 4)',
    models: 'The unfused chain: natural-order f32 all-reduce rounded once, bf16 residual add, sequential sum of squares, one rounding of (x*rstd)*w.',
    contract: UNFUSED,
  },
  {
    name: 'aiter-1stage', reference: 'unfused',
    source: 'ROCm/aiter csrc/include/custom_all_reduce.cuh allreduce_fusion_kernel_1stage, after PR 2586',
    models: 'aiter fused 1-stage AR+RMSNorm: AR sum rounded through bf16, residual added in f32, the norm reads the unrounded f32 sum.',
    contract: AITER_1STAGE,
  },
  {
    name: 'aiter-1stage-pre2586', reference: 'unfused',
    source: 'ROCm/aiter allreduce_fusion_kernel_1stage before PR 2586',
    models: 'aiter fused 1-stage before the fix: the f32 AR sum meets the residual without the bf16 round trip.',
    contract: { ...AITER_1STAGE, allReduce: AR_F32_NATURAL_UNROUNDED },
  },
  {
    name: 'aiter-2stage', reference: 'unfused',
    source: 'ROCm/aiter csrc/include/custom_all_reduce.cuh allreduce_fusion_kernel_2stage',
    models: 'aiter fused 2-stage: reduce-scatter stored as bf16, bf16 residual add, the norm reads bf16 x with the aiter butterfly tree.',
    contract: { ...AITER_1STAGE, residual: { add: 'bf16' }, norm: norm('bf16', SUMSQ_AITER) },
  },
  {
    name: 'aiter-1stage-quant', reference: 'unfused-quant',
    source: 'ROCm/aiter custom_all_reduce.cuh allreduce_fusion_kernel_1stage_per_group (emit_bf16)',
    models: 'aiter fused 1-stage with per-group e4m3fnuz quant of the f32 normed value and a bf16 side output of the same values.',
    contract: { ...AITER_1STAGE, quant: aiterFusedQuant('e4m3fnuz', true) },
  },
  {
    name: 'unfused-quant', reference: null,
    source: 'reference chain + ROCm/aiter dynamic_per_group_scaled_quant on the bf16 norm output',
    models: 'The unfused chain followed by the standalone aiter per-group quant (amax floor 1e-10, reciprocal scale and quantize, clamp).',
    contract: { ...UNFUSED, quant: aiterStandaloneQuant('e4m3fnuz', true) },
  },
  {
    name: 'vllm-unfused', reference: 'unfused',
    source: 'vllm csrc/layernorm_kernels.cu fused_add_rms_norm after custom all-reduce packed_reduce',
    models: 'vLLM unfused: natural f32 AR rounded once, bf16 residual add, cub block reduction, bf16(bf16(x*rstd)*w).',
    contract: VLLM_UNFUSED,
  },
  {
    name: 'vllm-group-quant', reference: null,
    source: 'vllm csrc/quantization/fp8/per_token_group_quant.cu after fused_add_rms_norm',
    models: 'vLLM unfused norm then per_token_group_quant: scale floored at 1e-10, true division, clamp to +-448 e4m3fn.',
    contract: { ...VLLM_UNFUSED, quant: vllmGroupQuant() },
  },
  {
    name: 'vllm-group-quant-ue8m0', reference: 'vllm-group-quant',
    source: 'vllm per_token_group_quant with scale_ue8m0 (DeepGEMM)',
    models: 'vLLM per-group quant with scales rounded up to a power of two (UE8M0).',
    contract: { ...VLLM_UNFUSED, quant: vllmGroupQuant({ ue8m0: 'ceil' }) },
  },
  {
    name: 'vllm-group-quant-colmajor', reference: 'vllm-group-quant',
    source: 'vllm per_token_group_quant with column_major_scales',
    models: 'vLLM per-group quant writing scales column-major [H/G, M].',
    contract: { ...VLLM_UNFUSED, quant: vllmGroupQuant({ scaleLayout: { kind: 'column-major', tokenAlign: 1 } }) },
  },
  {
    name: 'vllm-group-quant-triton', reference: 'vllm-group-quant',
    source: 'vllm model_executor/layers/quantization/utils/fp8_utils.py _per_token_group_quant_fp8 (vLLM issue 53339)',
    models: 'vLLM Triton per-group quant: floors amax (not the scale) at 1e-10, so all-zero groups get 2^-42-ish scales.',
    contract: { ...VLLM_UNFUSED, quant: vllmGroupQuant({ amaxFloor: 1e-10, scaleFloor: null }) },
  },
  {
    name: 'nccl-ring', reference: 'unfused',
    source: 'NVIDIA/nccl src/device/all_reduce.h runRing + reduce_kernel.h, then the unfused norm',
    models: 'NCCL ring all-reduce in bf16 (every hop rounds), chunk c summed from ring(c+1), then the unfused add and norm.',
    contract: { ...UNFUSED, allReduce: AR_NCCL_RING },
  },
  {
    name: 'trtllm-oneshot-fp32acc', reference: 'unfused',
    source: 'NVIDIA/TensorRT-LLM allReduceFusionKernels oneshot with Fp32Acc (default since PR 16753)',
    models: 'TRT-LLM one-shot fusion with f32 accumulation: val = bf16(bf16(ar) + residual) is both residual output and norm input.',
    contract: TRTLLM_ONESHOT,
  },
  {
    name: 'trtllm-oneshot-bf16acc', reference: 'trtllm-oneshot-fp32acc',
    source: 'NVIDIA/TensorRT-LLM allReduceFusionKernels oneshot without Fp32Acc (before PR 16753)',
    models: 'TRT-LLM one-shot fusion accumulating ranks in bf16: one rounding per rank added.',
    contract: { ...TRTLLM_ONESHOT, allReduce: AR_BF16_NATURAL },
  },
  {
    name: 'sglang-fused-quant', reference: 'sglang-fused-quant-fallback',
    source: 'sgl-project/sglang PR 24651 fused AR + RMSNorm + per-group FP8 quant (keep_bf16)',
    models: 'SGLang fused kernel: the quant reads the f32 normed value; the bf16 side output is bf16 of the same values.',
    contract: { ...AITER_1STAGE, quant: aiterFusedQuant('e4m3fnuz', true) },
  },
  {
    name: 'sglang-fused-quant-fallback', reference: null,
    source: 'sgl-project/sglang PR 24651 staged fallback (SGLANG_DISABLE_FUSED_AR_QUANT=1)',
    models: 'SGLang fallback: fused AR+RMSNorm to bf16, then the separate aiter per-group quant of the bf16 output.',
    contract: { ...AITER_1STAGE, quant: aiterStandaloneQuant('e4m3fnuz', true) },
  },
  {
    name: 'aiter-rms-quant-passthrough', reference: null, ranks: 1,
    source: 'sgl-project/sglang PR 22258 (NSA bf16 passthrough) via aiter Triton fused_rms_fp8_group_quant',
    models: 'Triton fused RMSNorm + per-group FP8 quant with no all-reduce: f32 residual add, reciprocal quantize, amax floor 1e-10, bf16 passthrough of the unquantized value.',
    contract: {
      allReduce: AR_F32_NATURAL_UNROUNDED, bf16Rounding: BF16_RNE, ...F32_INFERRED_RSQRT, residual: { add: 'f32' },
      norm: norm('f32', SUMSQ_AITER),
      quant: {
        groupSize: 128, format: 'e4m3fn', input: 'f32', staticScale: null, divisor: 'format-max', amaxFloor: 1e-10,
        scaleFloor: null, zeroAmaxScaleOne: false, scale: 'divide', ue8m0: 'none', quantize: 'reciprocal', clamp: 448,
        saturation: 'satfinite', scaleLayout: { kind: 'row-major' }, bf16SideOutput: true,
      },
    },
  },
  {
    name: 'vllm-ar-rms-quant', reference: 'vllm-unfused-quant',
    source: 'vllm-project/vllm PR 42864 AR + RMSNorm + per-group FP8 quant fusion (with residual)',
    models: 'vLLM fused AR+add+RMSNorm+group quant (FlashInfer one-shot shape): bf16 residual add, butterfly tree, quant of the bf16 norm output.',
    contract: VLLM_AR_RMS_QUANT,
  },
  {
    name: 'vllm-ar-rms-quant-noresidual', reference: 'vllm-unfused-quant-noresidual',
    source: 'vllm-project/vllm PR 42864 fusion pattern without residual (cf. PR 41972)',
    models: 'The vLLM fused pattern with no residual input: the norm reads the bf16 all-reduce result.',
    contract: { ...VLLM_AR_RMS_QUANT, residual: null },
  },
  {
    name: 'vllm-ar-rms-quant-indexer', reference: 'vllm-unfused-quant',
    source: 'vllm-project/vllm PR 42864 indexer fan-out (bf16 norm output consumed beside the FP8 codes)',
    models: 'The vLLM fused pattern that also writes the bf16 norm output for a second consumer.',
    contract: { ...VLLM_AR_RMS_QUANT, quant: vllmGroupQuant({ bf16SideOutput: true }) },
  },
  {
    name: 'vllm-ar-rms-quant-f32weight-cast', reference: 'vllm-ar-rms-quant-f32weight',
    source: 'vllm-project/vllm PR 42864: fp32 RMSNorm weight cast with weight.to(input.dtype) before the fused op',
    models: 'An f32 norm weight (Qwen3-Next) rounded to bf16 before the fused kernel applies it.',
    contract: { ...VLLM_AR_RMS_QUANT, norm: norm('bf16', SUMSQ_AITER, { weight: { dtype: 'f32', castToBf16: true, offset: 'none' } }), quant: vllmGroupQuant({ bf16SideOutput: true }) },
  },
  {
    name: 'vllm-ar-rms-quant-f32weight', reference: null,
    source: 'vllm-project/vllm PR 42864: unfused path applying the fp32 weight without the cast',
    models: 'The same f32 norm weight applied in f32, as the unfused path does.',
    contract: { ...VLLM_AR_RMS_QUANT, norm: norm('bf16', SUMSQ_AITER, { weight: { dtype: 'f32', castToBf16: false, offset: 'none' } }), quant: vllmGroupQuant({ bf16SideOutput: true }) },
  },
  {
    name: 'vllm-unfused-quant', reference: null,
    source: 'vllm custom all-reduce + fused_add_rms_norm + per_token_group_quant as separate kernels',
    models: 'The vLLM unfused chain with per-group quant and the bf16 norm output kept.',
    contract: { ...VLLM_UNFUSED, quant: vllmGroupQuant({ bf16SideOutput: true }) },
  },
  {
    name: 'vllm-unfused-quant-noresidual', reference: null,
    source: 'vllm custom all-reduce + rms_norm + per_token_group_quant as separate kernels, no residual',
    models: 'The vLLM unfused chain without a residual, with per-group quant and the bf16 norm output.',
    contract: { ...VLLM_UNFUSED, residual: null, quant: vllmGroupQuant({ bf16SideOutput: true }) },
  },
];

export interface Preset extends Omit<PresetDefinition, 'contract'> {
  readonly contract: Contract;
}

const PRESETS: ReadonlyMap<string, Preset> = new Map(
  PRESET_DEFINITIONS.map((d) => [d.name, { ...d, contract: parseContract(d.contract) }]),
);

export function listPresets(): Preset[] {
  return [...PRESETS.values()];
}

export function getPreset(name: string): Preset {
  const preset = PRESETS.get(name);
  if (!preset) {
    throw new ContractError(`unknown preset '${name}'; known: ${[...PRESETS.keys()].join(', ')}`);
  }
  return preset;
}
