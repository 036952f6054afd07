// Device building blocks shared by the fused and the unfused kernels: 16-byte packs of eight
// bf16, the block reductions of the presets' trees, and the cross-rank barrier of a custom
// all-reduce.
#ifndef ULPWISE_KERNELS_DEVICE_COMMON_H
#define ULPWISE_KERNELS_DEVICE_COMMON_H

#include "row_math.h"
#include "runtime.h"

namespace ulpwise {

// ---- packs ----------------------------------------------------------------------------------

static_assert(kTreeWarpLanes == kLogicalWarpLanes, "contract.h and compat.h disagree on the warp");

struct alignas(16) Bf16Pack {
  uint16_t h[kPackElems];
};

__device__ inline Bf16Pack loadPack(const uint16_t* base, size_t element) {
  const uint4 raw = *reinterpret_cast<const uint4*>(base + element);
  Bf16Pack pack;
  __builtin_memcpy(&pack, &raw, sizeof pack);
  return pack;
}

__device__ inline void storePack(uint16_t* base, size_t element, const Bf16Pack& pack) {
  uint4 raw;
  __builtin_memcpy(&raw, &pack, sizeof raw);
  *reinterpret_cast<uint4*>(base + element) = raw;
}

/** A final output pack: written once and not read again by the kernel, so on NVIDIA it is
 *  stored evict-first (st.global.cs) to leave L2 to the inputs being prefetched. */
__device__ inline void storeOutputPack(uint16_t* base, size_t element, const Bf16Pack& pack) {
  uint4 raw;
  __builtin_memcpy(&raw, &pack, sizeof raw);
#if defined(__HIP__)
  *reinterpret_cast<uint4*>(base + element) = raw;
#else
  __stcs(reinterpret_cast<uint4*>(base + element), raw);
#endif
}

/** Eight fp8 codes: one 8-byte output store. */
__device__ inline void storeCodes(uint8_t* base, size_t element, const uint8_t (&codes)[kPackElems]) {
  uint2 raw;
  __builtin_memcpy(&raw, codes, sizeof raw);
#if defined(__HIP__)
  *reinterpret_cast<uint2*>(base + element) = raw;
#else
  __stcs(reinterpret_cast<uint2*>(base + element), raw);
#endif
}

/** Starts fetching the 16 bytes at `address` into L2 without waiting or using a register.
 *  NVIDIA only (prefetch.global.L2); on AMD a no-op. */
__device__ inline void prefetchL2(const void* address) {
#if defined(__HIP__)
  (void)address;
#else
  asm volatile("prefetch.global.L2 [%0];" ::"l"(address));
#endif
}

/** Eight weights as the norm applies them (bf16 or f32 storage; 16- or 2x16-byte loads). */
__device__ inline void loadWeights(const void* weight, int h0, const Contract& c, float (&w)[kPackElems]) {
  if (c.norm.weightF32) {
    const uint4* p = reinterpret_cast<const uint4*>(static_cast<const uint32_t*>(weight) + h0);
    const uint4 lo = p[0], hi = p[1];
    const uint32_t bits[kPackElems] = {lo.x, lo.y, lo.z, lo.w, hi.x, hi.y, hi.z, hi.w};
#pragma unroll
    for (int k = 0; k < kPackElems; k++) w[k] = effectiveWeight(f32FromBits(bits[k]), c.norm, c.flushSubnormals);
  } else {
    const Bf16Pack pack = loadPack(static_cast<const uint16_t*>(weight), static_cast<size_t>(h0));
#pragma unroll
    for (int k = 0; k < kPackElems; k++) w[k] = effectiveWeight(bf16ToF32(pack.h[k]), c.norm, c.flushSubnormals);
  }
}

/** Starts fetching `bytes` bytes at `address` (both multiples of 16) into L2, from one thread:
 *  sm_90's bulk prefetch (cp.async.bulk.prefetch.L2.global). Elsewhere a no-op. */
__device__ inline void bulkPrefetchL2(const void* address, uint32_t bytes) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("cp.async.bulk.prefetch.L2.global [%0], %1;" ::"l"(address), "r"(bytes) : "memory");
#else
  (void)address;
  (void)bytes;
#endif
}

// ---- reductions -----------------------------------------------------------------------------

struct F32Max {
  __device__ float operator()(float own, float partner) const { return maxIgnoringNan(own, partner); }
};

/** XOR butterfly over an aligned group of `lanes` lanes (a power of two <= 32), at run time. */
template <typename Combine>
__device__ inline float xorButterflyLanes(float value, int lanes, Combine combine) {
  switch (lanes) {
    case 32: return xorButterfly<32>(value, combine);
    case 16: return xorButterfly<16>(value, combine);
    case 8: return xorButterfly<8>(value, combine);
    case 4: return xorButterfly<4>(value, combine);
    case 2: return xorButterfly<2>(value, combine);
    default: return value;
  }
}

__host__ __device__ inline int nextPow2(int n) {
  int p = 1;
  while (p < n) p <<= 1;
  return p;
}

/** The value of lane `source` of this 32-lane logical warp. */
__device__ inline float shflFromLane(float value, int source) {
#if defined(__HIP__)
  return __shfl(value, source, kLogicalWarpLanes);
#else
  return __shfl_sync(0xffffffffu, value, source, kLogicalWarpLanes);
#endif
}

/**
 * aiter / TRT-LLM fused epilogue tree (sumOfSquares.ts 'butterfly'): XOR butterfly within each
 * 32-lane logical warp, lane 0 of each warp to shared memory, then every warp runs the XOR
 * butterfly over next_pow2(warps) lanes (lanes past the last warp hold 0) and takes lane 0's
 * result (the other lanes end with other sums). blockDim.x is a multiple of 32; padding
 * threads pass 0. One barrier: a caller that reduces again before every thread has read
 * `warpSums` passes another buffer (the fused kernels alternate two by row).
 */
__device__ inline float butterflyBlockSum(float partial, float* warpSums /* [32] */, bool flush) {
  const int lane = threadIdx.x % kLogicalWarpLanes;
  const int warp = threadIdx.x / kLogicalWarpLanes;
  const int warps = blockDim.x / kLogicalWarpLanes;
  const F32Add add{flush};
  const float warpSum = xorButterfly<32>(partial, add);
  if (lane == 0) warpSums[warp] = warpSum;
  __syncthreads();
  const float mine = lane < warps ? warpSums[lane] : 0.0f;
  return shflFromLane(xorButterflyLanes(mine, nextPow2(warps), add), 0);
}

/** The largest of every thread's value, NaN ignored, returned to every thread (any order gives
 *  the same bits: max is exact). Same shared-memory discipline as butterflyBlockSum. */
__device__ inline float blockMax(float value, float* warpMaxes /* [32] */) {
  const int lane = threadIdx.x % kLogicalWarpLanes;
  const int warp = threadIdx.x / kLogicalWarpLanes;
  const int warps = blockDim.x / kLogicalWarpLanes;
  const float warpMax = xorButterfly<32>(value, F32Max{});
  if (lane == 0) warpMaxes[warp] = warpMax;
  __syncthreads();
  const float mine = lane < warps ? warpMaxes[lane] : 0.0f;
  return shflFromLane(xorButterflyLanes(mine, nextPow2(warps), F32Max{}), 0);
}

/** cub WarpReduce with shuffle-down: lane i adds lane i+offset for offsets 1, 2, 4, 8, 16. */
__device__ inline float shuffleDownWarpSum(float value, bool flush) {
  const int lane = threadIdx.x % kLogicalWarpLanes;
#pragma unroll
  for (int offset = 1; offset < kLogicalWarpLanes; offset <<= 1) {
#if defined(__HIP__)
    const float other = __shfl_down(value, offset, kLogicalWarpLanes);
#else
    const float other = __shfl_down_sync(0xffffffffu, value, offset, kLogicalWarpLanes);
#endif
    if (lane + offset < kLogicalWarpLanes) value = addF32(value, other, flush);
  }
  return value;
}

/**
 * vLLM's cub BlockReduce (WARP_REDUCTIONS, sumOfSquares.ts 'cub'): each warp by shuffle-down,
 * then thread 0 adds the warp aggregates 1..W-1 to warp 0's in order. Returns the total to
 * every thread through shared memory.
 */
__device__ inline float cubBlockSum(float partial, float* warpSums /* [33] */, bool flush) {
  const int lane = threadIdx.x % kLogicalWarpLanes;
  const int warp = threadIdx.x / kLogicalWarpLanes;
  const int warps = blockDim.x / kLogicalWarpLanes;
  const float aggregate = shuffleDownWarpSum(partial, flush);
  if (lane == 0) warpSums[warp] = aggregate;
  __syncthreads();
  if (threadIdx.x == 0) {
    float total = warpSums[0];
    for (int w = 1; w < warps; w++) total = addF32(total, warpSums[w], flush);
    warpSums[32] = total;
  }
  __syncthreads();
  const float total = warpSums[32];
  __syncthreads();
  return total;
}

/**
 * aiter's smemReduceSum (ROCm/aiter@e4048607 csrc/include/custom_all_reduce.cuh:1342-1370), after
 * `smem[threadIdx.x] = square_sum; __syncthreads()` (:1494-1495): s[t] += s[t + stride] for
 * t < stride, stride = blockDim/2 .. 64 with a barrier after each; then threads 0..31 run
 * s[t] += s[t + stride] for stride 32, 16, .., 1 through a volatile pointer, every one of the 32
 * (not only t < stride); the row's sum is s[0] (:1496). aiter relies on the lanes of one wave
 * reading s[t + stride] before any of them writes s[t]; an NVIDIA warp has no such lock step
 * (sm_70+), so here every read is finished at a block barrier before the writes, which gives
 * those same adds in the same order on both vendors. blockDim.x is a power of two >= 64
 * (support.cpp). Returns s[0] to every thread; `smem` holds blockDim.x floats and may be reused
 * as soon as this returns.
 */
__device__ inline float smemHalvingBlockSum(float squareSum, float* smem, bool flush) {
  const int t = static_cast<int>(threadIdx.x);
  smem[t] = squareSum;
  __syncthreads();
  for (int stride = static_cast<int>(blockDim.x) / 2; stride > kLogicalWarpLanes; stride >>= 1) {
    if (t < stride) smem[t] = addF32(smem[t], smem[t + stride], flush);
    __syncthreads();
  }
  for (int stride = kLogicalWarpLanes; stride >= 1; stride >>= 1) {
    const float partner = t < kLogicalWarpLanes ? smem[t + stride] : 0.0f;
    __syncthreads();
    if (t < kLogicalWarpLanes) smem[t] = addF32(smem[t], partner, flush);
    __syncthreads();
  }
  const float total = smem[0];
  __syncthreads();
  return total;
}

// ---- cross-rank barrier -----------------------------------------------------------------------

/** The most blocks a barrier-using grid may have (flags are per block index). */
constexpr int kMaxBlocks = 1024;

/**
 * One rank's flags, in that rank's device memory. Block b of rank r tells peer p it has reached
 * barrier value v by writing v to peer p's flag[b][r]; it waits until its own flag[b][p] >= v
 * for every p. Values only grow: epoch[b] (written by block b of this rank alone) remembers
 * the last value across launches, so a replayed graph keeps counting (vLLM's Signal::_flag).
 */
struct Signal {
  uint32_t flag[kMaxBlocks][kMaxRanks];
  uint32_t epoch[kMaxBlocks];
};

struct PeerSync {
  Signal* signals[kMaxRanks];
  int32_t ranks;
  int32_t rank;
  /** false: ULPWISE_LAUNCH_SOLO_RANK0 (a benchmark of one rank's data path). */
  bool enabled;
};

__device__ inline void storeRelease(uint32_t* address, uint32_t value) {
#if defined(__HIP__)
  __hip_atomic_store(address, value, __ATOMIC_RELEASE, __HIP_MEMORY_SCOPE_SYSTEM);
#else
  asm volatile("st.release.sys.global.u32 [%0], %1;" ::"l"(address), "r"(value) : "memory");
#endif
}

__device__ inline uint32_t loadAcquire(const uint32_t* address) {
#if defined(__HIP__)
  return __hip_atomic_load(address, __ATOMIC_ACQUIRE, __HIP_MEMORY_SCOPE_SYSTEM);
#else
  uint32_t value;
  asm volatile("ld.acquire.sys.global.u32 %0, [%1];" : "=r"(value) : "l"(address) : "memory");
  return value;
#endif
}

/** Block-level state of the barriers of one launch. */
class BlockBarriers {
 public:
  /** Reads this block's epoch; every thread of the block must call it. */
  __device__ BlockBarriers(const PeerSync& sync, uint32_t* sharedEpoch) : sync_(sync) {
    if (!sync_.enabled) return;
    if (threadIdx.x == 0) *sharedEpoch = sync_.signals[sync_.rank]->epoch[blockIdx.x];
    __syncthreads();
    epoch_ = *sharedEpoch;
  }

  /**
   * Waits until block blockIdx.x of every rank has arrived. Release/acquire at system scope:
   * everything this block wrote before is visible to the peers' blocks after theirs, and the
   * reverse (the ordering aiter PR 2890 was missing).
   */
  __device__ void arrive() {
    if (!sync_.enabled) return;
    const uint32_t value = ++epoch_;
    __syncthreads();
    if (threadIdx.x < static_cast<unsigned>(sync_.ranks)) {
      const int peer = static_cast<int>(threadIdx.x);
      storeRelease(&sync_.signals[peer]->flag[blockIdx.x][sync_.rank], value);
      const uint32_t* mine = &sync_.signals[sync_.rank]->flag[blockIdx.x][peer];
      while (static_cast<int32_t>(loadAcquire(mine) - value) < 0) {
      }
    }
    __syncthreads();
  }

  /** Saves the epoch for the next launch; call once at the end, after the last arrive(). */
  __device__ void finish() {
    if (sync_.enabled && threadIdx.x == 0) sync_.signals[sync_.rank]->epoch[blockIdx.x] = epoch_;
  }

 private:
  const PeerSync& sync_;
  uint32_t epoch_ = 0;
};

}  // namespace ulpwise

#endif  // ULPWISE_KERNELS_DEVICE_COMMON_H
