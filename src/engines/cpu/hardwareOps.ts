import type { HardwareOps } from '../../contracts/schema.js';
import { bitsFromF32, f32FromBits } from '../../numerics/f32.js';
import { FLUSHING_F32, IEEE_F32, type F32Arithmetic } from '../../numerics/f32ops.js';
import { sm90RcpApprox, sm90RcpApproxFtz, sm90RsqrtApprox, sm90RsqrtApproxFtz } from '../../numerics/hardware/sm90.js';
import { sm90DivFull, sm90DivFullFtz } from '../../numerics/hardware/sm90Div.js';

// The contract's hardware-op slots (schema hardwareOps) as f32 functions. 'ieee' and 'inferred'
// compute the correctly rounded value (diff and explain infer an 'inferred' slot's deviation);
// 'sm90' / 'sm90-div-full' are the instructions measured on an H200 over all 2^32 inputs
// (gpu/MEASUREMENTS.md): nvcc's rsqrtf is rsqrt.approx.f32, Triton's tl.math.rsqrt is
// rsqrt.approx.ftz.f32 and its f32 `/` is div.full.f32; the .ftz form is the one a kernel built
// with flushed subnormals (f32Subnormals 'flush') runs. Twin: shaders/engine/hardwareOps.wgsl
// (rsqrtSlot, reciprocalSlot, divideSlot), over the WGSL twins of src/numerics/hardware.

export interface HardwareOpFunctions {
  /** rstd from the variance + eps. ieee: fround(1 / fround(sqrt(v))). */
  rsqrt(v: number): number;
  /** 1 / x. */
  reciprocal(x: number): number;
  /** a / b. */
  divide(a: number, b: number): number;
}

const viaBits1 =
  (op: (bits: number) => number) =>
  (x: number): number =>
    f32FromBits(op(bitsFromF32(x)));

/** Built once per slot combination for the two shared arithmetics (the quant stages ask per
 *  group); any other arithmetic gets its own functions. */
const built = new Map<string, HardwareOpFunctions>();

export function hardwareOpFunctions(slots: HardwareOps, f32: F32Arithmetic): HardwareOpFunctions {
  const flush = f32 === FLUSHING_F32;
  const key = f32 === IEEE_F32 || flush ? `${slots.rsqrt}|${slots.reciprocal}|${slots.divide}|${flush}` : null;
  const cached = key === null ? undefined : built.get(key);
  if (cached) return cached;
  const ops: HardwareOpFunctions = {
    rsqrt: slots.rsqrt === 'sm90' ? viaBits1(flush ? sm90RsqrtApproxFtz : sm90RsqrtApprox) : (v) => f32.div(1, f32.sqrt(v)),
    reciprocal: slots.reciprocal === 'sm90' ? viaBits1(flush ? sm90RcpApproxFtz : sm90RcpApprox) : (x) => f32.div(1, x),
    divide:
      slots.divide === 'sm90-div-full'
        ? (a, b) => f32FromBits((flush ? sm90DivFullFtz : sm90DivFull)(bitsFromF32(a), bitsFromF32(b)))
        : (a, b) => f32.div(a, b),
  };
  if (key !== null) built.set(key, ops);
  return ops;
}

/** Every slot correctly rounded: what a contract with hardwareOps all 'ieee' computes. */
export const IEEE_SLOTS: HardwareOps = { rsqrt: 'ieee', reciprocal: 'ieee', divide: 'ieee' };
