// Contract pins: contracts the 1-stage kernel has instances for that know them at compile time
// (fused_allreduce_norm.hip), and which contract matches which (support.cpp, host code, so the
// CPU tests walk every preset through it).
#ifndef ULPWISE_KERNELS_CONTRACT_PIN_H
#define ULPWISE_KERNELS_CONTRACT_PIN_H

#include "contract.h"

namespace ulpwise {

/**
 * Contracts a 1-stage instantiation knows at compile time (bench-bandwidth's two, aiter's gfx950
 * 1-stage kernel with and without its group quant). The kernel copies the run-time contract and
 * overwrites these fields with the same values (the host launches a pinned instance only on a
 * contract that equals its pin there), so the compiler folds every branch on them away: the
 * generic instance of the same code spends most of its instructions deciding the contract.
 */
enum class ContractPin : int32_t { none, aiterGfx950, aiterGfx950Quant };

/** Sets the fields `pin` fixes; the others (eps, the divisor, ranks) stay run-time values. */
ULPWISE_HD void applyContractPin(ContractPin pin, Contract& c) {
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

/** Threads of a pinned instance's block at most (H <= 7168): the register file then allows 72
 *  registers a thread (65536 / 896) where 1024 threads allow 64, and at 64 the pinned instances
 *  spilled (ptxas -v: up to 56 bytes). A larger H runs the generic instance. */
constexpr int kPinnedMaxThreads = 896;

/** The pin whose fields equal the contract's, or none (also for a row of more than 7168
 *  elements: the pinned instances take at most kPinnedMaxThreads threads). */
ContractPin contractPinFor(const Contract& contract, int hidden);

/** The pin's name in logs and in contract_check --pins: none, aiter-gfx950, aiter-gfx950-quant. */
const char* contractPinName(ContractPin pin);

}  // namespace ulpwise

#endif  // ULPWISE_KERNELS_CONTRACT_PIN_H
