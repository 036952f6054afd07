import { bitsOfFloat32Array, float32ArrayOfBits } from './f32.js';

export type Bf16Rounding = 'rne' | 'truncate';

const BF16_QUIET_BIT = 0x0040;

/**
 * f32 bits -> bf16 bits. NaN is handled first and stays NaN with its sign (libraries disagree
 * on the payload, so NaN is compared as a class). 'truncate' models aiter's gfx942 downcast
 * (`u >> 16`), which would otherwise turn a low-payload NaN into Inf.
 */
export function bf16FromF32Bits(bits: number, rounding: Bf16Rounding): number {
  if ((bits & 0x7fffffff) > 0x7f800000) return ((bits >>> 16) | BF16_QUIET_BIT) & 0xffff;
  if (rounding === 'truncate') return bits >>> 16;
  const lsb = (bits >>> 16) & 1;
  return ((bits + 0x7fff + lsb) >>> 16) & 0xffff;
}

export function f32BitsFromBf16(bits: number): number {
  return (bits << 16) >>> 0;
}

/** Rounds f32 bits to the nearest bf16 and returns the result as f32 bits (a round trip). */
export function roundF32BitsToBf16(bits: number, rounding: Bf16Rounding): number {
  return f32BitsFromBf16(bf16FromF32Bits(bits, rounding));
}

export function encodeBf16(values: Float32Array, opts: { rounding?: Bf16Rounding } = {}): Uint16Array {
  const rounding = opts.rounding ?? 'rne';
  const bits = bitsOfFloat32Array(values);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < bits.length; i++) out[i] = bf16FromF32Bits(bits[i], rounding);
  return out;
}

export function decodeBf16(bits: Uint16Array): Float32Array {
  const out = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = f32BitsFromBf16(bits[i]);
  return float32ArrayOfBits(out);
}
