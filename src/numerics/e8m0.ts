import { isNanBits } from './f32.js';

/** How a positive f32 scale becomes a power of two.
 *  ceil: vLLM / DeepGEMM UE8M0 (bump the exponent when the mantissa is non-zero);
 *  floor: OCP MX (drop the mantissa); rne: ml_dtypes `.astype(float8_e8m0fnu)`. */
export const E8M0_ROUNDINGS = ['ceil', 'floor', 'rne'] as const;
export type E8m0Rounding = (typeof E8M0_ROUNDINGS)[number];

export const E8M0_NAN = 0xff;

/**
 * Rounds a non-negative f32 (bits) to a power of two, returned as f32 bits. Zero stays zero,
 * NaN stays NaN, a result past 2^127 is +Inf. rne breaks ties towards the even e8m0 code,
 * which is the even biased exponent.
 */
export function roundToPowerOfTwo(bits: number, mode: E8m0Rounding): number {
  if (isNanBits(bits)) return 0x7fc00000;
  const magnitude = bits & 0x7fffffff;
  if (magnitude === 0 || magnitude === 0x7f800000) return magnitude;
  const exponentField = magnitude >>> 23;
  const mantissa = magnitude & 0x7fffff;
  if (exponentField === 0) {
    // f32 subnormal: the power of two is a single mantissa bit.
    const lead = 31 - Math.clz32(mantissa);
    const down = 1 << lead;
    if (mantissa === down || mode === 'floor') return down;
    if (mode === 'ceil') return down << 1;
    const half = down >>> 1;
    const rest = mantissa - down;
    if (rest > half || (rest === half && (lead & 1) === 1)) return down << 1;
    return down;
  }
  if (mantissa === 0 || mode === 'floor') return exponentField << 23;
  let roundUp: boolean;
  if (mode === 'ceil') roundUp = true;
  else roundUp = mantissa > 0x400000 || (mantissa === 0x400000 && (exponentField & 1) === 1);
  const exponentOut = roundUp ? exponentField + 1 : exponentField;
  return exponentOut >= 255 ? 0x7f800000 : exponentOut << 23;
}

/** f32 bits of a power of two in [2^-127, 2^127] -> its e8m0 code (the biased exponent). */
export function e8m0FromPowerOfTwoBits(bits: number): number {
  if (isNanBits(bits) || bits === 0x7f800000) return E8M0_NAN;
  if (bits === 0x00400000) return 0; // 2^-127 is an f32 subnormal
  const exponentField = bits >>> 23;
  if (bits >>> 31 !== 0 || (bits & 0x7fffff) !== 0 || exponentField === 0) {
    throw new RangeError(`e8m0: 0x${bits.toString(16)} is not a power of two in [2^-127, 2^127]`);
  }
  return exponentField;
}

export function f32BitsFromE8m0(code: number): number {
  if (code === E8M0_NAN) return 0x7fc00000;
  if (code === 0) return 0x00400000;
  return code << 23;
}
