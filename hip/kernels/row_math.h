// The element-wise steps of the kernels, shared by the host checks and every kernel, named as
// the engines' stages (src/engines/stages.ts: CPU functions in src/engines/cpu, WGSL twins in
// shaders/engine): the engines' allReduce stage is allReduce + residualAdd + normInput here
// (a 2-stage kernel runs them in different phases), sumOfSquares is ThreadSquares, the
// block tree (device_common.h) and rstdOf, then normalize, groupScale, quantize. Every f32 step
// is one bits.h operation (addF32, mulF32, fmaF32, divF32: never contracted, subnormals flushed
// when the contract says 'flush'); every downcast goes through bits.h with the rounding of its
// site (contract bf16Rounding).
#ifndef ULPWISE_KERNELS_ROW_MATH_H
#define ULPWISE_KERNELS_ROW_MATH_H

#include <ulpwise/bits.h>

#include "contract.h"

#include <stddef.h>

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

// ---- allReduce ------------------------------------------------------------------------------

/** A rank's input element as the all-reduce reads it: under negativeZeroInputs 'positive' a -0
 *  (bf16 0x8000) reads as +0, FlashInfer one-shot's remove_neg_zero (flashinfer-ai/flashinfer@fb28d724
 *  include/flashinfer/comm/trtllm_allreduce_fusion.cuh:1524, 1426-1431). */
ULPWISE_HD float rankInputToF32(uint16_t bits, const Contract& c) {
  return bf16ToF32(c.allReduce.negativeZeroToPositive && bits == 0x8000 ? static_cast<uint16_t>(0) : bits);
}

/**
 * The all-reduce of each element: the ranks' values in summation order, added left to right in f32;
 * with accumulate 'bf16' every hop is rounded (allReduceHop), with roundResult 'bf16' the sum
 * goes through bf16 (allReduceResult). aiter's fused kernels sum ranks 0..N-1 with `acc +=`
 * (ROCm/aiter@e4048607 csrc/include/custom_all_reduce.cuh:1996-2007) and round the sum through
 * bf16 with downcast_s (:2015), whose rounding is opus fp32_to_bf16: truncation by
 * default on gfx942 (csrc/include/opus/opus.hpp:38-39, :1219-1223), the RNE conversion
 * instruction on gfx950 with clang >= 20 (:1215-1217).
 */
template <int N, typename Value, typename Add>
ULPWISE_HD void allReduceEach(int ranks, const Contract& c, Value value, Add add, float (&acc)[N]) {
  // N elements side by side (value(r, k): rank r's element k), each its own chain; hops
  // outermost, so the run-time rank count is tested once a hop, and the hops unrolled to
  // kMaxRanks so nothing is indexed at run time (a loop bounded by `ranks` over an array put the
  // 1-stage kernel's values in local memory: 8 STL and 7 LDL per element in its SASS).
  for (int k = 0; k < N; k++) acc[k] = value(0, k);
#if defined(__CUDA_ARCH__) || defined(__HIP__)
#pragma unroll
#endif
  for (int i = 1; i < kMaxRanks; i++) {
    if (i >= ranks) continue;  // not `break`: clang unrolls no loop with an early exit
    for (int k = 0; k < N; k++) {
      acc[k] = add(acc[k], value(i, k));
      if (c.allReduce.bf16Accumulate) acc[k] = roundBf16(acc[k], c.bf16Rounding.allReduceHop);
    }
  }
  if (c.allReduce.roundResult) {
    for (int k = 0; k < N; k++) acc[k] = roundBf16(acc[k], c.bf16Rounding.allReduceResult);
  }
}

/** The f32 add of the contract's arithmetic (bits.h addF32). */
struct ContractAdd {
  bool flush;
  ULPWISE_HD float operator()(float a, float b) const { return addF32(a, b, flush); }
};

/** One element's all-reduce: values[i] is the i-th rank in summation order. */
ULPWISE_HD float allReduce(const float (&values)[kMaxRanks], int ranks, const Contract& c) {
  float acc[1];
  allReduceEach(ranks, c, [&values](int i, int) { return values[i]; }, ContractAdd{c.flushSubnormals}, acc);
  return acc[0];
}

// ---- residualAdd ----------------------------------------------------------------------------

/**
 * x = ar + residual in f32, rounded to bf16 (residualAdd) when the add is a bf16 one: aiter's
 * 2-stage kernel adds two `__bf16` packs (`vec[v] += res[v]`, custom_all_reduce.cuh:2838;
 * opus bf16_t is `__bf16`, opus.hpp:1012), which clang computes in f32 and rounds to nearest
 * even on every architecture; its 1-stage kernel adds in f32 (:2023).
 */
template <typename Add>
ULPWISE_HD float residualAdd(float ar, float residual, const Contract& c, Add add) {
  const float x = add(ar, residual);
  return c.norm.residualAddBf16 ? roundBf16(x, c.bf16Rounding.residualAdd) : x;
}

ULPWISE_HD float residualAdd(float ar, float residual, const Contract& c) { return residualAdd(ar, residual, c, ContractAdd{c.flushSubnormals}); }

/** What the norm reads of x: x itself, or out.residual's bf16 value (norm.input 'bf16'). */
ULPWISE_HD float normInput(float x, const Contract& c) { return c.norm.inputBf16 ? roundBf16(x, c.bf16Rounding.residualOut) : x; }

// ---- sumOfSquares ---------------------------------------------------------------------------

/**
 * One thread's sum of squares over the elements it owns, in order (schema PER_THREAD_PATTERNS,
 * src/engines/cpu/sumOfSquares.ts accumulateRun):
 *   chain     acc = acc + v*v, two roundings;
 *   fma-chain acc = fma(v, v, acc): the contracted `acc += v * v` of aiter's epilogue
 *             (custom_all_reduce.cuh:1639), which hipcc's default -ffp-contract=fast-
 *             honor-pragmas fuses (aiter/jit/core.py passes no -ffp-contract);
 *   pair      vLLM's vectorised sum_squares: each run (a vector of `runLength` elements, an even
 *             count) is summed from 0 as run = run + (x0*x0 + x1*x1), then added to the
 *             thread's sum (src/engines/layout/reduction.ts nestedRuns);
 *   pair-fma  the same with the pair sum contracted: run = run + fma(x0, x0, x1*x1).
 */
class ThreadSquares {
 public:
  ULPWISE_HD ThreadSquares(PerThreadPattern pattern, bool flush, int runLength) : pattern_(pattern), flush_(flush), runLength_(runLength) {}

  ULPWISE_HD void add(float v) {
    switch (pattern_) {
      case PerThreadPattern::chain: acc_ = addF32(acc_, mulF32(v, v, flush_), flush_); return;
      case PerThreadPattern::fmaChain: acc_ = fmaF32(v, v, acc_, flush_); return;
      case PerThreadPattern::pair:
      case PerThreadPattern::pairFma:
        inRun_++;
        if ((inRun_ & 1) != 0) {
          held_ = v;
        } else {
          const float pairSum = pattern_ == PerThreadPattern::pair ? addF32(mulF32(held_, held_, flush_), mulF32(v, v, flush_), flush_)
                                                                   : fmaF32(held_, held_, mulF32(v, v, flush_), flush_);
          run_ = addF32(run_, pairSum, flush_);
        }
        if (inRun_ == runLength_) {
          acc_ = addF32(acc_, run_, flush_);
          run_ = 0.0f;
          inRun_ = 0;
        }
        return;
    }
  }

  /** The thread's sum, once every element (whole runs) has been added. */
  ULPWISE_HD float sum() const { return acc_; }

 private:
  PerThreadPattern pattern_;
  bool flush_;
  int runLength_;
  int inRun_ = 0;
  float held_ = 0.0f;
  float run_ = 0.0f;
  float acc_ = 0.0f;
};

/**
 * Thread t's square_sum in aiter's local_device_load_rmsnorm (ROCm/aiter@e4048607
 * csrc/include/custom_all_reduce.cuh:1468-1492): square_sum = 0, then for packs p = t, t + tnum,
 * ... below the row's pack count (:1474), `square_sum += packReduce(reduce_pack)` (:1490), where
 * packReduce sums the pack's squares from its first (:998-1008) and the contract's per-thread
 * pattern says how the compiler contracted `reduce_pack[i] = x*x` into it (a pattern over one
 * pack: its own run). `packValues(p, x)` gives pack p's eight f32 norm inputs. Shared by the
 * 2-stage kernel (fused_allreduce_norm.hip) and the host model (tests/row_math_check.cpp).
 */
template <typename PackValues>
ULPWISE_HD float halvingThreadSquares(int t, int packs, int blockSize, PerThreadPattern pattern, bool flush, PackValues packValues) {
  float squareSum = 0.0f;
  for (int p = t; p < packs; p += blockSize) {
    float x[kPackElems];
    packValues(p, x);
    ThreadSquares pack(pattern, flush, kPackElems);
    for (int k = 0; k < kPackElems; k++) pack.add(x[k]);
    squareSum = addF32(squareSum, pack.sum(), flush);
  }
  return squareSum;
}

// ---- rstdOf -----------------------------------------------------------------------------------

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


// ---- the hardware-op slots ------------------------------------------------------------------

#if defined(__CUDA_ARCH__)
// sm_90's approximate instructions as themselves (schema hardwareOps 'sm90', 'sm90-div-full'):
// the PTX that nvcc's rsqrtf and Triton's tl.math.rsqrt and `/` compile to (gpu/MEASUREMENTS.md),
// measured on an H200 and reproduced by both engines (src/numerics/hardware). ptxas lowers
// rsqrt.approx to MUFU.RSQ (with a 2^24 pre-scale of subnormal inputs in the non-ftz form),
// rcp.approx to MUFU.RCP, and div.full to the FSETP / FMUL / MUFU.RCP / FMUL sequence of
// src/numerics/hardware/sm90Div.ts (.ci/hip-compile-check.sh reads the SASS). asm volatile: the
// compiler may neither drop nor merge them.
__device__ inline float sm90RsqrtApprox(float x) {
  float y;
  asm volatile("rsqrt.approx.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}
__device__ inline float sm90RsqrtApproxFtz(float x) {
  float y;
  asm volatile("rsqrt.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}
__device__ inline float sm90RcpApprox(float x) {
  float y;
  asm volatile("rcp.approx.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}
__device__ inline float sm90RcpApproxFtz(float x) {
  float y;
  asm volatile("rcp.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}
__device__ inline float sm90DivFull(float a, float b) {
  float y;
  asm volatile("div.full.f32 %0, %1, %2;" : "=f"(y) : "f"(a), "f"(b));
  return y;
}
__device__ inline float sm90DivFullFtz(float a, float b) {
  float y;
  asm volatile("div.full.ftz.f32 %0, %1, %2;" : "=f"(y) : "f"(a), "f"(b));
  return y;
}
#endif

// The slots as src/engines/cpu/hardwareOps.ts and shaders/engine/hardwareOps.wgsl compute them:
// 'ieee' and 'inferred' correctly rounded in the contract's arithmetic (what a golden holds for
// an inferred slot), the sm_90 ones as the instruction itself, in its .ftz form when the
// contract flushes subnormals. The sm_90 flags are set only by an NVIDIA build's parseContract
// (contract.cpp refuses them elsewhere), and kernel_library.hip runs them on compute
// capability 9.0 only, so the host and AMD compilations never see one set.

/**
 * sqrtF32Bits as a float; with kHwSqrt in an NVIDIA device compilation, sqrt.rn.f32 for a
 * non-negative, non-NaN operand, where `ulpwise-harness selfcheck` compares the two over every
 * such f32 (identical on an H200, README.md) and hip/tests/fast_paths_device_check.hip again:
 * one instruction sequence instead of the integer loop's 25 steps. A NaN or negative operand
 * keeps the integer path (sqrt.rn returns its own NaN bits).
 */
template <bool kHwSqrt>
ULPWISE_HD float correctlyRoundedSqrt(float x) {
#if defined(__CUDA_ARCH__)
  if (kHwSqrt && bitsFromF32(x) <= 0x7f800000u) return __fsqrt_rn(x);
#endif
  return f32FromBits(sqrtF32Bits(bitsFromF32(x)));
}

/** rstd from fround(variance + eps): fround(1 / fround(sqrt(v))), or rsqrt.approx.
 *  ULPWISE_HW_RSQRT swaps the hardware rsqrtf in for the correctly rounded one, as the modelled
 *  kernels do (aiter: `rsqrtf(acc / hidden_dim + eps)`, custom_all_reduce.cuh:1644), to show
 *  what `ulpwise diff --rstd infer` recovers. */
template <bool kHwSqrt = false>
ULPWISE_HD float rsqrtSlot(float v, const HardwareOpsContract& ops, bool flush) {
#if defined(__CUDA_ARCH__)
  if (ops.rsqrtSm90) return flush ? sm90RsqrtApproxFtz(v) : sm90RsqrtApprox(v);
#else
  (void)ops;
#endif
#if defined(ULPWISE_HW_RSQRT) && (defined(__HIP__) || defined(__CUDACC__))
  (void)flush;
  return rsqrtf(v);
#else
  // sqrt of a flushed operand; a square root of a normal is never subnormal.
  const float root = correctlyRoundedSqrt<kHwSqrt>(flush ? flushSubnormal(v) : v);
  return divF32(1.0f, root, flush);
#endif
}

/** 1 / x, or rcp.approx. */
ULPWISE_HD float reciprocalSlot(float x, const HardwareOpsContract& ops, bool flush) {
#if defined(__CUDA_ARCH__)
  if (ops.reciprocalSm90) return flush ? sm90RcpApproxFtz(x) : sm90RcpApprox(x);
#else
  (void)ops;
#endif
  return divF32(1.0f, x, flush);
}

/** a / b, or div.full. */
ULPWISE_HD float divideSlot(float a, float b, const HardwareOpsContract& ops, bool flush) {
#if defined(__CUDA_ARCH__)
  if (ops.divideSm90) return flush ? sm90DivFullFtz(a, b) : sm90DivFull(a, b);
#else
  (void)ops;
#endif
  return divF32(a, b, flush);
}

/** rstd = rsqrtSlot(fround(variance + eps)), variance = sumsq / H or sumsq * (1 / H) through
 *  the divide and reciprocal slots (src/engines/cpu/sumOfSquares.ts meanSquareOf, rstdOf). */
template <bool kHwSqrt = false>
ULPWISE_HD float rstdOf(float sumsq, int hidden, const Contract& c) {
  const bool flush = c.flushSubnormals;
  const float h = static_cast<float>(hidden);
  const float variance = c.norm.varianceReciprocal ? mulF32(sumsq, reciprocalSlot(h, c.hardwareOps, flush), flush)
                                                   : divideSlot(sumsq, h, c.hardwareOps, flush);
  const float v = addF32(variance, f32FromBits(c.norm.epsBits), flush);
  return rsqrtSlot<kHwSqrt>(v, c.hardwareOps, flush);
}

// ---- normalize ------------------------------------------------------------------------------

/** The f32 weight as the norm applies it: an f32 weight optionally cast to bf16 (torch's
 *  .to(bfloat16), round to nearest even, whatever the kernel's own downcasts do), then Gemma's
 *  offset: fround(1 + w) in the kernel (aiter GEMMA_NORM `w += 1.0f`, custom_all_reduce.cuh:
 *  1652), or bf16(1 + w) for a weight tensor stored with its +1 (round to nearest even). */
ULPWISE_HD float effectiveWeight(float w, const NormContract& norm, bool flush) {
  if (norm.weightCastToBf16) w = roundBf16(w, Bf16Rounding::rne);
  switch (norm.weightOffset) {
    case WeightOffset::none: return w;
    case WeightOffset::f32: return addF32(1.0f, w, flush);
    case WeightOffset::bf16: return roundBf16(addF32(1.0f, w, false), Bf16Rounding::rne);
  }
  return w;
}

/** One normed value: (x*rstd)*w (aiter `in[i] * s_val * w`, custom_all_reduce.cuh:1653) or
 *  (x*w)*rstd, the first product optionally rounded to bf16 (normIntermediate). */
ULPWISE_HD float normalize(float x, float rowRstd, float w, const Contract& c) {
  const NormContract& norm = c.norm;
  const bool flush = c.flushSubnormals;
  const float first = norm.multiplyXWRstd ? w : rowRstd;
  const float second = norm.multiplyXWRstd ? rowRstd : w;
  float t = mulF32(x, first, flush);
  if (norm.roundIntermediate) t = roundBf16(t, c.bf16Rounding.normIntermediate);
  return mulF32(t, second, flush);
}

// ---- groupScale and quantize ----------------------------------------------------------------

/**
 * A group's scale from its amax (the largest |value|, NaN ignored, from 0), in the order of
 * src/engines/cpu/quant.ts: static scale; else amax floor, zero rule (aiter: `local_max == 0.f ? 1.f
 * : local_max / FP8_UPBOUND`, custom_all_reduce.cuh:1923), amax / divisor (or amax * fround(1 /
 * divisor)), scale floor before UE8M0, UE8M0, scale floor after UE8M0. aiter's FP8_UPBOUND is
 * opus numeric_limits<fp8_t>::max(): 0x7F = 240 (e4m3fnuz) on gfx942, 0x7E = 448 (e4m3fn)
 * elsewhere (opus.hpp:1062-1068), the contract's 'format-max' divisor.
 */
ULPWISE_HD float groupScale(float amax, const QuantContract& q, const HardwareOpsContract& ops, bool flush) {
  if (q.hasStaticScale) return f32FromBits(q.staticScaleBits);
  if (q.hasAmaxFloor) amax = maxIgnoringNan(amax, f32FromBits(q.amaxFloorBits));
  const float divisor = f32FromBits(q.divisorBits);
  float scale;
  if (q.zeroAmaxScaleOne && amax == 0.0f) scale = 1.0f;
  else if (!q.scaleReciprocal) scale = divideSlot(amax, divisor, ops, flush);
  else scale = mulF32(amax, reciprocalSlot(divisor, ops, flush), flush);
  if (q.scaleFloorStage == ScaleFloorStage::beforeUe8m0) scale = maxIgnoringNan(scale, f32FromBits(q.scaleFloorBits));
  if (q.ue8m0) scale = f32FromBits(roundToPowerOfTwo(bitsFromF32(scale), q.ue8m0Rounding));
  if (q.scaleFloorStage == ScaleFloorStage::afterUe8m0) scale = maxIgnoringNan(scale, f32FromBits(q.scaleFloorBits));
  return scale;
}

/** What one fp8 code is converted from: x / scale (aiter packQuant `tmp / scale`,
 *  custom_all_reduce.cuh:1142-1143) or x * reciprocal with reciprocal = reciprocalSlot(scale),
 *  clamped. quantize converts it. */
ULPWISE_HD float quantScaled(float value, float scale, float reciprocal, const QuantContract& q, const HardwareOpsContract& ops, bool flush) {
  float scaled = q.quantizeReciprocal ? mulF32(value, reciprocal, flush) : divideSlot(value, scale, ops, flush);
  if (q.clamp) {
    const float bound = f32FromBits(q.clampBits);
    scaled = minIgnoringNan(maxIgnoringNan(scaled, -bound), bound);
  }
  return scaled;
}

ULPWISE_HD uint8_t quantize(float value, float scale, float reciprocal, const QuantContract& q, const HardwareOpsContract& ops, bool flush) {
  return fp8FromF32Bits(bitsFromF32(quantScaled(value, scale, reciprocal, q, ops, flush)), q.format, q.saturation);
}

/** Where token m's group g scale sits in out.scale (row-major [M, G] or column-major [G, Mp]). */
ULPWISE_HD size_t scaleIndex(const QuantContract& q, int m, int g, int tokens, int groups) {
  if (q.scaleLayout == ScaleLayout::rowMajor) return static_cast<size_t>(m) * groups + g;
  const int padded = (tokens + q.scaleTokenAlign - 1) / q.scaleTokenAlign * q.scaleTokenAlign;
  return static_cast<size_t>(g) * padded + m;
}

}  // namespace ulpwise

#endif  // ULPWISE_KERNELS_ROW_MATH_H
