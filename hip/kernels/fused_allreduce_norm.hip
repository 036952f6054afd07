#include "fused_allreduce_norm.h"

#include "fast_paths.h"

namespace ulpwise {

namespace {

/** Which of the exact fast paths an instance takes (Fused1StageVariant): the all-reduce's and
 *  the residual's flushing adds as add.rn.ftz (FlushingAddFtz), the square root as sqrt.rn
 *  (correctlyRoundedSqrt), e4m3fn codes by cvt (fp8Codes). */
template <bool FtzAdd, bool HwSqrt, bool HwCvt, bool BulkPrefetch = false>
struct FastPaths {
  static constexpr bool ftzAdd = FtzAdd;
  static constexpr bool hwSqrt = HwSqrt;
  static constexpr bool hwCvt = HwCvt;
  /** The rows ahead prefetched into L2 by one bulk prefetch per rank (and the residual), not
   *  one prefetch per thread and 16 bytes (memory traffic only: no bits change). */
  static constexpr bool bulkPrefetch = BulkPrefetch;
};
using NoFastPaths = FastPaths<false, false, false>;

/** allReduce of each of a thread's eight elements, ranks in natural order 0..N-1 (aiter: the
 *  same order on every rank, custom_all_reduce.cuh:1996-2007). */
template <bool kFtzAdd>
__device__ inline void sumRanksNatural(const Bf16Pack (&packs)[kMaxRanks], int ranks, const Contract& c, float (&acc)[kPackElems]) {
  const auto value = [&packs, &c](int r, int k) { return rankInputToF32(packs[r].h[k], c); };
  if (kFtzAdd && c.flushSubnormals) {
    allReduceEach(ranks, c, value, FlushingAddFtz{}, acc);
  } else {
    allReduceEach(ranks, c, value, ContractAdd{c.flushSubnormals}, acc);
  }
}

/** Loads pack `element` of every rank, all loads in flight before the first add. */
__device__ inline void loadRankPacks(const uint16_t* const* inputs, int ranks, size_t element, Bf16Pack (&packs)[kMaxRanks]) {
#pragma unroll
  for (int r = 0; r < kMaxRanks; r++) {
    if (r < ranks) packs[r] = loadPack(inputs[r], element);
  }
}

/** Prefetches one thread's pack of a row from every rank's input and the residual. */
__device__ inline void prefetchRankPacks(const uint16_t* const* inputs, int ranks, const uint16_t* residual, size_t element) {
#pragma unroll
  for (int r = 0; r < kMaxRanks; r++) {
    if (r < ranks) prefetchL2(inputs[r] + element);
  }
  if (residual != nullptr) prefetchL2(residual + element);
}

/** Thread r < ranks prefetches rank r's `row` into L2 in one bulk prefetch, thread `ranks` the
 *  residual's. */
__device__ inline void bulkPrefetchRow(const uint16_t* const* inputs, int ranks, const uint16_t* residual, int row, int hidden) {
  const int t = static_cast<int>(threadIdx.x);
  const uint16_t* base = t < ranks ? inputs[t] : t == ranks ? residual : nullptr;
  if (base != nullptr) bulkPrefetchL2(base + static_cast<size_t>(row) * hidden, static_cast<uint32_t>(hidden) * sizeof(uint16_t));
}

/** Shared memory of one row's reductions; the fused kernels alternate two by row parity. */
struct RowShared {
  float warpSums[kLogicalWarpLanes];
  float warpMaxes[kLogicalWarpLanes];
};

/**
 * Residual add, RMSNorm and quant of row m from each thread's eight all-reduce results, the
 * shape of aiter's ar_fusion_epilogue / ar_fusion_epilogue_per_group (custom_all_reduce.cuh:
 * 1799-1941). Every thread of the block calls it (the reductions need them all); `active`
 * threads own a pack of the row, the others add zeros, as aiter's padded threads do (:2036).
 */
template <class Fast>
__device__ void fusedEpilogue(const Contract& c, const EpilogueIo& io, int m, bool active, const float (&acc)[kPackElems],
                              const Bf16Pack& residual, RowShared& shared) {
  const NormContract& norm = c.norm;
  const Bf16RoundingSites& rounding = c.bf16Rounding;
  const bool flush = c.flushSubnormals;
  const int h0 = static_cast<int>(threadIdx.x) * kPackElems;
  const size_t e0 = static_cast<size_t>(m) * io.hidden + h0;

  float x[kPackElems];
  ThreadSquares squares(norm.perThread, flush, kPackElems);  // one run: the thread's pack
  if (active) {
    Bf16Pack residualOut{};
#pragma unroll
    for (int k = 0; k < kPackElems; k++) {
      float v = acc[k];
      if (norm.hasResidual) {
        v = Fast::ftzAdd && flush ? residualAdd(v, bf16ToF32(residual.h[k]), c, FlushingAddFtz{}) : residualAdd(v, bf16ToF32(residual.h[k]), c);
        residualOut.h[k] = f32ToBf16(v, rounding.residualOut);
      }
      x[k] = normInput(v, c);
      squares.add(x[k]);
    }
    if (norm.hasResidual) storeOutputPack(io.outResidual, e0, residualOut);
  }

  // tailWarp 'drop': a partial last warp's squares count as +0, as if its sum were never read
  // (custom_all_reduce.cuh:1606, 1617); +0 lanes leave a butterfly's lane 0 unchanged.
  const int countedThreads = norm.butterflyDropsTailWarp ? io.hidden / kPackElems / kLogicalWarpLanes * kLogicalWarpLanes : io.hidden / kPackElems;
  const bool counted = active && static_cast<int>(threadIdx.x) < countedThreads;
  const float sumsq = butterflyBlockSum(counted ? squares.sum() : 0.0f, shared.warpSums, flush);
  const float rowRstd = rstdOf<Fast::hwSqrt>(sumsq, io.hidden, c);

  const QuantContract& q = c.quant;
  float normed[kPackElems] = {};
  Bf16Pack normBits{};
  if (active) {
    // The weights stay in L1 across rows: loading them after the reduction costs little.
    float w[kPackElems];
    loadWeights(io.weight, h0, c, w);
#pragma unroll
    for (int k = 0; k < kPackElems; k++) {
      normed[k] = normalize(x[k], rowRstd, w[k], c);
      normBits.h[k] = f32ToBf16(normed[k], rounding.normOut);
    }
    if (!q.enabled || q.bf16SideOutput) storeOutputPack(io.outNorm, e0, normBits);
  }
  if (!q.enabled) return;

  // A group of G elements is G/8 adjacent lanes of one logical warp (aiter's shfl_xor over
  // threads_per_group lanes, :1916-1920); a per-token group is the whole block (:1839).
  const bool perToken = q.groupSize == 0;
  const int groupSize = perToken ? io.hidden : q.groupSize;
  float values[kPackElems];
  float amax = 0.0f;
#pragma unroll
  for (int k = 0; k < kPackElems; k++) {
    values[k] = q.inputBf16 ? bf16ToF32(normBits.h[k]) : normed[k];
    if (active) amax = maxIgnoringNan(amax, fabsf(values[k]));
  }
  const int lanes = groupSize / kPackElems;
  amax = perToken ? blockMax(amax, shared.warpMaxes) : xorButterflyLanes(amax, lanes, F32Max{});
  const float scale = groupScale(amax, q, c.hardwareOps, flush);
  const float reciprocal = reciprocalSlot(scale, c.hardwareOps, flush);
  if (!active) return;
  float scaled[kPackElems];
#pragma unroll
  for (int k = 0; k < kPackElems; k++) scaled[k] = quantScaled(values[k], scale, reciprocal, q, c.hardwareOps, flush);
  uint8_t codes[kPackElems];
  fp8Codes<Fast::hwCvt>(scaled, q, codes);
  storeCodes(io.outQ, e0, codes);
  if (static_cast<int>(threadIdx.x) % lanes == 0) {
    const int groups = io.hidden / groupSize;
    const int g = h0 / groupSize;
    io.outScale[scaleIndex(q, m, g, io.tokens, groups)] = scale;
    // Column-major scales with a padded token stride: the padding rows are written as zeros,
    // each by the row it is congruent to.
    const int padded = (io.tokens + q.scaleTokenAlign - 1) / q.scaleTokenAlign * q.scaleTokenAlign;
    if (q.scaleLayout != ScaleLayout::rowMajor) {
      for (int pad = io.tokens + m; pad < padded; pad += io.tokens) io.outScale[static_cast<size_t>(g) * padded + pad] = 0.0f;
    }
  }
}

/** 1-stage: every rank reads every rank's row and computes the whole output itself. kPin fixes
 *  contract fields at compile time (applyContractPin); Fast: Fused1StageVariant. */
template <ContractPin kPin, class Fast>
__global__ void __launch_bounds__(kPin == ContractPin::none ? kMaxBlockThreads : kPinnedMaxThreads) allReduceFusion1Stage(FusedArgs a) {
  __shared__ RowShared rowShared[2];
  __shared__ uint32_t epochSlot;
  Contract contract = a.contract;
  applyContractPin(kPin, contract);
  BlockBarriers barriers(a.sync, &epochSlot);
  barriers.arrive();  // the peers' inputs are ready

  const int packs = a.io.hidden / kPackElems;
  const bool active = static_cast<int>(threadIdx.x) < packs;
  const uint16_t* residual = contract.norm.hasResidual ? a.io.residual : nullptr;
  int parity = 0;
  for (int m = blockIdx.x; m < a.io.tokens; m += gridDim.x, parity ^= 1) {
    float acc[kPackElems] = {};
    Bf16Pack residualPack{};
    if (Fast::bulkPrefetch) {
      for (int ahead = 1; ahead <= a.prefetchRows; ahead++) {
        const int next = m + ahead * static_cast<int>(gridDim.x);
        if (next < a.io.tokens) bulkPrefetchRow(a.inputs, a.sync.ranks, residual, next, a.io.hidden);
      }
    }
    if (active) {
      const size_t element = static_cast<size_t>(m) * a.io.hidden + threadIdx.x * kPackElems;
      Bf16Pack rankPacks[kMaxRanks];
      loadRankPacks(a.inputs, a.sync.ranks, element, rankPacks);
      if (residual != nullptr) residualPack = loadPack(residual, element);
      // While this row's loads are in flight, pull the block's next rows into L2: their memory
      // traffic then overlaps this row's reductions (one block of up to 1024 threads fills an SM).
      for (int ahead = 1; ahead <= (Fast::bulkPrefetch ? 0 : a.prefetchRows); ahead++) {
        if (m + ahead * static_cast<int>(gridDim.x) < a.io.tokens) {
          prefetchRankPacks(a.inputs, a.sync.ranks, residual, element + static_cast<size_t>(ahead) * gridDim.x * a.io.hidden);
        }
      }
      sumRanksNatural<Fast::ftzAdd>(rankPacks, a.sync.ranks, contract, acc);
    }
    fusedEpilogue<Fast>(contract, a.io, m, active, acc, residualPack, rowShared[parity]);
  }

  barriers.arrive();  // no rank moves on while a peer still reads its input
  barriers.finish();
}

/** First pack of rank s's column slice (floor partition of the row's packs). */
__device__ inline int sliceBegin(int s, int packs, int ranks) { return static_cast<int>(static_cast<long long>(s) * packs / ranks); }

/** The rank whose column slice holds pack p (the last s with sliceBegin(s) <= p). */
__device__ inline int sliceOwner(int p, int packs, int ranks) {
  int owner = ranks - 1;
  while (owner > 0 && sliceBegin(owner, packs, ranks) > p) owner--;
  return owner;
}

/** Pack p of row m as the norm reads it: the bf16 all-reduce sum from its owner's stage buffer
 *  plus the residual (f32, or rounded as the contract says), and that sum as out.residual. */
__device__ inline void halvingPackInputs(const Contract& c, const EpilogueIo& io, uint16_t* const* stageBuffers, int ranks, size_t element, int p,
                                         float (&x)[kPackElems], Bf16Pack& residualOut) {
  const int packs = io.hidden / kPackElems;
  const Bf16Pack reduced = loadPack(stageBuffers[sliceOwner(p, packs, ranks)], element);
  Bf16Pack residual{};
  if (c.norm.hasResidual) residual = loadPack(io.residual, element);
#pragma unroll
  for (int k = 0; k < kPackElems; k++) {
    float v = bf16ToF32(reduced.h[k]);
    if (c.norm.hasResidual) {
      v = residualAdd(v, bf16ToF32(residual.h[k]), c);
      residualOut.h[k] = f32ToBf16(v, c.bf16Rounding.residualOut);
    }
    x[k] = normInput(v, c);
  }
}

/**
 * aiter local_device_load_rmsnorm (ROCm/aiter@e4048607 csrc/include/custom_all_reduce.cuh:
 * 1443-1524), norm only (support.cpp refuses quant here): a block of tnum = blockDim.x threads
 * per row, thread t on packs t, t + tnum, ..; each pack's x = ar_out + res_inp in f32 (:1486),
 * square_sum += packReduce(x*x) (halvingThreadSquares), smemReduceSum (smemHalvingBlockSum),
 * rstd of s[0] (:1497), then out.residual = downcast(x) and out.norm = downcast(x * w * rstd)
 * (:1512-1513; the contract's multiplyOrder). aiter keeps x in registers between the two loops;
 * here the second loop reloads the same bf16 inputs and recomputes the same x (no register
 * array bounded by n_loop), and writes out.residual only after that reload, so an in-place
 * residual is read before it is overwritten.
 */
__device__ void halvingEpilogue(const Contract& c, const EpilogueIo& io, int m, uint16_t* const* stageBuffers, int ranks, float* halvingSums) {
  const int packs = io.hidden / kPackElems;
  const int t = static_cast<int>(threadIdx.x);
  const int threads = static_cast<int>(blockDim.x);
  const size_t rowBase = static_cast<size_t>(m) * io.hidden;
  const bool flush = c.flushSubnormals;
  Bf16Pack residualOutOfPass1;  // written in the second loop
  const float squareSum = halvingThreadSquares(t, packs, threads, c.norm.perThread, flush, [&](int p, float (&x)[kPackElems]) {
    halvingPackInputs(c, io, stageBuffers, ranks, rowBase + static_cast<size_t>(p) * kPackElems, p, x, residualOutOfPass1);
  });
  const float rowRstd = rstdOf(smemHalvingBlockSum(squareSum, halvingSums, flush), io.hidden, c);
  for (int p = t; p < packs; p += threads) {
    const size_t element = rowBase + static_cast<size_t>(p) * kPackElems;
    float x[kPackElems];
    Bf16Pack residualOut;
    halvingPackInputs(c, io, stageBuffers, ranks, element, p, x, residualOut);
    float w[kPackElems];
    loadWeights(io.weight, p * kPackElems, c, w);
    Bf16Pack normBits;
#pragma unroll
    for (int k = 0; k < kPackElems; k++) normBits.h[k] = f32ToBf16(normalize(x[k], rowRstd, w[k], c), c.bf16Rounding.normOut);
    if (c.norm.hasResidual) storeOutputPack(io.outResidual, element, residualOut);
    storeOutputPack(io.outNorm, element, normBits);
  }
}

/**
 * 2-stage: reduce-scatter (rank r sums its column slice of each row over all ranks and stores
 * it, rounded to bf16, in its stage buffer), barrier, then all-gather (each rank reads every
 * slice back from its owner) and the norm. Block b handles rows b, b+G, ... in both stages, so
 * the stage buffer rows a block reads were written by block b of each rank: the per-block
 * barrier orders them, with release/acquire so the bf16 sums are visible (aiter PR 2890).
 * The norm is allreduce_fusion_kernel_2stage's butterfly epilogue (one pack a thread) or, for
 * the smem-halving tree, local_device_load_rmsnorm's (halvingEpilogue).
 */
__global__ void __launch_bounds__(kMaxBlockThreads) allReduceFusion2Stage(TwoStageArgs a) {
  __shared__ RowShared rowShared[2];
  __shared__ float halvingSums[kMaxBlockThreads];
  __shared__ uint32_t epochSlot;
  const FusedArgs& f = a.fused;
  const int ranks = f.sync.ranks;
  const int rank = f.sync.rank;
  BlockBarriers barriers(f.sync, &epochSlot);
  barriers.arrive();  // the peers' inputs are ready, and their stage buffers free

  const int packs = f.io.hidden / kPackElems;
  const int t = static_cast<int>(threadIdx.x);
  const int ownBegin = sliceBegin(rank, packs, ranks);
  const int ownEnd = sliceBegin(rank + 1, packs, ranks);
  for (int m = blockIdx.x; m < f.io.tokens; m += gridDim.x) {
    for (int p = ownBegin + t; p < ownEnd; p += static_cast<int>(blockDim.x)) {
      const size_t element = static_cast<size_t>(m) * f.io.hidden + static_cast<size_t>(p) * kPackElems;
      Bf16Pack rankPacks[kMaxRanks];
      loadRankPacks(f.inputs, ranks, element, rankPacks);
      float acc[kPackElems];
      // roundResult 'bf16' (support.cpp requires it here): the sums are already bf16 values.
      sumRanksNatural<false>(rankPacks, ranks, f.contract, acc);
      Bf16Pack reduced;
#pragma unroll
      for (int k = 0; k < kPackElems; k++) reduced.h[k] = f32ToBf16(acc[k], f.contract.bf16Rounding.allReduceResult);
      storePack(a.stageBuffers[rank], element, reduced);
    }
  }

  barriers.arrive();  // every rank's slices of this block's rows are in its stage buffer

  if (f.contract.norm.tree == SumTree::smemHalving) {
    for (int m = blockIdx.x; m < f.io.tokens; m += gridDim.x) halvingEpilogue(f.contract, f.io, m, a.stageBuffers, ranks, halvingSums);
  } else {
    const bool active = t < packs;
    const int owner = sliceOwner(t, packs, ranks);
    int parity = 0;
    for (int m = blockIdx.x; m < f.io.tokens; m += gridDim.x, parity ^= 1) {
      float acc[kPackElems] = {};
      Bf16Pack residualPack{};
      if (active) {
        const size_t element = static_cast<size_t>(m) * f.io.hidden + static_cast<size_t>(t) * kPackElems;
        const Bf16Pack reduced = loadPack(a.stageBuffers[owner], element);
        if (f.contract.norm.hasResidual) residualPack = loadPack(f.io.residual, element);
#pragma unroll
        for (int k = 0; k < kPackElems; k++) acc[k] = bf16ToF32(reduced.h[k]);
      }
      fusedEpilogue<NoFastPaths>(f.contract, f.io, m, active, acc, residualPack, rowShared[parity]);
    }
  }

  barriers.arrive();  // no rank rewrites its stage buffer while a peer still reads it
  barriers.finish();
}

/** The 1-stage instances: the generic one, then each pin with each variant's fast ops. */
using Fused1StageKernel = void (*)(FusedArgs);

/** The instance of one pin and one variant's fast paths. */
template <ContractPin kPin>
Fused1StageKernel pinned1StageKernel(Fused1StageVariant variant) {
  switch (variant) {
    case Fused1StageVariant::generic: break;
    case Fused1StageVariant::pinned: return allReduceFusion1Stage<kPin, NoFastPaths>;
    case Fused1StageVariant::pinnedFtz: return allReduceFusion1Stage<kPin, FastPaths<true, false, false>>;
    case Fused1StageVariant::pinnedSqrt: return allReduceFusion1Stage<kPin, FastPaths<true, true, false>>;
    // Without quant no code is converted: the pinned-sqrt instance.
    case Fused1StageVariant::pinnedCvt: return allReduceFusion1Stage<kPin, FastPaths<true, true, kPin == ContractPin::aiterGfx950Quant>>;
    case Fused1StageVariant::pinnedBulk: return allReduceFusion1Stage<kPin, FastPaths<true, true, kPin == ContractPin::aiterGfx950Quant, true>>;
  }
  return allReduceFusion1Stage<ContractPin::none, NoFastPaths>;
}

Fused1StageKernel fused1StageKernel(ContractPin pin, Fused1StageVariant variant) {
  switch (pin) {
    case ContractPin::none: break;
    case ContractPin::aiterGfx950: return pinned1StageKernel<ContractPin::aiterGfx950>(variant);
    case ContractPin::aiterGfx950Quant: return pinned1StageKernel<ContractPin::aiterGfx950Quant>(variant);
  }
  return allReduceFusion1Stage<ContractPin::none, NoFastPaths>;
}

constexpr Fused1StageVariant kFused1StageVariants[] = {Fused1StageVariant::generic, Fused1StageVariant::pinned, Fused1StageVariant::pinnedFtz,
                                                      Fused1StageVariant::pinnedSqrt, Fused1StageVariant::pinnedCvt, Fused1StageVariant::pinnedBulk};

}  // namespace

int fusedGridBlocks(int device, const Contract& contract, int tokens, int hidden, int coResidentRanks, bool twoStage, Fused1StageVariant variant) {
  hipDeviceProp_t props;
  HIP_TRY(hipGetDeviceProperties(&props, device));
  int perSm = 0;
  const int threads = fusedBlockThreads(contract, hidden);
  if (twoStage) {
    HIP_TRY(hipOccupancyMaxActiveBlocksPerMultiprocessor(&perSm, allReduceFusion2Stage, threads, 0));
  } else {
    // The instance launchFused1Stage picks for this variant (a pinned one takes more registers).
    HIP_TRY(hipOccupancyMaxActiveBlocksPerMultiprocessor(&perSm, fused1StageKernel(contractPinFor(contract, hidden), variant), threads, 0));
  }
  int blocks = perSm * props.multiProcessorCount / coResidentRanks;
  if (blocks > kMaxBlocks) blocks = kMaxBlocks;
  if (blocks > tokens) blocks = tokens;
  return blocks < 1 ? 1 : blocks;
}

void launchFused1Stage(const FusedArgs& args, int blocks, hipStream_t stream, Fused1StageVariant variant) {
  const Fused1StageKernel kernel = fused1StageKernel(contractPinFor(args.contract, args.io.hidden), variant);
  hipLaunchKernelGGL(kernel, dim3(blocks), dim3(fusedBlockThreads(args.contract, args.io.hidden)), 0, stream, args);
  HIP_TRY_LAUNCH();
}

void launchFused2Stage(const TwoStageArgs& args, int blocks, hipStream_t stream) {
  hipLaunchKernelGGL(allReduceFusion2Stage, dim3(blocks), dim3(fusedBlockThreads(args.fused.contract, args.fused.io.hidden)), 0, stream, args);
  HIP_TRY_LAUNCH();
}

void preloadFusedKernels() {
  hipFuncAttributes attributes;
  for (const ContractPin pin : {ContractPin::none, ContractPin::aiterGfx950, ContractPin::aiterGfx950Quant}) {
    for (const Fused1StageVariant variant : kFused1StageVariants) {
      HIP_TRY(hipFuncGetAttributes(&attributes, reinterpret_cast<const void*>(fused1StageKernel(pin, variant))));
    }
  }
  HIP_TRY(hipFuncGetAttributes(&attributes, reinterpret_cast<const void*>(allReduceFusion2Stage)));
}

}  // namespace ulpwise
