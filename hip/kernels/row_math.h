// The element-wise steps of the kernels, shared by host checks and every kernel: the same
// names and order as src/engines/cpu (engine.ts, sumOfSquares.ts, quant.ts). f32 values are
// floats in registers (the Makefile pins no contraction, subnormals kept, IEEE division);
// every downcast goes through bits.h.
#ifndef ULPWISE_KERNELS_ROW_MATH_H
#define ULPWISE_KERNELS_ROW_MATH_H

#include <ulpwise/bits.h>

#include "contract.h"

#if !defined(__HIP__) && !defined(__CUDACC__)
#include <cmath>
#endif

namespace ulpwise {

ULPWISE_HD float bf16ToF32(uint16_t bits) { return f32FromBits(f32BitsFromBf16(bits)); }

ULPWISE_HD uint16_t f32ToBf16(float value, Bf16Rounding rounding) { return bf16FromF32Bits(bitsFromF32(value), rounding); }

/** Round trip through bf16: what the next step reads when the contract rounds here. */
ULPWISE_HD float roundBf16(float value, Bf16Rounding rounding) { return bf16ToF32(f32ToBf16(value, rounding)); }

/** CUDA fmaxf / fminf: a NaN operand yields the other one (quant.ts fmaxf/fminf). */
ULPWISE_HD float maxIgnoringNan(float a, float b) {
  if (a != a) return b;
  if (b != b) return a;
  return a > b ? a : b;
}
ULPWISE_HD float minIgnoringNan(float a, float b) {
  if (a != a) return b;
  if (b != b) return a;
  return a < b ? a : b;
}

/** One step of a thread's sum of squares (sumOfSquares.ts squareAccumulate). */
ULPWISE_HD float squareAccumulate(float acc, float v, bool fma) {
#if defined(__HIP__) || defined(__CUDACC__)
  return fma ? fmaf(v, v, acc) : acc + v * v;
#else
  return fma ? std::fma(v, v, acc) : acc + v * v;
#endif
}

/**
 * Correctly rounded f32 square root, on integers. The AMD instruction is not trusted: clang 15
 * emits v_sqrt_f32 (1 ULP) for sqrtf on gfx9 whatever the flags. NVIDIA's sqrt.rn is exact, and
 * the harness's self-check compares the two over every non-negative f32.
 *
 * x = m * 2^k with m in [2^24, 2^26) and k even; the 26-bit floor(sqrt(m << 26)) plus its
 * remainder give the 24-bit result, a round bit and a sticky bit.
 */
ULPWISE_HD uint32_t sqrtF32Bits(uint32_t bits) {
  const uint32_t magnitude = bits & 0x7fffffffu;
  if (isNanBits(bits)) return bits | 0x00400000u;
  if (magnitude == 0) return bits;                    // sqrt(+-0) = +-0
  if ((bits >> 31) != 0) return F32_CANONICAL_NAN;    // negative
  if (magnitude == 0x7f800000u) return bits;           // +Inf

  // Unpack to significand * 2^exponent with the significand in [2^23, 2^24).
  const uint32_t exponentField = magnitude >> 23;
  uint64_t significand = magnitude & 0x7fffffu;
  int exponent;
  if (exponentField == 0) {
    const int shift = clz32(static_cast<uint32_t>(significand)) - 8;
    significand <<= shift;
    exponent = -149 - shift;
  } else {
    significand |= 0x800000u;
    exponent = static_cast<int>(exponentField) - 150;
  }
  // Make the exponent even with the significand in [2^24, 2^26).
  if ((exponent & 1) != 0) {
    significand <<= 1;
    exponent -= 1;
  } else {
    significand <<= 2;
    exponent -= 2;
  }

  // Digit-by-digit square root of radicand = significand << 26 (< 2^52): root in [2^25, 2^26).
  uint64_t remainder = significand << 26;
  uint64_t root = 0;
  for (uint64_t bit = 1ull << 50; bit != 0; bit >>= 2) {
    if (remainder >= root + bit) {
      remainder -= root + bit;
      root = (root >> 1) + bit;
    } else {
      root >>= 1;
    }
  }

  // Round the 26-bit root to 24 bits: nearest, ties to even (a tie needs remainder == 0).
  uint32_t result = static_cast<uint32_t>(root >> 2);
  const bool roundBit = ((root >> 1) & 1u) != 0;
  const bool sticky = (root & 1u) != 0 || remainder != 0;
  if (roundBit && (sticky || (result & 1u) != 0)) result += 1;
  // value = result * 2^(2 + (exponent - 26) / 2); result in [2^23, 2^24] (2^24 carries).
  int resultExponent = 2 + (exponent - 26) / 2;
  if (result == (1u << 24)) {
    result >>= 1;
    resultExponent += 1;
  }
  return (static_cast<uint32_t>(resultExponent + 150) << 23) | (result & 0x7fffffu);
}

/** rstd = fround(1 / fround(sqrt(fround(fround(sumsq / H) + eps)))), every step correctly
 *  rounded (engine.ts step 4). ULPWISE_HW_RSQRT swaps in the hardware rsqrt, as the modelled
 *  kernels do, to show what `ulpwise diff --rstd infer` recovers. */
ULPWISE_HD float rowRstd(float sumsq, int hidden, uint32_t epsBits) {
  const float variance = sumsq / static_cast<float>(hidden) + f32FromBits(epsBits);
#if defined(ULPWISE_HW_RSQRT) && (defined(__HIP__) || defined(__CUDACC__))
  return rsqrtf(variance);
#elif defined(__CUDACC__) && !defined(__HIP__)
  // NVIDIA's sqrt.rn (-prec-sqrt=true) is correctly rounded: `ulpwise-harness selfcheck`
  // compares it with sqrtF32Bits over every non-negative f32.
  return 1.0f / sqrtf(variance);
#else
  return 1.0f / f32FromBits(sqrtF32Bits(bitsFromF32(variance)));
#endif
}

/** The f32 weight as the norm applies it (engine.ts effectiveWeight). */
ULPWISE_HD float effectiveWeight(uint32_t bits, bool castToBf16) {
  // torch's .to(bfloat16) is round-to-nearest-even, whatever the kernel's own downcast does.
  return castToBf16 ? roundBf16(f32FromBits(bits), Bf16Rounding::rne) : f32FromBits(bits);
}

/** One normed value (engine.ts step 5). */
ULPWISE_HD float normValue(float x, float rstd, float w, const NormContract& norm, Bf16Rounding rounding) {
  const float first = norm.multiplyXWRstd ? w : rstd;
  const float second = norm.multiplyXWRstd ? rstd : w;
  float t = x * first;
  if (norm.roundIntermediate) t = roundBf16(t, rounding);
  return t * second;
}

/** A group's scale from its amax (quant.ts groupScale after the max). amax is the largest
 *  |value| of the group, NaN ignored, starting from 0. */
ULPWISE_HD float groupScaleFromAmax(float amax, const QuantContract& q) {
  const float fp8Max = fp8Traits(q.format).maxFinite;
  if (q.floorOn == AmaxFloorOn::amax) amax = maxIgnoringNan(amax, f32FromBits(q.floorBits));
  float scale;
  if (q.zeroAmaxScaleOne && amax == 0.0f) scale = 1.0f;
  else if (!q.scaleReciprocal) scale = amax / fp8Max;
  else scale = amax * (1.0f / fp8Max);
  if (q.floorOn == AmaxFloorOn::scale) scale = maxIgnoringNan(scale, f32FromBits(q.floorBits));
  if (q.ue8m0) scale = f32FromBits(roundToPowerOfTwo(bitsFromF32(scale), q.ue8m0Rounding));
  return scale;
}

/** One fp8 code (quant.ts quantizeValue); reciprocal = fround(1 / scale). */
ULPWISE_HD uint8_t quantizeValue(float value, float scale, float reciprocal, const QuantContract& q) {
  float scaled = q.quantizeReciprocal ? value * reciprocal : value / scale;
  if (q.clamp) {
    const float bound = f32FromBits(q.clampBits);
    scaled = minIgnoringNan(maxIgnoringNan(scaled, -bound), bound);
  }
  return fp8FromF32Bits(bitsFromF32(scaled), q.format, q.saturation);
}

}  // namespace ulpwise

#endif  // ULPWISE_KERNELS_ROW_MATH_H
