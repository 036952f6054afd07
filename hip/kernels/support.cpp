// Which contracts each kernel computes: host code, so the CPU tests can walk every preset.
#include "support.h"

#include "contract_pin.h"

#include <cstring>

namespace ulpwise {

namespace {

/** A group of G elements is G/8 adjacent lanes of one 32-lane warp. */
std::string groupUnsupported(int groupSize, int hidden) {
  const int lanes = groupSize / kPackElems;
  if (groupSize % kPackElems != 0 || lanes > kTreeWarpLanes || (lanes & (lanes - 1)) != 0) {
    return "quant.groupSize " + std::to_string(groupSize) + ": must be 8 times a power of two <= 32 (a group is adjacent lanes of one warp)";
  }
  if (hidden % groupSize != 0) return "quant.groupSize does not divide hidden";
  return "";
}

}  // namespace

std::string fusedUnsupported(const Contract& c, int hidden, bool twoStage) {
  if (c.allReduce.ring) return "allReduce.order: the fused kernels sum in natural order (ring is the unfused chain's)";
  if (twoStage && !c.allReduce.roundResult) return "allReduce.roundResult: the 2-stage kernel stores the reduce-scatter as bf16";
  if (hidden % kPackElems != 0) return "hidden must be a multiple of 8 (one 16-byte pack per thread)";
  if (c.norm.tree == SumTree::smemHalving) {
    // aiter's local_device_load_rmsnorm: a 2-stage norm-only kernel of tnum threads (a power of two).
    if (!twoStage) return "norm.sumOfSquares.tree 'smem-halving': aiter's local_device_load_rmsnorm runs after the 2-stage reduce-scatter (aiter-2stage)";
    const int block = c.norm.halvingBlock;
    if ((block & (block - 1)) != 0) return "norm.sumOfSquares.tree.blockSize " + std::to_string(block) + ": not a power-of-two number of 64-lane waves";
    if (c.quant.enabled) return "quant with the 'smem-halving' tree: local_device_load_rmsnorm has no quant (the 2-stage quant kernels use the butterfly)";
    return "";
  }
  if (c.norm.tree != SumTree::butterfly) return "norm.sumOfSquares.tree: the fused kernels use the aiter butterfly tree (or, 2-stage, smem-halving)";
  if (hidden / kPackElems > kMaxBlockThreads) return "hidden > 8192: one block per row holds at most 1024 packs (aiter's 1-stage limit)";
  // A per-token group ('token') is the whole block: any hidden.
  if (c.quant.enabled && c.quant.groupSize != 0) {
    const std::string why = groupUnsupported(c.quant.groupSize, hidden);
    if (!why.empty()) return why;
  }
  return "";
}

std::string unfusedUnsupported(const Contract& c, int ranks, int hidden, bool ncclAllReduce) {
  if (!c.allReduce.roundResult) return "allReduce.roundResult: the unfused chain's all-reduce output is a bf16 tensor";
  if (ncclAllReduce) {
    const bool ringBf16 = c.allReduce.ring && c.allReduce.bf16Accumulate;
    // With two ranks every order and accumulation gives bf16(a + b): f32 has more than
    // 2*8+2 bits, so rounding a + b to f32 first is harmless.
    if (!ringBf16 && ranks != 2) return "allReduce: NCCL rounds every hop in ring order; only the 'ring' bf16 contract (or any at N=2) matches it";
  }
  if (hidden % kPackElems != 0) return "hidden must be a multiple of 8 (16-byte packs)";
  if (c.norm.tree == SumTree::smemHalving) return "norm.sumOfSquares.tree 'smem-halving': the fused 2-stage kernel computes it (aiter-2stage), not this chain";
  if (c.norm.tree == SumTree::butterfly && hidden / kPackElems > kMaxBlockThreads) return "butterfly tree with hidden > 8192";
  if (c.norm.tree == SumTree::cub && hidden % c.norm.cubVectorWidth != 0) return "norm.sumOfSquares.tree.vectorWidth does not divide hidden";
  const bool pairs = c.norm.perThread == PerThreadPattern::pair || c.norm.perThread == PerThreadPattern::pairFma;
  if (pairs && c.norm.tree == SumTree::cub && c.norm.cubVectorWidth == 1) {
    return "norm.sumOfSquares.perThread: pair patterns sum vectors of an even width (vLLM's vectorised path), not cub vectorWidth 1";
  }
  if (static_cast<size_t>(hidden) * sizeof(float) > 48 * 1024) return "hidden > 12288: the row does not fit in 48 KiB of shared memory";
  if (c.quant.enabled) {
    if (!c.quant.inputBf16) return "quant.input 'f32': a separate quant kernel only sees the bf16 norm output (use a fused kernel)";
    // The quant kernel reduces a group within one warp: a per-token group must fit one.
    const std::string why = groupUnsupported(c.quant.groupSize == 0 ? hidden : c.quant.groupSize, hidden);
    if (!why.empty()) return why;
  }
  return "";
}

int fusedBlockThreads(const Contract& contract, int hidden) {
  if (contract.norm.tree == SumTree::smemHalving) return contract.norm.halvingBlock;
  const int packs = hidden / kPackElems;
  return (packs + kTreeWarpLanes - 1) / kTreeWarpLanes * kTreeWarpLanes;
}

ContractPin contractPinFor(const Contract& contract, int hidden) {
  if (fusedBlockThreads(contract, hidden) > kPinnedMaxThreads) return ContractPin::none;
  for (const ContractPin pin : {ContractPin::aiterGfx950, ContractPin::aiterGfx950Quant}) {
    // Byte copy and compare: the pin only assigns fields, so padding compares equal to itself.
    Contract pinned;
    std::memcpy(&pinned, &contract, sizeof pinned);
    applyContractPin(pin, pinned);
    if (std::memcmp(&pinned, &contract, sizeof pinned) == 0) return pin;
  }
  return ContractPin::none;
}

const char* contractPinName(ContractPin pin) {
  switch (pin) {
    case ContractPin::none: return "none";
    case ContractPin::aiterGfx950: return "aiter-gfx950";
    case ContractPin::aiterGfx950Quant: return "aiter-gfx950-quant";
  }
  return "none";
}

}  // namespace ulpwise
