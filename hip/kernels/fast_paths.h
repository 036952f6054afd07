// The exact fast paths of the 1-stage kernel's variants (fused_allreduce_norm.h,
// Fused1StageVariant): single instructions that give the bits of the integer-exact code they
// replace, each with the argument why beside it. hip/tests/fast_paths_device_check.hip runs them
// against that code on the GPU (every f32 pattern where it can).
#ifndef ULPWISE_KERNELS_FAST_PATHS_H
#define ULPWISE_KERNELS_FAST_PATHS_H

#include "row_math.h"

#include <ulpwise/compat.h>

namespace ulpwise {

/**
 * addF32(a, b, true) as one instruction on NVIDIA: add.rn.ftz.f32 reads a subnormal operand as a
 * zero of its sign and flushes a subnormal result to a zero of its sign (PTX ISA, add: ".ftz"),
 * as bits.h does in integers around __fadd_rn. Flushing the result before or after rounding
 * cannot differ for an add: both flushed operands are 0 or at least 2^-126 in magnitude and
 * multiples of 2^-149, so a sum below 2^-126 is exact (no rounding), and one at or above it
 * rounds to at least 2^-126 (nothing to flush). Elsewhere it is addF32 itself.
 */
struct FlushingAddFtz {
  __device__ float operator()(float a, float b) const {
#if defined(__CUDA_ARCH__)
    float sum;
    asm("add.rn.ftz.f32 %0, %1, %2;" : "=f"(sum) : "f"(a), "f"(b));
    return sum;
#else
    return addF32(a, b, true);
#endif
  }
};

/**
 * Eight fp8 codes of quantScaled values. With kHwCvt on sm_89 and newer, an e4m3fn pack whose
 * magnitudes all lie in (2^-10, 464) is converted by cvt.rn.satfinite.e4m3x2.f32: there the
 * conversion is round to nearest even with nothing to saturate (464 is the midpoint between
 * 448, the largest finite code, and 480, which rounds to even 448), and no result is a zero
 * (2^-10 is half the smallest subnormal, 2^-9), so its bits are fp8FromF32Bits' for either
 * saturation. Any other pack (a NaN fails both comparisons) takes fp8FromF32Bits.
 */
template <bool kHwCvt>
__device__ inline void fp8Codes(const float (&scaled)[kPackElems], const QuantContract& q, uint8_t (&codes)[kPackElems]) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 890
  if (kHwCvt && q.format == Fp8Format::e4m3fn) {
    bool inRange = true;
#pragma unroll
    for (int k = 0; k < kPackElems; k++) inRange = inRange && fabsf(scaled[k]) > 0x1p-10f && fabsf(scaled[k]) < 464.0f;
    if (inRange) {
#pragma unroll
      for (int k = 0; k < kPackElems; k += 2) {
        uint16_t pair;  // element k in the low byte, k + 1 in the high byte
        asm("cvt.rn.satfinite.e4m3x2.f32 %0, %1, %2;" : "=h"(pair) : "f"(scaled[k + 1]), "f"(scaled[k]));
        codes[k] = static_cast<uint8_t>(pair & 0xffu);
        codes[k + 1] = static_cast<uint8_t>(pair >> 8);
      }
      return;
    }
  }
#endif
#pragma unroll
  for (int k = 0; k < kPackElems; k++) codes[k] = fp8FromF32Bits(bitsFromF32(scaled[k]), q.format, q.saturation);
}

}  // namespace ulpwise

#endif  // ULPWISE_KERNELS_FAST_PATHS_H
