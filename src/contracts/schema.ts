import { z } from 'zod';
import { FP8_FORMATS } from '../numerics/fp8.js';
import { E8M0_ROUNDINGS } from '../numerics/e8m0.js';
import type { Bf16Rounding } from '../numerics/bf16.js';

// One contract describes every rounding a kernel performs between its inputs and its outputs:
// AR -> (+ residual) -> RMSNorm -> (optional FP8 quant, optional bf16 side output).
// Field names follow what a kernel engineer would call the choice. Every object is strict (an
// unknown or misspelt key is an error with its path) and every number a file can carry is
// bounded, so a contract read from a hostile fixture cannot hang the engines or exhaust memory.
// Rules that need the problem size (group divides hidden, ring permutation) live in
// checkContractForShape (validate.ts); rules between fields live in the superRefine below.

/** Bounds shared with the shape: a contract parameter never needs to exceed what a shape can. */
export const LIMITS = {
  ranks: 64,
  tokens: 1 << 20,
  hidden: 1 << 18,
  /** CUDA and HIP allow at most 1024 threads per block. */
  blockThreads: 1024,
  perThread: 1024,
  groupSize: 1 << 18,
  packElems: 1 << 20,
  smCount: 1024,
  tokenAlign: 1024,
} as const;

const int = (min: number, max: number) => z.number().int().min(min).max(max);
/** A finite positive f32-representable magnitude (eps, floors, clamps, divisors, static scales). */
const positiveF32 = z.number().positive().max(3.4028234663852886e38);

/** How an f32 value is rounded to bf16 at one downcast site (numerics/bf16.ts Bf16Rounding). */
export const BF16_ROUNDINGS = ['rne', 'truncate'] as const satisfies readonly Bf16Rounding[];
export const Bf16RoundingSchema = z.enum(BF16_ROUNDINGS);

/** NCCL's wire protocols (NCCL_PROTO), as NCCL_DEBUG=INFO's tuning line names them, lowercased. */
export const NCCL_PROTOCOLS = ['simple', 'll', 'll128'] as const;
/** At most this many channels (NVIDIA/nccl@5067397c src/include/device.h MAXCHANNELS). */
const NCCL_MAX_CHANNELS = 64;
const ncclRankList = z
  .array(int(0, LIMITS.ranks - 1))
  .min(1)
  .max(LIMITS.ranks);
const ncclPerChannel = z.array(ncclRankList).min(1).max(NCCL_MAX_CHANNELS);

/** NCCL all-reduce over channels as src/engines/layout/ncclChannels.ts computes it from
 *  NVIDIA/nccl@5067397c (enqueue.cc:655-738 splits the buffer over channels in cells;
 *  all_reduce.h:14-83 runs each channel's part on its own ring). What NCCL decides at run time is
 *  a parameter the runner records from NCCL_DEBUG=INFO (python/ulpwise/runner/nccl_allreduce.py). */
const NCCL_ORDERS = [
  /** NCCL_ALGO=Ring: in channel c, chunk j of each loop is summed rings[c][j+1], .., rings[c][j]. */
  z.strictObject({
    kind: z.literal('nccl-ring'),
    protocol: z.enum(NCCL_PROTOCOLS),
    /** The channels the planner divides the traffic over: min(task nMaxChannels, comm nChannels)
     *  (enqueue.cc:598-599); the tuner picks it at run time (enqueue.cc:2093-2096). */
    channels: int(1, NCCL_MAX_CHANNELS),
    /** rings[c]: channel c's ring as rank 0 prints it ("Channel 00/04 : 0 1 2 3", graph/rings.cc:48-49),
     *  so position i is ring index i (init.cc:802). */
    rings: ncclPerChannel,
    /** comm->buffSizes[protocol] in bytes (NCCL_BUFFSIZE, NCCL_LL_BUFFSIZE, NCCL_LL128_BUFFSIZE), or
     *  NCCL's default for the protocol (init.cc:810-813, 822-828). */
    buffSize: z.union([z.literal('default'), int(1 << 14, 1 << 26)]).default('default'),
  }),
  /** NCCL_ALGO=Tree on one node, where every channel's tree is a chain: chains[c] lists channel c's
   *  ranks from the leaf (tree down -1) to the root (tree up -1); every element of the channel's
   *  part is summed in that order (all_reduce.h:146-225). */
  z.strictObject({
    kind: z.literal('nccl-tree'),
    protocol: z.enum(NCCL_PROTOCOLS),
    channels: int(1, NCCL_MAX_CHANNELS),
    chains: ncclPerChannel,
  }),
] as const;

export const RankOrderSchema = z.discriminatedUnion('kind', [
  /** Every rank sums ranks 0..N-1 left to right (aiter fused kernels, vLLM packed_reduce). */
  z.strictObject({ kind: z.literal('natural') }),
  /** Partition owned by rank r is summed r, r+1, ..., r-1 (aiter/vLLM cross_device_reduce_2stage).
   *  The flattened tensor is cut into `packElems`-element packs; each rank owns floor(packs/N)
   *  of them and the last rank takes the remainder. */
  z.strictObject({ kind: z.literal('rotated'), packElems: int(1, LIMITS.packElems).default(8) }),
  /** Each rank sums its own buffer first, then r+1, ..., r-1: ranks diverge (PyTorch 129501). */
  z.strictObject({ kind: z.literal('own-first') }),
  /** NCCL ring: chunk c is summed x[ring(c+1)] + ... + x[ring(c)], then forwarded unchanged.
   *  The flattened tensor is cut into N contiguous chunks of ceil(total/N) elements rounded
   *  up to `chunkAlignElems`; `ring` is the rank at each ring position (identity if absent). */
  z.strictObject({
    kind: z.literal('ring'),
    ring: z
      .array(int(0, LIMITS.ranks - 1))
      .max(LIMITS.ranks)
      .optional(),
    chunkAlignElems: int(1, LIMITS.packElems).default(8),
  }),
  ...NCCL_ORDERS,
]);

export const AllReduceSchema = z.strictObject({
  order: RankOrderSchema,
  /** f32: adds in f32, no rounding between hops. bf16: every add is rounded to bf16 (NCCL per-hop,
   *  TRT-LLM without Fp32Acc), with bf16Rounding.allReduceHop. */
  accumulate: z.enum(['f32', 'bf16']),
  /** bf16: the AR sum goes through bf16 and back before anything reads it (aiter PR 2586), with
   *  bf16Rounding.allReduceResult. */
  roundResult: z.enum(['none', 'bf16']),
  /** 'positive': every rank's input element that is -0 (bf16 0x8000) is read as +0 before the
   *  all-reduce, as FlashInfer's one-shot Lamport kernel does (-0 is its "not yet written"
   *  sentinel: flashinfer-ai/flashinfer@fb28d724 include/flashinfer/comm/trtllm_allreduce_fusion.cuh
   *  :1524 remove_neg_zero on allreduce_in, :1426-1431). It shows where every rank holds -0. */
  negativeZeroInputs: z.enum(['keep', 'positive']).default('keep'),
});

/** The rounding of every f32 -> bf16 downcast site, each on its own: aiter's 2-stage kernel on
 *  gfx942 truncates the AR downcast (opus fp32_to_bf16 default) but rounds its `__bf16` residual
 *  add to nearest even. */
export const Bf16RoundingSitesSchema = z.strictObject({
  /** Each hop of a bf16 accumulation (allReduce.accumulate 'bf16'). */
  allReduceHop: Bf16RoundingSchema,
  /** The AR round trip (allReduce.roundResult 'bf16'). */
  allReduceResult: Bf16RoundingSchema,
  /** A residual add done in bf16 (residual.add 'bf16'). */
  residualAdd: Bf16RoundingSchema,
  /** The x written as out.residual, and what norm.input 'bf16' reads. */
  residualOut: Bf16RoundingSchema,
  /** The first product rounded to bf16 before the second multiply (norm.roundIntermediate). */
  normIntermediate: Bf16RoundingSchema,
  /** out.norm, which is also the bf16 side output of a quant contract and what quant.input
   *  'bf16' reads. */
  normOut: Bf16RoundingSchema,
});

export const ResidualSchema = z.strictObject({
  /** f32: x = fround(ar + res) stays f32 (aiter 1-stage). bf16: x = bf16(ar + res). */
  add: z.enum(['f32', 'bf16']),
});

/** How one thread accumulates the squares of the elements it owns, in element order.
 *  chain: acc = fround(acc + fround(v*v)); fma-chain: acc = fma(v, v, acc), what nvcc makes of
 *  `acc += v * v` (CUDA 13.0, -arch=sm_90, default --fmad=true: one fma.rn.f32 per element);
 *  pair: vLLM's vectorised sum_squares over element pairs (x0, x1) (vllm csrc/type_convert.cuh
 *  `result += z.x * z.x + z.y * z.y`), acc = fround(acc + fround(fround(x0*x0) + fround(x1*x1)));
 *  pair-fma: that line as nvcc sm_90 contracts it: mul.f32 x1*x1, fma.rn.f32 x0*x0 + that,
 *  add.f32 to acc, i.e. acc = fround(acc + fma(x0, x0, fround(x1*x1))) (the first square is the
 *  fused one). A tree or pack that sums runs of elements (vLLM's vectors, aiter's packs) starts
 *  each run from 0 and adds it to the thread's sum (ReductionPlan.nestedRuns). */
export const PER_THREAD_PATTERNS = ['chain', 'fma-chain', 'pair', 'pair-fma'] as const;

export const SumOfSquaresTreeSchema = z.discriminatedUnion('kind', [
  /** acc = acc + x[h]*x[h] for h = 0..H-1 (the definitional reference). */
  z.strictObject({ kind: z.literal('sequential') }),
  /** aiter / TRT-LLM fused epilogue: thread t holds elements [perThread*t, perThread*(t+1)),
   *  threads padded with zeros to a multiple of warpSize, XOR butterfly within each warp
   *  (strides warpSize/2 .. 1), lane 0 of each warp to shared memory, then an XOR butterfly over
   *  next_pow2(warps) lanes. */
  z.strictObject({
    kind: z.literal('butterfly'),
    perThread: int(1, LIMITS.perThread).default(8),
    warpSize: z.union([z.literal(32), z.literal(64)]).default(32),
    /** 'pad': the last, partial warp is padded with zero threads. 'drop': the block is launched
     *  with exactly H/perThread threads and only floor(threads/warpSize) warp sums are read
     *  (aiter ar_fusion_epilogue_block_reduce, ROCm/aiter@e4048607 csrc/include/custom_all_reduce.cuh
     *  :1606 num_warps = block_size / WARP_SIZE, :1617 w_tid < num_warps; the 2-stage and split
     *  launchers pass block_size = H/8, :2866-2871, :2910, :3139-3143): the squares of the partial
     *  warp's threads are left out of the sum (all of them when H/perThread < warpSize). */
    tailWarp: z.enum(['pad', 'drop']).default('pad'),
  }),
  /** vLLM rms_norm / fused_add_rms_norm with cub BlockReduce (WARP_REDUCTIONS): thread t strides
   *  over vectors v = t, t+B, ... of `vectorWidth` contiguous elements (1: the scalar path);
   *  each warp reduces by shuffle-down (offsets 1, 2, 4, ..), then thread 0 adds the warp
   *  aggregates 1..W-1 in order. blockSize 'vllm' = min(H, tokens < 256 ? 1024 : 256). */
  z.strictObject({
    kind: z.literal('cub'),
    blockSize: z.union([int(1, LIMITS.blockThreads), z.literal('vllm')]).default('vllm'),
    warpSize: z.union([z.literal(32), z.literal(64)]).default(32),
    vectorWidth: z.union([z.literal(1), z.literal(2), z.literal(4), z.literal(8)]).default(1),
  }),
  /** aiter add_rmsnorm_quant (ROCm/aiter@e4048607 csrc/kernels/rmsnorm_quant_kernels.cu:18-149):
   *  thread t holds `perThread` elements, a flat `square_sum += x*x` (:142-146); block_reduce
   *  (csrc/include/hip_reduce.h:256-318 wave_reduce, :394-443 block_reduce): within each wave of 64
   *  the DPP steps xor 1, xor 2, row_half_mirror, row_mirror, row_bcast:15, row_bcast:31 leave lane
   *  63 with the balanced adjacent pairwise tree; lane 63 of each wave goes to shared memory and
   *  the same steps over the (power-of-two) wave count finish the same tree. `layout` 'contiguous':
   *  elements [t*perThread, (t+1)*perThread); 'interleaved' (the kernel's interleave template,
   *  used for per-token or no quant, rq.cu:74 with aiter_opus_plus.h:690-714): chunks of c = 8
   *  elements (4 when 2*perThread is not a multiple of 16) at (t%64)*c + (t/64)*64*perThread +
   *  i*64*c, contiguous again when perThread <= c. Elements past H load as 0. */
  z.strictObject({
    kind: z.literal('dpp-wave64'),
    blockSize: int(64, LIMITS.blockThreads),
    perThread: int(1, LIMITS.perThread),
    layout: z.enum(['contiguous', 'interleaved']).default('contiguous'),
  }),
  /** aiter local_device_load_rmsnorm (ROCm/aiter@e4048607 csrc/include/custom_all_reduce.cuh:1443-1497):
   *  thread t holds packs t, t+blockSize, ... of `perThread` elements; each pack's squares are
   *  summed from its first by packReduce (:998-1008) and added to the thread's sum; then
   *  smemReduceSum (:1342-1370): s[t] += s[t+stride] for stride blockSize/2 .. 64 with barriers,
   *  then +32, +16, ..., +1 on one wave: the halving tree, result in s[0]. */
  z.strictObject({
    kind: z.literal('smem-halving'),
    blockSize: int(64, LIMITS.blockThreads),
    perThread: int(1, LIMITS.perThread),
  }),
  /** Triton tl.sum over a BLOCK-wide row (masked elements past H are 0) in a 1-D blocked layout
   *  of `sizePerThread` contiguous elements per thread, warpSize lanes, numWarps warps (what the
   *  compiled TTGIR says: #blocked<{sizePerThread=[s], threadsPerWarp=[32|64], warpsPerCTA=[w]}>);
   *  thread t holds elements r*tile + t*s + k (tile = s*warpSize*numWarps) in register order.
   *  ReduceOpToLLVM (triton-lang/triton lib/Conversion/TritonGPUToLLVM/ReduceOpToLLVM.cpp):
   *  within a thread `threadReduce` 'tree' (Triton 2026 main: treeReduce with arity 2 for add,
   *  adjacent pairs level by level, an odd one carried) or 'chain' (@9c3434b3: reduceWithinThreads
   *  accumulates registers in order); within a warp, 32 lanes: shuffle-xor butterfly 16..1
   *  (warpReduce); 64 lanes: the AMD DPP reduction of gfx90a+ (triton-lang/triton@00a287a7
   *  third_party/amd/lib/TritonAMDGPUToLLVM/TargetInfo.cpp TargetInfo::warpReduce: row_shr 8, 4,
   *  2, 1, row_bcast:15 rows 1 and 3, row_bcast:31, lane 63); lane 0 of each warp to shared
   *  memory, then a shuffle-xor butterfly over the numWarps partials. Not modelled: sm_100's
   *  packed f32x2 in-thread adds. */
  z.strictObject({
    kind: z.literal('triton-sum'),
    block: int(1, LIMITS.hidden),
    numWarps: z.union([z.literal(1), z.literal(2), z.literal(4), z.literal(8), z.literal(16), z.literal(32)]),
    warpSize: z.union([z.literal(32), z.literal(64)]),
    sizePerThread: int(1, LIMITS.perThread).default(1),
    threadReduce: z.enum(['tree', 'chain']).default('tree'),
  }),
  /** FlashInfer / TensorRT-LLM allreduce_fusion on SM90+ (flashinfer-ai/flashinfer@fb28d724
   *  include/flashinfer/comm/trtllm_allreduce_fusion.cuh): each token is split over a cluster of
   *  blocks; block b's thread t holds elements [(b*tpb+t)*perThread, +perThread) (IndexHelper
   *  :1468-1492), `acc += v*v` (:1277-1283); each block reduces with blockReduceSumV2 (:424-459:
   *  xor butterfly 16..1 per warp, lane 0 to shared memory, butterfly over the warp partials),
   *  then thread 0 adds the block partials from 0 in block order (:1284-1300). The launcher
   *  (:1683-1810) picks the geometry from H/perThread, min(8, maxClusterSize), the cluster count
   *  (tokens for 'oneshot', ceil(tokens/ranks) for 'twoshot'), `smCount` and the largest block the
   *  compiled kernel's registers allow (`maxThreadsPerBlock`); a numeric quant group size also
   *  keeps whole groups in each block (:1797-1804). */
  z.strictObject({
    kind: z.literal('cluster'),
    smCount: int(1, LIMITS.smCount),
    perThread: int(1, LIMITS.perThread).default(8),
    maxClusterSize: int(1, 16).default(8),
    launch: z.enum(['oneshot', 'twoshot']).default('oneshot'),
    maxThreadsPerBlock: int(32, LIMITS.blockThreads).default(LIMITS.blockThreads),
  }),
  /** torch eager's last-dim f32 reduction (`x.pow(2).mean(-1)` on CUDA: ATen Reduce.cuh, lines of
   *  bvillasen/pytorch@1718974f aten/src/ATen/native/cuda/Reduce.cuh, a fork of pytorch with the torch 2.11-era file,
   *  counted from the stored text; conformance/SPECS.md T1). The block comes from setReduceConfig (L1033-1223) as a
   *  function of tokens M and hidden H: "vectorize along input" (H >= 128, one reduced dim: dim0 = H/4, L1100-1106),
   *  set_block_dimension with 512 threads (L101-110: bw = min(pow2(H/4), 32); bh = min(pow2(M), 512/bw); bw =
   *  min(pow2(H/4), 512/bh)). input_vectorized_thread_reduce_impl (L502-561): thread t (0..bw-1) reads vectors t, t+bw,
   *  .. (L536-543); element 4v+i goes to accumulator i, a chain from 0 (ops.reduce is acc + x), then
   *  ((a0 + a1) + a2) + a3 (L555-560). block_x_reduce (L637-674): while bw > 32, shared memory
   *  v[t] += v[t+off] for off = bw/2 .. 32 (L641-656); then the warp's shfl_down (L658-672): offsets 16, 8, .., 1
   *  on CUDA ('decreasing': pytorch/pytorch PR 164790, 2025-10, what torch 2.11 runs; the H200 tree probes agree),
   *  1, 2, .., 16 before that change and where USE_ROCM or FBCODE_CAFFE2 is defined ('increasing': here with CUDA's
   *  geometry, i.e. fbcode builds and torch releases before the change, or after PR 181819's backout if it landed;
   *  ROCm's wave64 and its own setReduceConfig branches are not modelled). Lane 0 holds the row's sum. Where values
   *  per thread reach min(bh*16, 256) (L1133-1153) the row is split over the warps too (thread (x, y) starts at
   *  vector x + y*bw, stride bw*bh) and block_y_reduce (L677-693) halves over y. This tree adds the warps before the
   *  lanes for such a row; torch 2.11's run() does block_x_reduce first (L419-424), so split rows are not its bits
   *  (reported, issue 15; the captured shapes never split). Modelled: CUDA's 32-lane warps,
   *  rows 16-byte aligned (H % 4 == 0, H > 128); a config that may split a row over CTAs (still
   *  >= 256 values per thread, a rule that reads the SM count, L1175-1221) is refused
   *  (layout/blockSize.ts torchReduceConfig). */
  z.strictObject({
    kind: z.literal('torch-reduce'),
    warpShuffle: z.enum(['decreasing', 'increasing']).default('decreasing'),
  }),
  /** torch eager `F.rms_norm` on CUDA: vectorized_layer_norm_kernel<T, float, rms_norm=true>
   *  (paolodedios/pytorch@ac2ce525 aten/src/ATen/native/cuda/layer_norm_kernel.cu, a fork of pytorch: the index holds no
   *  pytorch/pytorch copy with the rms_norm path; lines counted from the stored text; the torch 2.11.0 captures
   *  reproduce it, SPECS.md T2). _fused_rms_norm_cuda (L1836) -> RmsNormKernelImpl (L1148-1168) ->
   *  LayerNormKernelImplInternal<T, float, true>: block (32, 4) (launch_vectorized_layer_norm_kernel L1033:
   *  threads(warp_size, num_threads()/warp_size), num_threads() = C10_WARP_SIZE*4 on CUDA, pytorch/pytorch@05da067b
   *  thread_constants.h:18-20), vec_size 4 (L41). compute_stats (L185-244): thread thrx = tx + 32*ty reads vectors
   *  thrx, thrx+128, .. (L195-205); each element `sigma2 + val*val` in order (L149; nvcc contracts it: perThread
   *  'fma-chain'); warp shfl_down 16, 8, .., 1, own + other (L207-210, L180); warps: the upper half written to shared
   *  memory and added onto the lower half, offset = 2, 1 (L213-233); sigma2 / float(N) (L236). Needs H % 4 == 0:
   *  LayerNormKernelImplInternal takes this kernel for N % 4 == 0, N <= 2^24 and tensors aligned to 4 elements (8 bytes for bf16)
   *  (L1103-1113), else RowwiseMomentsCUDAKernel (not modelled). */
  z.strictObject({ kind: z.literal('torch-rms-norm') }),
  /** An Inductor-generated Triton reduction of x*x over the row (Triton 3.6.0 on sm_90, PTX read in
   *  conformance/dumps, SPECS.md T3). `rBlock` is the autotune pick R0_BLOCK (a contract parameter:
   *  the autotuner chooses at run time; XBLOCK does not change a row's tree), with
   *  `sizePerThread` and `numWarps` along the row from the TTGIR #blocked layout: register
   *  r*s + k of lane l of warp w holds element r*tile + (32w + l)*s + k, tile = 32*s*numWarps.
   *  rBlock < H (looped): one accumulator per register across iterations of R0_BLOCK elements,
   *  `acc = where(mask, acc + x*x, acc)` (an fma under 'fma-chain': the add is before the select),
   *  then tl.sum adds the registers in order (((acc0 + acc1) + acc2) + ..). rBlock >= H (one pass):
   *  tl.sum adds the squares in register order from r0 + r1, and LLVM contracts each add whose
   *  operand is a bare product: `a = fma(x0, x0, RN(x1*x1))`, `a = fma(xk, xk, a)` over rep 0 and
   *  every later rep wholly inside the row (their selects share one predicate and are hoisted past
   *  the adds: PTX `selp` after the rep-0 fma chain; a group of one register stays a select); a later rep that crosses H keeps
   *  `where(mask, x*x, 0)` before each add, which blocks the contraction: it adds `RN(x*x)` (+0
   *  past H). Needs sizePerThread | H for one pass. Under perThread 'chain' nothing is contracted. Then the
   *  lanes' shuffle-xor butterfly 16..1 and the warps' butterfly through shared memory
   *  (ReduceOpToLLVM, as 'triton-sum'). rBlock is a multiple of the tile (validate.ts). */
  z.strictObject({
    kind: z.literal('inductor-sum'),
    rBlock: int(32, LIMITS.hidden),
    sizePerThread: int(1, LIMITS.perThread),
    numWarps: z.union([z.literal(1), z.literal(2), z.literal(4), z.literal(8), z.literal(16), z.literal(32)]),
  }),
]);

export const SumOfSquaresSchema = z.strictObject({
  perThread: z.enum(PER_THREAD_PATTERNS),
  tree: SumOfSquaresTreeSchema,
});

/** Hardware approximate operations, one slot each. 'ieee': correctly rounded. 'inferred': an
 *  approximate instruction whose table is not known here; the golden holds the ieee value and
 *  diff/explain infer a per-row (rsqrt) or per-group (reciprocal, divide) deviation, reported
 *  apart from true mismatches. 'sm90': the measured sm_90 instruction, reproduced exactly. */
export const HardwareOpsSchema = z.strictObject({
  /** rstd: ieee = fround(1 / fround(sqrt(v))); otherwise rsqrt.approx.f32 / v_rsq_f32. */
  rsqrt: z.enum(['ieee', 'inferred', 'sm90']),
  /** Every 1/x the kernel forms (quant 1/scale and 1/max, variance 1/H): rcp.approx / v_rcp_f32. */
  reciprocal: z.enum(['ieee', 'inferred', 'sm90']),
  /** Every a/b the kernel forms (variance sumsq/H, scale amax/max, q = x/scale): Triton's `/` on
   *  NVIDIA is div.full.f32. */
  divide: z.enum(['ieee', 'inferred', 'sm90-div-full']),
});

export const WeightSchema = z.strictObject({
  dtype: z.enum(['bf16', 'f32']),
  /** vLLM PR 42864: an f32 weight cast to the activation dtype (bf16, RNE) before the fused op. */
  castToBf16: z.boolean(),
  /** Gemma's (1 + w): none; f32 = fround(1 + w); bf16 = bf16(1 + w) (a bf16 weight tensor +1). */
  offset: z.enum(['none', 'f32', 'bf16']),
});

export const RmsNormSchema = z.strictObject({
  /** What the norm reads: the f32 x, or x rounded to bf16 (the residual output).
   *  'f32-squares-bf16-normalize': the sum of squares reads the f32 x and the weight multiply
   *  re-reads the stored bf16 out.residual (compiled HF LlamaRMSNorm: Inductor keeps the bf16
   *  residual add in f32 for the reduction, then its second loop loads the bf16 sum it stored;
   *  conformance/SPECS.md). The reverse (squares of the rounded x, the f32 x normalized) is not
   *  a value: no kernel keeps an f32 value it did not square. */
  input: z.enum(['f32', 'bf16', 'f32-squares-bf16-normalize']),
  sumOfSquares: SumOfSquaresSchema,
  /** The rsqrt operand. divide: fround(fround(sumsq / H) + eps); reciprocal-multiply:
   *  fround(fround(sumsq * fround(1 / H)) + eps) (torch's eager mean: sum * factor);
   *  reciprocal-fma: fma(sumsq, fround(1 / H), eps), one rounding (Inductor's `mean + eps`:
   *  ptxas folds Triton's div.full by the constant H into a multiply by RN(1/H) and contracts
   *  the add, SASS `FFMA R3, R3, R28, 9.99e-07` with R28 = RN(1/7168); conformance/SPECS.md
   *  "fold"). 1/H is the reciprocal slot, sumsq / H the divide slot. */
  variance: z.enum(['divide', 'reciprocal-multiply', 'reciprocal-fma']),
  /** rstd from variance + eps, added as norm.epsAdd says (f32: eps is fround(eps)). */
  eps: positiveF32.max(1),
  weight: WeightSchema,
  /** 'x-rstd-w': (x*rstd)*w; 'x-w-rstd': (x*w)*rstd (aiter local_device_load_rmsnorm). */
  multiplyOrder: z.enum(['x-rstd-w', 'x-w-rstd']),
  /** Round the first product to bf16 before the second multiply (HF/vLLM native:
   *  (x*rstd).to(bf16) * w). */
  roundIntermediate: z.boolean(),
  /** 'f32': fround(variance + fround(eps)). 'f64': eps is a double and the add is done in f64:
   *  fround(fround64(variance + eps)), eps the contract's number as a double, rounded to f64 and
   *  then to f32 (aiter add_rmsnorm_quant: `double epsilon`, `rsqrtf(rcp[0] / n + epsilon)`,
   *  ROCm/aiter@e4048607 csrc/kernels/rmsnorm_quant_kernels.cu:26, :150; clang emits
   *  v_cvt_f64_f32, v_add_f64, v_cvt_f32_f64). f32 subnormals flush at the f32 ends only. */
  epsAdd: z.enum(['f32', 'f64']).default('f32'),
});

/** quant.groupSize 'token': one group per token row (per-token quant, group = H). */
export const QuantSchema = z.strictObject({
  groupSize: z.union([int(1, LIMITS.groupSize), z.literal('token')]),
  format: z.enum(FP8_FORMATS),
  /** f32: the normed f32 value (aiter fused, SGLang fused); bf16: the bf16-rounded norm output. */
  input: z.enum(['f32', 'bf16']),
  /** null: dynamic scales from each group's amax. A number: a static per-tensor scale. */
  staticScale: positiveF32.nullable(),
  /** scale = amax / divisor: the format's max, or another number (vLLM's and SGLang's Triton
   *  group quant on ROCm divide by 224 even for e4m3fn). */
  divisor: z.union([z.literal('format-max'), positiveF32]),
  /** amax = max(amax, value) before the scale (vLLM CUDA per_token_group_quant, Triton, aiter
   *  standalone: amax starts at 1e-10); null: none. */
  amaxFloor: positiveF32.nullable(),
  /** scale = max(scale, value), before or after the UE8M0 rounding (vLLM native: after;
   *  FlashInfer: before); null: none. */
  scaleFloor: z.strictObject({ value: positiveF32, stage: z.enum(['before-ue8m0', 'after-ue8m0']) }).nullable(),
  /** aiter fused: scale = amax == 0 ? 1 : ... */
  zeroAmaxScaleOne: z.boolean(),
  /** divide: scale = amax / divisor; reciprocal: scale = amax * (1 / divisor). */
  scale: z.enum(['divide', 'reciprocal']),
  /** Round the scale to a power of two (UE8M0). */
  ue8m0: z.union([z.literal('none'), z.enum(E8M0_ROUNDINGS)]),
  /** divide: q = x / scale; reciprocal: q = x * (1 / scale). */
  quantize: z.enum(['divide', 'reciprocal']),
  /** Clamp the scaled value to [-bound, bound] before conversion (vLLM fnuz uses 224). */
  clamp: z.union([z.literal('none'), positiveF32]),
  saturation: z.enum(['satfinite', 'overflow']),
  /** row-major: f32 scales [M, G]; column-major: f32 [G, Mp] with Mp = M rounded up to
   *  tokenAlign (DeepGEMM's TMA alignment); packed-ue8m0: the UE8M0 exponent bytes of 4
   *  consecutive groups packed little-endian into one int32, [ceil(G/4), Mp] column-major
   *  (DeepGEMM / FlashInfer packed scales). */
  scaleLayout: z.discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('row-major') }),
    z.strictObject({ kind: z.literal('column-major'), tokenAlign: int(1, LIMITS.tokenAlign).default(1) }),
    z.strictObject({ kind: z.literal('packed-ue8m0'), tokenAlign: int(1, LIMITS.tokenAlign).default(4) }),
  ]),
  /** Also emit the bf16 values that were quantized (aiter emit_bf16, SGLang keep_bf16). */
  bf16SideOutput: z.boolean(),
});

const ContractObjectSchema = z.strictObject({
  allReduce: AllReduceSchema,
  /** The rounding at each f32 -> bf16 downcast site. */
  bf16Rounding: Bf16RoundingSitesSchema,
  /** keep: IEEE f32 subnormals. flush: every f32 add, multiply, fma, divide and sqrt reads a
   *  subnormal operand as a zero of its sign and flushes a subnormal result to a signed zero
   *  (aiter builds every HIP module with -fgpu-flush-denormals-to-zero). */
  f32Subnormals: z.enum(['keep', 'flush']),
  hardwareOps: HardwareOpsSchema,
  /** null: no residual input (vLLM PR 42864 no-residual pattern). */
  residual: ResidualSchema.nullable(),
  norm: RmsNormSchema,
  quant: QuantSchema.nullable(),
});

/** Rules between fields, each reported with the path of the field to change. */
export const ContractSchema = ContractObjectSchema.superRefine((c, ctx) => {
  const problem = (path: PropertyKey[], message: string): void => {
    ctx.addIssue({ code: 'custom', path, message });
  };
  if (c.residual?.add === 'bf16' && c.norm.input !== 'bf16') {
    problem(['norm', 'input'], `'${c.norm.input}' reads the unrounded sum, but residual.add 'bf16' leaves none; use 'bf16'`);
  }
  if (c.residual === null && c.norm.input === 'f32-squares-bf16-normalize') {
    problem(['norm', 'input'], "'f32-squares-bf16-normalize' re-reads the stored out.residual, which a contract without a residual does not write");
  }
  if (c.norm.variance === 'reciprocal-fma' && c.norm.epsAdd === 'f64') {
    problem(['norm', 'epsAdd'], "'reciprocal-fma' adds eps inside the f32 fma; an f64 eps add has no such form");
  }
  if (c.norm.weight.dtype === 'bf16' && c.norm.weight.castToBf16) {
    problem(['norm', 'weight', 'castToBf16'], "the weight is already bf16; the cast applies to dtype 'f32' only");
  }
  if (c.allReduce.accumulate === 'bf16' && c.allReduce.roundResult === 'none') {
    problem(['allReduce', 'roundResult'], "bf16 accumulation already yields a bf16 sum; use 'bf16'");
  }
  const q = c.quant;
  if (q === null) return;
  if (q.staticScale !== null && (q.amaxFloor !== null || q.scaleFloor !== null || q.zeroAmaxScaleOne || q.ue8m0 !== 'none')) {
    problem(['quant', 'staticScale'], 'a static scale takes no amax floor, scale floor, zero-amax rule or UE8M0 rounding');
  }
  if (q.scaleLayout.kind === 'packed-ue8m0' && q.ue8m0 === 'none') {
    problem(['quant', 'scaleLayout'], "packed-ue8m0 scales need quant.ue8m0 'ceil', 'floor' or 'rne'");
  }
  if (q.scaleFloor?.stage === 'after-ue8m0' && q.ue8m0 === 'none') {
    problem(['quant', 'scaleFloor', 'stage'], "'after-ue8m0' needs quant.ue8m0; use 'before-ue8m0'");
  }
});

export type Bf16RoundingSites = z.infer<typeof Bf16RoundingSitesSchema>;
export type RankOrder = z.infer<typeof RankOrderSchema>;
export type SumOfSquaresTree = z.infer<typeof SumOfSquaresTreeSchema>;
export type SumOfSquares = z.infer<typeof SumOfSquaresSchema>;
export type PerThreadPattern = (typeof PER_THREAD_PATTERNS)[number];
export type HardwareOps = z.infer<typeof HardwareOpsSchema>;
export type QuantContract = z.infer<typeof QuantSchema>;
export type ScaleLayout = QuantContract['scaleLayout'];
export type RmsNormContract = z.infer<typeof RmsNormSchema>;
export type Contract = z.infer<typeof ContractSchema>;
export type ContractInput = z.input<typeof ContractSchema>;

/** The problem a contract is applied to. */
export const ShapeSchema = z.strictObject({
  ranks: int(1, LIMITS.ranks),
  tokens: int(1, LIMITS.tokens),
  hidden: int(1, LIMITS.hidden),
});
export type Shape = z.infer<typeof ShapeSchema>;
