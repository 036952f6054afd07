// Fused all-reduce + residual add + RMSNorm (+ per-group FP8 quant) kernels in the shape of
// aiter's allreduce_fusion_kernel_1stage / _2stage (csrc/include/custom_all_reduce.cuh): one
// block per token row, thread t owns the eight elements [8t, 8t+8) as one 16-byte pack, the
// sum of squares is the aiter butterfly tree; or, 2-stage with the smem-halving tree, aiter's
// local_device_load_rmsnorm (packs t, t+tnum, .. a thread, the shared-memory halving tree).
// Host-side launchers; kernels in the .hip file.
#ifndef ULPWISE_KERNELS_FUSED_ALLREDUCE_NORM_H
#define ULPWISE_KERNELS_FUSED_ALLREDUCE_NORM_H

#include "contract_pin.h"
#include "device_common.h"
#include "support.h"

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
 * The 1-stage kernel's code variants (ULPWISE_BW_VARIANT), each computing the same bits:
 *   generic      every contract field read at run time;
 *   pinned       a ContractPin instance where the contract matches one (else generic);
 *   pinned-ftz   + the all-reduce's and the residual's flushing f32 adds as add.rn.ftz.f32 (NVIDIA);
 *   pinned-sqrt  + the rstd's square root as sqrt.rn.f32 for non-negative non-NaN operands
 *                (NVIDIA; the integer square root elsewhere);
 *   pinned-cvt   + e4m3fn codes from cvt.rn.satfinite.e4m3x2.f32 where every value of the pack
 *                is in the range where that conversion is round to nearest even without
 *                saturating (sm_89 and newer; elsewhere the integer conversion);
 *   pinned-bulk  + the next rows (ULPWISE_PREFETCH_ROWS) prefetched into L2 by one bulk prefetch
 *                per rank and row (sm_90 cp.async.bulk.prefetch.L2) instead of one per thread
 *                and 16 bytes (a memory hint only).
 * The fast paths' proofs are beside them in fast_paths.h and row_math.h.
 */
enum class Fused1StageVariant : int32_t { generic, pinned, pinnedFtz, pinnedSqrt, pinnedCvt, pinnedBulk };

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

/** Blocks per rank: enough for the rows, no more than can be resident when `coResidentRanks`
 *  grids share the device (the barriers need every block of every rank running at once). */
int fusedGridBlocks(int device, const Contract& contract, int tokens, int hidden, int coResidentRanks, bool twoStage,
                    Fused1StageVariant variant = Fused1StageVariant::generic);

/** Launches the variant's instance: a pinned variant on a contract that matches no pin runs the
 *  generic one. */
void launchFused1Stage(const FusedArgs& args, int blocks, hipStream_t stream, Fused1StageVariant variant);
void launchFused2Stage(const TwoStageArgs& args, int blocks, hipStream_t stream);

/** Loads the kernels' code on the current device now: a lazily loaded module must not be
 *  loaded while a peer's kernel already spins on a barrier waiting for this one. */
void preloadFusedKernels();

}  // namespace ulpwise

#endif  // ULPWISE_KERNELS_FUSED_ALLREDUCE_NORM_H
