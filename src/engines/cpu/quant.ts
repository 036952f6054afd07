import type { QuantContract } from '../../contracts/schema.js';
import { bitsFromF32, f32FromBits } from '../../numerics/f32.js';
import { FP8_TRAITS, fp8FromF32Bits } from '../../numerics/fp8.js';
import { roundToPowerOfTwo } from '../../numerics/e8m0.js';

// Per-group FP8 quantisation of one group of f32 values, in the order the kernels apply the
// steps: amax, amax floor, scale formula (or a static scale), zero rule, scale floor before or
// after UE8M0, quantize, clamp, convert.

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

/** The number a scale is divided by: the format's largest finite value, or the contract's own. */
function scaleDivisor(quant: QuantContract): number {
  return quant.divisor === 'format-max' ? FP8_TRAITS[quant.format].maxFinite : Math.fround(quant.divisor);
}

export function groupScale(values: Float32Array, quant: QuantContract): number {
  if (quant.staticScale !== null) return Math.fround(quant.staticScale);
  const divisor = scaleDivisor(quant);
  let amax = 0;
  for (let i = 0; i < values.length; i++) amax = fmaxf(amax, Math.abs(values[i]));
  if (quant.amaxFloor !== null) amax = fmaxf(amax, Math.fround(quant.amaxFloor));
  let scale: number;
  if (quant.zeroAmaxScaleOne && amax === 0) scale = 1;
  else if (quant.scale === 'divide') scale = Math.fround(amax / divisor);
  else scale = Math.fround(amax * Math.fround(1 / divisor));
  const floor = quant.scaleFloor;
  if (floor?.stage === 'before-ue8m0') scale = fmaxf(scale, Math.fround(floor.value));
  if (quant.ue8m0 !== 'none') scale = f32FromBits(roundToPowerOfTwo(bitsFromF32(scale), quant.ue8m0));
  if (floor?.stage === 'after-ue8m0') scale = fmaxf(scale, Math.fround(floor.value));
  return scale;
}

export function quantizeValue(value: number, scale: number, reciprocal: number, quant: QuantContract): number {
  let q = quant.quantize === 'divide' ? Math.fround(value / scale) : Math.fround(value * reciprocal);
  if (quant.clamp !== 'none') {
    const bound = Math.fround(quant.clamp);
    q = fminf(fmaxf(q, -bound), bound);
  }
  return fp8FromF32Bits(bitsFromF32(q), quant.format, quant.saturation);
}
