// The contract of src/contracts/schema.ts (schema v2) as plain data a kernel takes by value:
// every choice the engines make, one field each. parseContract reads the golden's canonical
// JSON (metadata `ulpwise.contract`) into it. It is as strict as the zod schema: an unknown or
// misspelt key, a number out of LIMITS, a wrong type or a broken cross-field rule is a
// ContractInvalid naming the path; a value the schema allows but no kernel here computes is a
// ContractUnsupported "not implemented by the HIP kernels: <path> = <value>". Nothing has a
// default: every field the schema has must be present (canonical JSON carries them all).
#ifndef ULPWISE_KERNELS_CONTRACT_H
#define ULPWISE_KERNELS_CONTRACT_H

#include <ulpwise/bits.h>

#include <stdint.h>

#ifdef __cplusplus
#include <stdexcept>
#include <string>
#endif

namespace ulpwise {

/** The most ranks a kernel argument carries (TP 8 is the largest in practice). */
constexpr int kMaxRanks = 8;
/** Elements per thread and per 16-byte load: eight bf16 (aiter's and vLLM's pack). */
constexpr int kPackElems = 8;
/** Lanes of the presets' logical warp (ulpwise/compat.h kLogicalWarpLanes). */
constexpr int kTreeWarpLanes = 32;
constexpr int kMaxBlockThreads = 1024;

/** schema.ts LIMITS: the bounds a contract's numbers are checked against. */
struct ContractLimits {
  static constexpr int ranks = 64;
  static constexpr int hidden = 1 << 18;
  static constexpr int blockThreads = 1024;
  static constexpr int perThread = 1024;
  static constexpr int groupSize = 1 << 18;
  static constexpr int packElems = 1 << 20;
  static constexpr int smCount = 1024;
  static constexpr int tokenAlign = 1024;
};

/** The rounding of each f32 -> bf16 downcast site (schema bf16Rounding). */
struct Bf16RoundingSites {
  Bf16Rounding allReduceHop;
  Bf16Rounding allReduceResult;
  Bf16Rounding residualAdd;
  Bf16Rounding residualOut;
  Bf16Rounding normIntermediate;
  Bf16Rounding normOut;
};

struct AllReduceContract {
  /** false: natural order 0..N-1; true: NCCL ring order (schema `ring`). */
  bool ring;
  /** ring: the rank at each ring position. */
  int8_t ringOrder[kMaxRanks];
  /** ring: the number of ranks `ringOrder` lists (0: the identity ring). */
  int8_t ringLength;
  int32_t ringChunkAlign;
  /** Every hop rounded to bf16 (NCCL, TRT-LLM without Fp32Acc), with allReduceHop. */
  bool bf16Accumulate;
  /** The sum goes through bf16 before anything reads it (aiter PR 2586), with allReduceResult. */
  bool roundResult;
  /** negativeZeroInputs 'positive': a -0 rank input reads as +0 (FlashInfer one-shot). */
  bool negativeZeroToPositive;
};

/** How one thread accumulates its squares (schema PER_THREAD_PATTERNS). */
enum class PerThreadPattern : uint8_t { chain, fmaChain, pair, pairFma };
enum class SumTree : uint8_t { sequential, butterfly, cub, smemHalving };
/** Gemma's (1 + w): none, fround(1 + w), or bf16(1 + w). */
enum class WeightOffset : uint8_t { none, f32, bf16 };

struct NormContract {
  bool hasResidual;
  bool residualAddBf16;
  /** The norm reads x rounded to bf16 (else the f32 x). */
  bool inputBf16;
  /** norm.input 'f32-squares-bf16-normalize' (parsed, refused: the kernels normalize what they squared). */
  bool inputF32SquaresBf16Normalize;
  PerThreadPattern perThread;
  SumTree tree;
  /** cub: threads per block; 0 = vLLM's min(H, tokens < 256 ? 1024 : 256). */
  int32_t cubBlock;
  /** cub: contiguous elements per vector a thread takes (1: the scalar path). */
  int32_t cubVectorWidth;
  /** smemHalving: threads per block (aiter's tnum; the halving starts at half of it). */
  int32_t halvingBlock;
  /** butterfly tailWarp 'drop': only the floor(H/8/32) whole warps' squares are summed (aiter's
   *  2-stage and split epilogues, custom_all_reduce.cuh:1606, 1617). */
  bool butterflyDropsTailWarp;
  /** variance = sumsq * fround(1 / H) instead of sumsq / H. */
  bool varianceReciprocal;
  /** fround(eps), as bits. */
  uint32_t epsBits;
  bool weightF32;
  bool weightCastToBf16;
  WeightOffset weightOffset;
  /** (x*w)*rstd instead of (x*rstd)*w. */
  bool multiplyXWRstd;
  bool roundIntermediate;
};

/** out.scale: f32 [M, G]; f32 [G, Mp] (Mp = M rounded up to scaleTokenAlign); packed UE8M0
 *  bytes (parsed, refused). */
enum class ScaleLayout : uint8_t { rowMajor, columnMajor, packedUe8m0 };

/** Where scaleFloor applies (none: no scale floor). */
enum class ScaleFloorStage : uint8_t { none, beforeUe8m0, afterUe8m0 };

struct QuantContract {
  bool enabled;
  /** Elements per group; 0 = 'token' (one group per row, group = H). */
  int32_t groupSize;
  Fp8Format format;
  /** Quantize the bf16-rounded norm output (else the f32 normed value). */
  bool inputBf16;
  bool hasStaticScale;
  uint32_t staticScaleBits;
  /** fround(divisor) as bits: the format's max for 'format-max'. */
  uint32_t divisorBits;
  bool hasAmaxFloor;
  uint32_t amaxFloorBits;
  ScaleFloorStage scaleFloorStage;
  uint32_t scaleFloorBits;
  bool zeroAmaxScaleOne;
  /** scale = amax * fround(1/divisor) instead of amax / divisor. */
  bool scaleReciprocal;
  bool ue8m0;
  E8m0Rounding ue8m0Rounding;
  /** q = x * fround(1/scale) instead of x / scale. */
  bool quantizeReciprocal;
  bool clamp;
  uint32_t clampBits;
  Fp8Saturation saturation;
  ScaleLayout scaleLayout;
  /** column-major: the token count is rounded up to this (the padded stride). */
  int32_t scaleTokenAlign;
  bool bf16SideOutput;
};

/** The hardware-op slots (schema hardwareOps): true where the slot is sm_90's instruction
 *  ('sm90', 'sm90-div-full'), run as itself (row_math.h); false for 'ieee' and 'inferred', which
 *  compute the correctly rounded value. Only an NVIDIA build accepts them (parseContract). */
struct HardwareOpsContract {
  bool rsqrtSm90;
  bool reciprocalSm90;
  bool divideSm90;
};

struct Contract {
  AllReduceContract allReduce;
  Bf16RoundingSites bf16Rounding;
  /** f32Subnormals 'flush': every f32 add, multiply, fma, divide and sqrt reads a subnormal
   *  operand as a signed zero and flushes a subnormal result. */
  bool flushSubnormals;
  HardwareOpsContract hardwareOps;
  NormContract norm;
  QuantContract quant;
};

/** What the kernels are built for, which decides the hardware-op slots they can run: sm_90's
 *  instructions exist only in an NVIDIA build (nvcc); a host-only build runs no kernel. */
enum class BuildTarget : uint8_t { nvidia, amd, host };

#if defined(__NVCC__)
constexpr BuildTarget kBuildTarget = BuildTarget::nvidia;
#elif defined(__HIP_PLATFORM_AMD__) || defined(__HIP__)
constexpr BuildTarget kBuildTarget = BuildTarget::amd;
#else
constexpr BuildTarget kBuildTarget = BuildTarget::host;
#endif

#ifdef __cplusplus
/** A contract the schema does not allow: the message names the path ("contract <path>: ..."). */
class ContractInvalid : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/** A valid contract that no kernel here computes, or a field a kernel cannot compute. */
class ContractUnsupported : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/** Parses canonical contract JSON (src/contracts/schema.ts v2); throws ContractInvalid or
 *  ContractUnsupported naming the path. `target` decides the hardware-op slots (the build's own
 *  unless a check asks for another's verdict). */
Contract parseContract(const std::string& json, BuildTarget target = kBuildTarget);
#endif

}  // namespace ulpwise

#endif  // ULPWISE_KERNELS_CONTRACT_H
