// The unfused chain as separate kernels, as a framework runs it: a custom all-reduce (vLLM
// packed_reduce shape: every rank reads every rank's pack and sums in f32, one rounding), then
// fused_add_rms_norm (one block per row, the contract's sum-of-squares tree), then
// per_token_group_quant on the bf16 norm output. The all-reduce can be swapped for NCCL's.
#ifndef ULPWISE_KERNELS_UNFUSED_CHAIN_H
#define ULPWISE_KERNELS_UNFUSED_CHAIN_H

#include "device_common.h"

namespace ulpwise {

struct AllReduceArgs {
  const uint16_t* inputs[kMaxRanks];
  /** This rank's all-reduce result, bf16 [tokens * hidden]. */
  uint16_t* output;
  int64_t elements;
  PeerSync sync;
  Contract contract;
};

struct AddNormArgs {
  /** The all-reduce result of this rank. */
  const uint16_t* reduced;
  const uint16_t* residual;
  const void* weight;
  uint16_t* outResidual;
  /** The norm output: the golden's out.norm, or scratch when only the quant reads it. */
  uint16_t* outNorm;
  int32_t tokens;
  int32_t hidden;
  Contract contract;
};

struct GroupQuantArgs {
  const uint16_t* normed;
  uint8_t* outQ;
  float* outScale;
  int32_t tokens;
  int32_t hidden;
  Contract contract;
};

/** Blocks per rank for the all-reduce kernel (co-resident as for the fused kernels). */
int allReduceGridBlocks(int device, int64_t elements, int coResidentRanks);

void launchAllReduce(const AllReduceArgs& args, int blocks, hipStream_t stream);
void launchAddNorm(const AddNormArgs& args, hipStream_t stream);
void launchGroupQuant(const GroupQuantArgs& args, hipStream_t stream);
void preloadUnfusedKernels();

}  // namespace ulpwise

#endif  // ULPWISE_KERNELS_UNFUSED_CHAIN_H
