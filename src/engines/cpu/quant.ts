import { bitsFromF32, f32FromBits } from '../../numerics/f32.js';
import { roundToPowerOfTwo } from '../../numerics/e8m0.js';
import type { QuantConstants } from './context.js';
import type { F32Arithmetic } from '../../numerics/f32ops.js';
import { hardwareOpFunctions } from './hardwareOps.js';

// Twin of shaders/engine/quant.wgsl (entries groupScale and quantize): per-group FP8 quant of
// one group of f32 values, in the order the kernels apply the steps: amax, amax floor, scale
// formula (or a static scale), zero rule, scale floor before or after UE8M0, quantize, clamp,
// convert. Max, min and the comparisons read subnormals as they are; only the arithmetic
// (divide, multiply) follows the contract's f32Subnormals.

/** CUDA fmaxf/fminf: a NaN operand yields the other operand. */
function fmaxf(a: number, b: number): number {
  if (Number.isNaN(a)) return b;
  if (Number.isNaN(b)) return a;
  return a > b ? a : b;
}
function fminf(a: number, b: number): number {
  if (Number.isNaN(a)) return b;
  if (Number.isNaN(b)) return a;
  return a < b ? a : b;
}

/** The scale of one group. */
export function groupScale(q: QuantConstants, f32: F32Arithmetic, values: Float32Array): number {
  const { quant, divisor } = q;
  const ops = hardwareOpFunctions(q.slots, f32);
  if (quant.staticScale !== null) return Math.fround(quant.staticScale);
  let amax = 0;
  for (let i = 0; i < values.length; i++) amax = fmaxf(amax, Math.abs(values[i]));
  if (quant.amaxFloor !== null) amax = fmaxf(amax, Math.fround(quant.amaxFloor));
  let scale: number;
  if (quant.zeroAmaxScaleOne && amax === 0) scale = 1;
  else if (quant.scale === 'divide') scale = ops.divide(amax, divisor);
  else scale = f32.mul(amax, ops.reciprocal(divisor));
  const floor = quant.scaleFloor;
  if (floor?.stage === 'before-ue8m0') scale = fmaxf(scale, Math.fround(floor.value));
  if (quant.ue8m0 !== 'none') scale = f32FromBits(roundToPowerOfTwo(bitsFromF32(scale), quant.ue8m0));
  if (floor?.stage === 'after-ue8m0') scale = fmaxf(scale, Math.fround(floor.value));
  return scale;
}

/** The FP8 codes of one group's values under its scale, written at codes[offset ..]. */
export function quantize(q: QuantConstants, f32: F32Arithmetic, values: Float32Array, scale: number, codes: Uint8Array, offset: number): void {
  const { quant } = q;
  const ops = hardwareOpFunctions(q.slots, f32);
  const reciprocal = ops.reciprocal(scale);
  const bound = quant.clamp === 'none' ? null : Math.fround(quant.clamp);
  for (let k = 0; k < values.length; k++) {
    let scaled = quant.quantize === 'divide' ? ops.divide(values[k], scale) : f32.mul(values[k], reciprocal);
    if (bound !== null) scaled = fminf(fmaxf(scaled, -bound), bound);
    codes[offset + k] = q.encode(bitsFromF32(scaled));
  }
}
