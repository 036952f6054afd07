// Which contracts each of our kernels computes, and why not when it cannot. Host code only.
#ifndef ULPWISE_KERNELS_SUPPORT_H
#define ULPWISE_KERNELS_SUPPORT_H

#include "contract.h"

#include <string>

namespace ulpwise {

/** Empty when the fused kernels compute `contract` at this shape, else why not. */
std::string fusedUnsupported(const Contract& contract, int hidden, bool twoStage);

/** Empty when the unfused chain computes `contract` at this shape, else why not.
 *  `ncclAllReduce`: the all-reduce is NCCL's (bf16, every hop rounded), which matches natural
 *  f32 order only at N=2. */
std::string unfusedUnsupported(const Contract& contract, int ranks, int hidden, bool ncclAllReduce);

/** Threads per block of the fused kernels: the smem-halving tree's blockSize (aiter's tnum),
 *  else H/8 rounded up to whole 32-lane warps. */
int fusedBlockThreads(const Contract& contract, int hidden);

}  // namespace ulpwise

#endif  // ULPWISE_KERNELS_SUPPORT_H
