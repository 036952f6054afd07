#include "unfused_chain.h"

namespace ulpwise {

namespace {

constexpr int kAllReduceThreads = 512;
constexpr int kSequentialThreads = 256;
constexpr int kQuantThreads = 256;

/** Position in the ring where element e's sum starts (rankOrder.ts 'ring'): chunk c is summed
 *  from ring position c+1 and completes at c. Natural order starts at 0. */
__device__ inline int ringStart(const AllReduceContract& ar, int64_t element, int64_t chunk, int ranks) {
  if (!ar.ring) return 0;
  return static_cast<int>((element / chunk + 1) % ranks);
}

/** The rank at ring position p: the contract's ring, or the identity. */
__device__ inline int ringRank(const AllReduceContract& ar, int position) {
  return ar.ring && position < ar.ringLength ? ar.ringOrder[position] : position;
}

/** Custom all-reduce, one pass: rank r reads pack p of every rank and writes the sum. */
__global__ void __launch_bounds__(kAllReduceThreads) allReduceKernel(AllReduceArgs a) {
  __shared__ uint32_t epochSlot;
  BlockBarriers barriers(a.sync, &epochSlot);
  barriers.arrive();  // the peers' inputs are ready

  const AllReduceContract& ar = a.contract.allReduce;
  const Bf16Rounding rounding = a.contract.bf16Rounding.allReduceResult;
  const int ranks = a.sync.ranks;
  const int64_t align = ar.ring ? ar.ringChunkAlign : 1;
  const int64_t chunk = ((a.elements + ranks - 1) / ranks + align - 1) / align * align;
  const int64_t packs = a.elements / kPackElems;
  for (int64_t p = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; p < packs; p += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const size_t element = static_cast<size_t>(p) * kPackElems;
    Bf16Pack rankPacks[kMaxRanks];
#pragma unroll
    for (int r = 0; r < kMaxRanks; r++) {
      if (r < ranks) rankPacks[r] = loadPack(a.inputs[r], element);
    }
    Bf16Pack reduced;
#pragma unroll
    for (int k = 0; k < kPackElems; k++) {
      const int start = ringStart(ar, static_cast<int64_t>(element) + k, chunk, ranks);
      float values[kMaxRanks];
      for (int i = 0; i < ranks; i++) values[i] = rankInputToF32(rankPacks[ringRank(ar, (start + i) % ranks)].h[k], a.contract);
      // roundResult 'bf16' (support.cpp requires it): the sum is already a bf16 value.
      reduced.h[k] = f32ToBf16(allReduce(values, ranks, a.contract), rounding);
    }
    storePack(a.output, element, reduced);
  }

  barriers.arrive();  // no rank moves on while a peer still reads its input
  barriers.finish();
}

__host__ __device__ inline int cubThreads(const NormContract& norm, int hidden, int tokens) {
  if (norm.cubBlock != 0) return norm.cubBlock;
  const int block = tokens < 256 ? 1024 : 256;
  return hidden < block ? hidden : block;
}

__host__ __device__ inline int roundUpToWarps(int threads) {
  return (threads + kLogicalWarpLanes - 1) / kLogicalWarpLanes * kLogicalWarpLanes;
}

/**
 * fused_add_rms_norm: one block per row. The row is staged in shared memory as the f32 x the
 * norm reads (16-byte loads), then summed in the contract's tree, then normalised.
 */
__global__ void __launch_bounds__(kMaxBlockThreads) addRmsNormKernel(AddNormArgs a) {
  extern __shared__ float row[];  // [hidden]
  __shared__ float warpSums[kLogicalWarpLanes + 1];
  const Contract& c = a.contract;
  const NormContract& norm = c.norm;
  const bool flush = c.flushSubnormals;
  const int packs = a.hidden / kPackElems;
  const int t = static_cast<int>(threadIdx.x);

  for (int m = blockIdx.x; m < a.tokens; m += gridDim.x) {
    const size_t rowBase = static_cast<size_t>(m) * a.hidden;
    for (int p = t; p < packs; p += blockDim.x) {
      const size_t element = rowBase + static_cast<size_t>(p) * kPackElems;
      const Bf16Pack reduced = loadPack(a.reduced, element);
      Bf16Pack residual{};
      Bf16Pack residualOut{};
      if (norm.hasResidual) residual = loadPack(a.residual, element);
#pragma unroll
      for (int k = 0; k < kPackElems; k++) {
        float v = bf16ToF32(reduced.h[k]);
        if (norm.hasResidual) {
          v = residualAdd(v, bf16ToF32(residual.h[k]), c);
          residualOut.h[k] = f32ToBf16(v, c.bf16Rounding.residualOut);
        }
        row[p * kPackElems + k] = normInput(v, c);
      }
      if (norm.hasResidual) storeOutputPack(a.outResidual, element, residualOut);
    }
    __syncthreads();

    float sumsq;
    // Runs of the pair patterns: the whole row (sequential), the pack (butterfly), the vector (cub).
    const int runLength = norm.tree == SumTree::sequential ? a.hidden : norm.tree == SumTree::butterfly ? kPackElems : norm.cubVectorWidth;
    ThreadSquares squares(norm.perThread, flush, runLength);
    if (norm.tree == SumTree::sequential) {
      if (t == 0) {
        for (int h = 0; h < a.hidden; h++) squares.add(row[h]);
        warpSums[kLogicalWarpLanes] = squares.sum();
      }
      __syncthreads();
      sumsq = warpSums[kLogicalWarpLanes];
    } else if (norm.tree == SumTree::butterfly) {
      if (t < packs) {
        for (int k = 0; k < kPackElems; k++) squares.add(row[t * kPackElems + k]);
      }
      // tailWarp 'drop' (fused_allreduce_norm.hip fusedEpilogue): the partial warp's squares count as +0.
      const int counted = norm.butterflyDropsTailWarp ? packs / kLogicalWarpLanes * kLogicalWarpLanes : packs;
      sumsq = butterflyBlockSum(t < counted ? squares.sum() : 0.0f, warpSums, flush);
    } else {
      // cub: thread t takes vectors t, t+B, ... of `width` contiguous elements.
      const int block = cubThreads(norm, a.hidden, a.tokens);
      const int width = norm.cubVectorWidth;
      const int vectors = a.hidden / width;
      if (t < block) {
        for (int v = t; v < vectors; v += block) {
          for (int j = 0; j < width; j++) squares.add(row[v * width + j]);
        }
      }
      sumsq = cubBlockSum(t < block ? squares.sum() : 0.0f, warpSums, flush);
    }
    const float rowRstd = rstdOf(sumsq, a.hidden, c);

    for (int p = t; p < packs; p += blockDim.x) {
      float w[kPackElems];
      loadWeights(a.weight, p * kPackElems, c, w);
      Bf16Pack out;
#pragma unroll
      for (int k = 0; k < kPackElems; k++) out.h[k] = f32ToBf16(normalize(row[p * kPackElems + k], rowRstd, w[k], c), c.bf16Rounding.normOut);
      storePack(a.outNorm, rowBase + static_cast<size_t>(p) * kPackElems, out);  // the quant kernel may read it
    }
    __syncthreads();  // the next row reuses `row` and warpSums
  }
}

/** per_token_group_quant: a group of G elements is G/8 adjacent lanes, one pack each. */
__global__ void __launch_bounds__(kQuantThreads) groupQuantKernel(GroupQuantArgs a) {
  const QuantContract& q = a.contract.quant;
  const bool flush = a.contract.flushSubnormals;
  const int groupSize = q.groupSize == 0 ? a.hidden : q.groupSize;
  const int64_t packs = static_cast<int64_t>(a.tokens) * a.hidden / kPackElems;
  const int64_t p = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x;
  const bool active = p < packs;
  const size_t element = static_cast<size_t>(p) * kPackElems;
  float values[kPackElems] = {};
  float amax = 0.0f;
  if (active) {
    const Bf16Pack pack = loadPack(a.normed, element);
#pragma unroll
    for (int k = 0; k < kPackElems; k++) {
      values[k] = bf16ToF32(pack.h[k]);
      amax = maxIgnoringNan(amax, fabsf(values[k]));
    }
  }
  const int lanes = groupSize / kPackElems;
  amax = xorButterflyLanes(amax, lanes, F32Max{});
  if (!active) return;
  const float scale = groupScale(amax, q, a.contract.hardwareOps, flush);
  const float reciprocal = reciprocalSlot(scale, a.contract.hardwareOps, flush);
  uint8_t codes[kPackElems];
#pragma unroll
  for (int k = 0; k < kPackElems; k++) codes[k] = quantize(values[k], scale, reciprocal, q, a.contract.hardwareOps, flush);
  storeCodes(a.outQ, element, codes);
  if (p % lanes == 0) {
    const int groups = a.hidden / groupSize;
    const int m = static_cast<int>(element / a.hidden);
    const int g = static_cast<int>(element % a.hidden) / groupSize;
    a.outScale[scaleIndex(q, m, g, a.tokens, groups)] = scale;
    // Column-major scales with a padded token stride: the padding rows are written as zeros.
    const int padded = (a.tokens + q.scaleTokenAlign - 1) / q.scaleTokenAlign * q.scaleTokenAlign;
    if (q.scaleLayout != ScaleLayout::rowMajor) {
      for (int pad = a.tokens + m; pad < padded; pad += a.tokens) a.outScale[static_cast<size_t>(g) * padded + pad] = 0.0f;
    }
  }
}

int addNormThreads(const NormContract& norm, int hidden, int tokens) {
  switch (norm.tree) {
    case SumTree::sequential: return kSequentialThreads;
    case SumTree::butterfly: return roundUpToWarps(hidden / kPackElems);  // support.cpp: perThread 8
    case SumTree::cub: return roundUpToWarps(cubThreads(norm, hidden, tokens));
    case SumTree::smemHalving: break;  // support.cpp: the 2-stage kernel's tree, refused here
  }
  return kSequentialThreads;
}

}  // namespace

int allReduceGridBlocks(int device, int64_t elements, int coResidentRanks) {
  hipDeviceProp_t props;
  HIP_TRY(hipGetDeviceProperties(&props, device));
  int perSm = 0;
  HIP_TRY(hipOccupancyMaxActiveBlocksPerMultiprocessor(&perSm, allReduceKernel, kAllReduceThreads, 0));
  const int64_t needed = (elements / kPackElems + kAllReduceThreads - 1) / kAllReduceThreads;
  int64_t blocks = static_cast<int64_t>(perSm) * props.multiProcessorCount / coResidentRanks;
  if (blocks > kMaxBlocks) blocks = kMaxBlocks;
  if (blocks > needed) blocks = needed;
  return blocks < 1 ? 1 : static_cast<int>(blocks);
}

void launchAllReduce(const AllReduceArgs& args, int blocks, hipStream_t stream) {
  hipLaunchKernelGGL(allReduceKernel, dim3(blocks), dim3(kAllReduceThreads), 0, stream, args);
  HIP_TRY_LAUNCH();
}

void launchAddNorm(const AddNormArgs& args, hipStream_t stream) {
  const int threads = addNormThreads(args.contract.norm, args.hidden, args.tokens);
  const size_t shared = static_cast<size_t>(args.hidden) * sizeof(float);
  hipLaunchKernelGGL(addRmsNormKernel, dim3(args.tokens), dim3(threads), shared, stream, args);
  HIP_TRY_LAUNCH();
}

void launchGroupQuant(const GroupQuantArgs& args, hipStream_t stream) {
  const int64_t packs = static_cast<int64_t>(args.tokens) * args.hidden / kPackElems;
  const int64_t blocks = (packs + kQuantThreads - 1) / kQuantThreads;
  hipLaunchKernelGGL(groupQuantKernel, dim3(static_cast<unsigned>(blocks)), dim3(kQuantThreads), 0, stream, args);
  HIP_TRY_LAUNCH();
}

void preloadUnfusedKernels() {
  hipFuncAttributes attributes;
  HIP_TRY(hipFuncGetAttributes(&attributes, reinterpret_cast<const void*>(allReduceKernel)));
  HIP_TRY(hipFuncGetAttributes(&attributes, reinterpret_cast<const void*>(addRmsNormKernel)));
  HIP_TRY(hipFuncGetAttributes(&attributes, reinterpret_cast<const void*>(groupQuantKernel)));
}

}  // namespace ulpwise
