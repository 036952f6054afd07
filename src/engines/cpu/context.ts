import type { Bf16RoundingSites, Contract, HardwareOps, QuantContract, Shape } from '../../contracts/schema.js';
import { ContractError } from '../../contracts/validate.js';
import { bf16FromF32Bits, f32BitsFromBf16, type Bf16Rounding } from '../../numerics/bf16.js';
import { bitsFromF32, f32FromBits } from '../../numerics/f32.js';
import { f32Arithmetic, IEEE_F32, type F32Arithmetic } from '../../numerics/f32ops.js';
import { fp8Encoder, FP8_TRAITS, type Fp8Encoder } from '../../numerics/fp8.js';
import type { Tensor } from '../../numerics/tensor.js';
import { quantGroups, quantGroupSize, type CaseInputs } from '../io.js';
import { rankOrderLayout, type RankOrderLayout } from '../layout/rankOrder.js';
import { reductionPlan, type ReductionPlan } from '../layout/reduction.js';
import { hardwareOpFunctions, IEEE_SLOTS, type HardwareOpFunctions } from './hardwareOps.js';

// What every CPU stage reads, decided once per (contract, shape, inputs): the f32 arithmetic
// (IEEE or flushing), the rounding of each bf16 downcast site, the rank rotation and reduction
// plan from the layout module, the effective weight and the quant constants.

const BF16_TABLE = new Float32Array(65536);
for (let b = 0; b < 65536; b++) BF16_TABLE[b] = f32FromBits(f32BitsFromBf16(b));

/** The f32 value of bf16 bits. */
export function bf16Value(bits: number): number {
  return BF16_TABLE[bits];
}

export function toBf16Bits(value: number, rounding: Bf16Rounding): number {
  return bf16FromF32Bits(bitsFromF32(value), rounding);
}

/** The round trip through bf16 at one downcast site. */
export function roundBf16(value: number, rounding: Bf16Rounding): number {
  return BF16_TABLE[toBf16Bits(value, rounding)];
}

export interface QuantConstants {
  readonly quant: QuantContract;
  readonly groupSize: number;
  readonly groups: number;
  /** fround of the divisor the scale is formed with. */
  readonly divisor: number;
  /** The contract's reciprocal and divide slots (rsqrt is the norm's). */
  readonly slots: HardwareOps;
  /** f32 bits -> FP8 code in the contract's format and saturation. */
  readonly encode: Fp8Encoder;
}

export function quantConstants(quant: QuantContract, hidden: number, slots: HardwareOps = IEEE_SLOTS): QuantConstants {
  return {
    quant,
    groupSize: quantGroupSize(quant, hidden),
    groups: quantGroups(quant, hidden),
    divisor: quant.divisor === 'format-max' ? FP8_TRAITS[quant.format].maxFinite : Math.fround(quant.divisor),
    slots,
    encode: fp8Encoder(quant.format, quant.saturation),
  };
}

export interface CpuCase {
  readonly contract: Contract;
  readonly shape: Shape;
  readonly f32: F32Arithmetic;
  /** The hardware-op slots as functions (rsqrt, reciprocal, divide). */
  readonly ops: HardwareOpFunctions;
  readonly sites: Bf16RoundingSites;
  /** The rank order: a rotation, or NCCL's per-channel segments. */
  readonly order: RankOrderLayout;
  readonly plan: ReductionPlan;
  /** The weight as f32 values after dtype, cast and Gemma offset. */
  readonly weight: Float32Array;
  readonly eps: number;
  readonly quant: QuantConstants | null;
  /** Rank inputs as bf16 bits, in rank order. */
  readonly rankData: readonly Uint16Array[];
  /** The residual as bf16 bits, or null when the contract adds none. */
  readonly residual: Uint16Array | null;
}

/** The weight as f32 values, after the contract's dtype, cast and offset rules. */
function effectiveWeight(contract: Contract, weight: Tensor, f32: F32Arithmetic): Float32Array {
  const out = new Float32Array(weight.data.length);
  for (let h = 0; h < out.length; h++) {
    const bits = weight.dtype === 'BF16' ? f32BitsFromBf16(weight.data[h]) : weight.data[h];
    // torch's .to(bfloat16) is round-to-nearest-even, whatever the kernel's own downcast does.
    const w = contract.norm.weight.castToBf16 ? roundBf16(f32FromBits(bits), 'rne') : f32FromBits(bits);
    // Gemma's (1 + w): added in the kernel in f32 (aiter car.cuh:1651, FlashInfer
    // trtllm_allreduce_fusion.cuh:1307), or a bf16 weight tensor + 1 in torch (RNE).
    const offset = contract.norm.weight.offset;
    out[h] = offset === 'none' ? w : offset === 'f32' ? f32.add(1, w) : roundBf16(IEEE_F32.add(1, w), 'rne');
  }
  if (out.length === 0) throw new ContractError('weight is empty');
  return out;
}

/** Effective weights of one set of inputs by the rules effectiveWeight reads (the cast, the
 *  offset, the subnormal rule): a caller building many cases over the same inputs (explain's
 *  scorer: about 150 contracts a run, a handful of weights) passes one map to cpuCase for all. */
export type EffectiveWeights = Map<string, Float32Array>;

function weightFor(contract: Contract, weight: Tensor, f32: F32Arithmetic, kept: EffectiveWeights | undefined): Float32Array {
  if (!kept) return effectiveWeight(contract, weight, f32);
  const { castToBf16, offset } = contract.norm.weight;
  const key = `${castToBf16}|${offset}|${contract.f32Subnormals}`;
  let w = kept.get(key);
  if (!w) {
    w = effectiveWeight(contract, weight, f32);
    kept.set(key, w);
  }
  return w;
}

/** The engine's state for a contract on a shape and inputs; `weights` keeps effective weights
 *  across calls on the same inputs (see EffectiveWeights). */
export function cpuCase(contract: Contract, shape: Shape, inputs: CaseInputs, weights?: EffectiveWeights): CpuCase {
  const f32 = f32Arithmetic(contract.f32Subnormals);
  const quant = contract.quant;
  return {
    contract,
    shape,
    f32,
    ops: hardwareOpFunctions(contract.hardwareOps, f32),
    sites: contract.bf16Rounding,
    order: rankOrderLayout(contract.allReduce.order, shape.ranks, shape.tokens * shape.hidden),
    plan: reductionPlan(contract, shape),
    weight: weightFor(contract, inputs.weight, f32, weights),
    eps: Math.fround(contract.norm.eps),
    quant: quant && quantConstants(quant, shape.hidden, contract.hardwareOps),
    rankData: inputs.rankInputs.map((t) => t.data as Uint16Array),
    // A contract without a residual ignores one that the inputs happen to carry.
    residual: contract.residual ? (inputs.residual?.data as Uint16Array) : null,
  };
}
