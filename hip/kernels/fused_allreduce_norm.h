// Fused all-reduce + residual add + RMSNorm (+ per-group FP8 quant) kernels in the shape of
// aiter's allreduce_fusion_kernel_1stage / _2stage (csrc/include/custom_all_reduce.cuh): one
// block per token row, thread t owns the eight elements [8t, 8t+8) as one 16-byte pack, the
// sum of squares is the aiter butterfly tree; or, 2-stage with the smem-halving tree, aiter's
// local_device_load_rmsnorm (packs t, t+tnum, .. a thread, the shared-memory halving tree).
// Host-side launchers; kernels in the .hip file.
#ifndef ULPWISE_KERNELS_FUSED_ALLREDUCE_NORM_H
#define ULPWISE_KERNELS_FUSED_ALLREDUCE_NORM_H

#include "device_common.h"

namespace ulpwise {

/** Where one rank's epilogue reads and writes (device pointers of that rank). */
struct EpilogueIo {
  const uint16_t* residual;
  const void* weight;
  uint16_t* outResidual;
  uint16_t* outNorm;
  uint8_t* outQ;
  float* outScale;
  int32_t tokens;
  int32_t hidden;
};

/**
 * Contracts a 1-stage instantiation knows at compile time (bench-bandwidth's two, aiter's gfx950
 * 1-stage kernel with and without its group quant). The kernel copies the run-time contract and
 * overwrites these fields with the same values (the host launches a pinned instance only on a
 * contract that equals its pin there), so the compiler folds every branch on them away: the
 * generic instance of the same code spends most of its instructions deciding the contract.
 */
enum class ContractPin : int32_t { none, aiterGfx950, aiterGfx950Quant };

/** Sets the fields `pin` fixes; the others (eps, the divisor, ranks) stay run-time values. */
__host__ __device__ inline void applyContractPin(ContractPin pin, Contract& c) {
  if (pin == ContractPin::none) return;
  c.allReduce.ring = false;
  c.allReduce.bf16Accumulate = false;
  c.allReduce.roundResult = true;
  c.allReduce.negativeZeroToPositive = false;
  c.bf16Rounding = Bf16RoundingSites{Bf16Rounding::rne, Bf16Rounding::rne, Bf16Rounding::rne, Bf16Rounding::rne, Bf16Rounding::rne, Bf16Rounding::rne};
  c.flushSubnormals = true;
  c.hardwareOps = HardwareOpsContract{false, false, false};
  NormContract& n = c.norm;
  n.hasResidual = true;
  n.residualAddBf16 = false;
  n.inputBf16 = false;
  n.inputF32SquaresBf16Normalize = false;
  n.perThread = PerThreadPattern::fmaChain;
  n.tree = SumTree::butterfly;
  n.butterflyDropsTailWarp = false;
  n.varianceReciprocal = false;
  n.weightF32 = false;
  n.weightCastToBf16 = false;
  n.weightOffset = WeightOffset::none;
  n.multiplyXWRstd = false;
  n.roundIntermediate = false;
  QuantContract& q = c.quant;
  q.enabled = pin == ContractPin::aiterGfx950Quant;
  if (!q.enabled) return;
  q.groupSize = 128;
  q.format = Fp8Format::e4m3fn;
  q.inputBf16 = false;
  q.hasStaticScale = false;
  q.hasAmaxFloor = false;
  q.scaleFloorStage = ScaleFloorStage::none;
  q.zeroAmaxScaleOne = true;
  q.scaleReciprocal = false;
  q.ue8m0 = false;
  q.quantizeReciprocal = false;
  q.clamp = false;
  q.saturation = Fp8Saturation::overflow;
  q.scaleLayout = ScaleLayout::rowMajor;
  q.bf16SideOutput = true;
}

/**
 * The 1-stage kernel's code variants (ULPWISE_BW_VARIANT), each computing the same bits:
 *   generic     every contract field read at run time;
 *   pinned      a ContractPin instance where the contract matches one (else generic);
 *   pinned-ftz  + the all-reduce's flushing f32 adds as add.rn.ftz.f32 (NVIDIA);
 *   pinned-cvt  + pinned-ftz, and e4m3fn codes from cvt.rn.satfinite.e4m3x2.f32 where every
 *               value of the pack is in the range where that conversion is round to nearest
 *               even without saturating (sm_89 and newer; elsewhere the integer conversion).
 */
enum class Fused1StageVariant : int32_t { generic, pinned, pinnedFtz, pinnedCvt };

struct FusedArgs {
  /** Every rank's input (peer pointers in peer mode). */
  const uint16_t* inputs[kMaxRanks];
  EpilogueIo io;
  PeerSync sync;
  Contract contract;
  /** Rows a block prefetches into L2 ahead of the one it works on (1-stage; 0 = none). */
  int32_t prefetchRows;
};

struct TwoStageArgs {
  FusedArgs fused;
  /** Each rank's reduce-scatter result, bf16 [tokens, hidden]; rank s fills its column slice. */
  uint16_t* stageBuffers[kMaxRanks];
};

/** Threads per block: the smem-halving tree's blockSize (aiter's tnum), else H/8 rounded up to
 *  whole 32-lane warps. */
int fusedBlockThreads(const Contract& contract, int hidden);

/** Blocks per rank: enough for the rows, no more than can be resident when `coResidentRanks`
 *  grids share the device (the barriers need every block of every rank running at once). */
int fusedGridBlocks(int device, const Contract& contract, int tokens, int hidden, int coResidentRanks, bool twoStage);

/** The pin whose fields equal the contract's, or none. */
ContractPin contractPinFor(const Contract& contract);

/** Launches the variant's instance: a pinned variant on a contract that matches no pin runs the
 *  generic one. */
void launchFused1Stage(const FusedArgs& args, int blocks, hipStream_t stream, Fused1StageVariant variant);
void launchFused2Stage(const TwoStageArgs& args, int blocks, hipStream_t stream);

/** Loads the kernels' code on the current device now: a lazily loaded module must not be
 *  loaded while a peer's kernel already spins on a barrier waiting for this one. */
void preloadFusedKernels();

}  // namespace ulpwise

#endif  // ULPWISE_KERNELS_FUSED_ALLREDUCE_NORM_H
