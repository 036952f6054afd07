import type { ContractInput, Contract } from './schema.js';
import { parseContract, ContractError } from './validate.js';
import { cite, evidence, evidenceWithNote, pin, type Citation, type Evidence } from './evidence.js';

// A preset is a claim about real code: it names the kernel (repository, commit, file, function),
// the GPU architectures its bits hold for, and for every contract dimension the lines that decide
// it. Where the bits depend on the architecture there is one preset per architecture
// ('aiter-1stage@gfx942', 'aiter-1stage@gfx950'); a family name alone resolves to its default
// architecture (gfx950 for the AMD kernels the seeds ran on MI355X, sm90 for NVIDIA). Presets that
// model no single kernel are references and say so.

export const ARCHITECTURES = ['gfx942', 'gfx950', 'sm80', 'sm90', 'sm100'] as const;
export type Architecture = (typeof ARCHITECTURES)[number];
/** The architecture a family name without '@arch' resolves to, first match wins. */
const DEFAULT_ARCHITECTURE_ORDER: readonly Architecture[] = ['gfx950', 'sm90', 'gfx942', 'sm80', 'sm100'];

export interface KernelRef {
  readonly repository: string;
  readonly commit: string;
  readonly file: string;
  readonly function: string;
}

export interface PresetDefinition {
  /** 'family@arch' when the family has one preset per architecture, else the family name. */
  readonly name: string;
  readonly family: string;
  /** kernel: the bits of the named kernels; reference: a definitional chain, no library's output. */
  readonly kind: 'kernel' | 'reference';
  /** The kernels in the order they run (a chain names several); empty for a pure reference. */
  readonly kernels: readonly KernelRef[];
  readonly architectures: readonly Architecture[];
  /** Where behaviour changed between versions, the window these bits hold for; null when none is known. */
  readonly versionWindow: string | null;
  /** One sentence: what it models. */
  readonly models: string;
  /** The preset the summary compares it with (same inputs), or null. */
  readonly reference: string | null;
  /** Set when the modelled system has a fixed rank count (a norm without all-reduce is N = 1). */
  readonly ranks?: number;
  readonly contract: ContractInput;
  /** Every contract dimension (see contractDimensions) with the lines that decide it. */
  readonly evidence: Readonly<Record<string, Evidence>>;
  /** What the real kernel does that the contract cannot express, or the shapes it is exact for. */
  readonly limitations: readonly string[];
}

// ---------------------------------------------------------------------------------------------
// Sources, pinned. vLLM is read file by file: one pin per file.

const AITER = pin('ROCm/aiter', 'e4048607a535ace3a2b51ded31b1c8c2d45c0879');
const AITER_PR2586 = pin('ROCm/aiter', '43b7379b895ffc7545952d5835dd573b20f22d67');
const FLASHINFER = pin('flashinfer-ai/flashinfer', 'fb28d7242b3506a2348265962041acc1fb56cca4');
const NCCL = pin('NVIDIA/nccl', '5067397c2676d5aed50042fc39e5c8ee96eb0027');
const VLLM_LAYERNORM_CU = pin('vllm-project/vllm', '0b9c541280d4c302bcc964e98eb807b01925dc82');
const VLLM_TYPE_CONVERT = pin('vllm-project/vllm', '0c0c819b2c7cd436bf9ca801b33cc494b01caced');
const VLLM_LAYERNORM_PY = pin('vllm-project/vllm', '00cba797bda48c0413ff05ab3c699335a745d734');
const VLLM_GROUP_QUANT_CU = pin('vllm-project/vllm', '00aa9038db3d97696958c11406e3fb85b420f268');
const VLLM_INPUT_QUANT = pin('vllm-project/vllm', '014af6b59c3db333ccbbe11b6921d78f46ef305c');
const PYTORCH = pin('pytorch/pytorch', '061d0d3a316fa163a83db86cf4c4dec13828f767');
const PYTORCH_DIV_TRUE = pin('pytorch/pytorch', '0f57f050df0e969d03e76495ace7ea90ba2b05d8');
/** num_threads() of thread_constants.h (the block of F.rms_norm's vectorized kernel). */
const PYTORCH_THREADS = pin('pytorch/pytorch', '05da067bfdd41aad08cdc79cb9ea1b78e38b2fd2');
/** F.rms_norm's CUDA path (_fused_rms_norm_cuda -> vectorized_layer_norm_kernel<T, float, rms_norm=true>), read at a
 *  fork of pytorch/pytorch: the code index holds no pytorch/pytorch version of layer_norm_kernel.cu that has the
 *  rms_norm path (bad757be, 0005c538 predate it). The forward arithmetic cited here is the one the torch 2.11.0 wheel
 *  ran on the H200 (conformance/SPECS.md T2: every torch-f-rms-norm capture bit-exact). Lines counted from the stored
 *  text (69,244 characters, every 16,000-character page checked for length). */
const PYTORCH_RMS_NORM = pin('paolodedios/pytorch', 'ac2ce525cf7f5653502af61e9a45094b5d4eb20e');
/** ATen's Reduce.cuh at a fork of pytorch/pytorch (the pytorch/pytorch versions of it the index could name, 6f75eba8,
 *  00ef8f06 and e15a7f5d, are older): the torch 2.11-era file, with the decreasing warp shuffle of pytorch/pytorch
 *  PR 164790 and run()'s block_x_reduce before block_y_reduce. Lines 1-1223 counted from the stored text (each
 *  16,000-character page checked for length). */
const PYTORCH_REDUCE = pin('bvillasen/pytorch', '1718974fa9c8013d42acb0660230478f8f53f1db');
/** Inductor's config defaults (upstream; the commit's date is not known here, the two knobs are the ones torch 2.11's
 *  generated code shows: no bf16 round trip, div.full for `/`, conformance/dumps/inductor). */
const PYTORCH_INDUCTOR = pin('pytorch/pytorch', 'a112bb81b880c5f2794fc898fc9dbf7aa8d1e393');
/** Triton's reduction lowering: the phases and the warp butterfly (the in-thread order of Triton 3.6 is read from its
 *  PTX, conformance/dumps/triton: it differs between Triton versions). */
const TRITON = pin('triton-lang/triton', '9c3434b30044b60341290c17859541593df92084');
const SGLANG = pin('sgl-project/sglang', '0005973a84f7a02787e270b6be5970d3022d07fe');
const TRANSFORMERS = pin('huggingface/transformers', '5dd4a63548857797727ae73eeb6a6e886ea02a3e');

const car = (first: number, says: string, last?: number): Citation => cite(AITER, 'csrc/include/custom_all_reduce.cuh', first, says, last);
const opus = (first: number, says: string, last?: number): Citation => cite(AITER, 'csrc/include/opus/opus.hpp', first, says, last);
const aiterJit = (first: number, says: string, last?: number): Citation => cite(AITER, 'aiter/jit/core.py', first, says, last);
const aiterBuild = (first: number, says: string, last?: number): Citation => cite(AITER, 'aiter/jit/optCompilerConfig.json', first, says, last);
const rq = (first: number, says: string, last?: number): Citation => cite(AITER, 'csrc/kernels/rmsnorm_quant_kernels.cu', first, says, last);
const hipReduce = (first: number, says: string, last?: number): Citation => cite(AITER, 'csrc/include/hip_reduce.h', first, says, last);
const opusPlus = (first: number, says: string, last?: number): Citation => cite(AITER, 'csrc/include/aiter_opus_plus.h', first, says, last);
const quantKernels = (first: number, says: string, last?: number): Citation => cite(AITER, 'csrc/kernels/quant_kernels.cu', first, says, last);
const tritonQuant = (first: number, says: string, last?: number): Citation =>
  cite(AITER, 'aiter/ops/triton/_triton_kernels/quant/fused_fp8_quant.py', first, says, last);
const tritonQuantLaunch = (first: number, says: string, last?: number): Citation => cite(AITER, 'aiter/ops/triton/quant/fused_fp8_quant.py', first, says, last);
const aiterDtypes = (first: number, says: string, last?: number): Citation => cite(AITER, 'aiter/utility/dtypes.py', first, says, last);
const fi = (first: number, says: string, last?: number): Citation => cite(FLASHINFER, 'include/flashinfer/comm/trtllm_allreduce_fusion.cuh', first, says, last);
const fiJit = (first: number, says: string, last?: number): Citation => cite(FLASHINFER, 'flashinfer/jit/core.py', first, says, last);
const fiPy = (first: number, says: string, last?: number): Citation => cite(FLASHINFER, 'flashinfer/comm/trtllm_ar.py', first, says, last);
const ncclRing = (first: number, says: string, last?: number): Citation => cite(NCCL, 'src/device/all_reduce.h', first, says, last);
const ncclReduce = (first: number, says: string, last?: number): Citation => cite(NCCL, 'src/device/reduce_kernel.h', first, says, last);

// ---------------------------------------------------------------------------------------------
// Contract building blocks, each with the evidence of the dimensions it sets.

type Dims = Record<string, Evidence>;
type QuantInput = NonNullable<ContractInput['quant']>;
type NormInput = ContractInput['norm'];
type Bf16Sites = ContractInput['bf16Rounding'];
type Amd = 'gfx942' | 'gfx950';

const EPS = 1e-6;
const EPS_IS_AN_ARGUMENT = "eps is the model's argument to the kernel; 1e-6 here";

/** aiter's f32 -> bf16 downcast: opus fp32_to_bf16 truncates unless the hardware conversion exists. */
function aiterDowncast(arch: Amd): 'rne' | 'truncate' {
  return arch === 'gfx942' ? 'truncate' : 'rne';
}
const AITER_DOWNCAST_CITES = [
  opus(38, 'OPUS_FP32_to_BF16_DEFAULT 2 = truncate', 39),
  opus(1215, 'gfx950 with clang >= 20: static_cast<__bf16> (hardware RNE); otherwise rm 2: z >> 16', 1226),
  car(84, 'downcast_s = opus::cast<out_dtype>', 86),
];
function aiterDowncastEvidence(arch: Amd, where: Citation): Evidence {
  return evidenceWithNote(
    arch === 'gfx942' ? 'gfx942: opus truncates (module_custom_all_reduce passes no OPUS_FP32_to_BF16_DEFAULT)' : 'gfx950: hardware round to nearest even',
    where,
    ...AITER_DOWNCAST_CITES,
  );
}
/** An aiter `__bf16` arithmetic result (residual add in 2-stage/split): f32 add, fptrunc RNE, every arch. */
const AITER_BF16_ADD = evidenceWithNote(
  '__bf16 + __bf16 is computed in float and rounded back by fptrunc, which rounds to nearest even on every target (clang semantics, not checked in ISA); ' +
    'bf16_t is __bf16 for clang >= 20',
  opus(1011, 'REGISTER_DTYPE(bf16, __bf16) for clang >= 20', 1016),
);

const NOT_USED = (why: string, ...cites: Citation[]): Evidence => evidenceWithNote(`not used: ${why}`, ...cites);

/** A scale floor is one line setting both its value and where it applies. */
function scaleFloorEvidence(ev: Evidence): Dims {
  return { 'quant.scaleFloor.value': ev, 'quant.scaleFloor.stage': ev };
}

/** `dims` without the named dimensions (a block that sets them differently replaces them). */
function without(dims: Dims, ...paths: string[]): Dims {
  return Object.fromEntries(Object.entries(dims).filter(([path]) => !paths.includes(path)));
}

const AITER_FTZ = evidence(aiterJit(914, '-fgpu-flush-denormals-to-zero for every HIP module'));
const AITER_RSQRT = (where: Citation): Evidence =>
  evidenceWithNote('rsqrtf: hardware v_rsq_f32 (~1 ulp); the golden keeps the IEEE rstd and diff infers the row deviation', where);
const AITER_NO_FAST_MATH = evidenceWithNote(
  'module_custom_all_reduce adds no fast-math flag, so HIP keeps correctly rounded f32 divide (clang -fhip-fp32-correctly-rounded-divide-sqrt default)',
  aiterBuild(120, 'module_custom_all_reduce: flags_extra_hip []', 131),
);

// ---- aiter fused epilogue (custom_all_reduce.cuh ar_fusion_epilogue_rms_norm)

/** tailWarp: the 1-stage launcher pads the block to whole warps; the 2-stage and split launchers
 *  launch H/8 threads and ar_fusion_epilogue_block_reduce reads floor(H/8/32) warp sums. */
function aiterEpilogueNorm(input: 'f32' | 'bf16', gemma: boolean, tailWarp: 'pad' | 'drop'): NormInput {
  return {
    input,
    sumOfSquares: { perThread: 'fma-chain', tree: { kind: 'butterfly', perThread: 8, warpSize: 32, tailWarp } },
    variance: 'divide',
    eps: EPS,
    weight: { dtype: 'bf16', castToBf16: false, offset: gemma ? 'f32' : 'none' },
    multiplyOrder: 'x-rstd-w',
    roundIntermediate: false,
  };
}
function aiterEpilogueEvidence(inputEvidence: Evidence, padded: boolean): Dims {
  return {
    'norm.input': inputEvidence,
    'norm.sumOfSquares.perThread': evidenceWithNote(
      "`acc += v * v` from 0: clang 15 -x hip --offload-arch=gfx940 -O3 (aiter's JIT passes no -ffp-contract) emits v_fma_f32 v, x0, x0, 0 then v_fmac_f32 " +
        "for each later element (ISA of a copy of the loop, measured here; aiter's ROCm clang not run)",
      car(1634, 'float acc = 0; acc += v * v', 1640),
      aiterJit(899, 'flags_hip: no -ffp-contract', 936),
    ),
    'norm.sumOfSquares.tree': evidenceWithNote(
      padded
        ? 'threads padded to a multiple of 32 with zero partials'
        : 'block of H/8 threads, not padded: when H % 256 != 0 the partial last warp is never read, its squares left out of the sum (tailWarp drop; ' +
            'read from source, not observed on a GPU)',
      car(1970, 'thread t owns elements [8t, 8t+8)'),
      car(1599, 'warpReduce width 32, lane 0 to shared, warpReduceRuntime over next_pow2(num_warps)', 1620),
      car(1075, 'shfl_xor via ds_bpermute within 32 lanes', 1081),
      car(1085, 'warpReduce strides 16..1', 1110),
      car(1114, 'warpReduceRuntime', 1124),
      ...(padded
        ? [car(2440, 'LAUNCH_THREADS padded to a multiple of 32', 2441)]
        : [
            car(1606, 'num_warps = block_size / WARP_SIZE (floor)'),
            car(1617, 'val = w_tid < num_warps ? shared[w_tid] : 0'),
            car(2869, 'per-token 2-stage launcher: BLOCK_SIZE = hidden_dim / PACK_SIZE threads', 2871),
            car(2990, 'per-group launcher: the same unpadded block', 2992),
            car(3140, 'split step 2: the same unpadded block', 3142),
          ]),
    ),
    'norm.variance': evidence(car(1644, 'rsqrtf(acc / hidden_dim + eps): f32 divide by H')),
    'norm.epsAdd': evidenceWithNote('eps is a float argument: an f32 add', car(1631, 'float eps'), car(1644, 'acc / hidden_dim + eps')),
    'norm.eps': evidenceWithNote(EPS_IS_AN_ARGUMENT, car(1644, '+ eps')),
    'norm.weight.dtype': evidence(car(1650, 'float w = upcast_s(weight[i]) of the bf16 weight')),
    'norm.weight.castToBf16': NOT_USED('the weight tensor is already bf16', car(1650, 'upcast_s(weight[i])')),
    'norm.weight.offset': evidence(car(1651, 'GEMMA_NORM: w += 1.0f in f32', 1652)),
    'norm.multiplyOrder': evidence(car(1653, 'in[i] * s_val * w: (x * rstd) * w')),
    'norm.roundIntermediate': evidence(car(1653, 'one f32 expression, one downcast', 1654)),
    'hardwareOps.rsqrt': AITER_RSQRT(car(1644, 'rsqrtf')),
    'hardwareOps.reciprocal': NOT_USED('no reciprocal: variance and quant divide', car(1644, 'acc / hidden_dim'), car(1143, 'tmp / scale')),
    'hardwareOps.divide': AITER_NO_FAST_MATH,
    f32Subnormals: AITER_FTZ,
  };
}

// ---- aiter fused per-group quant epilogue (ar_fusion_epilogue_per_group)

function aiterFusedQuant(arch: Amd, bf16SideOutput: boolean): QuantInput {
  return {
    groupSize: 128,
    format: arch === 'gfx942' ? 'e4m3fnuz' : 'e4m3fn',
    input: 'f32',
    staticScale: null,
    divisor: 'format-max',
    amaxFloor: null,
    scaleFloor: null,
    zeroAmaxScaleOne: true,
    scale: 'divide',
    ue8m0: 'none',
    quantize: 'divide',
    clamp: 'none',
    saturation: 'overflow',
    scaleLayout: { kind: 'row-major' },
    bf16SideOutput,
  };
}
function aiterFusedQuantEvidence(arch: Amd): Dims {
  const format = arch === 'gfx942' ? 'gfx942: fp8_t is e4m3fnuz, max 240' : 'gfx950: fp8_t is OCP e4m3fn, max 448';
  return {
    'quant.groupSize': evidenceWithNote(
      "group_size is the caller's (128 in every caller read); G/8 threads per group",
      car(1899, 'threads_per_group = group_size / PACK_SIZE', 1902),
    ),
    'quant.format': evidenceWithNote(
      format,
      opus(1064, 'numeric_limits<fp8_t>: 0x7F fnuz on gfx942, 0x7E OCP otherwise', 1075),
      car(1878, 'FP8_UPBOUND = numeric_limits<fp8_t>::max()'),
    ),
    'quant.input': evidence(car(1883, 'norm into the f32 vector out, no rounding', 1884), car(1908, 'amax of upcast_s(out[i])', 1912)),
    'quant.staticScale': NOT_USED('dynamic per-group scales', car(1923, 'scale from local_max')),
    'quant.divisor': evidenceWithNote(format, car(1878, 'FP8_UPBOUND = numeric_limits<fp8_t>::max()')),
    'quant.amaxFloor': evidence(car(1906, 'local_max = -1.f, no floor', 1912)),
    'quant.scaleFloor': evidence(car(1923, 'scale = local_max == 0 ? 1 : local_max / FP8_UPBOUND, no floor')),
    'quant.zeroAmaxScaleOne': evidence(car(1923, 'local_max == 0.f ? 1.f')),
    'quant.scale': evidence(car(1923, 'local_max / FP8_UPBOUND (divide)')),
    'quant.ue8m0': NOT_USED('float scale', car(1923, 'scale')),
    'quant.quantize': evidence(car(1140, 'tmp / upcast_s(scale_functor)', 1143)),
    'quant.clamp': evidence(car(1143, 'no clamp before opus::cast<fp8_t>')),
    'quant.saturation': evidenceWithNote(
      '|x / scale| <= max for finite x, so only NaN/Inf reach the conversion; v_cvt_pk_fp8_f32 without the clamp bit (overflow rule unverifiable here)',
      opus(1309, 'v_cvt_pk_fp8_f32 x4', 1312),
    ),
    'quant.scaleLayout': evidenceWithNote(
      'row-major by default; transpose_scale gives column-major g*M + m (another preset would be needed)',
      car(1934, 'scale_out[tidx * num_groups + group_id]', 1940),
    ),
    'quant.bf16SideOutput': evidence(car(1887, 'bf16_output: downcast_s(out[i]) of the f32 normed value', 1895)),
  };
}

// ---- aiter prologues

const AITER_AR_NATURAL = { order: { kind: 'natural' }, accumulate: 'f32', roundResult: 'bf16' } as const;

function aiter1StageSites(arch: Amd): Bf16Sites {
  const d = aiterDowncast(arch);
  return { allReduceHop: d, allReduceResult: d, residualAdd: d, residualOut: d, normIntermediate: d, normOut: d };
}
function aiter1StagePrologueEvidence(arch: Amd, roundTrip: boolean): Dims {
  return {
    'allReduce.negativeZeroInputs': evidenceWithNote('the rank inputs are upcast as they are', car(1998, 'acc[v] = upcast_s(vec[v])', 2006)),
    'allReduce.order': evidence(car(1991, 'acc = rank 0; acc += rank r for r = 1..N-1, same on every rank', 2006)),
    'allReduce.accumulate': evidence(car(1998, 'acc[v] = upcast_s(vec[v]) in f32', 2006)),
    'allReduce.roundResult': roundTrip
      ? evidence(
          car(2009, 'acc = upcast_s(downcast_s<T>(acc)) (PR 2586)', 2016),
          cite(AITER_PR2586, 'csrc/include/custom_all_reduce.cuh', 1566, 'PR 2586 adds the round trip', 1573),
        )
      : evidenceWithNote(
          'before PR 2586 the f32 sum met the residual directly',
          cite(AITER_PR2586, 'csrc/include/custom_all_reduce.cuh', 1566, 'the lines PR 2586 inserts', 1573),
        ),
    'bf16Rounding.allReduceHop': NOT_USED('accumulate is f32', car(2005, 'acc[v] += upcast_s(vec[v])')),
    'bf16Rounding.allReduceResult': roundTrip
      ? aiterDowncastEvidence(arch, car(2015, 'downcast_s<T>(acc[v])'))
      : NOT_USED('no round trip before PR 2586', car(2015, 'the PR 2586 line')),
    'bf16Rounding.residualAdd': NOT_USED('residual.add is f32', car(2023, 'acc[v] += upcast_s(res[v]) in f32')),
    'bf16Rounding.residualOut': aiterDowncastEvidence(arch, car(2029, 'vec[v] = downcast_s<T>(acc[v]) -> residual_out')),
    'bf16Rounding.normIntermediate': NOT_USED('no intermediate rounding', car(1653, 'one f32 expression')),
    'bf16Rounding.normOut': aiterDowncastEvidence(arch, car(1654, 'out[i] = downcast_s<OT>(out_)')),
    'residual.add': evidence(car(2018, 'P res = residual; acc[v] += upcast_s(res[v])', 2024)),
  };
}

/** Allreduce 1-stage (non-quant, or per-group quant with its own kernel), both arches. */
function aiter1Stage(arch: Amd, roundTrip: boolean, gemma: boolean, quant: QuantInput | null): { contract: ContractInput; evidence: Dims } {
  const contract: ContractInput = {
    allReduce: { ...AITER_AR_NATURAL, roundResult: roundTrip ? 'bf16' : 'none' },
    bf16Rounding: aiter1StageSites(arch),
    f32Subnormals: 'flush',
    hardwareOps: { rsqrt: 'inferred', reciprocal: 'ieee', divide: 'ieee' },
    residual: { add: 'f32' },
    norm: aiterEpilogueNorm('f32', gemma, 'pad'),
    quant,
  };
  const ev: Dims = {
    ...aiter1StagePrologueEvidence(arch, roundTrip),
    ...aiterEpilogueEvidence(evidence(car(2037, 'ar_fusion_epilogue(acc, ...) with the f32 acc', 2048)), true),
    ...(quant
      ? aiterFusedQuantEvidence(arch)
      : { quant: NOT_USED('allreduce_fusion_kernel_1stage with OutT == T: no quant', car(1811, 'std::is_same_v<T, OutT>: norm only', 1817)) }),
  };
  return { contract, evidence: ev };
}

// 2-stage / split per-group: AR downcast by opus (arch), __bf16 residual add (RNE), bf16 norm input.
function aiter2StageSites(arch: Amd): Bf16Sites {
  const d = aiterDowncast(arch);
  return { allReduceHop: d, allReduceResult: d, residualAdd: 'rne', residualOut: 'rne', normIntermediate: d, normOut: d };
}
function aiter2StageQuant(arch: Amd, split: boolean): { contract: ContractInput; evidence: Dims } {
  const contract: ContractInput = {
    allReduce: AITER_AR_NATURAL,
    bf16Rounding: aiter2StageSites(arch),
    f32Subnormals: 'flush',
    hardwareOps: { rsqrt: 'inferred', reciprocal: 'ieee', divide: 'ieee' },
    residual: { add: 'bf16' },
    norm: aiterEpilogueNorm('bf16', false, 'drop'),
    quant: aiterFusedQuant(arch, true),
  };
  const arOrder = split
    ? evidence(car(1287, 'rank r reduces packs [r*part, (r+1)*part)', 1288), car(1302, 'warp slot 0 sums slots 0..N-1 in f32', 1316))
    : evidence(car(2930, 'reduce-scatter in shared memory, warp slot 0 sums ranks 0..N-1', 2951));
  const arDowncast = split ? car(1321, 'add_rslt = downcast_s<T>(add_reg)') : car(2951, 'vec[v] = downcast_s<T>(acc[v])');
  const resAdd = split ? car(3086, 'vec[v] += res[v] on __bf16') : car(2969, 'vec[v] += res[v] on __bf16');
  const normIn = split ? car(3089, 'acc = upcast_s(vec): the bf16 sum', 3090) : car(2972, 'acc = upcast_s(vec): the bf16 sum', 2973);
  const ev: Dims = {
    'allReduce.negativeZeroInputs': evidenceWithNote(
      'the rank inputs are upcast as they are',
      split ? car(1313, 'add_reg[j] += upcast_s(...)', 1314) : car(2947, 'acc[v] += upcast_s(vec[v])'),
    ),
    'allReduce.order': arOrder,
    'allReduce.accumulate': evidence(split ? car(1313, 'add_reg[j] += upcast_s(...)', 1314) : car(2947, 'acc[v] += upcast_s(vec[v])')),
    'allReduce.roundResult': evidence(arDowncast),
    'bf16Rounding.allReduceHop': NOT_USED('accumulate is f32', arDowncast),
    'bf16Rounding.allReduceResult': aiterDowncastEvidence(arch, arDowncast),
    'bf16Rounding.residualAdd': AITER_BF16_ADD,
    'bf16Rounding.residualOut': evidenceWithNote('the residual output is the __bf16 sum itself', resAdd),
    'bf16Rounding.normIntermediate': NOT_USED('no intermediate rounding', car(1653, 'one f32 expression')),
    'bf16Rounding.normOut': aiterDowncastEvidence(arch, car(1894, 'bf16_pack = downcast_s(out): the side output')),
    'residual.add': evidence(resAdd),
    ...aiterEpilogueEvidence(evidence(normIn), false),
    ...aiterFusedQuantEvidence(arch),
  };
  return { contract, evidence: ev };
}

// Non-quant 2-stage: reduce_scatter_cross_device_store + local_device_load_rmsnorm[_naive].
function aiter2Stage(arch: Amd): { contract: ContractInput; evidence: Dims } {
  const d = aiterDowncast(arch);
  const contract: ContractInput = {
    allReduce: AITER_AR_NATURAL,
    bf16Rounding: { allReduceHop: d, allReduceResult: d, residualAdd: d, residualOut: d, normIntermediate: d, normOut: d },
    f32Subnormals: 'flush',
    hardwareOps: { rsqrt: 'inferred', reciprocal: 'ieee', divide: 'ieee' },
    residual: { add: 'f32' },
    norm: {
      input: 'f32',
      sumOfSquares: { perThread: 'chain', tree: { kind: 'smem-halving', blockSize: 512, perThread: 8 } },
      variance: 'divide',
      eps: EPS,
      weight: { dtype: 'bf16', castToBf16: false, offset: 'none' },
      multiplyOrder: 'x-w-rstd',
      roundIntermediate: false,
    },
    quant: null,
  };
  const ev: Dims = {
    'allReduce.negativeZeroInputs': evidenceWithNote('the rank inputs are upcast as they are', car(1313, 'add_reg[j] += upcast_s(...)', 1314)),
    'allReduce.order': evidence(car(1287, 'rank r reduces packs [r*part, (r+1)*part)', 1288), car(1302, 'warp slot 0 sums slots 0..N-1 in f32', 1316)),
    'allReduce.accumulate': evidence(car(1313, 'add_reg[j] += upcast_s(...)', 1314)),
    'allReduce.roundResult': evidence(car(1321, 'add_rslt = downcast_s<T>(add_reg), stored to every rank')),
    'bf16Rounding.allReduceHop': NOT_USED('accumulate is f32', car(1313, 'f32 add', 1314)),
    'bf16Rounding.allReduceResult': aiterDowncastEvidence(arch, car(1321, 'downcast_s<T>(add_reg)')),
    'bf16Rounding.residualAdd': NOT_USED('residual.add is f32', car(1486, 'rms_inp = ar_out + res_inp in f32')),
    'bf16Rounding.residualOut': aiterDowncastEvidence(arch, car(1512, 'rmsnorm_inp = downcast_s<T>(x_f32) -> residual_out')),
    'bf16Rounding.normIntermediate': NOT_USED('no intermediate rounding', car(1513, 'one f32 expression')),
    'bf16Rounding.normOut': aiterDowncastEvidence(arch, car(1513, 'downcast_s<T>(x_f32 * w_f32 * denom)')),
    'residual.add': evidence(car(1482, 'ar_out and res_inp upcast, rms_inp = ar_out + res_inp', 1487)),
    'norm.input': evidence(car(1487, 'rms_inp_f32 keeps the f32 sum', 1488)),
    'norm.sumOfSquares.perThread': evidenceWithNote(
      'per pack p_i = x_i*x_i, packReduce chains p0+p1+..+p7, square_sum += pack over packs t, t+tnum. Read in the ISA of Debian hipcc 5.2 (clang 15, ' +
        '-O3 -fgpu-flush-denormals-to-zero, no -ffp-contract, as module_custom_all_reduce) for gfx90a and gfx940, on our own kernel of the same shape ' +
        '(8-wide ext_vector packs, bf16 upcast, squares stored, then the pack summed from its first): the SLP vectorizer forms the squares as 4 ' +
        'v_pk_mul_f32, which leaves no scalar multiply to contract, then 7 v_add_f32 in order: no fma (chain). With -fno-slp-vectorize the same ' +
        'kernel contracts to one v_mul_f32 and 7 v_fmac_f32 (a first-pair fma, the shape an earlier reading reported); which one ROCm clang emits for ' +
        'gfx942/gfx950 is inferred, not read',
      car(1488, 'reduce_pack[i] = rms_inp * rms_inp'),
      car(1490, 'square_sum += packReduce(reduce_pack)'),
      car(998, 'packReduce: left chain', 1008),
    ),
    'norm.sumOfSquares.tree': evidenceWithNote(
      'tnum = 512 when H/8 >= 256 (H >= 2048), else 256: this preset is exact for H >= 2048',
      car(1342, 'smemReduceSum: s[t] += s[t+stride] down to 64, then +32..+1 on t < 32', 1366),
      car(4303, 'n_packs >= 256: tnum 512; >= 64: tnum 256', 4400),
    ),
    'norm.variance': evidence(car(1497, 'rsqrtf(square_sum / n + eps)')),
    'norm.epsAdd': evidenceWithNote('eps is a float argument: an f32 add', car(1451, 'float eps'), car(1497, 'square_sum / n + eps')),
    'norm.eps': evidenceWithNote(EPS_IS_AN_ARGUMENT, car(1497, '+ eps')),
    'norm.weight.dtype': evidence(car(1509, 'w_f32 = upcast_s(w_arr[n_iter][i]) of the bf16 weight')),
    'norm.weight.castToBf16': NOT_USED('the weight tensor is already bf16', car(1509, 'upcast_s')),
    'norm.weight.offset': evidence(car(1510, 'GEMMA_NORM adds 1.0f; this preset is the non-Gemma template', 1511)),
    'norm.multiplyOrder': evidence(car(1513, 'x_f32 * w_f32 * denom: (x * w) * rstd')),
    'norm.roundIntermediate': evidence(car(1513, 'one f32 expression, one downcast')),
    'hardwareOps.rsqrt': AITER_RSQRT(car(1497, 'rsqrtf')),
    'hardwareOps.reciprocal': NOT_USED('no reciprocal', car(1497, 'square_sum / n')),
    'hardwareOps.divide': AITER_NO_FAST_MATH,
    f32Subnormals: AITER_FTZ,
    quant: NOT_USED('dispatchFusedAllReduceRMSNorm: norm only', car(4088, 'dispatchFusedAllReduceRMSNorm', 4100)),
  };
  return { contract, evidence: ev };
}

// aiter standalone dynamic_per_group_scaled_quant (csrc/kernels/quant_kernels.cu), on the bf16 norm output.
function aiterStandaloneQuant(arch: Amd, bf16SideOutput: boolean): { quant: QuantInput; evidence: Dims } {
  const fnuz = arch === 'gfx942';
  const format = fnuz ? 'gfx942: e4m3fnuz, max 240, clamp +-240' : 'gfx950: e4m3fn, max 448, clamp +-448';
  return {
    quant: {
      groupSize: 128,
      format: fnuz ? 'e4m3fnuz' : 'e4m3fn',
      input: 'bf16',
      staticScale: null,
      divisor: 'format-max',
      amaxFloor: 1e-10,
      scaleFloor: null,
      zeroAmaxScaleOne: false,
      scale: 'reciprocal',
      ue8m0: 'none',
      quantize: 'reciprocal',
      clamp: fnuz ? 240 : 448,
      saturation: 'overflow',
      scaleLayout: { kind: 'row-major' },
      bf16SideOutput,
    },
    evidence: {
      'quant.groupSize': evidence(quantKernels(27, 'group_size = 128 template default (per_1x128)')),
      'quant.format': evidenceWithNote(format, opus(1163, 'finfo<fp8_t>::max 240 on gfx942, 448 otherwise', 1171)),
      'quant.input': evidence(quantKernels(90, 'thread_data = the bf16 input vector', 91)),
      'quant.staticScale': NOT_USED('dynamic per-group scales', quantKernels(121, 'absMax * inverted_DTYPE_MAX')),
      'quant.divisor': evidenceWithNote(format, quantKernels(87, 'inverted_DTYPE_MAX = float(1. / finfo max)', 88)),
      'quant.amaxFloor': evidence(quantKernels(92, 'absMax = 1e-10f before the max', 97)),
      'quant.scaleFloor': NOT_USED('the floor is on the amax', quantKernels(92, 'absMax = 1e-10f')),
      'quant.zeroAmaxScaleOne': NOT_USED('an all-zero group gets 1e-10 * (1/max)', quantKernels(121, 'absMax * inverted_DTYPE_MAX')),
      'quant.scale': evidence(quantKernels(121, 'inverted_scale = absMax * inverted_DTYPE_MAX (reciprocal form)')),
      'quant.ue8m0': NOT_USED('fp8 with f32 scales', quantKernels(47, 'use_e8m0_scale only for fp4 or emit_e8m0_scale', 48)),
      'quant.quantize': evidenceWithNote(
        '1.0f / scale is IEEE (module_quant has no fast-math), then x * that via v_pk_mul_f32',
        quantKernels(160, '1.0f / inverted_scale', 161),
        opusPlus(54, 'tmp = pk_mul_f32(x, inverted_scale)'),
      ),
      'quant.clamp': evidence(opusPlus(55, 'v_med3_f32 to +-240 (gfx942) / +-448, then v_cvt_pk_fp8_f32', 66)),
      'quant.saturation': evidenceWithNote(
        'clamped first, so the overflow rule is never reached for finite data',
        opusPlus(64, 'v_med3_f32 then v_cvt_pk_fp8_f32', 66),
      ),
      'quant.scaleLayout': evidenceWithNote(
        'shuffle_scale false (the fallbacks read here pass transpose_scale=False)',
        quantKernels(136, 'scale[groupId] row-major when !shuffle_scale', 147),
      ),
      'quant.bf16SideOutput': evidenceWithNote(
        bf16SideOutput ? 'the caller keeps the bf16 norm output it quantized' : 'not emitted',
        quantKernels(90, 'reads the bf16 tensor the caller keeps', 91),
      ),
    },
  };
}

// ---- the definitional reference and vLLM/torch norms

const RNE_EVERYWHERE: Bf16Sites = {
  allReduceHop: 'rne',
  allReduceResult: 'rne',
  residualAdd: 'rne',
  residualOut: 'rne',
  normIntermediate: 'rne',
  normOut: 'rne',
};
const DEFINITION = (what: string): Evidence => evidenceWithNote(`definitional reference: ${what}`);

const UNFUSED_CONTRACT: ContractInput = {
  allReduce: { order: { kind: 'natural' }, accumulate: 'f32', roundResult: 'bf16' },
  bf16Rounding: RNE_EVERYWHERE,
  f32Subnormals: 'keep',
  hardwareOps: { rsqrt: 'ieee', reciprocal: 'ieee', divide: 'ieee' },
  residual: { add: 'bf16' },
  norm: {
    input: 'bf16',
    sumOfSquares: { perThread: 'chain', tree: { kind: 'sequential' } },
    variance: 'divide',
    eps: EPS,
    weight: { dtype: 'bf16', castToBf16: false, offset: 'none' },
    multiplyOrder: 'x-rstd-w',
    roundIntermediate: false,
  },
  quant: null,
};
const UNFUSED_EVIDENCE: Dims = {
  'allReduce.negativeZeroInputs': evidenceWithNote('packed_reduce adds the inputs as they are', car(264, 'packed_reduce', 275)),
  'allReduce.order': evidenceWithNote(
    'ranks 0..N-1 left to right, as the custom all-reduce packed_reduce',
    car(264, 'packed_reduce: tmp = rank 0, += rank i', 275),
  ),
  'allReduce.accumulate': evidence(car(267, 'upcast to f32, packed_assign_add in f32', 273)),
  'allReduce.roundResult': evidence(car(274, 'return downcast<P>(tmp): one rounding')),
  'bf16Rounding.allReduceHop': NOT_USED('accumulate is f32', car(267, 'f32 fold', 273)),
  'bf16Rounding.allReduceResult': DEFINITION('one round to nearest even (CUDA __float2bfloat16)'),
  'bf16Rounding.residualAdd': DEFINITION('torch eager bf16 add: f32 opmath, one round to nearest even'),
  'bf16Rounding.residualOut': DEFINITION('the residual output is the rounded add'),
  'bf16Rounding.normIntermediate': NOT_USED('one rounding of (x*rstd)*w'),
  'bf16Rounding.normOut': DEFINITION('round to nearest even'),
  f32Subnormals: DEFINITION('IEEE f32'),
  'hardwareOps.rsqrt': DEFINITION('correctly rounded rstd = 1/sqrt, each step rounded'),
  'hardwareOps.reciprocal': DEFINITION('IEEE'),
  'hardwareOps.divide': DEFINITION('IEEE'),
  'residual.add': DEFINITION('bf16 add'),
  'norm.input': DEFINITION('the bf16 residual sum'),
  'norm.sumOfSquares.perThread': DEFINITION('one chain in element order'),
  'norm.sumOfSquares.tree': DEFINITION('sequential: no GPU kernel sums this way'),
  'norm.variance': DEFINITION('sumsq / H'),
  'norm.epsAdd': DEFINITION('fround(variance + fround(eps)) in f32'),
  'norm.eps': DEFINITION('1e-6'),
  'norm.weight.dtype': DEFINITION('bf16 weight'),
  'norm.weight.castToBf16': DEFINITION('no cast'),
  'norm.weight.offset': DEFINITION('plain w'),
  'norm.multiplyOrder': DEFINITION('(x * rstd) * w'),
  'norm.roundIntermediate': DEFINITION('one rounding'),
};

// vLLM CUDA custom ops (csrc/libtorch_stable/layernorm_kernels.cu @0b9c5412).
const vllmLn = (first: number, says: string, last?: number): Citation =>
  cite(VLLM_LAYERNORM_CU, 'csrc/libtorch_stable/layernorm_kernels.cu', first, says, last);
const vllmVec = (first: number, says: string, last?: number): Citation => cite(VLLM_TYPE_CONVERT, 'csrc/type_convert.cuh', first, says, last);
const vllmPy = (first: number, says: string, last?: number): Citation => cite(VLLM_LAYERNORM_PY, 'vllm/model_executor/layers/layernorm.py', first, says, last);
const vllmGq = (first: number, says: string, last?: number): Citation =>
  cite(VLLM_GROUP_QUANT_CU, 'csrc/libtorch_stable/quantization/w8a8/fp8/per_token_group_quant.cu', first, says, last);
const vllmNativeQuant = (first: number, says: string, last?: number): Citation =>
  cite(VLLM_INPUT_QUANT, 'vllm/model_executor/layers/quantization/input_quant_fp8.py', first, says, last);

const CUDA_IEEE = evidenceWithNote(
  'vLLM builds its CUDA ops without --use_fast_math (none in the part of CMakeLists.txt read): IEEE divide, f32 subnormals kept',
  cite(VLLM_LAYERNORM_CU, 'csrc/libtorch_stable/layernorm_kernels.cu', 146, 'rsqrtf(variance / hidden_size + epsilon): a plain f32 divide'),
);

function vllmCudaNorm(residual: boolean): NormInput {
  return {
    input: 'bf16',
    sumOfSquares: { perThread: residual ? 'pair-fma' : 'fma-chain', tree: { kind: 'cub', blockSize: 'vllm', warpSize: 32, vectorWidth: 8 } },
    variance: 'divide',
    eps: EPS,
    weight: { dtype: 'bf16', castToBf16: false, offset: 'none' },
    multiplyOrder: 'x-rstd-w',
    roundIntermediate: false,
  };
}
function vllmCudaNormEvidence(residual: boolean): Dims {
  return {
    'residual.add': residual
      ? evidence(vllmLn(136, 'temp += residual_v[id]: __nv_bfloat162 adds'), vllmVec(113, '_f16Vec::operator+= on T2 pairs', 132))
      : NOT_USED('rms_norm has no residual', vllmLn(14, 'rms_norm_kernel: no residual argument', 27)),
    'norm.input': evidence(residual ? vllmLn(137, 'variance += temp.sum_squares() of the bf16 sum') : vllmLn(57, 'float x = static_cast<float>(vec.val[i])')),
    'norm.sumOfSquares.perThread': residual
      ? evidenceWithNote(
          "each 8-vector is summed from 0 in pairs (result += x0*x0 + x1*x1) and then added to the thread's variance: nested when a thread owns several " +
            'vectors (H/8 > blockDim). nvcc 13.0 -O3 -arch=sm_90 -ptx on a copy of the loop (measured here): mul.f32 x1*x1, fma.rn.f32 x0*x0 + that, add.f32 ' +
            'to the sum (pair-fma)',
          vllmVec(176, 'sum_squares: result += z.x*z.x + z.y*z.y from 0', 183),
          vllmLn(137, 'variance += temp.sum_squares()'),
        )
      : evidenceWithNote(
          "flat variance += x * x over the elements of the thread's vectors; nvcc 13.0 -O3 -arch=sm_90 emits fma.rn.f32 from 0 for this loop (PTX measured " +
            'here)',
          vllmLn(54, 'vec_op: variance += x * x', 66),
        ),
    'norm.sumOfSquares.tree': evidenceWithNote(
      (residual
        ? 'width-8 kernel when pointers are 16-byte aligned and H % 8 == 0; block = min(H, tokens < 256 ? 1024 : 256); vectors t, t+B, ...'
        : 'block = min(H / gcd(8, H), tokens < 256 ? 1024 : 256): for H % 8 == 0 the same per-thread vectors as the vllm rule') +
        `; cub WARP_REDUCTIONS (NVIDIA/cccl cub/warp/specializations/warp_reduce_shfl.cuh ReduceStep, read at 004ad198 without pinning its lines): shfl.down ` +
        `offsets 1, 2, 4, 8, 16, then thread 0 adds the warp aggregates in order`,
      residual
        ? vllmLn(329, 'block(min(hidden_size, max_block_size)); width 8 when aligned', 352)
        : vllmLn(252, 'max_block_size, calculated_vec_size, block_size', 267),
      vllmLn(residual ? 141 : 68, 'cub::BlockReduce<float, 1024>.Reduce(variance, CubAddOp, blockDim.x)', residual ? 143 : 70),
    ),
    'norm.variance': evidence(vllmLn(residual ? 146 : 73, 'rsqrtf(variance / hidden_size + epsilon)')),
    'norm.epsAdd': evidenceWithNote('epsilon is a float kernel argument: an f32 add', vllmLn(residual ? 146 : 73, 'variance / hidden_size + epsilon')),
    'norm.eps': evidenceWithNote(EPS_IS_AN_ARGUMENT, vllmLn(residual ? 146 : 73, '+ epsilon')),
    'norm.weight.dtype': evidence(vllmLn(residual ? 161 : 92, 'weight is scalar_t (bf16), converted to float')),
    'norm.weight.castToBf16': NOT_USED('bf16 weight', vllmLn(residual ? 161 : 92, 'weight')),
    'norm.weight.offset': NOT_USED('plain w (Gemma is a separate Python op)', vllmLn(residual ? 162 : 93, 'x * s_variance * w')),
    'norm.multiplyOrder': evidence(vllmLn(residual ? 162 : 93, 'x * s_variance * wf')),
    'norm.roundIntermediate': evidenceWithNote(
      'current main: one rounding; older csrc/layernorm_kernels.cu rounded twice (temp *= s_variance; temp *= weight)',
      vllmLn(residual ? 162 : 93, 'Converter::convert(x * s_variance * wf): one rounding'),
    ),
    'hardwareOps.rsqrt': evidenceWithNote('rsqrtf is MUFU.RSQ (approximate) even without fast-math', vllmLn(residual ? 146 : 73, 'rsqrtf')),
    'hardwareOps.reciprocal': NOT_USED('no reciprocal in the norm', vllmLn(residual ? 146 : 73, 'variance / hidden_size')),
    'hardwareOps.divide': CUDA_IEEE,
    f32Subnormals: CUDA_IEEE,
    'bf16Rounding.residualAdd': residual
      ? evidence(vllmVec(121, 'temp += T2{...}: __hadd2, round to nearest even', 122))
      : NOT_USED('no residual', vllmLn(14, 'rms_norm_kernel: no residual argument', 27)),
    'bf16Rounding.residualOut': residual
      ? evidence(vllmLn(138, 'residual_v[id] = temp'))
      : NOT_USED('no residual', vllmLn(14, 'rms_norm_kernel: no residual argument', 27)),
    'bf16Rounding.normIntermediate': NOT_USED('one rounding', vllmLn(residual ? 162 : 93, 'one convert')),
    'bf16Rounding.normOut': evidence(vllmVec(87, '__float2bfloat16: round to nearest even', 89)),
  };
}
const VLLM_AR_EVIDENCE: Dims = {
  'allReduce.negativeZeroInputs': evidenceWithNote('packed_reduce adds the inputs as they are', car(264, 'packed_reduce', 275)),
  'allReduce.order': evidenceWithNote(
    'vLLM custom all-reduce 1-stage (world 2, or below the 2-stage thresholds); aiter carries the same code',
    car(264, 'packed_reduce: ranks 0..N-1', 275),
    car(3869, 'VLLM_REDUCE_CASE thresholds', 3888),
  ),
  'allReduce.accumulate': evidence(car(267, 'f32 fold', 273)),
  'allReduce.roundResult': evidence(car(274, 'one downcast')),
  'bf16Rounding.allReduceHop': NOT_USED('accumulate is f32', car(267, 'f32 fold', 273)),
  'bf16Rounding.allReduceResult': evidenceWithNote(
    "aiter's copy converts with opus; vLLM's CUDA original converts with __float2bfloat16, round to nearest even (vLLM custom_all_reduce.cuh not re-read here)",
    car(274, 'return downcast<P>(tmp)'),
  ),
};

// ---- torch on sm_90: the eager and compiled native chains. Every dimension below reproduces the
// H200 captures bit for bit (conformance/SPECS.md; test/conformance/replay.test.ts).

const hfLlama = (first: number, says: string, last?: number): Citation =>
  cite(TRANSFORMERS, 'src/transformers/models/llama/modeling_llama.py', first, says, last);
const torchDivTrue = (first: number, says: string, last?: number): Citation =>
  cite(PYTORCH_DIV_TRUE, 'aten/src/ATen/native/cuda/BinaryDivTrueKernel.cu', first, says, last);
const TORCH_MEAN = cite(
  PYTORCH,
  'aten/src/ATen/native/cuda/ReduceMomentKernel.cu',
  36,
  'mean_kernel_impl: factor = float(num_out) / numel; gpu_reduce_kernel (Reduce.cuh) with MeanOps multiplying the sum by it',
  40,
);
const lnk = (first: number, says: string, last?: number): Citation =>
  cite(PYTORCH_RMS_NORM, 'aten/src/ATen/native/cuda/layer_norm_kernel.cu', first, says, last);
const TORCH_RMS_NORM_ENTRY = lnk(1836, '_fused_rms_norm_cuda (F.rms_norm on CUDA) calls RmsNormKernelImpl(X, gamma, M, N, eps)', 1869);
/** F.rms_norm's forward, line by line (paolodedios/pytorch@ac2ce525, see PYTORCH_RMS_NORM). */
const RMS = {
  dispatch: lnk(1164, 'RmsNormKernelImpl: LayerNormKernelImplInternal<T, float, rms_norm = true>(.., static_cast<acc_t>(eps), ..)', 1166),
  eps: lnk(1853, 'eps = the argument, or finfo(float).eps when it is None', 1857),
  vectorized: lnk(1103, 'the vectorized kernel for float/half/bf16 when N <= 2^24, N % 4 == 0 and X, Y, gamma aligned to 4 elements (8 bytes for bf16)', 1113),
  vecSize: lnk(41, 'vec_size = 4'),
  block: lnk(1033, 'launch_vectorized_layer_norm_kernel: threads(warp_size, num_threads() / warp_size)'),
  threads: cite(PYTORCH_THREADS, 'aten/src/ATen/native/cuda/thread_constants.h', 18, 'num_threads() = C10_WARP_SIZE * 4 on CUDA (128)', 20),
  threadLoop: lnk(195, 'compute_stats: thread thrx = tx + ty*blockDim.x reads vectors thrx, thrx + 128, ..; each element in order', 205),
  input: lnk(203, 'cuWelfordOnlineSum(static_cast<acc_t>(data.val[ii]), wd): each element upcast to f32'),
  square: lnk(149, 'cuWelfordOnlineSum, rms_norm branch: sigma2 + val * val'),
  combine: lnk(180, 'cuWelfordCombine, rms_norm branch: dataB.sigma2 + dataA.sigma2 (own + other)'),
  warp: lnk(207, 'warp: WARP_SHFL_DOWN with offsets 16, 8, 4, 2, 1, wd = combine(wd, other)', 210),
  warps: lnk(213, 'warps: the upper half written to shared memory, the lower half adds it, offset blockDim.y/2 .. 1', 233),
  mean: lnk(236, 'sigma2 / float(N) (L242 for a single warp)'),
  rstd: lnk(274, 'rstd_val = rsqrt(wd.sigma2 + eps)'),
  out: lnk(292, 'gamma only (rms_norm passes no beta): out = gamma * (rstd_val * x)', 298),
};

const SM90_TORCH_OPS: ContractInput['hardwareOps'] = { rsqrt: 'sm90', reciprocal: 'ieee', divide: 'ieee' };
const SM90_RSQRT_NOTE =
  'rsqrt.approx.f32 of sm_90 (nvcc rsqrtf and torch.rsqrt; Triton uses its .ftz form, equal on every operand >= eps), measured over all 2^32 ' +
  'inputs (gpu/MEASUREMENTS.md); each captured torch kernel needs it (conformance/SPECS.md)';

/** torch eager's mean(-1) tree on CUDA. */
const TORCH_REDUCE_TREE: NormInput['sumOfSquares']['tree'] = { kind: 'torch-reduce', warpShuffle: 'decreasing' };
/** ReduceMomentKernel.cu:39 forms the factor as float(M) / M*H; it is fround(1/H) while M*H is an exact f32. */
const TORCH_MEAN_FACTOR_LIMIT = 'the mean factor float(M) / (M*H) is fround(1/H) while M*H <= 2^24; past that torch rounds M*H first';
const reduceCuh = (first: number, says: string, last?: number): Citation => cite(PYTORCH_REDUCE, 'aten/src/ATen/native/cuda/Reduce.cuh', first, says, last);
const TORCH_REDUCE_LINES: readonly Citation[] = [
  reduceCuh(1100, 'setReduceConfig: vectorize along input when the reduced dim is contiguous and H >= 128 (dim0 = H/4)', 1106),
  reduceCuh(101, 'set_block_dimension: bw = min(pow2(dim0), 32), bh = min(pow2(M), 512/bw), bw = min(pow2(dim0), 512/bh)', 110),
  reduceCuh(1133, 'a row is split over the warps only when values per thread >= min(bh*16, 256)', 1153),
  reduceCuh(536, 'input_vectorized_thread_reduce_impl: thread t reads vectors t, t+bw, ..; element 4v+i into accumulator i', 543),
  reduceCuh(555, 'the accumulators combined ((a0 + a1) + a2) + a3', 560),
  reduceCuh(641, 'block_x_reduce: while bw > 32, v[t] += v[t+off] through shared memory, off = bw/2 .. 32', 656),
  reduceCuh(658, 'then warp_shfl_down with offsets 16, 8, .., 1 on CUDA (1, 2, .., 16 under USE_ROCM or FBCODE_CAFFE2)', 672),
];
/** A row split over warps: run() reduces each block row across its lanes first, then the block rows. */
const TORCH_REDUCE_RUN_ORDER = reduceCuh(419, 'run(): block_x_reduce, then block_y_reduce (rows split over warps)', 424);
const TORCH_REDUCE_NOTE =
  "ATen Reduce.cuh's last-dim f32 reduction behind mean(-1): the block from setReduceConfig, four strided accumulators per thread, the " +
  'shared-memory halving, then the warp shuffle with decreasing offsets (pytorch/pytorch PR 164790; conformance/SPECS.md T1; the 51,189 H200 ' +
  'tree probes of conformance/captures/probes.json agree)';
/** Where a later torch may part from torch 2.11's Reduce.cuh. */
const TORCH_REDUCE_SPLIT_LIMIT =
  "torch 2.11's Reduce.cuh: PR 181819 (2026-04-29) backs the decreasing shuffle order out, so a later torch may be warpShuffle 'increasing'";
/** The tree evidence of an eager mean(-1): `source` is the line that calls it. */
const torchReduceTreeEvidence = (source: Citation): Evidence =>
  evidenceWithNote(TORCH_REDUCE_NOTE, source, TORCH_MEAN, ...TORCH_REDUCE_LINES, TORCH_REDUCE_RUN_ORDER);

/** Inductor's reduction of the native chains on sm_90: the autotune pick R0_BLOCK 2048 (4 per
 *  thread, 16 warps), the one that reproduces the H 4096 and H 7168 captures. */
const INDUCTOR_PICK: NormInput['sumOfSquares']['tree'] = { kind: 'inductor-sum', rBlock: 2048, sizePerThread: 4, numWarps: 16 };
const INDUCTOR_TREE_NOTE =
  "Inductor's generated Triton reduction (torch 2.11.0, Triton 3.6.0; conformance/dumps/inductor and the TTGIR in conformance/dumps/triton): " +
  'the autotuner picks the layout at run time; this preset assumes XBLOCK 1, R0_BLOCK 2048 (sizePerThread 4, 16 warps), which reproduced every ' +
  'H 4096 and H 7168 capture of the compiled native norm (at H 2048 the only candidate is XBLOCK 2 x R0_BLOCK 2048, 8 per thread, 8 warps: ' +
  'conformance/contracts.json)';
const INDUCTOR_FMA_NOTE = "LLVM contracts tl.sum's in-thread x*x + acc into FMA (Triton 3.6 PTX, conformance/dumps/triton; SPECS.md T3)";
const INDUCTOR_VARIANCE_NOTE =
  'Inductor lowers mean(-1) + eps to div.full(sum, H) + eps; ptxas folds the division by the constant H into a multiply by RN(1/H) and contracts ' +
  'the add: one FFMA (SASS `FFMA R3, R3, R28, 9.99e-07`, R28 = RN(1/7168), conformance/SPECS.md "fold")';
const INDUCTOR_ROUND_TRIP_NOTE =
  'Inductor drops the x.to(orig_dtype) round trip before the weight multiply (it does not emulate precision casts): one bf16 rounding, reproduced ' +
  'on every compiled capture';

// vLLM native (forward_native) run eagerly: f32 residual sum feeds the variance, x.to(bf16) * w.
const VLLM_NATIVE_NORM: NormInput = {
  input: 'f32',
  sumOfSquares: { perThread: 'chain', tree: TORCH_REDUCE_TREE },
  variance: 'reciprocal-multiply',
  eps: EPS,
  weight: { dtype: 'bf16', castToBf16: false, offset: 'none' },
  multiplyOrder: 'x-rstd-w',
  roundIntermediate: true,
};
const VLLM_NATIVE_EVIDENCE: Dims = {
  'residual.add': evidence(vllmPy(187, 'x = x.to(float32); x = x + residual.to(float32)', 189)),
  'bf16Rounding.residualAdd': NOT_USED('the add is f32', vllmPy(189, 'f32 add')),
  'bf16Rounding.residualOut': evidence(vllmPy(190, 'residual = x.to(orig_dtype): round to nearest even')),
  'norm.input': evidence(vllmPy(210, 'variance = x_var.pow(2).mean(...) of the f32 x')),
  'norm.sumOfSquares.perThread': evidenceWithNote(
    'x_var.pow(2) is its own elementwise kernel: every square is rounded to f32 before the mean adds it',
    vllmPy(210, 'x_var.pow(2).mean(dim=-1, keepdim=True)'),
  ),
  'norm.sumOfSquares.tree': torchReduceTreeEvidence(vllmPy(210, 'mean(dim=-1)')),
  'norm.variance': evidenceWithNote('eager mean multiplies the sum by fround(M / (M*H)) = fround(1/H)', TORCH_MEAN),
  'norm.epsAdd': evidenceWithNote('an f32 tensor plus a Python float: torch adds it as the f32 opmath scalar', vllmPy(212, 'variance + self.variance_epsilon')),
  'norm.eps': evidenceWithNote(EPS_IS_AN_ARGUMENT, vllmPy(212, 'variance + self.variance_epsilon')),
  'norm.weight.dtype': evidence(vllmPy(215, 'x * self.weight with the bf16 weight')),
  'norm.weight.castToBf16': NOT_USED('bf16 weight', vllmPy(215, 'x * self.weight')),
  'norm.weight.offset': NOT_USED('plain w', vllmPy(215, 'x * self.weight')),
  'norm.multiplyOrder': evidence(vllmPy(212, 'x * rsqrt(...)', 215)),
  'norm.roundIntermediate': evidence(vllmPy(213, 'x = x.to(orig_dtype) before * weight', 215)),
  'bf16Rounding.normIntermediate': evidence(vllmPy(213, 'x.to(orig_dtype): round to nearest even')),
  'bf16Rounding.normOut': evidence(vllmPy(215, 'bf16 * bf16 in eager: f32 opmath, one rounding')),
  'hardwareOps.rsqrt': evidenceWithNote(SM90_RSQRT_NOTE, vllmPy(212, 'torch.rsqrt')),
  'hardwareOps.reciprocal': evidenceWithNote('the mean factor 1/H is computed on the host in f32 (IEEE)', TORCH_MEAN),
  'hardwareOps.divide': NOT_USED('eager mean multiplies by the factor', TORCH_MEAN),
  f32Subnormals: evidenceWithNote('eager torch keeps f32 subnormals (no flush mode)', vllmPy(187, 'x.to(torch.float32)')),
};

/** The compiled native norm (Inductor) over the eager one: the same source lines, what Inductor
 *  and ptxas make of them. */
function compiledNorm(eager: NormInput): NormInput {
  return { ...eager, sumOfSquares: { perThread: 'fma-chain', tree: INDUCTOR_PICK }, variance: 'reciprocal-fma', roundIntermediate: false };
}
const inductorConfig = (first: number, says: string, last?: number): Citation => cite(PYTORCH_INDUCTOR, 'torch/_inductor/config.py', first, says, last);
const INDUCTOR_ELIDES_CASTS = inductorConfig(
  795,
  'emulate_precision_casts off by default: Inductor elides the downcast-upcast pairs between fused low-precision ops',
  805,
);
const TRITON_REDUCE_PHASES = cite(
  TRITON,
  'lib/Conversion/TritonGPUToLLVM/ReduceOpToLLVM.cpp',
  38,
  'tl.sum: within each thread, then within each warp, then the warp partials through shared memory',
  66,
);
const TRITON_WARP_BUTTERFLY = cite(
  TRITON,
  'lib/Conversion/TritonGPUToLLVM/ReduceOpToLLVM.cpp',
  165,
  'warpReduce: shuffle-xor with offsets lanes/2 .. 1, acc = combine(acc, other)',
  171,
);
const INDUCTOR_DIV_FULL = inductorConfig(807, 'x / y in Triton is lowered to div.full; emulate_divison_rounding off by default', 812);
function compiledEvidence(source: Citation, normalize: Citation): Dims {
  return {
    'norm.sumOfSquares.perThread': evidenceWithNote(INDUCTOR_FMA_NOTE, source),
    'norm.sumOfSquares.tree': evidenceWithNote(INDUCTOR_TREE_NOTE, source, TRITON_REDUCE_PHASES, TRITON_WARP_BUTTERFLY),
    'norm.variance': evidenceWithNote(INDUCTOR_VARIANCE_NOTE, source, INDUCTOR_DIV_FULL),
    'norm.roundIntermediate': evidenceWithNote(INDUCTOR_ROUND_TRIP_NOTE, normalize, INDUCTOR_ELIDES_CASTS),
    'bf16Rounding.normIntermediate': NOT_USED('Inductor drops the intermediate round trip', normalize, INDUCTOR_ELIDES_CASTS),
    'hardwareOps.rsqrt': evidenceWithNote(SM90_RSQRT_NOTE, source),
    'hardwareOps.reciprocal': evidenceWithNote('RN(1/H) is a constant ptxas folds at compile time (correctly rounded)', source),
    'hardwareOps.divide': NOT_USED('the only division, by H, is folded into the multiply', source),
    f32Subnormals: evidenceWithNote('Triton on NVIDIA keeps f32 subnormals in its arithmetic (only its rsqrt is the .ftz form)', source),
  };
}

// vLLM group quant: the C++ op (CUDA, contiguous input).
function vllmCudaGroupQuant(extra: Partial<QuantInput> = {}): QuantInput {
  return {
    groupSize: 128,
    format: 'e4m3fn',
    input: 'bf16',
    staticScale: null,
    divisor: 'format-max',
    amaxFloor: 1e-10,
    scaleFloor: null,
    zeroAmaxScaleOne: false,
    scale: 'divide',
    ue8m0: 'none',
    quantize: 'divide',
    clamp: 448,
    saturation: 'satfinite',
    scaleLayout: { kind: 'row-major' },
    bf16SideOutput: false,
    ...extra,
  };
}
function vllmCudaGroupQuantEvidence(q: QuantInput): Dims {
  return {
    'quant.groupSize': evidence(vllmGq(185, 'group_size kernel argument (128 in the callers read)')),
    'quant.format': evidenceWithNote(
      'min_8bit / max_8bit come from get_fp8_min_max(): finfo(e4m3fn) = +-448 on CUDA',
      vllmGq(187, 'min_8bit, max_8bit arguments'),
      vllmNativeQuant(17, '_FP8_DTYPE and get_fp8_min_max() of the platform', 18),
    ),
    'quant.input': evidenceWithNote(
      'the bf16 output of the norm op, a separate kernel',
      vllmGq(108, 'LoadRegisterGroupAndComputeAbsmax reads the bf16 input', 129),
    ),
    'quant.staticScale': NOT_USED('dynamic per-group scales', vllmGq(77, 'y_s from the group amax')),
    'quant.divisor': evidence(vllmGq(77, 'y_s = local_absmax / max_8bit')),
    'quant.amaxFloor': evidenceWithNote(
      'the amax, not the scale, is floored at eps = 1e-10',
      vllmGq(56, 'local_absmax = eps before fmaxf', 65),
      vllmGq(113, 'register path: local_absmax = eps'),
    ),
    ...(q.scaleFloor === null || q.scaleFloor === undefined
      ? { 'quant.scaleFloor': NOT_USED('the floor is on the amax', vllmGq(56, 'local_absmax = eps')) }
      : scaleFloorEvidence(
          evidenceWithNote(
            'the extra fmaxf(|y_s|, 1e-10f) sits inside the UE8M0 branch, before the power of two',
            vllmGq(78, 'exp2f(ceilf(log2f(fmaxf(fabsf(y_s), 1e-10f))))', 80),
          ),
        )),
    'quant.zeroAmaxScaleOne': NOT_USED('an all-zero group gets 1e-10 / 448', vllmGq(77, 'y_s = local_absmax / max_8bit')),
    'quant.scale': evidence(vllmGq(77, 'local_absmax / max_8bit (IEEE divide)')),
    'quant.ue8m0':
      q.ue8m0 === 'none'
        ? NOT_USED('scale_ue8m0 false', vllmGq(78, 'SCALE_UE8M0 branch', 80))
        : evidenceWithNote('log2f can round a scale just above 2^k down to k (unreachable with bf16 input)', vllmGq(78, 'exp2f(ceilf(log2f(...)))', 80)),
    'quant.quantize': evidence(vllmGq(93, 'static_cast<float>(src) / y_s', 96), vllmGq(161, 'register path: q /= scale')),
    'quant.clamp': evidence(vllmGq(94, 'fminf(fmaxf(q, min_8bit), max_8bit)'), vllmGq(163, 'register path clamp')),
    'quant.saturation': evidence(vllmGq(95, 'DST_DTYPE(q): __nv_fp8_e4m3 satfinite conversion')),
    'quant.scaleLayout':
      q.scaleLayout?.kind === 'column-major'
        ? evidenceWithNote(
            'column-major with stride x_s.stride(1) = M (tma_aligned_scales pads it to align(M, 4): another preset)',
            vllmGq(209, 'IS_COLUMN_MAJOR: col_idx * scale_stride + row_idx', 219),
          )
        : evidence(vllmGq(221, 'scale_output = output_s + global_group_id (row-major)')),
    'quant.bf16SideOutput': evidenceWithNote(
      q.bf16SideOutput ? 'the bf16 norm output stays available to its other consumer' : 'the quant op emits only codes and scales',
      vllmGq(183, 'outputs: output_q, output_s', 188),
    ),
  };
}

// ---- FlashInfer allreduce_fusion (port of TensorRT-LLM's kernel), -use_fast_math build.

const FI_FAST_MATH = fiJit(542, 'every gen_jit_spec module gets -use_fast_math (ftz, prec-div=false, fmad)', 550);
function flashinferNorm(tree: 'cluster' | 'butterfly', twoShot: boolean): NormInput {
  return {
    input: 'bf16',
    sumOfSquares: {
      perThread: 'fma-chain',
      tree:
        tree === 'cluster'
          ? { kind: 'cluster', smCount: 132, perThread: 8, maxClusterSize: 8, launch: twoShot ? 'twoshot' : 'oneshot', maxThreadsPerBlock: 1024 }
          : { kind: 'butterfly', perThread: 8, warpSize: 32 },
    },
    variance: 'divide',
    eps: EPS,
    weight: { dtype: 'bf16', castToBf16: false, offset: 'none' },
    multiplyOrder: 'x-rstd-w',
    roundIntermediate: false,
  };
}
function flashinferEvidence(fp32Acc: boolean, tree: 'cluster' | 'butterfly', twoShot: boolean): Dims {
  return {
    'allReduce.negativeZeroInputs': twoShot
      ? evidenceWithNote('two-shot copies allreduce_in to the comm buffers as it is', fi(1588, 'comm_bufs[rank][idx] = allreduce_in[idx]', 1589))
      : evidence(fi(1524, 'remove_neg_zero(val) on allreduce_in before the push'), fi(1426, 'remove_neg_zero: -0 -> static_cast<T>(0.f)', 1431)),
    'allReduce.order': evidenceWithNote(
      twoShot ? 'two-shot: token ranges per rank, the same per-element order' : 'one-shot Lamport: every rank reads slots 0..N-1',
      fi(twoShot ? 1598 : 1546, 'vals[r] for r = 0..N-1, allreduce_sum', twoShot ? 1603 : 1553),
    ),
    'allReduce.accumulate': evidence(
      fp32Acc ? fi(1441, 'Fp32Acc: f32 fold, one static_cast<T>', 1456) : fi(1457, 'vec_add chain, each partial rounded to bf16', 1463),
      fiPy(1046, "fp32_acc: bool, the caller's flag"),
    ),
    'allReduce.roundResult': evidence(fi(1454, 'acc[i] = static_cast<T>(acc_f32)')),
    'bf16Rounding.allReduceHop': fp32Acc ? NOT_USED('Fp32Acc', fi(1441, 'f32 fold', 1456)) : evidence(fi(812, 'vec_add: float add stored to bf16 (RNE)', 821)),
    'bf16Rounding.allReduceResult': evidence(fi(1454, 'static_cast<__nv_bfloat16>: round to nearest even')),
    'bf16Rounding.residualAdd': evidence(fi(812, 'vec_add: float(a) + float(b) stored to bf16', 821)),
    'bf16Rounding.residualOut': evidence(fi(1093, 'val = vec_add(val, residual); val.store(residual_out)', 1095)),
    'bf16Rounding.normIntermediate': NOT_USED('one rounding', fi(1307, 'one static_cast<T>', 1312)),
    'bf16Rounding.normOut': evidence(fi(1307, 'static_cast<T>(x * s_val * (bias + gamma))', 1312)),
    f32Subnormals: evidence(FI_FAST_MATH, cite(FLASHINFER, 'flashinfer/jit/comm.py', 190, 'trtllm_comm (trtllm_allreduce_fusion.cu) via gen_jit_spec', 201)),
    'hardwareOps.rsqrt': evidence(fi(1303, 'rsqrtf')),
    'hardwareOps.reciprocal': NOT_USED('no reciprocal', fi(1303, 'acc / hidden_dim')),
    'hardwareOps.divide': evidenceWithNote('--prec-div=false: acc / hidden_dim is an approximate divide', FI_FAST_MATH, fi(1303, 'acc / m_params.hidden_dim')),
    'residual.add': evidence(fi(1093, 'val = vec_add(val, m_residual_val)')),
    'norm.input': evidence(fi(1099, 'rms_norm(val, gamma) reads the bf16 sum'), fi(1277, 'float v = static_cast<float>(residual[i])', 1281)),
    'norm.sumOfSquares.perThread': evidenceWithNote(
      'acc += v * v from 0 over 8 elements; -use_fast_math implies --fmad=true: an FFMA chain (SASS not checked)',
      fi(1277, 'acc += v * v', 1283),
      FI_FAST_MATH,
    ),
    'norm.sumOfSquares.tree':
      tree === 'cluster'
        ? evidenceWithNote(
            `SM90+: each block butterflies its part, then thread 0 adds the block partials from 0 in block order; cluster size from the launcher (` +
              `${twoShot ? 'ceil(tokens / N)' : 'tokens'} clusters, 132 SMs on H100/H200); the launcher stops growing blocks at max_threads_per_block/2, ` +
              `register-limited (not readable from source: 1024 assumed)`,
            fi(1284, 'blockReduceSumV2, then cluster partials summed by thread 0', 1300),
            fi(424, 'blockReduceSumV2', 459),
            fi(1683, 'cluster launcher', 1765),
          )
        : evidenceWithNote(
            'pre-SM90: one block per token, no cluster',
            fi(1284, 'blockReduceSumV2 (cluster code compiled only for __CUDA_ARCH__ >= 900)', 1289),
            fi(424, 'xor butterfly 16..1, shared[33], second butterfly with zeros', 459),
          ),
    'norm.variance': evidence(fi(1303, 'acc / m_params.hidden_dim')),
    'norm.epsAdd': evidenceWithNote('rms_eps is a float field: an f32 add', fi(914, 'float rms_eps'), fi(1303, 'acc / hidden_dim + rms_eps')),
    'norm.eps': evidenceWithNote(EPS_IS_AN_ARGUMENT, fi(1303, '+ m_params.rms_eps')),
    'norm.weight.dtype': evidence(fi(1310, 'static_cast<float>(gamma[i]) of the bf16 gamma')),
    'norm.weight.castToBf16': NOT_USED('bf16 gamma', fi(1310, 'gamma')),
    'norm.weight.offset': evidenceWithNote(
      'weight_bias 0 (1 is the Gemma / Qwen3.5 variant)',
      fi(917, 'float weight_bias = 0.f'),
      fi(1310, 'weight_bias + gamma'),
    ),
    'norm.multiplyOrder': evidence(fi(1308, 'x * s_val * (weight_bias + gamma)', 1310)),
    'norm.roundIntermediate': evidence(fi(1307, 'one static_cast<T>', 1312)),
  };
}

// ---------------------------------------------------------------------------------------------
// Kernel references.

const K = {
  aiter1Stage: { repository: AITER.repository, commit: AITER.commit, file: 'csrc/include/custom_all_reduce.cuh', function: 'allreduce_fusion_kernel_1stage' },
  aiter1StagePerGroup: {
    repository: AITER.repository,
    commit: AITER.commit,
    file: 'csrc/include/custom_all_reduce.cuh',
    function: 'allreduce_fusion_kernel_1stage_per_group',
  },
  aiter2StagePerGroup: {
    repository: AITER.repository,
    commit: AITER.commit,
    file: 'csrc/include/custom_all_reduce.cuh',
    function: 'allreduce_fusion_kernel_2stage_per_group',
  },
  aiterReduceScatter: {
    repository: AITER.repository,
    commit: AITER.commit,
    file: 'csrc/include/custom_all_reduce.cuh',
    function: 'reduce_scatter_cross_device_store',
  },
  aiterSplitPerGroup: {
    repository: AITER.repository,
    commit: AITER.commit,
    file: 'csrc/include/custom_all_reduce.cuh',
    function: 'local_device_load_rmsnorm_quant_per_group_naive',
  },
  aiterLocalRmsnorm: {
    repository: AITER.repository,
    commit: AITER.commit,
    file: 'csrc/include/custom_all_reduce.cuh',
    function: 'local_device_load_rmsnorm / local_device_load_rmsnorm_naive',
  },
  aiterStandaloneQuant: {
    repository: AITER.repository,
    commit: AITER.commit,
    file: 'csrc/kernels/quant_kernels.cu',
    function: 'dynamic_per_group_scaled_quant_kernel',
  },
  aiterAddRmsnormQuant: {
    repository: AITER.repository,
    commit: AITER.commit,
    file: 'csrc/kernels/rmsnorm_quant_kernels.cu',
    function: 'add_rmsnorm_quant_kernel',
  },
  aiterTritonRmsQuant: {
    repository: AITER.repository,
    commit: AITER.commit,
    file: 'aiter/ops/triton/_triton_kernels/quant/fused_fp8_quant.py',
    function: '_fused_rms_fp8_group_quant_kernel',
  },
  flashinferOneShot: {
    repository: FLASHINFER.repository,
    commit: FLASHINFER.commit,
    file: 'include/flashinfer/comm/trtllm_allreduce_fusion.cuh',
    function: 'allreduce_fusion_kernel_oneshot_lamport',
  },
  flashinferTwoShot: {
    repository: FLASHINFER.repository,
    commit: FLASHINFER.commit,
    file: 'include/flashinfer/comm/trtllm_allreduce_fusion.cuh',
    function: 'allreduce_fusion_kernel_twoshot_sync',
  },
  ncclRing: { repository: NCCL.repository, commit: NCCL.commit, file: 'src/device/all_reduce.h', function: 'runRing' },
  ncclTree: { repository: NCCL.repository, commit: NCCL.commit, file: 'src/device/all_reduce.h', function: 'runTreeSplit' },
  vllmFusedAddRmsNorm: {
    repository: VLLM_LAYERNORM_CU.repository,
    commit: VLLM_LAYERNORM_CU.commit,
    file: 'csrc/libtorch_stable/layernorm_kernels.cu',
    function: 'fused_add_rms_norm_kernel<width 8>',
  },
  vllmRmsNorm: {
    repository: VLLM_LAYERNORM_CU.repository,
    commit: VLLM_LAYERNORM_CU.commit,
    file: 'csrc/libtorch_stable/layernorm_kernels.cu',
    function: 'rms_norm_kernel',
  },
  vllmNative: {
    repository: VLLM_LAYERNORM_PY.repository,
    commit: VLLM_LAYERNORM_PY.commit,
    file: 'vllm/model_executor/layers/layernorm.py',
    function: 'RMSNorm.forward_native',
  },
  vllmGemma: {
    repository: VLLM_LAYERNORM_PY.repository,
    commit: VLLM_LAYERNORM_PY.commit,
    file: 'vllm/model_executor/layers/layernorm.py',
    function: 'GemmaRMSNorm.forward_static',
  },
  vllmGroupQuant: {
    repository: VLLM_GROUP_QUANT_CU.repository,
    commit: VLLM_GROUP_QUANT_CU.commit,
    file: 'csrc/libtorch_stable/quantization/w8a8/fp8/per_token_group_quant.cu',
    function: 'per_token_group_quant_8bit_kernel',
  },
  torchRmsNorm: {
    repository: PYTORCH_RMS_NORM.repository,
    commit: PYTORCH_RMS_NORM.commit,
    file: 'aten/src/ATen/native/cuda/layer_norm_kernel.cu',
    function: '_fused_rms_norm_cuda (vectorized_layer_norm_kernel, rms_norm = true)',
  },
  torchMean: { repository: PYTORCH.repository, commit: PYTORCH.commit, file: 'aten/src/ATen/native/cuda/ReduceMomentKernel.cu', function: 'mean_kernel_impl' },
  hfLlamaRmsNorm: {
    repository: TRANSFORMERS.repository,
    commit: TRANSFORMERS.commit,
    file: 'src/transformers/models/llama/modeling_llama.py',
    function: 'LlamaDecoderLayer residual add, LlamaRMSNorm.forward',
  },
  vllmNativeGroupQuant: {
    repository: VLLM_INPUT_QUANT.repository,
    commit: VLLM_INPUT_QUANT.commit,
    file: 'vllm/model_executor/layers/quantization/input_quant_fp8.py',
    function: 'QuantFP8._quantize_group_native',
  },
} as const satisfies Record<string, KernelRef>;

// ---------------------------------------------------------------------------------------------
// The presets.

const AMD: readonly Amd[] = ['gfx942', 'gfx950'];
const NVIDIA_ANY: readonly Architecture[] = ['sm80', 'sm90', 'sm100'];
const at = (family: string, arch: Amd): string => `${family}@${arch}`;
const TRUNCATION_WINDOW =
  'gfx942 truncates from aiter PR 2107 (e92b36377f, 2026-02-28, opus downcast); before it __float2bfloat16 rounded to nearest even on every arch';

function aiterFamilies(): PresetDefinition[] {
  const out: PresetDefinition[] = [];
  for (const arch of AMD) {
    const oneStage = aiter1Stage(arch, true, false, null);
    out.push({
      name: at('aiter-1stage', arch),
      family: 'aiter-1stage',
      kind: 'kernel',
      kernels: [K.aiter1Stage],
      architectures: [arch],
      versionWindow: `from aiter PR 2586 (43b7379b89, 2026-04-02); ${TRUNCATION_WINDOW}`,
      reference: 'unfused',
      models: 'aiter fused 1-stage AR+RMSNorm: f32 AR rounded through bf16, f32 residual add, the norm reads the unrounded f32 sum.',
      contract: oneStage.contract,
      evidence: oneStage.evidence,
      limitations: [],
    });
    const pre = aiter1Stage(arch, false, false, null);
    out.push({
      name: at('aiter-1stage-pre2586', arch),
      family: 'aiter-1stage-pre2586',
      kind: 'kernel',
      kernels: [K.aiter1Stage],
      architectures: [arch],
      versionWindow: `before aiter PR 2586 (43b7379b89, 2026-04-02); ${TRUNCATION_WINDOW}`,
      reference: 'unfused',
      models: 'aiter fused 1-stage before PR 2586: the f32 AR sum meets the residual without the bf16 round trip.',
      contract: pre.contract,
      evidence: pre.evidence,
      limitations: [],
    });
    const gemma = aiter1Stage(arch, true, true, null);
    out.push({
      name: at('aiter-1stage-gemma', arch),
      family: 'aiter-1stage-gemma',
      kind: 'kernel',
      kernels: [K.aiter1Stage],
      architectures: [arch],
      versionWindow: TRUNCATION_WINDOW,
      reference: null,
      models: 'aiter fused 1-stage with GEMMA_NORM: the weight is (1 + w) in f32.',
      contract: gemma.contract,
      evidence: gemma.evidence,
      limitations: [],
    });
    const quant = aiter1Stage(arch, true, false, aiterFusedQuant(arch, true));
    out.push({
      name: at('aiter-1stage-quant', arch),
      family: 'aiter-1stage-quant',
      kind: 'kernel',
      kernels: [K.aiter1StagePerGroup],
      architectures: [arch],
      versionWindow: `bf16 side output from aiter PR 2823 (4331ad7a17, 2026-04-29); ${TRUNCATION_WINDOW}`,
      reference: at('unfused-quant', arch),
      models:
        `aiter fused 1-stage with per-group ${arch === 'gfx942' ? 'e4m3fnuz/240' : 'e4m3fn/448'} quant of the f32 normed value and a bf16 side output ` +
        `of the same values.`,
      contract: quant.contract,
      evidence: quant.evidence,
      limitations: [],
    });
    const two = aiter2Stage(arch);
    out.push({
      name: at('aiter-2stage', arch),
      family: 'aiter-2stage',
      kind: 'kernel',
      kernels: [K.aiterReduceScatter, K.aiterLocalRmsnorm],
      architectures: [arch],
      versionWindow: TRUNCATION_WINDOW,
      reference: 'unfused',
      models: 'aiter fused_ar_rms 2-stage: natural reduce-scatter stored as bf16, f32 residual add, shared-memory halving tree, (x*w)*rstd.',
      contract: two.contract,
      evidence: two.evidence,
      limitations: [
        'block of 512 threads (H >= 2048); below that aiter uses 256 threads, a different tree (the aiter-fused dispatch family picks it by H)',
        "the pack's squares are rounded then chained (clang 15's gfx940 ISA, SLP-vectorized squares); ROCm clang for gfx942/gfx950 not run: if it " +
          'does not vectorize them, it contracts to fma(x0, x0, fround(x1*x1)) then fma over x2..x7, which no pattern expresses',
        'QuickReduce replaces this path when AITER_QUICK_REDUCE_QUANTIZATION enables it (not modelled)',
      ],
    });
    const twoQuant = aiter2StageQuant(arch, false);
    out.push({
      name: at('aiter-2stage-quant', arch),
      family: 'aiter-2stage-quant',
      kind: 'kernel',
      kernels: [K.aiter2StagePerGroup],
      architectures: [arch],
      versionWindow: TRUNCATION_WINDOW,
      reference: at('unfused-quant', arch),
      models:
        'aiter fused 2-stage per-group quant: natural AR stored as bf16, __bf16 residual add, the norm reads bf16 x, fused quant of the f32 normed value.',
      contract: twoQuant.contract,
      evidence: twoQuant.evidence,
      limitations: ['H/8 % N != 0 leaves threads of the reduce-scatter past N*floor(H/8/N) (car.cuh:2910-2917): not modelled'],
    });
    const split = aiter2StageQuant(arch, true);
    out.push({
      name: at('aiter-split-quant', arch),
      family: 'aiter-split-quant',
      kind: 'kernel',
      kernels: [K.aiterReduceScatter, K.aiterSplitPerGroup],
      architectures: [arch],
      versionWindow: TRUNCATION_WINDOW,
      reference: at('unfused-quant', arch),
      models: 'aiter split per-group quant (above 512 KiB): natural reduce-scatter to bf16, then the fused epilogue; the same bits as the 2-stage kernel.',
      contract: split.contract,
      evidence: split.evidence,
      limitations: ['packs beyond N*floor(M*H/8/N) are never reduced (M*H/8 % N != 0)'],
    });
  }
  return out;
}

function aiterAddRmsnormQuant(arch: Amd): PresetDefinition {
  const d = aiterDowncast(arch);
  const fnuz = arch === 'gfx942';
  const contract: ContractInput = {
    allReduce: { order: { kind: 'natural' }, accumulate: 'f32', roundResult: 'none' },
    bf16Rounding: { allReduceHop: d, allReduceResult: d, residualAdd: d, residualOut: d, normIntermediate: d, normOut: d },
    f32Subnormals: 'flush',
    hardwareOps: { rsqrt: 'inferred', reciprocal: 'inferred', divide: 'ieee' },
    residual: { add: 'f32' },
    norm: {
      input: 'f32',
      sumOfSquares: { perThread: 'fma-chain', tree: { kind: 'dpp-wave64', blockSize: 256, perThread: 16 } },
      variance: 'reciprocal-multiply',
      eps: EPS,
      epsAdd: 'f64',
      weight: { dtype: 'bf16', castToBf16: false, offset: 'none' },
      multiplyOrder: 'x-rstd-w',
      roundIntermediate: false,
    },
    quant: {
      groupSize: 128,
      format: fnuz ? 'e4m3fnuz' : 'e4m3fn',
      input: 'f32',
      staticScale: null,
      divisor: 'format-max',
      amaxFloor: 1e-10,
      scaleFloor: null,
      zeroAmaxScaleOne: false,
      scale: 'reciprocal',
      ue8m0: 'none',
      quantize: 'reciprocal',
      clamp: fnuz ? 240 : 448,
      saturation: 'overflow',
      scaleLayout: { kind: 'row-major' },
      bf16SideOutput: false,
    },
  };
  const downcast = evidenceWithNote(
    `module_rmsnorm_quant passes -DOPUS_FP32_to_BF16_DEFAULT=$OPUS_FP32_to_BF16_DEFAULT (default 2 = truncate); ` +
      `${arch === 'gfx942' ? 'gfx942 truncates' : 'gfx950 converts in hardware (RNE)'}`,
    rq(117, 'store_vector of the f32 sum to residual_out'),
    opusPlus(785, 'chunk_convert[j] = opus::cast<T_R>(...) per element', 789),
    aiterBuild(708, 'module_rmsnorm_quant: -ffast-math, -DOPUS_FP32_to_BF16_DEFAULT', 720),
    ...AITER_DOWNCAST_CITES,
  );
  const ev: Dims = {
    'allReduce.negativeZeroInputs': NOT_USED('no all-reduce', rq(105, 'input + residual_in', 108)),
    'allReduce.order': NOT_USED('no all-reduce: one rank, input + residual', rq(105, 'input + residual_in', 108)),
    'allReduce.accumulate': NOT_USED('no all-reduce', rq(105, 'input + residual_in', 108)),
    'allReduce.roundResult': NOT_USED('no all-reduce', rq(105, 'input + residual_in', 108)),
    'bf16Rounding.allReduceHop': NOT_USED('no all-reduce', rq(105, 'input + residual_in', 108)),
    'bf16Rounding.allReduceResult': NOT_USED('no all-reduce', rq(105, 'input + residual_in', 108)),
    'bf16Rounding.residualAdd': NOT_USED('the add is f32', rq(107, 'static_cast<float>(x) + static_cast<float>(res)')),
    'bf16Rounding.residualOut': downcast,
    'bf16Rounding.normIntermediate': NOT_USED('no bf16 norm output: the f32 normed value is quantized', rq(208, 'FUSE_QUANT path', 225)),
    'bf16Rounding.normOut': NOT_USED('no bf16 norm output', rq(310, 'store_vector of fp8 codes only')),
    f32Subnormals: evidence(aiterJit(914, '-fgpu-flush-denormals-to-zero'), aiterBuild(708, '-ffast-math', 720)),
    'hardwareOps.rsqrt': AITER_RSQRT(rq(150, 'rsqrtf')),
    'hardwareOps.reciprocal': evidenceWithNote(
      'v_rcp_f32 of the scale (inline asm) and, under -ffast-math, v_rcp_iflag_f32 of float(n) in the variance',
      rq(302, 'asm v_rcp_f32 of the scale', 305),
      rq(150, 'rcp[0] / n'),
    ),
    'hardwareOps.divide': NOT_USED(
      'under -ffast-math `rcp[0] / n` is no divide: v_cvt_f32_i32 n, v_rcp_iflag_f32, v_mul_f32 (norm.variance reciprocal-multiply)',
      rq(150, 'rcp[0] / n'),
      aiterBuild(708, '-ffast-math', 720),
    ),
    'residual.add': evidence(rq(105, 'thread_data_float = float(input) + float(residual)', 108)),
    'norm.input': evidence(rq(141, 'square_sum over the f32 sum', 146)),
    'norm.sumOfSquares.perThread': evidenceWithNote(
      '-ffast-math contracts square_sum += x*x (the commented v_fmac_f32 line shows the intended form)',
      rq(141, 'square_sum += x * x', 146),
      aiterBuild(708, '-ffast-math', 720),
    ),
    'norm.sumOfSquares.tree': evidenceWithNote(
      "DPP wave64 block_reduce = one balanced pairwise tree over the block in thread order; 256 threads x 16 contiguous elements is aiter's choice for 2048 " +
        '< H <= 4096 (H <= 512: 64x8, <= 1024: 128x8, <= 2048: 256x8, <= 8192 per-group: 1024x8 on >= 160 CUs): this preset is exact for 2048 < H <= 4096',
      rq(149, 'block_reduce<float, sum, BlockSize, true>'),
      hipReduce(256, 'wave_reduce DPP steps: quad_perm, half/row mirror, row_bcast 15/31, lane 63', 318),
      hipReduce(394, 'block_reduce: lane 63 per wave to smem, then wave_reduce over waves', 443),
      rq(364, 'ADD_RMSNORM_QUANT_KERNEL_DISPATCH by n', 388),
    ),
    'norm.variance': evidenceWithNote(
      '-ffast-math lowers the f32 divide by the int n to q * v_rcp_iflag_f32(float(n)): read in the gfx940 ISA of clang 15 (Debian hipcc 5.2, ' +
        "-O3 -ffast-math -fgpu-flush-denormals-to-zero) on our own kernel with the same line; aiter's ROCm clang for gfx942/gfx950 not run. The " +
        'reciprocal is v_rcp (hardwareOps.reciprocal inferred), exact for a power-of-two H',
      rq(150, 'rsqrtf(rcp[0] / n + epsilon)'),
      aiterBuild(708, 'module_rmsnorm_quant: -ffast-math', 720),
    ),
    'norm.eps': evidenceWithNote(EPS_IS_AN_ARGUMENT, rq(26, 'double epsilon'), rq(150, 'rcp[0] / n + epsilon')),
    'norm.epsAdd': evidenceWithNote(
      'epsilon is a double kernel argument: the f32 quotient is widened, added in f64 and converted back by rsqrtf (v_cvt_f64_f32, v_add_f64, ' +
        'v_cvt_f32_f64 in the same clang 15 gfx940 ISA). eps is the double itself, not fround(eps)',
      rq(26, 'double epsilon'),
      rq(150, 'rsqrtf(rcp[0] / n + epsilon)'),
    ),
    'norm.weight.dtype': evidence(rq(174, 'static_cast<float>(weight[2i]) of the bf16 weight', 175)),
    'norm.weight.castToBf16': NOT_USED('bf16 weight', rq(174, 'weight', 175)),
    'norm.weight.offset': evidence(rq(170, 'weight_offset = gemma_norm ? 1 : 0 (this preset: 0)')),
    'norm.multiplyOrder': evidence(rq(152, 'v_pk_mul_f32(x, rstd)', 166), rq(194, 'v_pk_mul_f32(x*rstd, w)', 200)),
    'norm.roundIntermediate': evidence(rq(152, 'both products stay f32', 197)),
    'quant.groupSize': evidence(rq(243, 'reduce_thread_size = group_size / thread_data_size', 244)),
    'quant.format': evidenceWithNote(fnuz ? 'gfx942: e4m3fnuz' : 'gfx950: e4m3fn', opus(1163, 'finfo<fp8_t>::max', 1171)),
    'quant.input': evidence(rq(210, 'amax of the f32 normed values', 225)),
    'quant.staticScale': NOT_USED('dynamic', rq(259, 'scale from the amax')),
    'quant.divisor': evidence(rq(58, 'inverted_DTYPE_MAX = 1. / finfo max', 59)),
    'quant.amaxFloor': evidence(rq(210, 'thread_max = 1e-10f')),
    'quant.scaleFloor': NOT_USED('the floor is on the amax', rq(210, 'thread_max = 1e-10f')),
    'quant.zeroAmaxScaleOne': NOT_USED('an all-zero group gets 1e-10 * (1/max)', rq(259, 'max * inverted_DTYPE_MAX')),
    'quant.scale': evidence(rq(259, 'quant_scale = max * inverted_DTYPE_MAX')),
    'quant.ue8m0': NOT_USED('f32 scale tensor', rq(230, 'use_e8m0 only for fp4 or a 1-byte scale tensor', 231)),
    'quant.quantize': evidenceWithNote(
      'x * v_rcp_f32(scale): the reciprocal is approximate (hardwareOps.reciprocal)',
      rq(304, 'v_rcp_f32'),
      opusPlus(54, 'tmp = pk_mul_f32(x, inverted_scale)'),
    ),
    'quant.clamp': evidence(opusPlus(55, 'v_med3_f32 to +-240 (gfx942) / +-448, then v_cvt_pk_fp8_f32', 66)),
    'quant.saturation': evidenceWithNote('clamped first', opusPlus(64, 'v_cvt_pk_fp8_f32', 66)),
    'quant.scaleLayout': evidenceWithNote('shuffle_scale false; true gives column-major g*M + m', rq(281, 'x * n / group_size + y', 298)),
    'quant.bf16SideOutput': NOT_USED('no bf16 normed output', rq(310, 'fp8 codes only')),
  };
  return {
    name: at('aiter-add-rmsnorm-quant', arch),
    family: 'aiter-add-rmsnorm-quant',
    kind: 'kernel',
    kernels: [K.aiterAddRmsnormQuant],
    architectures: [arch],
    versionWindow: null,
    reference: null,
    ranks: 1,
    models:
      'aiter add_rmsnorm_quant (HIP, fast-math): f32 residual add, DPP wave64 tree, (x*rstd)*w in f32, per-group quant with amax floor 1e-10, scale ' +
      'amax*(1/max), x * v_rcp_f32(scale), clamp.',
    contract,
    evidence: ev,
    limitations: [
      'exact only for 2048 < H <= 4096 (block 256 x 16); other H use other block geometries',
      'v_rcp_f32 (the quant reciprocal and 1/H of the variance) is inferred, not reproduced',
    ],
  };
}

function aiterTritonRmsQuant(arch: Amd): PresetDefinition {
  const fnuz = arch === 'gfx942';
  const max = fnuz ? 240 : 448;
  const contract: ContractInput = {
    allReduce: { order: { kind: 'natural' }, accumulate: 'f32', roundResult: 'none' },
    bf16Rounding: RNE_EVERYWHERE,
    f32Subnormals: 'keep',
    hardwareOps: { rsqrt: 'inferred', reciprocal: 'ieee', divide: 'ieee' },
    residual: { add: 'f32' },
    norm: {
      input: 'f32',
      sumOfSquares: { perThread: 'chain', tree: { kind: 'triton-sum', block: 4096, numWarps: 8, warpSize: 64, sizePerThread: 8, threadReduce: 'tree' } },
      variance: 'divide',
      eps: EPS,
      weight: { dtype: 'bf16', castToBf16: false, offset: 'none' },
      multiplyOrder: 'x-rstd-w',
      roundIntermediate: false,
    },
    quant: {
      groupSize: 128,
      format: fnuz ? 'e4m3fnuz' : 'e4m3fn',
      input: 'f32',
      staticScale: null,
      divisor: 'format-max',
      amaxFloor: 1e-10,
      scaleFloor: null,
      zeroAmaxScaleOne: false,
      scale: 'divide',
      ue8m0: 'none',
      quantize: 'reciprocal',
      clamp: max,
      saturation: 'satfinite',
      scaleLayout: { kind: 'row-major' },
      bf16SideOutput: true,
    },
  };
  const tritonRne = evidenceWithNote(
    "Triton converts f32 to bf16 with round to nearest even (FpToFp default) on AMD; not re-read in Triton's AMD backend here",
    tritonQuant(379, 'inp1.to(out_res1 dtype)'),
  );
  const ev: Dims = {
    'allReduce.negativeZeroInputs': NOT_USED('no all-reduce', tritonQuant(317, 'one input row', 330)),
    'allReduce.order': NOT_USED('no all-reduce (ranks 1)', tritonQuant(317, 'one input row', 330)),
    'allReduce.accumulate': NOT_USED('no all-reduce', tritonQuant(317, 'one input row', 330)),
    'allReduce.roundResult': NOT_USED('no all-reduce', tritonQuant(317, 'one input row', 330)),
    'bf16Rounding.allReduceHop': NOT_USED('no all-reduce', tritonQuant(317, 'one input row', 330)),
    'bf16Rounding.allReduceResult': NOT_USED('no all-reduce', tritonQuant(317, 'one input row', 330)),
    'bf16Rounding.residualAdd': NOT_USED('the add is f32', tritonQuant(330, 'inp1 = inp1 + res1 in f32')),
    'bf16Rounding.residualOut': tritonRne,
    'bf16Rounding.normIntermediate': NOT_USED('one f32 expression', tritonQuant(19, 'row * norm_factor * weight')),
    'bf16Rounding.normOut': evidenceWithNote('FIRST_INPUT_OUT stores the f32 norm1 into the bf16 out1 (RNE)', tritonQuant(336, 'tl.store(out1, norm1)', 341)),
    f32Subnormals: evidenceWithNote('Triton on AMD keeps f32 subnormals by default (not re-read)', tritonQuant(330, 'f32 arithmetic in the kernel')),
    'hardwareOps.rsqrt': evidence(tritonQuant(17, 'tl.math.rsqrt')),
    'hardwareOps.reciprocal': evidenceWithNote('1.0 / scale_out is a Triton f32 division, an IEEE fdiv on the AMD backend', tritonQuant(36, '1.0 / scale_out')),
    'hardwareOps.divide': evidenceWithNote('Triton f32 `/` lowers to LLVM fdiv on AMD (IEEE without fast-math flags)', tritonQuant(17, 'row_norm / n_cols')),
    'residual.add': evidence(tritonQuant(330, 'inp1 = inp1 + res1 (f32)')),
    'norm.input': evidence(tritonQuant(334, '_rmsmorm_op(inp1 f32, ...)')),
    'norm.sumOfSquares.perThread': evidenceWithNote(
      "tl.sum(row * row): the per-thread part is Triton's; enable_fp_fusion may contract (not checked)",
      tritonQuant(15, 'row * row; tl.sum', 16),
    ),
    'norm.sumOfSquares.tree': evidenceWithNote(
      'BLOCK_SIZE_N = max(next_pow2(N), 128), num_warps 1/4/8/16 for BLOCK <= 512/2048/4096/larger, wave64: this preset is exact for 2048 < H <= 4096; ' +
        'sizePerThread 8 (16-byte bf16 loads) and the in-thread tree of current Triton are assumed, the compiled TTGIR was not read',
      tritonQuant(16, 'tl.sum(row_norm, axis=-1)'),
      tritonQuantLaunch(209, 'BLOCK_SIZE_N'),
      tritonQuantLaunch(271, 'num_warps by BLOCK_SIZE_N', 278),
    ),
    'norm.variance': evidence(tritonQuant(17, '(row_norm / n_cols) + epsilon')),
    'norm.epsAdd': evidenceWithNote('Triton passes a Python float argument as fp32: an f32 add', tritonQuant(17, '(row_norm / n_cols) + epsilon')),
    'norm.eps': evidenceWithNote(EPS_IS_AN_ARGUMENT, tritonQuant(17, '+ epsilon')),
    'norm.weight.dtype': evidence(tritonQuant(332, 'w1 = load(weight).to(float32) of the bf16 weight')),
    'norm.weight.castToBf16': NOT_USED('bf16 weight', tritonQuant(332, 'w1 = load(weight).to(float32)')),
    'norm.weight.offset': NOT_USED('plain w', tritonQuant(19, 'row * norm_factor * weight')),
    'norm.multiplyOrder': evidence(tritonQuant(19, 'row * norm_factor * weight')),
    'norm.roundIntermediate': evidence(tritonQuant(19, 'one f32 expression')),
    'quant.groupSize': evidence(tritonQuantLaunch(209, 'QUANT_BLOCK_SIZE = group_size (128)')),
    'quant.format': evidenceWithNote(
      fnuz ? 'aiter fp8 is e4m3fnuz on gfx942' : 'aiter fp8 is e4m3fn on gfx950',
      aiterDtypes(12, 'gfx942: float8_e4m3fnuz; gfx950: float8_e4m3fn', 13),
    ),
    'quant.input': evidence(tritonQuant(344, '_fp8_quant_op(norm1, ...) on the f32 norm', 346)),
    'quant.staticScale': NOT_USED('dynamic', tritonQuant(35, 'scale from the amax')),
    'quant.divisor': evidenceWithNote(`DTYPE_MAX = torch.finfo(out dtype).max = ${max}`, tritonQuantLaunch(280, 'DTYPE_MAX = finfo(out1_fp8.dtype).max', 284)),
    'quant.amaxFloor': evidence(tritonQuant(34, 'tl.maximum(tl.max(tl.abs(x)), 1e-10)')),
    'quant.scaleFloor': NOT_USED('the floor is on the amax', tritonQuant(34, 'tl.maximum(amax, 1e-10)')),
    'quant.zeroAmaxScaleOne': NOT_USED('amax floor instead', tritonQuant(34, 'tl.maximum')),
    'quant.scale': evidence(tritonQuant(35, 'scale_out = m / DTYPE_MAX')),
    'quant.ue8m0': NOT_USED('f32 scales', tritonQuant(35, 'scale_out')),
    'quant.quantize': evidence(tritonQuant(36, 'scale_recip = 1.0 / scale_out; x * scale_recip', 37)),
    'quant.clamp': evidence(tritonQuant(37, 'tl.clamp(x * scale_recip, DTYPE_MIN, DTYPE_MAX)')),
    'quant.saturation': evidenceWithNote('clamped first', tritonQuant(37, 'tl.clamp')),
    'quant.scaleLayout': evidenceWithNote('transpose_scale=False', tritonQuantLaunch(286, 'transpose_scale swaps the scale strides', 292)),
    'quant.bf16SideOutput': evidence(tritonQuant(336, 'FIRST_INPUT_OUT: bf16 passthrough of norm1', 341)),
  };
  return {
    name: at('aiter-rms-quant-passthrough', arch),
    family: 'aiter-rms-quant-passthrough',
    kind: 'kernel',
    kernels: [K.aiterTritonRmsQuant],
    architectures: [arch],
    versionWindow: null,
    reference: null,
    ranks: 1,
    models:
      'aiter Triton fused_rms_fp8_group_quant (SGLang PR 22258 NSA passthrough): f32 residual add, tl.sum tree, amax floor 1e-10, scale amax/max, q = x * ' +
      '(1/scale), clamp, bf16 passthrough of the unquantized value.',
    contract,
    evidence: ev,
    limitations: ['exact only for 2048 < H <= 4096 (BLOCK 4096, 8 warps)', "Triton's AMD lowering of f32->bf16 and its subnormal mode not re-read"],
  };
}

function unfusedQuant(arch: Amd): PresetDefinition {
  const q = aiterStandaloneQuant(arch, true);
  return {
    name: at('unfused-quant', arch),
    family: 'unfused-quant',
    kind: 'reference',
    kernels: [K.aiterStandaloneQuant],
    architectures: [arch],
    versionWindow: null,
    reference: null,
    models:
      `The unfused reference chain followed by the standalone aiter per-group quant (${arch}: amax floor 1e-10, reciprocal scale and quantize, clamp ` +
      `${arch === 'gfx942' ? 240 : 448}).`,
    contract: { ...UNFUSED_CONTRACT, quant: q.quant },
    evidence: { ...UNFUSED_EVIDENCE, ...q.evidence },
    limitations: ['the norm part is the definitional reference (sequential tree, IEEE rstd), not a kernel'],
  };
}

function sglangPresets(): PresetDefinition[] {
  const fused = aiter1Stage('gfx950', true, false, aiterFusedQuant('gfx950', true));
  const fallbackNorm = aiter1Stage('gfx950', true, false, null);
  const q = aiterStandaloneQuant('gfx950', true);
  const sglangPs = (first: number, says: string, last?: number): Citation => cite(SGLANG, 'python/sglang/srt/distributed/parallel_state.py', first, says, last);
  const gateCite = sglangPs(869, 'fused_allreduce_rmsnorm_quant_per_group: return None unless is_hip() and is_gfx95_supported()', 870);
  const gate =
    'SGLang runs the fused AR+RMSNorm+per-group quant only where is_gfx95_supported() (sgl-project/sglang@0005973a ' +
    'python/sglang/srt/distributed/parallel_state.py:869-870); elsewhere it returns None and the caller falls back';
  const stages =
    'SGLang picks the 1-stage kernel for total bytes <= 128 KiB, except at TP=8 with 4096 < K <= 7168 and >= 8 tokens (2-stage), and ' +
    'SGLANG_USE_1STAGE_ALLREDUCE overrides it (parallel_state.py:889-903); it declines K % 128 != 0, K > 16384, > 64 MiB and world size 6 ' +
    '(:880-887)';
  /** quant.format: the format is gfx950's because SGLang gates the path on gfx95. */
  const gfx95Format = (ev: Evidence): Evidence =>
    evidenceWithNote(`${ev.note === null ? '' : `${ev.note}; `}SGLang takes this path only on gfx95, so the format is gfx950's`, ...ev.cites, gateCite);
  return [
    {
      name: 'sglang-fused-quant',
      family: 'sglang-fused-quant',
      kind: 'kernel',
      kernels: [K.aiter1StagePerGroup],
      architectures: ['gfx950'],
      versionWindow: 'SGLang PR 24651 onward',
      reference: 'sglang-fused-quant-fallback',
      models: 'SGLang PR 24651 on MI355X: aiter fused 1-stage AR+RMSNorm+per-group e4m3fn quant of the f32 normed value, bf16 side output (keep_bf16).',
      contract: fused.contract,
      evidence: { ...fused.evidence, 'quant.format': gfx95Format(fused.evidence['quant.format']) },
      limitations: [gate, stages, 'the 2-stage / split kernels (bf16 residual add) are other presets (aiter-2stage-quant, aiter-split-quant)'],
    },
    {
      name: 'sglang-fused-quant-fallback',
      family: 'sglang-fused-quant-fallback',
      kind: 'kernel',
      kernels: [K.aiter1Stage, K.aiterStandaloneQuant],
      architectures: ['gfx950'],
      versionWindow: 'SGLang PR 24651 onward (SGLANG_DISABLE_FUSED_AR_QUANT=1)',
      reference: null,
      models:
        'SGLang fallback on MI355X: aiter fused 1-stage AR+RMSNorm to bf16, then the standalone aiter per_1x128 quant (e4m3fn, clamp 448) of the bf16 output.',
      contract: { ...fallbackNorm.contract, quant: q.quant },
      evidence: { ...without(fallbackNorm.evidence, 'quant'), ...q.evidence },
      limitations: [
        gate,
        'on a non-gfx95 ROCm device the fused entry returns None and the caller falls back to this path (parallel_state.py:854-857), ' +
          "with that device's fp8 (gfx942: e4m3fnuz), which this gfx950 preset does not model",
        'the fused AR+RMSNorm is 1-stage only below 128*7168*2/world bytes (then local_device_load_rmsnorm)',
      ],
    },
  ];
}

function flashinferPresets(): PresetDefinition[] {
  const mk = (
    name: string,
    family: string,
    arch: Architecture,
    fp32Acc: boolean,
    tree: 'cluster' | 'butterfly',
    twoShot: boolean,
    reference: string | null,
  ): PresetDefinition => {
    const ev = flashinferEvidence(fp32Acc, tree, twoShot);
    return {
      name,
      family,
      kind: 'kernel',
      kernels: [twoShot ? K.flashinferTwoShot : K.flashinferOneShot],
      architectures: [arch],
      versionWindow: fp32Acc
        ? "fp32_acc is the caller's flag (FlashInfer default False; TensorRT-LLM defaults to it since PR 16753)"
        : 'FlashInfer fp32_acc=False (its Python default)',
      reference,
      models:
        `FlashInfer/TensorRT-LLM ${twoShot ? 'two' : 'one'}-shot AR+RMSNorm on ${arch}: ${fp32Acc ? 'f32' : 'bf16'} accumulation, bf16(bf16(ar) + ` +
        `residual) is residual output and norm input${tree === 'cluster' ? ', each token split over a thread-block cluster' : ''}.`,
      contract: {
        allReduce: { order: { kind: 'natural' }, accumulate: fp32Acc ? 'f32' : 'bf16', roundResult: 'bf16', negativeZeroInputs: twoShot ? 'keep' : 'positive' },
        bf16Rounding: RNE_EVERYWHERE,
        f32Subnormals: 'flush',
        hardwareOps: { rsqrt: 'inferred', reciprocal: 'ieee', divide: 'inferred' },
        residual: { add: 'bf16' },
        norm: flashinferNorm(tree, twoShot),
        quant: null,
      },
      evidence: { ...ev, quant: NOT_USED('kARResidualRMSNorm: no quant', fi(825, 'pattern kARResidualRMSNorm = 1')) },
      limitations: [
        ...(tree === 'cluster'
          ? [
              'cluster geometry assumes 132 SMs (H100/H200 SXM) and a compiled register count that allows 1024 threads per block (maxThreadsPerBlock): not ' +
                'readable from source',
            ]
          : []),
      ],
    };
  };
  const groupFp8: PresetDefinition = (() => {
    const base = mk('flashinfer-ar-rms-group-fp8', 'flashinfer-ar-rms-group-fp8', 'sm90', true, 'cluster', false, null);
    const quant: QuantInput = {
      groupSize: 128,
      format: 'e4m3fn',
      input: 'bf16',
      staticScale: null,
      divisor: 'format-max',
      amaxFloor: null,
      scaleFloor: { value: 1e-10, stage: 'before-ue8m0' },
      zeroAmaxScaleOne: false,
      scale: 'divide',
      ue8m0: 'ceil',
      quantize: 'divide',
      clamp: 448,
      saturation: 'satfinite',
      scaleLayout: { kind: 'packed-ue8m0', tokenAlign: 4 },
      bf16SideOutput: false,
    };
    const qev: Dims = {
      'quant.groupSize': evidence(fi(1128, 'group_size = block_quant_group_size')),
      'quant.format': evidence(fi(1127, 'FP8_E4M3_MAX = 448, __nv_fp8_e4m3')),
      'quant.input': evidence(fi(1099, 'val = rms_norm(val, gamma): the bf16 norm output is quantized')),
      'quant.staticScale': NOT_USED('dynamic', fi(1183, 'scale from the group amax')),
      'quant.divisor': evidence(fi(1183, 'group_absmax / FP8_E4M3_MAX')),
      'quant.amaxFloor': evidence(fi(1145, 'local_absmax = 0.0f, no floor', 1150)),
      ...scaleFloorEvidence(evidence(fi(1183, 'y_s = fmaxf(amax / 448, 1e-10f) before the power of two'))),
      'quant.zeroAmaxScaleOne': NOT_USED('scale floor instead', fi(1183, 'fmaxf')),
      'quant.scale': evidenceWithNote('-use_fast_math: the divide is approximate (hardwareOps.divide)', fi(1183, 'group_absmax / FP8_E4M3_MAX')),
      'quant.ue8m0': evidence(fi(1184, 'mantissa != 0: (bits + 0x800000) & 0x7f800000, a round up', 1188)),
      'quant.quantize': evidence(fi(1196, 'q = val / y_s')),
      'quant.clamp': evidence(fi(1197, 'fminf(fmaxf(q, -448), 448)')),
      'quant.saturation': evidence(fi(1198, '__nv_fp8_e4m3(q): satfinite')),
      'quant.scaleLayout': evidenceWithNote(
        "tma_aligned_mn is the caller's (DeepGEMM: align(M, 4))",
        fi(1206, 'exponent byte g%4 of int32 (g/4)*tma_aligned_mn + token; K and MN padding zeroed', 1240),
      ),
      'quant.bf16SideOutput': evidenceWithNote(
        'the Out variant (kARResidualRMSNormOutPerTokenGroupFP8PackedQuant) also stores the norm output',
        fi(825, 'pattern list', 837),
      ),
    };
    return {
      ...base,
      kernels: [K.flashinferOneShot],
      models:
        'FlashInfer one-shot AR + residual + RMSNorm + per-token-group FP8 on SM90: quantizes the bf16 norm output, scale max(amax/448, 1e-10) rounded up to ' +
        'a power of two, divide, clamp 448, packed UE8M0 scales.',
      contract: { ...base.contract, quant },
      evidence: { ...without(base.evidence, 'quant'), ...qev },
    };
  })();
  return [
    mk('flashinfer-oneshot@sm90', 'flashinfer-oneshot', 'sm90', true, 'cluster', false, 'unfused'),
    mk('flashinfer-oneshot@sm80', 'flashinfer-oneshot', 'sm80', true, 'butterfly', false, 'unfused'),
    mk('flashinfer-oneshot-bf16acc@sm90', 'flashinfer-oneshot-bf16acc', 'sm90', false, 'cluster', false, 'flashinfer-oneshot@sm90'),
    mk('flashinfer-oneshot-bf16acc@sm80', 'flashinfer-oneshot-bf16acc', 'sm80', false, 'butterfly', false, 'flashinfer-oneshot@sm80'),
    mk('flashinfer-twoshot', 'flashinfer-twoshot', 'sm90', true, 'cluster', true, 'flashinfer-oneshot@sm90'),
    groupFp8,
  ];
}

function vllmPresets(): PresetDefinition[] {
  const vllmUnfused: ContractInput = {
    allReduce: { order: { kind: 'natural' }, accumulate: 'f32', roundResult: 'bf16' },
    bf16Rounding: RNE_EVERYWHERE,
    f32Subnormals: 'keep',
    hardwareOps: { rsqrt: 'inferred', reciprocal: 'ieee', divide: 'ieee' },
    residual: { add: 'bf16' },
    norm: vllmCudaNorm(true),
    quant: null,
  };
  const vllmUnfusedEvidence: Dims = {
    ...VLLM_AR_EVIDENCE,
    ...vllmCudaNormEvidence(true),
    quant: NOT_USED('norm op only', vllmLn(310, 'fused_add_rms_norm(input, residual, weight, epsilon): no quant', 313)),
  };
  const noResidual: ContractInput = { ...vllmUnfused, residual: null, norm: vllmCudaNorm(false) };
  const noResidualEvidence: Dims = {
    ...without({ ...VLLM_AR_EVIDENCE, ...vllmCudaNormEvidence(false) }, 'residual.add'),
    residual: NOT_USED('rms_norm: no residual', vllmLn(14, 'rms_norm_kernel')),
  };
  const native: ContractInput = { ...vllmUnfused, hardwareOps: SM90_TORCH_OPS, residual: { add: 'f32' }, norm: VLLM_NATIVE_NORM };
  const nativeEvidence: Dims = {
    ...VLLM_AR_EVIDENCE,
    ...VLLM_NATIVE_EVIDENCE,
    quant: NOT_USED('norm only', vllmPy(180, 'forward_native returns x (and residual)', 219)),
  };
  // GemmaRMSNorm.forward_cuda compiles forward_static with torch.compile (layernorm.py:357-361):
  // the bits are Inductor's, as for the compiled native chain, with Gemma's f32 (1 + w).
  const gemmaSource = vllmPy(333, 'x.pow(2).mean(dim=-1, keepdim=True) under torch.compile');
  const gemma: ContractInput = {
    ...native,
    norm: {
      ...compiledNorm(VLLM_NATIVE_NORM),
      input: 'f32-squares-bf16-normalize',
      weight: { dtype: 'bf16', castToBf16: false, offset: 'f32' },
    },
  };
  const gemmaEvidence: Dims = {
    ...nativeEvidence,
    ...compiledEvidence(gemmaSource, vllmPy(337, 'x * (1.0 + weight.float()), then one x.to(orig_dtype)', 338)),
    'residual.add': evidenceWithNote(
      'x + residual is a bf16 op, but Inductor computes it in f32 and rounds it only where it stores the residual (as in the captured compiled HF chain)',
      vllmPy(324, 'x = x + residual (bf16 unless fp16)', 329),
      vllmPy(357, 'forward_cuda: self.forward_static = torch.compile(self.forward_static)', 361),
    ),
    'bf16Rounding.residualAdd': NOT_USED('the add stays f32 inside the kernel', vllmPy(328, 'x + residual')),
    'bf16Rounding.residualOut': evidence(vllmPy(330, 'residual = x: the stored bf16 sum, round to nearest even')),
    'norm.input': evidenceWithNote(
      'by analogy with the captured compiled HF LlamaRMSNorm, whose bf16 add feeds .float() the same way: the sum of squares reads the f32 sum, the ' +
        'weight multiply re-reads the stored bf16 one (no Gemma capture yet)',
      vllmPy(332, 'x = x.float() of the bf16 sum'),
    ),
    'norm.weight.offset': evidence(vllmPy(337, 'x * (1.0 + weight.float()) in f32')),
    'bf16Rounding.normOut': evidence(vllmPy(338, 'x.to(orig_dtype): round to nearest even')),
    'norm.multiplyOrder': evidence(vllmPy(334, 'x * rsqrt(...) then * (1 + w)', 337)),
    'norm.epsAdd': evidenceWithNote('an f32 tensor plus a Python float: an f32 add', vllmPy(334, 'variance + variance_epsilon')),
    'norm.eps': evidenceWithNote(EPS_IS_AN_ARGUMENT, vllmPy(334, 'variance + variance_epsilon')),
    'norm.weight.dtype': evidenceWithNote(
      'the weight parameter is created in the model dtype (bf16) and upcast',
      vllmPy(312, 'nn.Parameter(torch.zeros(hidden_size))'),
      vllmPy(337, 'weight.float()'),
    ),
  };
  const withQuant = (c: ContractInput, e: Dims, q: QuantInput): { contract: ContractInput; evidence: Dims } => {
    return { contract: { ...c, quant: q }, evidence: { ...without(e, 'quant'), ...vllmCudaGroupQuantEvidence(q) } };
  };
  const arch = NVIDIA_ANY;
  const kernelChain = [K.vllmFusedAddRmsNorm, K.vllmGroupQuant];
  const p = (
    name: string,
    models: string,
    reference: string | null,
    kernels: readonly KernelRef[],
    ce: { contract: ContractInput; evidence: Dims },
    limitations: readonly string[] = [],
  ): PresetDefinition => ({
    name,
    family: name,
    kind: 'kernel',
    kernels,
    architectures: arch,
    versionWindow: null,
    reference,
    models,
    contract: ce.contract,
    evidence: ce.evidence,
    limitations,
  });
  const nestedPair =
    "fused_add_rms_norm sums each 8-vector from 0 and adds it to the thread's variance: the pair pattern is exact when each thread owns one vector (H/8 <= " +
    'block), nested otherwise';
  const nativeQuant: QuantInput = {
    ...vllmCudaGroupQuant(),
    amaxFloor: null,
    scaleFloor: { value: 1 / (448 * 512), stage: 'before-ue8m0' },
    scale: 'reciprocal',
    bf16SideOutput: true,
  };
  const nativeQuantEvidence: Dims = {
    ...vllmCudaGroupQuantEvidence(nativeQuant),
    'quant.amaxFloor': evidence(vllmNativeQuant(192, 'absmax = x_grouped.abs().max(...), no floor')),
    ...scaleFloorEvidence(
      evidenceWithNote(
        'the clamp follows the UE8M0 rounding; without UE8M0 its stage does not matter',
        vllmNativeQuant(19, '_FP8_MIN_SCALING_FACTOR = 1 / (_FP8_MAX * 512)'),
        vllmNativeQuant(196, 'scales = scales_raw.clamp(min=_FP8_MIN_SCALING_FACTOR)'),
      ),
    ),
    'quant.scale': evidenceWithNote(
      '_FP8_MAX is a Python float: torch divides by a CPU scalar as a multiply by its f32 reciprocal',
      vllmNativeQuant(193, 'scales_raw = absmax / _FP8_MAX'),
      torchDivTrue(36, 'is_cpu_scalar(2): a * reciprocal(b)', 48),
    ),
    'quant.quantize': evidence(vllmNativeQuant(198, 'x_grouped / scales'), torchDivTrue(50, 'tensor / tensor: DivFunctor, an IEEE division', 54)),
    'quant.bf16SideOutput': evidenceWithNote(
      'the quant reads the norm output, a bf16 tensor of its own',
      vllmPy(213, 'x.to(orig_dtype) * weight: the bf16 norm output', 215),
      vllmNativeQuant(192, 'x_grouped of that tensor'),
    ),
    'hardwareOps.reciprocal': evidence(torchDivTrue(43, 'inv_b = opmath_t(1.0) / scalar: an f32 IEEE division on the host')),
    'hardwareOps.divide': evidence(torchDivTrue(53, 'DivFunctor: a / b, IEEE (no fast math)', 54)),
    'quant.clamp': evidence(vllmNativeQuant(199, 'clamp(_FP8_MIN, _FP8_MAX)')),
    'quant.saturation': evidenceWithNote('clamped first', vllmNativeQuant(199, '.to(_FP8_DTYPE)')),
    'quant.scaleLayout': evidence(vllmNativeQuant(206, 'scales [M, G] row-major unless column_major_scales', 210)),
    'quant.format': evidence(vllmNativeQuant(17, '_FP8_DTYPE, _FP8_MIN/_FP8_MAX = get_fp8_min_max(): +-448 e4m3fn on CUDA', 18)),
  };
  const sm90 = (
    family: string,
    models: string,
    reference: string | null,
    kernels: readonly KernelRef[],
    ce: { contract: ContractInput; evidence: Dims },
    limitations: readonly string[],
  ): PresetDefinition => ({ ...p(family, models, reference, kernels, ce, limitations), name: `${family}@sm90`, architectures: ['sm90'] });
  const compiled: ContractInput = { ...native, norm: compiledNorm(VLLM_NATIVE_NORM) };
  const compiledDims: Dims = {
    ...nativeEvidence,
    ...compiledEvidence(vllmPy(210, 'x_var.pow(2).mean(dim=-1, keepdim=True) under torch.compile'), vllmPy(213, 'x.to(orig_dtype) * self.weight', 215)),
  };
  const eagerOnly = 'torch eager; vLLM compiles forward_native by default: vllm-native-compiled@sm90';
  const reduceShapes = "Reduce.cuh's configurations that split a row across CTAs are refused";
  return [
    sm90(
      'vllm-native',
      'vLLM RMSNorm.forward_native run eagerly on sm_90: f32 residual sum feeds the variance (Reduce.cuh tree, sum * RN(1/H)), rsqrt.approx, two roundings.',
      'unfused',
      [K.vllmNative],
      { contract: native, evidence: nativeEvidence },
      [eagerOnly, reduceShapes, TORCH_REDUCE_SPLIT_LIMIT, TORCH_MEAN_FACTOR_LIMIT],
    ),
    sm90(
      'vllm-native-compiled',
      "vLLM's default compiled RMSNorm.forward_native on sm_90 (Inductor, Triton 3.6): one FFMA for mean + eps, rsqrt.approx, one rounding; assumes " +
        'the autotune pick R0_BLOCK 2048 (4 per thread, 16 warps).',
      'vllm-native@sm90',
      [K.vllmNative],
      { contract: compiled, evidence: compiledDims },
      ['Inductor autotunes the layout at run time: at H 2048 it has only XBLOCK 2 x R0_BLOCK 2048 (8 per thread, 8 warps), another tree'],
    ),
    sm90(
      'vllm-gemma',
      'vLLM GemmaRMSNorm on sm_90: forward_cuda compiles forward_static (Inductor): f32 (1 + w), one FFMA for mean + eps, one rounding; assumes the ' +
        'autotune pick R0_BLOCK 2048.',
      null,
      [K.vllmGemma],
      { contract: gemma, evidence: gemmaEvidence },
      [
        'no Gemma capture: the split norm input (f32 squares, bf16 normalize) follows the captured compiled HF chain',
        'Inductor autotunes the layout at run time (R0_BLOCK 2048 assumed)',
      ],
    ),
    sm90(
      'vllm-native-group-quant',
      'vLLM native path run eagerly on sm_90 with QuantFP8._quantize_group_native: amax * RN(1/448) floored at 1/(448*512), IEEE x / scale, clamp 448.',
      null,
      [K.vllmNative, K.vllmNativeGroupQuant],
      { contract: { ...native, quant: nativeQuant }, evidence: { ...without(nativeEvidence, 'quant'), ...nativeQuantEvidence } },
      [eagerOnly, reduceShapes, TORCH_REDUCE_SPLIT_LIMIT, TORCH_MEAN_FACTOR_LIMIT],
    ),
    p(
      'vllm-unfused',
      'vLLM on CUDA: custom all-reduce (natural, one rounding), then fused_add_rms_norm width 8: bf16 residual add, cub tree over 8-vectors, one rounding of ' +
        '(x*rstd)*w.',
      'unfused',
      [K.vllmFusedAddRmsNorm],
      { contract: vllmUnfused, evidence: vllmUnfusedEvidence },
      [nestedPair],
    ),
    p(
      'vllm-group-quant',
      'vLLM CUDA fused_add_rms_norm then per_token_group_quant: amax floored at 1e-10, IEEE division, clamp +-448 e4m3fn.',
      null,
      kernelChain,
      withQuant(vllmUnfused, vllmUnfusedEvidence, vllmCudaGroupQuant()),
      [nestedPair],
    ),
    p(
      'vllm-group-quant-ue8m0',
      'vLLM per-group quant with UE8M0 scales (DeepGEMM): exp2(ceil(log2(max(amax/448, 1e-10)))).',
      'vllm-group-quant',
      kernelChain,
      withQuant(vllmUnfused, vllmUnfusedEvidence, vllmCudaGroupQuant({ ue8m0: 'ceil', scaleFloor: { value: 1e-10, stage: 'before-ue8m0' } })),
      [nestedPair, "DeepGEMM's packed int32 layout is per_token_group_quant_fp8_packed_for_deepgemm, another preset"],
    ),
    p(
      'vllm-group-quant-colmajor',
      'vLLM per-group quant writing scales column-major [H/G, M].',
      'vllm-group-quant',
      kernelChain,
      withQuant(vllmUnfused, vllmUnfusedEvidence, vllmCudaGroupQuant({ scaleLayout: { kind: 'column-major', tokenAlign: 1 } })),
      [nestedPair],
    ),
    p(
      'vllm-unfused-quant',
      'vLLM unfused chain with per-group quant and the bf16 norm output kept.',
      null,
      kernelChain,
      withQuant(vllmUnfused, vllmUnfusedEvidence, vllmCudaGroupQuant({ bf16SideOutput: true })),
      [nestedPair],
    ),
    p(
      'vllm-unfused-quant-noresidual',
      'vLLM unfused chain without a residual (rms_norm): per-group quant and the bf16 norm output.',
      null,
      [K.vllmRmsNorm, K.vllmGroupQuant],
      withQuant(noResidual, noResidualEvidence, vllmCudaGroupQuant({ bf16SideOutput: true })),
    ),
  ];
}

/** torch eager on sm_90 without vLLM: F.rms_norm, and Hugging Face's LlamaRMSNorm chain. Both
 *  follow a bf16 residual add as a model writes it (the HF decoder layer), one rank. */
function torchPresets(): PresetDefinition[] {
  const oneRank = NOT_USED('ranks 1: the norm alone, no all-reduce', hfLlama(347, 'hidden_states = residual + hidden_states: the input of the norm'));
  const noAllReduce: Dims = {
    'allReduce.order': oneRank,
    'allReduce.accumulate': oneRank,
    'allReduce.roundResult': oneRank,
    'bf16Rounding.allReduceHop': oneRank,
    'bf16Rounding.allReduceResult': oneRank,
    'allReduce.negativeZeroInputs': oneRank,
  };
  const bf16ResidualAdd: Dims = {
    'residual.add': evidenceWithNote(
      'a bf16 + bf16 add in torch eager: computed in f32 (opmath) and rounded once',
      hfLlama(347, 'hidden_states = residual + hidden_states (bf16 tensors)'),
    ),
    'bf16Rounding.residualAdd': evidence(hfLlama(347, 'the bf16 result: round to nearest even')),
    'bf16Rounding.residualOut': evidence(hfLlama(350, 'residual = hidden_states: the rounded sum')),
    f32Subnormals: evidenceWithNote('eager torch keeps f32 subnormals (no flush mode)', hfLlama(71, 'hidden_states.to(torch.float32)')),
    quant: NOT_USED('norm only', hfLlama(351, 'post_attention_layernorm: no quant')),
  };
  const base: ContractInput = {
    allReduce: { order: { kind: 'natural' }, accumulate: 'f32', roundResult: 'bf16' },
    bf16Rounding: RNE_EVERYWHERE,
    f32Subnormals: 'keep',
    hardwareOps: SM90_TORCH_OPS,
    residual: { add: 'bf16' },
    norm: VLLM_NATIVE_NORM,
    quant: null,
  };
  const fRmsNorm: ContractInput = {
    ...base,
    norm: {
      input: 'bf16',
      sumOfSquares: { perThread: 'fma-chain', tree: { kind: 'torch-rms-norm' } },
      variance: 'divide',
      eps: EPS,
      weight: { dtype: 'bf16', castToBf16: false, offset: 'none' },
      multiplyOrder: 'x-rstd-w',
      roundIntermediate: false,
    },
  };
  const fRmsNormEvidence: Dims = {
    ...noAllReduce,
    ...bf16ResidualAdd,
    'norm.input': evidenceWithNote('F.rms_norm reads the bf16 tensor and upcasts each element', TORCH_RMS_NORM_ENTRY, RMS.input),
    'norm.sumOfSquares.perThread': evidenceWithNote(
      "sigma2 + val*val over each 4-vector in element order, one FFMA each under nvcc's default -fmad=true",
      RMS.square,
      RMS.threadLoop,
    ),
    'norm.sumOfSquares.tree': evidenceWithNote(
      'block (32, 4) over 4-vectors: each thread a chain, the warp shfl_down 16..1, then the upper warps onto the lower; the ' +
        'vectorized kernel is the one taken for these shapes',
      RMS.vectorized,
      RMS.block,
      RMS.threads,
      RMS.vecSize,
      RMS.threadLoop,
      RMS.warp,
      RMS.combine,
      RMS.warps,
    ),
    'norm.variance': evidenceWithNote('sigma2 / float(N): an IEEE division', RMS.mean),
    'norm.eps': evidenceWithNote(EPS_IS_AN_ARGUMENT, RMS.eps),
    'norm.epsAdd': evidenceWithNote('eps is a double argument cast to the f32 accumulation type; the add is in f32', RMS.dispatch, RMS.rstd),
    'norm.weight.dtype': evidenceWithNote('gamma is the bf16 weight, upcast in the f32 expression', RMS.out),
    'norm.weight.castToBf16': NOT_USED('bf16 weight', RMS.out),
    'norm.weight.offset': NOT_USED('plain gamma', RMS.out),
    'norm.multiplyOrder': evidenceWithNote('gamma * (rstd * x): (x*rstd)*w', RMS.out),
    'norm.roundIntermediate': evidenceWithNote('one f32 expression, stored once to bf16', RMS.out),
    'bf16Rounding.normIntermediate': NOT_USED('one rounding', RMS.out),
    'bf16Rounding.normOut': evidenceWithNote('out.val[ii] is T = bf16: the f32 value rounded to nearest even', RMS.out),
    'hardwareOps.rsqrt': evidenceWithNote(SM90_RSQRT_NOTE, RMS.rstd),
    'hardwareOps.reciprocal': NOT_USED('no reciprocal', RMS.mean),
    'hardwareOps.divide': evidenceWithNote('sigma2 / float(N) without fast math: div.rn', RMS.mean),
  };
  const hf: ContractInput = { ...base, norm: { ...VLLM_NATIVE_NORM, input: 'bf16' } };
  const hfEvidence: Dims = {
    ...noAllReduce,
    ...bf16ResidualAdd,
    'norm.input': evidence(hfLlama(351, 'post_attention_layernorm(hidden_states) of the bf16 sum'), hfLlama(71, '.to(torch.float32)')),
    'norm.sumOfSquares.perThread': evidenceWithNote(
      'pow(2) is its own elementwise kernel: every square is rounded to f32 before the mean adds it',
      hfLlama(72, 'hidden_states.pow(2).mean(-1, keepdim=True)'),
    ),
    'norm.sumOfSquares.tree': torchReduceTreeEvidence(hfLlama(72, 'mean(-1)')),
    'norm.variance': evidenceWithNote('eager mean multiplies the sum by fround(1/H)', TORCH_MEAN),
    'norm.eps': evidenceWithNote(EPS_IS_AN_ARGUMENT, hfLlama(73, 'variance + self.variance_epsilon')),
    'norm.epsAdd': evidenceWithNote(
      'an f32 tensor plus a Python float: torch adds it as the f32 opmath scalar',
      hfLlama(73, 'variance + self.variance_epsilon'),
    ),
    'norm.weight.dtype': evidenceWithNote(
      'the weight parameter in the model dtype (bf16)',
      hfLlama(66, 'nn.Parameter(torch.ones(hidden_size))'),
      hfLlama(74, 'self.weight * ...'),
    ),
    'norm.weight.castToBf16': NOT_USED('bf16 weight', hfLlama(74, 'self.weight')),
    'norm.weight.offset': NOT_USED('plain w', hfLlama(74, 'self.weight')),
    'norm.multiplyOrder': evidence(hfLlama(73, 'hidden_states * torch.rsqrt(...)', 74)),
    'norm.roundIntermediate': evidence(hfLlama(74, 'self.weight * hidden_states.to(input_dtype)')),
    'bf16Rounding.normIntermediate': evidence(hfLlama(74, '.to(input_dtype): round to nearest even')),
    'bf16Rounding.normOut': evidence(hfLlama(74, 'bf16 * bf16 in eager: f32 opmath, one rounding')),
    'hardwareOps.rsqrt': evidenceWithNote(SM90_RSQRT_NOTE, hfLlama(73, 'torch.rsqrt')),
    'hardwareOps.reciprocal': evidenceWithNote('the mean factor 1/H is computed on the host in f32 (IEEE)', TORCH_MEAN),
    'hardwareOps.divide': NOT_USED('eager mean multiplies by the factor', TORCH_MEAN),
  };
  const preset = (family: string, models: string, kernels: readonly KernelRef[], contract: ContractInput, dims: Dims, limitations: readonly string[]) => ({
    name: `${family}@sm90`,
    family,
    kind: 'kernel' as const,
    kernels,
    architectures: ['sm90'] as const,
    versionWindow: 'torch 2.11.0 (the captured version)',
    reference: 'unfused',
    ranks: 1,
    models,
    contract,
    evidence: dims,
    limitations,
  });
  return [
    preset(
      'torch-rms-norm',
      'torch eager F.rms_norm on sm_90 after a bf16 residual add: fma chain, block (32, 4) tree, sumsq / H, rsqrt.approx, one rounding of (x*rstd)*w.',
      [K.torchRmsNorm],
      fRmsNorm,
      fRmsNormEvidence,
      [
        'read at paolodedios/pytorch@ac2ce525, a fork of pytorch (the index holds no pytorch/pytorch copy with the rms_norm path); the torch ' +
          '2.11.0 captures reproduce it',
        'needs H % 4 == 0 and tensors aligned to 4 elements (the vectorized path)',
      ],
    ),
    preset(
      'hf-llama',
      'Hugging Face LlamaRMSNorm on sm_90 after the decoder layer bf16 residual add, run eagerly: Reduce.cuh tree over rounded squares, sum * ' +
        'RN(1/H), rsqrt.approx, bf16(x*rstd) * w.',
      [K.hfLlamaRmsNorm, K.torchMean],
      hf,
      hfEvidence,
      [
        "Reduce.cuh's configurations that split a row across CTAs are refused",
        TORCH_REDUCE_SPLIT_LIMIT,
        TORCH_MEAN_FACTOR_LIMIT,
        "under torch.compile the bits are Inductor's (conformance: compiled-hf-llama)",
      ],
    ),
  ];
}

/** vLLM PR 42864: on ROCm (MI355X) the pass rewrites AR + RMSNorm + group quant into aiter's fused per-group kernel. */
function vllmRocmFusion(): PresetDefinition[] {
  const pr =
    'vLLM PR 42864 (RocmAiterAllReduceFusionPass) calls aiter fused_ar_rms_per_group_quant on gfx950; the PR was read from its description, not a pinned ' +
    'vLLM file';
  const base = (side: boolean) => aiter1Stage('gfx950', true, false, aiterFusedQuant('gfx950', side));
  const mk = (
    name: string,
    models: string,
    reference: string | null,
    ce: { contract: ContractInput; evidence: Dims },
    extra: readonly string[] = [],
  ): PresetDefinition => ({
    name,
    family: name,
    kind: 'kernel',
    kernels: [K.aiter1StagePerGroup],
    architectures: ['gfx950'],
    versionWindow: 'vLLM PR 42864 onward',
    reference,
    models,
    contract: ce.contract,
    evidence: ce.evidence,
    limitations: [pr, 'above 128 KiB aiter runs the 2-stage / split kernels', ...extra],
  });
  const plain = base(false);
  const indexer = base(true);
  const cast = base(false);
  const castContract: ContractInput = { ...cast.contract, norm: { ...cast.contract.norm, weight: { dtype: 'f32', castToBf16: true, offset: 'none' } } };
  const castEvidence: Dims = {
    ...cast.evidence,
    'norm.weight.dtype': evidenceWithNote(
      'an f32 RMSNorm weight (Qwen3-Next) in the model; PR 42864 passes weight.to(input.dtype) to the kernel (PR thread, not a pinned file)',
      car(1650, 'the kernel reads a bf16 weight'),
    ),
    'norm.weight.castToBf16': evidenceWithNote('weight.to(bf16) before the call (PR 42864 thread)', car(1650, 'upcast_s(weight[i])')),
  };
  const noRes = base(false);
  const noResEvidence: Dims = {
    ...without(noRes.evidence, 'residual.add'),
    residual: evidenceWithNote(
      'the no-residual pattern drives the same kernel; how the residual is fed was not found (a zero residual makes the f32 norm input equal bf16(AR))',
      car(2018, 'residual add', 2024),
    ),
  };
  const noResContract: ContractInput = { ...noRes.contract, residual: null, norm: { ...noRes.contract.norm, input: 'bf16' } };
  const uncastContract: ContractInput = { ...cast.contract, norm: { ...cast.contract.norm, weight: { dtype: 'f32', castToBf16: false, offset: 'none' } } };
  const uncastEvidence: Dims = {
    ...cast.evidence,
    'norm.weight.dtype': evidenceWithNote('reference: the f32 weight as the model holds it', car(1650, 'the real kernel reads a bf16 weight')),
    'norm.weight.castToBf16': evidenceWithNote(
      'reference: no cast, so the comparison with vllm-ar-rms-quant-f32weight-cast isolates what the cast does; the aiter kernel itself cannot take an f32 ' +
        'weight',
      car(1650, 'upcast_s(weight[i]) of T'),
    ),
  };
  return [
    {
      name: 'vllm-ar-rms-quant-f32weight',
      family: 'vllm-ar-rms-quant-f32weight',
      kind: 'reference',
      kernels: [K.aiter1StagePerGroup],
      architectures: ['gfx950'],
      versionWindow: null,
      reference: null,
      models:
        "Reference, not a kernel: the PR 42864 aiter kernel's arithmetic with the f32 norm weight applied uncast, to isolate the effect of weight.to(bf16).",
      contract: uncastContract,
      evidence: uncastEvidence,
      limitations: ["no real path computes this: aiter's kernel reads a bf16 weight"],
    },
    mk(
      'vllm-ar-rms-quant',
      'vLLM PR 42864 on MI355X: aiter fused 1-stage AR+RMSNorm+per-group e4m3fn quant of the f32 normed value (amax==0 -> scale 1, no floor, no clamp).',
      null,
      plain,
    ),
    mk('vllm-ar-rms-quant-indexer', 'vLLM PR 42864 indexer fan-out: the same kernel emitting the bf16 normed output (emit_bf16).', null, indexer),
    mk('vllm-ar-rms-quant-f32weight-cast', 'vLLM PR 42864 with an f32 norm weight cast to bf16 before the aiter kernel.', 'vllm-ar-rms-quant-f32weight', {
      contract: castContract,
      evidence: castEvidence,
    }),
    mk(
      'vllm-ar-rms-quant-noresidual',
      'vLLM PR 42864 no-residual pattern on the aiter kernel: the norm reads bf16(AR).',
      null,
      { contract: noResContract, evidence: noResEvidence },
      ['unverifiable: how the missing residual is fed'],
    ),
  ];
}

// ---------------------------------------------------------------------------------------------
// NCCL over channels (allReduce.order 'nccl-ring' / 'nccl-tree', src/engines/layout/ncclChannels.ts).

const ncclSource = (path: string, first: number, says: string, last?: number): Citation => cite(NCCL, path, first, says, last);
/** What the runner records from NCCL_DEBUG=INFO (NCCL_DEBUG_SUBSYS=INIT,TUNING) for these presets. */
const NCCL_RECORDED =
  'channels, rings/chains and the protocol are run-time values: python/ulpwise/runner/nccl_allreduce.py records them from ' +
  'NCCL_DEBUG=INFO (the "Channel cc/nn :" rings of rank 0, every rank\'s "Trees" line, the "AllReduce: .. -> Algo .. proto .. channel{Lo..Hi}" ' +
  'tuning line) and writes the contract of its run; the values here are a template for 4 ranks (4 communicator channels, identity rings, the chain ' +
  '3 -> 0), exact only where the recorded contract says the same';
const NCCL_PARTS = [
  ncclSource('src/enqueue.cc', 655, 'cells of 32 KiB of traffic (LL counted 4x); lo/mid/hi channel counts; overflow onto comm->nChannels', 701),
  ncclSource('src/enqueue.cc', 597, 'traffic max(32 KiB, 2 bytes per byte) over min(task nMaxChannels, comm nChannels)', 599),
  ncclSource('src/enqueue.cc', 2093, 'the tuner lowers nc for small messages (run time)', 2096),
  ncclSource('src/include/device.h', 337, 'ncclCollCbdPart: each channel its offset, count and chunk', 361),
];
/** Every NCCL preset: bf16 data reduced by __hadd hop by hop, no quant. */
const NCCL_BF16_HOPS: Dims = {
  'allReduce.accumulate': evidence(ncclReduce(451, 'FuncSum<__nv_bfloat16> = __hadd/__hadd2', 453)),
  'allReduce.roundResult': evidence(ncclReduce(451, 'every hop is a bf16 value', 453)),
  'bf16Rounding.allReduceHop': evidence(ncclReduce(451, '__hadd: round to nearest even', 453)),
  'bf16Rounding.allReduceResult': evidence(ncclReduce(451, 'the last hop is the result', 453)),
  quant: DEFINITION('no quant'),
};
const NCCL_PROTOCOL_NOTE = 'NCCL_PROTO as the tuning line prints it (enqueue.cc:822-824); each protocol runs the same loop (all_reduce.h:762-788)';

function ncclChannelPresets(): PresetDefinition[] {
  const identityRings = Array.from({ length: 4 }, () => [0, 1, 2, 3]);
  const ring = (protocol: 'simple' | 'll' | 'll128'): PresetDefinition => ({
    name: `nccl-ring-${protocol}`,
    family: `nccl-ring-${protocol}`,
    kind: 'reference',
    kernels: [K.ncclRing],
    architectures: NVIDIA_ANY,
    versionWindow: null,
    reference: 'unfused',
    ranks: 4,
    models:
      `NCCL ring all-reduce in bf16 over channels (NCCL_ALGO=Ring, NCCL_PROTO=${protocol === 'simple' ? 'Simple' : protocol.toUpperCase()}), ` +
      'each channel on its own ring, then the unfused reference add and norm.',
    contract: {
      ...UNFUSED_CONTRACT,
      allReduce: { order: { kind: 'nccl-ring', protocol, channels: 4, rings: identityRings, buffSize: 'default' }, accumulate: 'bf16', roundResult: 'bf16' },
    },
    evidence: {
      ...UNFUSED_EVIDENCE,
      'allReduce.order': evidenceWithNote(
        `chunk j of a channel's loop is summed from ring index j+1 around to j; ${NCCL_PROTOCOL_NOTE}; ${NCCL_RECORDED}`,
        ncclRing(42, 'step 0 sends chunk ringIx-1; reduce steps; chunk ringIx finished', 81),
        ncclRing(21, 'the channel part from ncclCollCbdPart; loopCount = nranks * chunkCount', 23),
        ncclRing(34, 'loop over the part; the last loop realigns chunkCount to alignUp(divUp(rem, nranks), 16/sizeof(T))', 38),
        ...NCCL_PARTS,
        ncclSource('src/enqueue.cc', 2222, 'chunk = buffSize/NCCL_STEPS * chunkSteps (Simple Ring: ALLREDUCE_CHUNKSTEPS), /2 LL, 15/16 LL128', 2227),
        ncclSource('src/enqueue.cc', 2321, 'aligned down to the protocol grain'),
        ncclSource('src/enqueue.cc', 723, 'chunk stored in grains per lo/mid/hi channel', 738),
        ncclSource('src/include/device.h', 328, 'grain: LL 16 B, LL128 1920 B, Simple 512 B', 334),
        ncclSource('src/init.cc', 810, 'default buffers: LL 512 KiB, LL128 4800 KiB, Simple 4 MiB (NCCL_*BUFFSIZE override)', 828),
        ncclSource('src/include/collectives.h', 20, 'ALLREDUCE_CHUNKSTEPS = NCCL_STEPS/2'),
        ncclSource('src/collectives.cc', 173, 'ncclAllReduce passes ALLREDUCE_CHUNKSTEPS', 176),
        ncclSource('src/init.cc', 796, 'ring index = distance from rank 0 along the ring', 802),
        ncclSource('src/graph/rings.cc', 48, 'rank 0 prints each channel ring from itself', 49),
      ),
      ...NCCL_BF16_HOPS,
    },
    limitations: [
      NCCL_RECORDED,
      'one all-reduce alone in its kernel plan (torch.distributed.all_reduce outside a group); no tuner plugin (enqueue.cc:2308-2318), no CollNet/NVLS',
      'NCCL_ALGO=Ring on NVLS-capable nodes: NVLS and CE collectives reduce in other orders (not modelled)',
    ],
  });
  const tree: PresetDefinition = {
    name: 'nccl-tree-simple',
    family: 'nccl-tree-simple',
    kind: 'reference',
    kernels: [K.ncclTree],
    architectures: NVIDIA_ANY,
    versionWindow: null,
    reference: 'unfused',
    ranks: 4,
    models: 'NCCL tree all-reduce in bf16 on one node (NCCL_ALGO=Tree, NCCL_PROTO=Simple): each channel reduces up its chain, then the unfused add and norm.',
    contract: {
      ...UNFUSED_CONTRACT,
      allReduce: {
        order: { kind: 'nccl-tree', protocol: 'simple', channels: 4, chains: Array.from({ length: 4 }, () => [3, 2, 1, 0]) },
        accumulate: 'bf16',
        roundResult: 'bf16',
      },
    },
    evidence: {
      ...UNFUSED_EVIDENCE,
      'allReduce.order': evidenceWithNote(
        `every element of a channel's part is summed from the chain's leaf up to its root, whatever the chunk; ${NCCL_RECORDED}`,
        ncclRing(236, 'Tree Simple runs runTreeSplit (runTreeUpDown only for CUDA 11.2-11.3 on sm80+: the same order)', 245),
        ncclRing(190, 'a leaf (down -1) sends its own data', 195),
        ncclRing(196, 'a middle rank receives from below, adds its own, sends up', 201),
        ncclRing(166, 'the root receives, adds its own, stores and sends down', 174),
        ncclRing(203, 'the broadcast copies down unchanged', 224),
        ...NCCL_PARTS,
        ncclSource('src/graph/connect.cc', 61, 'within a node a channel tree is the chain of treeIntra: up = the previous rank, down[0] = the next', 62),
        ncclSource('src/init.cc', 1487, 'each rank prints "Trees [c] down0/down1/down2->rank->up"', 1497),
      ),
      ...NCCL_BF16_HOPS,
    },
    limitations: [
      NCCL_RECORDED,
      'one node only: across nodes the trees are double binary trees whose nodes receive from up to 3 children (all_reduce.h:176-202); not modelled',
      'one all-reduce alone in its kernel plan; no tuner plugin, no CollNet/NVLS',
    ],
  };
  return [ring('simple'), ring('ll'), ring('ll128'), tree];
}

export const PRESET_DEFINITIONS: readonly PresetDefinition[] = [
  {
    name: 'unfused',
    family: 'unfused',
    kind: 'reference',
    kernels: [],
    architectures: [...ARCHITECTURES],
    versionWindow: null,
    reference: null,
    models:
      'Reference, not a kernel: natural-order f32 all-reduce rounded once, bf16 residual add, sequential sum of squares, correctly rounded rstd, one ' +
      'rounding of (x*rstd)*w.',
    contract: UNFUSED_CONTRACT,
    evidence: { ...UNFUSED_EVIDENCE, quant: DEFINITION('no quant') },
    limitations: ['no GPU kernel sums sequentially or rounds rstd correctly'],
  },
  unfusedQuant('gfx942'),
  unfusedQuant('gfx950'),
  {
    name: 'nccl-ring',
    family: 'nccl-ring',
    kind: 'reference',
    kernels: [K.ncclRing],
    architectures: NVIDIA_ANY,
    versionWindow: null,
    reference: 'unfused',
    models: 'NCCL ring all-reduce in bf16 (one channel, one loop: NCCL_ALGO=Ring, NCCL_PROTO=Simple, 1 channel), then the unfused reference add and norm.',
    contract: { ...UNFUSED_CONTRACT, allReduce: { order: { kind: 'ring', chunkAlignElems: 8 }, accumulate: 'bf16', roundResult: 'bf16' } },
    evidence: {
      ...UNFUSED_EVIDENCE,
      'allReduce.negativeZeroInputs': evidenceWithNote('the ring reduces the inputs as they are', ncclRing(42, 'reduce steps', 81)),
      'allReduce.order': evidenceWithNote(
        'chunk c is summed from ring position c+1 around to c; chunkCount = alignUp(divUp(count, nranks), 16/sizeof(T)) in the last loop',
        ncclRing(42, 'step 0 sends chunk ringIx-1; reduce steps; chunk ringIx finished', 81),
        ncclRing(34, 'loop over loopCount = nranks * chunkCount; last loop realigned', 38),
      ),
      'allReduce.accumulate': evidence(ncclReduce(451, 'FuncSum<__nv_bfloat16> = __hadd/__hadd2', 461)),
      'allReduce.roundResult': evidence(ncclReduce(451, 'every hop is a bf16 value', 461)),
      'bf16Rounding.allReduceHop': evidence(ncclReduce(451, '__hadd: round to nearest even', 461)),
      'bf16Rounding.allReduceResult': evidence(ncclReduce(451, 'the last hop is the result', 461)),
      quant: DEFINITION('no quant'),
    },
    limitations: [
      'NCCL splits the buffer over channels (512-B cells) with a ring per channel: only one channel and one loop are modelled',
      'Tree and NVLS reduce in other orders (a finding, not modelled)',
    ],
  },
  ...aiterFamilies(),
  aiterAddRmsnormQuant('gfx942'),
  aiterAddRmsnormQuant('gfx950'),
  aiterTritonRmsQuant('gfx942'),
  aiterTritonRmsQuant('gfx950'),
  ...sglangPresets(),
  ...flashinferPresets(),
  ...vllmPresets(),
  ...torchPresets(),
  ...vllmRocmFusion(),
  ...ncclChannelPresets(),
];

export interface Preset extends Omit<PresetDefinition, 'contract'> {
  readonly contract: Contract;
}

const PRESETS: ReadonlyMap<string, Preset> = new Map(PRESET_DEFINITIONS.map((d) => [d.name, { ...d, contract: parseContract(d.contract) }]));

/** A family name resolves to its preset on the first architecture of DEFAULT_ARCHITECTURE_ORDER it has. */
const FAMILY_DEFAULTS: ReadonlyMap<string, string> = new Map(
  [...new Set(PRESET_DEFINITIONS.map((d) => d.family))].flatMap((family) => {
    const members = PRESET_DEFINITIONS.filter((d) => d.family === family && d.name !== family);
    if (members.length === 0) return [];
    const order = (d: PresetDefinition) => Math.min(...d.architectures.map((a) => DEFAULT_ARCHITECTURE_ORDER.indexOf(a)));
    const chosen = [...members].sort((a, b) => order(a) - order(b))[0];
    return [[family, chosen.name] as const];
  }),
);

export function listPresets(): Preset[] {
  return [...PRESETS.values()];
}

/** A preset by name ('aiter-1stage@gfx942'), or a family name for its default architecture. */
export function getPreset(name: string): Preset {
  const preset = PRESETS.get(name) ?? PRESETS.get(FAMILY_DEFAULTS.get(name) ?? '');
  if (!preset) {
    throw new ContractError(`unknown preset '${name}'; known: ${[...PRESETS.keys()].join(', ')}`);
  }
  return preset;
}

/** 'ROCm/aiter@e4048607a535 csrc/include/custom_all_reduce.cuh allreduce_fusion_kernel_1stage', kernels joined by ' then '. */
export function describeKernels(preset: Pick<PresetDefinition, 'kind' | 'kernels'>): string {
  const kernels = preset.kernels.map((k) => `${k.repository}@${k.commit.slice(0, 12)} ${k.file} ${k.function}`).join(' then ');
  if (preset.kind === 'kernel') return kernels;
  return kernels === '' ? 'reference (models no single kernel)' : `reference chain around ${kernels}`;
}
