// The HIP runtime API our sources use, on AMD (hipcc: the real <hip/hip_runtime.h>) and on
// NVIDIA (nvcc: each name mapped onto CUDA here). Debian's HIP-on-NVIDIA headers do not
// compile with CUDA 13, hence this small table instead of HIP_PLATFORM=nvidia.
// Every name the sources use must be in the table; a missing one fails the nvcc build.
#ifndef ULPWISE_COMPAT_H
#define ULPWISE_COMPAT_H

#include <cstdio>
#include <cstdlib>

#if defined(__HIP__)
#include <hip/hip_runtime.h>
#elif defined(__CUDACC__)
#include <cuda_runtime.h>

// Errors.
#define hipError_t cudaError_t
#define hipSuccess cudaSuccess
#define hipErrorPeerAccessAlreadyEnabled cudaErrorPeerAccessAlreadyEnabled
#define hipGetErrorName cudaGetErrorName
#define hipGetErrorString cudaGetErrorString
#define hipGetLastError cudaGetLastError

// Devices and peers.
#define hipDeviceProp_t cudaDeviceProp
#define hipGetDeviceProperties cudaGetDeviceProperties
#define hipGetDeviceCount cudaGetDeviceCount
#define hipSetDevice cudaSetDevice
#define hipGetDevice cudaGetDevice
#define hipDeviceSynchronize cudaDeviceSynchronize
#define hipDeviceCanAccessPeer cudaDeviceCanAccessPeer
#define hipDeviceEnablePeerAccess cudaDeviceEnablePeerAccess

// Memory.
#define hipMalloc cudaMalloc
#define hipFree cudaFree
#define hipMemcpy cudaMemcpy
#define hipMemcpyAsync cudaMemcpyAsync
#define hipMemset cudaMemset
#define hipMemsetAsync cudaMemsetAsync
#define hipMemcpyHostToDevice cudaMemcpyHostToDevice
#define hipMemcpyDeviceToHost cudaMemcpyDeviceToHost
#define hipMemcpyDeviceToDevice cudaMemcpyDeviceToDevice
#define hipMemcpyDefault cudaMemcpyDefault

// Streams and events.
#define hipStream_t cudaStream_t
#define hipStreamCreate cudaStreamCreate
#define hipStreamDestroy cudaStreamDestroy
#define hipStreamSynchronize cudaStreamSynchronize
#define hipEvent_t cudaEvent_t
#define hipEventCreate cudaEventCreate
#define hipEventDestroy cudaEventDestroy
#define hipEventRecord cudaEventRecord
#define hipEventSynchronize cudaEventSynchronize
#define hipEventElapsedTime cudaEventElapsedTime

// Graph capture and replay.
#define hipGraph_t cudaGraph_t
#define hipGraphExec_t cudaGraphExec_t
#define hipStreamBeginCapture cudaStreamBeginCapture
#define hipStreamEndCapture cudaStreamEndCapture
#define hipStreamCaptureModeGlobal cudaStreamCaptureModeGlobal
#define hipGraphInstantiateWithFlags cudaGraphInstantiateWithFlags
#define hipGraphLaunch cudaGraphLaunch
#define hipGraphExecDestroy cudaGraphExecDestroy
#define hipGraphDestroy cudaGraphDestroy
#define hipOccupancyMaxActiveBlocksPerMultiprocessor cudaOccupancyMaxActiveBlocksPerMultiprocessor
#define hipFuncAttributes cudaFuncAttributes
#define hipFuncGetAttributes cudaFuncGetAttributes
#define hipStreamWaitEvent cudaStreamWaitEvent
#define hipStreamCreateWithFlags cudaStreamCreateWithFlags
#define hipStreamNonBlocking cudaStreamNonBlocking
#define hipDeviceDisablePeerAccess cudaDeviceDisablePeerAccess
#define hipErrorPeerAccessNotEnabled cudaErrorPeerAccessNotEnabled
#define hipDriverGetVersion cudaDriverGetVersion
#define hipRuntimeGetVersion cudaRuntimeGetVersion
#define hipStreamCaptureModeRelaxed cudaStreamCaptureModeRelaxed

#define hipLaunchKernelGGL(kernel, grid, block, sharedBytes, stream, ...) \
  kernel<<<(grid), (block), (sharedBytes), (stream)>>>(__VA_ARGS__)

#else
#error "ulpwise/compat.h is for GPU sources: compile them with hipcc or nvcc (see hip/Makefile)"
#endif

#include <ulpwise/bits.h>

/** Checks a HIP call; on failure prints file:line, the call and the error, and exits 1. */
#define HIP_CHECK(call) ::ulpwise::checkHip((call), #call, __FILE__, __LINE__)
/** Checks the launch just made (a bad configuration only shows in hipGetLastError). */
#define HIP_CHECK_LAUNCH() HIP_CHECK(hipGetLastError())

namespace ulpwise {

inline void checkHip(hipError_t status, const char* call, const char* file, int line) {
  if (status == hipSuccess) return;
  std::fprintf(stderr, "%s:%d: %s failed: %s (%s)\n", file, line, call, hipGetErrorName(status),
               hipGetErrorString(status));
  std::exit(1);
}

/** The reduction trees of the presets are written for 32-lane warps. On wave64 hardware a
 *  wave holds two logical warps; shuffles of width 32 stay inside each. The hardware size is
 *  the builtin `warpSize` (device) or hipDeviceProp_t::warpSize (host). */
constexpr int kLogicalWarpLanes = 32;

/**
 * __shfl_xor over a logical warp: the value of lane (lane ^ laneMask) of the same
 * `width`-lane group. Every lane of the hardware warp must call it together (CUDA's full
 * mask; AMD waves run in lockstep).
 */
__device__ inline float shflXor(float value, int laneMask, int width) {
#if defined(__HIP__)
  return __shfl_xor(value, laneMask, width);
#else
  return __shfl_xor_sync(0xffffffffu, value, laneMask, width);
#endif
}

/** f32 addition, written once so every tree adds `own + partner` the same way: one rounded
 *  add (bits.h addF32), subnormals flushed when the contract's f32Subnormals is 'flush'. */
struct F32Add {
  bool flush = false;
  __device__ float operator()(float own, float partner) const { return addF32(own, partner, flush); }
};

/**
 * XOR butterfly over the first `Lanes` lanes of each 32-lane logical warp: strides
 * Lanes/2, ..., 2, 1, each lane combining its value with its partner's. Every lane ends with
 * the same bits (combine must be commutative, as f32 + and max are). Lanes=32 is the warp
 * reduction of aiter's and TRT-LLM's fused epilogues; a smaller power of two serves the
 * second-stage butterfly over next_pow2(number of warps).
 */
template <int Lanes, typename Combine>
__device__ inline float xorButterfly(float value, Combine combine) {
  static_assert(Lanes >= 1 && Lanes <= kLogicalWarpLanes && (Lanes & (Lanes - 1)) == 0,
                "Lanes must be a power of two no larger than a logical warp");
#pragma unroll
  for (int stride = Lanes / 2; stride >= 1; stride /= 2) {
    value = combine(value, shflXor(value, stride, kLogicalWarpLanes));
  }
  return value;
}

}  // namespace ulpwise

#endif  // ULPWISE_COMPAT_H
