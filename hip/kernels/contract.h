// The contract of src/contracts/schema.ts as plain data a kernel takes by value: every choice
// the CPU reference makes, one field each. parseContract reads the golden's canonical JSON
// (metadata `ulpwise.contract`) into it; each kernel then says which values it can compute.
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

enum class SumTree : uint8_t { sequential, butterfly, cub };
enum class AmaxFloorOn : uint8_t { none, amax, scale };

struct AllReduceContract {
  /** false: natural order 0..N-1; true: NCCL ring order (schema `ring`). */
  bool ring;
  /** ring: the rank at each ring position. */
  int8_t ringOrder[kMaxRanks];
  int32_t ringChunkAlign;
  /** Every hop rounded to bf16 (NCCL, TRT-LLM without Fp32Acc). */
  bool bf16Accumulate;
  /** The sum goes through bf16 before anything reads it (aiter PR 2586). */
  bool roundResult;
};

struct NormContract {
  bool hasResidual;
  bool residualAddBf16;
  /** The norm reads x rounded to bf16 (else the f32 x). */
  bool inputBf16;
  SumTree tree;
  /** cub: threads per block; 0 = vLLM's min(H, tokens < 256 ? 1024 : 256). */
  int32_t cubBlock;
  /** Per-thread accumulation as fmaf(v, v, acc). */
  bool fma;
  /** fround(eps), as bits. */
  uint32_t epsBits;
  bool weightF32;
  bool weightCastToBf16;
  /** (x*w)*rstd instead of (x*rstd)*w. */
  bool multiplyXWRstd;
  bool roundIntermediate;
};

struct QuantContract {
  bool enabled;
  int32_t groupSize;
  Fp8Format format;
  /** Quantize the bf16-rounded norm output (else the f32 normed value). */
  bool inputBf16;
  AmaxFloorOn floorOn;
  uint32_t floorBits;
  bool zeroAmaxScaleOne;
  /** scale = amax * fround(1/max) instead of amax / max. */
  bool scaleReciprocal;
  bool ue8m0;
  E8m0Rounding ue8m0Rounding;
  /** q = x * fround(1/scale) instead of x / scale. */
  bool quantizeReciprocal;
  bool clamp;
  uint32_t clampBits;
  Fp8Saturation saturation;
  bool columnMajorScales;
  bool bf16SideOutput;
};

struct Contract {
  AllReduceContract allReduce;
  Bf16Rounding bf16Rounding;
  NormContract norm;
  QuantContract quant;
};

#ifdef __cplusplus
/** A contract the parser does not understand, or a field a kernel cannot compute. */
class ContractUnsupported : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/** Parses canonical contract JSON (src/contracts/schema.ts, defaults applied); throws
 *  ContractUnsupported naming the field on anything it does not model. */
Contract parseContract(const std::string& json);
#endif

}  // namespace ulpwise

#endif  // ULPWISE_KERNELS_CONTRACT_H
