import type { QuantContract } from '../../contracts/schema.js';
import { bitsFromF32, f32FromBits } from '../../numerics/f32.js';
import { FP8_TRAITS, fp8FromF32Bits } from '../../numerics/fp8.js';
import { roundToPowerOfTwo } from '../../numerics/e8m0.js';

// Per-group FP8 quantisation of one group of f32 values, in the order the kernels apply the
// steps: amax, amax floor, scale formula, zero rule, scale floor, UE8M0, quantize, clamp, convert.

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

export function groupScale(values: Float32Array, quant: QuantContract): number {
  const fp8Max = FP8_TRAITS[quant.format].maxFinite;
  let amax = 0;
  for (let i = 0; i < values.length; i++) amax = fmaxf(amax, Math.abs(values[i]));
  if (quant.amaxFloor.on === 'amax') amax = fmaxf(amax, Math.fround(quant.amaxFloor.value));
  let scale: number;
  if (quant.zeroAmaxScaleOne && amax === 0) scale = 1;
  else if (quant.scale === 'divide') scale = Math.fround(amax / fp8Max);
  else scale = Math.fround(amax * Math.fround(1 / fp8Max));
  if (quant.amaxFloor.on === 'scale') scale = fmaxf(scale, Math.fround(quant.amaxFloor.value));
  if (quant.ue8m0 !== 'none') scale = f32FromBits(roundToPowerOfTwo(bitsFromF32(scale), quant.ue8m0));
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
