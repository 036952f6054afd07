// Bit formats for the kernels: the C++ twin of src/numerics (bf16.ts, fp8.ts, e8m0.ts).
// Same names, same steps, integers only, so the host check (any C++17 compiler), hipcc and
// nvcc all produce the bits the TypeScript reference produces. Values travel as bits
// (uint32_t for f32): a float register may flush subnormals or quieten a NaN.
//
// Deliberately free of hip_bf16.h / hip_fp8.h / cuda_bf16.h: Debian's hipcc ships none, and
// the code must be identical on AMD and NVIDIA.
#ifndef ULPWISE_BITS_H
#define ULPWISE_BITS_H

#include <stdint.h>

#if defined(__HIP__) || defined(__CUDACC__)
#define ULPWISE_HD __host__ __device__ inline __attribute__((always_inline))
#else
#define ULPWISE_HD inline
#endif

namespace ulpwise {

// ---- f32 ----------------------------------------------------------------------------------

constexpr uint32_t F32_CANONICAL_NAN = 0x7fc00000u;
constexpr int F32_SIGNIFICAND_BITS = 23;

ULPWISE_HD uint32_t bitsFromF32(float value) {
  uint32_t bits;
  __builtin_memcpy(&bits, &value, sizeof bits);
  return bits;
}

ULPWISE_HD float f32FromBits(uint32_t bits) {
  float value;
  __builtin_memcpy(&value, &bits, sizeof value);
  return value;
}

ULPWISE_HD bool isNanBits(uint32_t bits) { return (bits & 0x7fffffffu) > 0x7f800000u; }

/** Math.clz32: defined for 0 (32), unlike __builtin_clz. */
ULPWISE_HD int clz32(uint32_t x) { return x == 0 ? 32 : __builtin_clz(x); }

// ---- f32 arithmetic -------------------------------------------------------------------------
//
// Each function is one correctly rounded IEEE operation that the compiler may not contract into
// an fma or reassociate (nvcc whatever -fmad says; clang unless -ffp-contract=fast): CUDA's __fadd_rn / __fmul_rn /
// __fmaf_rn / __fdiv_rn on the device, and on clang (hipcc, and host clang) an operation
// compiled under `#pragma clang fp contract(off)` and `reassociate(off)`: with hipcc's default
// (-ffp-contract=fast-honor-pragmas) `acc = addF32(acc, mulF32(v, v))` stays v_mul_f32 +
// v_add_f32 where `acc += v * v` becomes v_fma_f32 / v_fmac_f32 (clang 15, gfx940, -O3, read
// with -S). HIP's own __fadd_rn is `return x + y`, fusable once inlined; and an explicit
// -ffp-contract=fast makes clang ignore the pragma, which is why the Makefile pins =off too.
// The kernels' f32 steps are written with these, in the order the contract names.
//
// `flush` is the contract's f32Subnormals 'flush': operands that are subnormal are read as a
// zero of their sign and a subnormal result becomes a zero of its sign, as AMD hardware does
// under aiter's -fgpu-flush-denormals-to-zero (ROCm/aiter aiter/jit/core.py:914). It is done
// here, in integers, so an NVIDIA build (or a build with subnormals kept) reproduces it.

/** A subnormal f32 as a zero of its sign; anything else unchanged. */
ULPWISE_HD float flushSubnormal(float value) {
  const uint32_t bits = bitsFromF32(value);
  return (bits & 0x7f800000u) == 0 ? f32FromBits(bits & 0x80000000u) : value;
}

ULPWISE_HD float addF32(float a, float b, bool flush) {
#if defined(__clang__)
#pragma clang fp contract(off)
#pragma clang fp reassociate(off)
#endif
  if (flush) {
    a = flushSubnormal(a);
    b = flushSubnormal(b);
  }
#if defined(__CUDA_ARCH__)
  const float sum = __fadd_rn(a, b);
#else
  const float sum = a + b;
#endif
  return flush ? flushSubnormal(sum) : sum;
}

ULPWISE_HD float mulF32(float a, float b, bool flush) {
#if defined(__clang__)
#pragma clang fp contract(off)
#pragma clang fp reassociate(off)
#endif
  if (flush) {
    a = flushSubnormal(a);
    b = flushSubnormal(b);
  }
#if defined(__CUDA_ARCH__)
  const float product = __fmul_rn(a, b);
#else
  const float product = a * b;
#endif
  return flush ? flushSubnormal(product) : product;
}

/** fma(a, b, c) = a*b + c with one rounding. */
ULPWISE_HD float fmaF32(float a, float b, float c, bool flush) {
  if (flush) {
    a = flushSubnormal(a);
    b = flushSubnormal(b);
    c = flushSubnormal(c);
  }
#if defined(__CUDA_ARCH__)
  const float result = __fmaf_rn(a, b, c);
#else
  const float result = __builtin_fmaf(a, b, c);
#endif
  return flush ? flushSubnormal(result) : result;
}

/** a / b correctly rounded (the Makefile asks both vendors for IEEE division). */
ULPWISE_HD float divF32(float a, float b, bool flush) {
  if (flush) {
    a = flushSubnormal(a);
    b = flushSubnormal(b);
  }
#if defined(__CUDA_ARCH__)
  const float quotient = __fdiv_rn(a, b);
#else
  const float quotient = a / b;
#endif
  return flush ? flushSubnormal(quotient) : quotient;
}

// ---- bf16 ---------------------------------------------------------------------------------

enum class Bf16Rounding : uint8_t { rne, truncate };

constexpr uint32_t BF16_QUIET_BIT = 0x0040u;

/**
 * f32 bits -> bf16 bits. NaN is handled first and stays NaN with its sign (libraries disagree
 * on the payload, so NaN is compared as a class). truncate models aiter's gfx942 downcast
 * (`u >> 16`), which would otherwise turn a low-payload NaN into Inf.
 */
ULPWISE_HD uint16_t bf16FromF32Bits(uint32_t bits, Bf16Rounding rounding) {
  if (isNanBits(bits)) return static_cast<uint16_t>((bits >> 16) | BF16_QUIET_BIT);
  if (rounding == Bf16Rounding::truncate) return static_cast<uint16_t>(bits >> 16);
  const uint32_t lsb = (bits >> 16) & 1u;
  // Cannot wrap: only NaN patterns lie above 0xffff7fff.
  return static_cast<uint16_t>((bits + 0x7fffu + lsb) >> 16);
}

ULPWISE_HD uint32_t f32BitsFromBf16(uint16_t bits) { return static_cast<uint32_t>(bits) << 16; }

/** Rounds f32 bits to the nearest bf16 and returns the result as f32 bits (a round trip). */
ULPWISE_HD uint32_t roundF32BitsToBf16(uint32_t bits, Bf16Rounding rounding) {
  return f32BitsFromBf16(bf16FromF32Bits(bits, rounding));
}

// ---- fp8 ----------------------------------------------------------------------------------

enum class Fp8Format : uint8_t { e4m3fn, e4m3fnuz, e5m2, e5m2fnuz };

/** satfinite: clamp to max finite, Inf included (NVIDIA cvt.rn.satfinite, PyTorch >= 2.12 e4m3fn).
 *  overflow: the ml_dtypes rule (e4m3fn -> NaN, fnuz -> 0x80, e5m2 -> Inf). */
enum class Fp8Saturation : uint8_t { satfinite, overflow };

struct Fp8Traits {
  int exponentBits;
  int mantissaBits;
  int bias;
  bool hasInfinity;
  /** fnuz formats: 0x80 is the only NaN and there is no -0. */
  bool fnuz;
  /** Largest finite magnitude code (sign bit clear). */
  uint32_t maxFiniteCode;
  /** The NaN code we produce (sign bit clear; fnuz ignores sign). */
  uint32_t nanCode;
  /** FP8_MAX of the quant kernels: the value of maxFiniteCode. */
  float maxFinite;
};

// ml_dtypes include/float8.h and OCP OFP8 1.0; fnuz is a bias override plus the 0x80 NaN.
ULPWISE_HD constexpr Fp8Traits fp8Traits(Fp8Format format) {
  switch (format) {
    case Fp8Format::e4m3fn: return {4, 3, 7, false, false, 0b0'1111'110u, 0b0'1111'111u, 0x1.cp+8f};
    case Fp8Format::e4m3fnuz: return {4, 3, 8, false, true, 0b0'1111'111u, 0b1'0000'000u, 0x1.ep+7f};
    case Fp8Format::e5m2: return {5, 2, 15, true, false, 0b0'11110'11u, 0b0'11111'10u, 0x1.cp+15f};
    case Fp8Format::e5m2fnuz: return {5, 2, 16, false, true, 0b0'11111'11u, 0b1'0000'000u, 0x1.cp+15f};
  }
  __builtin_unreachable();
}

ULPWISE_HD uint8_t fp8OverflowCode(Fp8Format format, bool negative, Fp8Saturation saturation) {
  const Fp8Traits t = fp8Traits(format);
  const uint32_t sign = negative ? 0x80u : 0u;
  if (saturation == Fp8Saturation::satfinite) return static_cast<uint8_t>(sign | t.maxFiniteCode);
  if (t.fnuz) return static_cast<uint8_t>(t.nanCode);
  if (t.hasInfinity) return static_cast<uint8_t>(sign | (t.maxFiniteCode + 1));
  return static_cast<uint8_t>(sign | t.nanCode);
}

/**
 * f32 bits -> fp8 code, round to nearest even. Steps: non-finite, zero, unpack and
 * normalise, round at the target quantum, pack and handle overflow, apply sign.
 */
ULPWISE_HD uint8_t fp8FromF32Bits(uint32_t bits, Fp8Format format, Fp8Saturation saturation) {
  const Fp8Traits t = fp8Traits(format);
  const bool negative = (bits >> 31) == 1u;
  const uint32_t sign = negative ? 0x80u : 0u;
  const uint32_t magnitudeBits = bits & 0x7fffffffu;

  // 1. Non-finite.
  if (magnitudeBits > 0x7f800000u) return static_cast<uint8_t>(t.fnuz ? t.nanCode : sign | t.nanCode);
  if (magnitudeBits == 0x7f800000u) return fp8OverflowCode(format, negative, saturation);

  // 2. Zero (fnuz has no -0).
  if (magnitudeBits == 0) return static_cast<uint8_t>(t.fnuz ? 0u : sign);

  // 3. Unpack: value = significand * 2^(exponent - 23), significand normalised to [2^23, 2^24).
  const int exponentField = static_cast<int>(magnitudeBits >> 23);
  uint32_t significand = magnitudeBits & 0x7fffffu;
  int exponent;
  if (exponentField == 0) {
    const int shift = clz32(significand) - 8;
    significand <<= shift;
    exponent = -126 - shift;
  } else {
    significand |= 0x800000u;
    exponent = exponentField - 127;
  }

  // 4. Round at the quantum of the target binade (fixed at the subnormal quantum below min normal).
  const int minNormalExponent = 1 - t.bias;
  const int quantumExponent = (exponent > minNormalExponent ? exponent : minNormalExponent) - t.mantissaBits;
  const int shift = F32_SIGNIFICAND_BITS + quantumExponent - exponent;
  // shift >= 23 - mantissaBits; past 25 the value is under a quarter quantum.
  uint32_t quanta = 0;
  if (shift <= 25) {
    const uint32_t kept = significand >> shift;
    const uint32_t remainder = significand - (kept << shift);
    const uint32_t half = 1u << (shift - 1);
    quanta = remainder > half || (remainder == half && (kept & 1u) == 1u) ? kept + 1 : kept;
  }

  // 5. Pack: quanta counts steps of 2^quantumExponent; a carry past 2^(m+1) moves up a binade.
  const uint32_t hidden = 1u << t.mantissaBits;
  uint32_t code;
  if (quanta < hidden) {
    code = quanta;  // subnormal or zero
  } else {
    uint32_t q = quanta;
    int e = quantumExponent;
    if (q >= hidden << 1) {
      q >>= 1;
      e += 1;
    }
    code = (static_cast<uint32_t>(e + t.mantissaBits + t.bias) << t.mantissaBits) | (q - hidden);
  }
  if (code > t.maxFiniteCode) return fp8OverflowCode(format, negative, saturation);

  // 6. Sign.
  if (code == 0) return static_cast<uint8_t>(t.fnuz ? 0u : sign);
  return static_cast<uint8_t>(sign | code);
}

ULPWISE_HD uint32_t f32BitsFromFp8(uint8_t code, Fp8Format format) {
  const Fp8Traits t = fp8Traits(format);
  const bool negative = (code & 0x80u) != 0;
  const uint32_t magnitude = code & 0x7fu;
  if (t.fnuz) {
    if (code == 0x80u) return 0xffc00000u;
  } else {
    if (magnitude == t.nanCode || (t.hasInfinity && magnitude > t.maxFiniteCode + 1)) {
      return negative ? 0xffc00000u : 0x7fc00000u;
    }
    if (t.hasInfinity && magnitude == t.maxFiniteCode + 1) return negative ? 0xff800000u : 0x7f800000u;
  }
  const uint32_t sign = negative ? 0x80000000u : 0u;
  if (magnitude == 0) return sign;
  const uint32_t exponentField = magnitude >> t.mantissaBits;
  uint32_t mantissa = magnitude & ((1u << t.mantissaBits) - 1);
  int exponent;
  if (exponentField == 0) {
    // Subnormal: normalise into an f32 normal (every fp8 subnormal is an f32 normal).
    const int lead = 31 - clz32(mantissa);
    exponent = 1 - t.bias - (t.mantissaBits - lead);
    mantissa = (mantissa ^ (1u << lead)) << (t.mantissaBits - lead);
  } else {
    exponent = static_cast<int>(exponentField) - t.bias;
  }
  return sign | (static_cast<uint32_t>(exponent + 127) << 23) | (mantissa << (F32_SIGNIFICAND_BITS - t.mantissaBits));
}

// ---- e8m0 ---------------------------------------------------------------------------------

/** How a positive f32 scale becomes a power of two.
 *  ceil: vLLM / DeepGEMM UE8M0 (bump the exponent when the mantissa is non-zero);
 *  floor: OCP MX (drop the mantissa); rne: ml_dtypes `.astype(float8_e8m0fnu)`. */
enum class E8m0Rounding : uint8_t { ceil, floor, rne };

constexpr uint32_t E8M0_NAN = 0xffu;
/** What e8m0FromPowerOfTwoBits returns where the TypeScript twin throws: outside the 8-bit code
 *  space, so a caller cannot mistake it for a scale. */
constexpr uint32_t E8M0_NOT_A_POWER_OF_TWO = 0x100u;

/**
 * Rounds a non-negative f32 (bits) to a power of two, returned as f32 bits. Zero stays zero,
 * NaN stays NaN, a result past 2^127 is +Inf. rne breaks ties towards the even e8m0 code,
 * which is the even biased exponent. The sign bit is ignored.
 */
ULPWISE_HD uint32_t roundToPowerOfTwo(uint32_t bits, E8m0Rounding mode) {
  if (isNanBits(bits)) return F32_CANONICAL_NAN;
  const uint32_t magnitude = bits & 0x7fffffffu;
  if (magnitude == 0 || magnitude == 0x7f800000u) return magnitude;
  const uint32_t exponentField = magnitude >> 23;
  const uint32_t mantissa = magnitude & 0x7fffffu;
  if (exponentField == 0) {
    // f32 subnormal: the power of two is a single mantissa bit.
    const int lead = 31 - clz32(mantissa);
    const uint32_t down = 1u << lead;
    if (mantissa == down || mode == E8m0Rounding::floor) return down;
    if (mode == E8m0Rounding::ceil) return down << 1;
    const uint32_t half = down >> 1;
    const uint32_t rest = mantissa - down;
    if (rest > half || (rest == half && (lead & 1) == 1)) return down << 1;
    return down;
  }
  if (mantissa == 0 || mode == E8m0Rounding::floor) return exponentField << 23;
  bool roundUp;
  if (mode == E8m0Rounding::ceil) roundUp = true;
  else roundUp = mantissa > 0x400000u || (mantissa == 0x400000u && (exponentField & 1u) == 1u);
  const uint32_t exponentOut = roundUp ? exponentField + 1 : exponentField;
  return exponentOut >= 255 ? 0x7f800000u : exponentOut << 23;
}

/** f32 bits of a power of two in [2^-127, 2^127] -> its e8m0 code (the biased exponent);
 *  E8M0_NOT_A_POWER_OF_TWO for anything else but NaN and +Inf (which give E8M0_NAN). */
ULPWISE_HD uint32_t e8m0FromPowerOfTwoBits(uint32_t bits) {
  if (isNanBits(bits) || bits == 0x7f800000u) return E8M0_NAN;
  if (bits == 0x00400000u) return 0;  // 2^-127 is an f32 subnormal
  const uint32_t exponentField = bits >> 23;
  if ((bits >> 31) != 0 || (bits & 0x7fffffu) != 0 || exponentField == 0) return E8M0_NOT_A_POWER_OF_TWO;
  return exponentField;
}

ULPWISE_HD uint32_t f32BitsFromE8m0(uint8_t code) {
  if (code == E8M0_NAN) return F32_CANONICAL_NAN;
  if (code == 0) return 0x00400000u;
  return static_cast<uint32_t>(code) << 23;
}

}  // namespace ulpwise

#endif  // ULPWISE_BITS_H
