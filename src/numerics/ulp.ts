import { E8M0_NAN } from './e8m0.js';
import { FP8_TRAITS, type Fp8Format } from './fp8.js';

/** 'ue8m0': one UE8M0 scale byte (a biased exponent e standing for 2^(e-127), 0xFF NaN; no sign,
 *  zero or infinity: ml_dtypes@b793a6e README.md:169-176, float8_e8m0fnu), a step being one exponent,
 *  a factor of two. */
export type UlpFormat = 'bf16' | 'f32' | Fp8Format | 'ue8m0';

const WIDTH: Readonly<Record<'bf16' | 'f32', number>> = { bf16: 16, f32: 32 };

export function isNanCode(code: number, format: UlpFormat): boolean {
  if (format === 'bf16') return (code & 0x7fff) > 0x7f80;
  if (format === 'f32') return (code & 0x7fffffff) > 0x7f800000;
  if (format === 'ue8m0') return code === E8M0_NAN;
  const t = FP8_TRAITS[format];
  if (t.fnuz) return code === 0x80;
  const magnitude = code & 0x7f;
  return t.hasInfinity ? magnitude > t.maxFiniteCode + 1 : magnitude === t.nanCode;
}

/** Position on the number line in representable steps: +0 and -0 share 0; Inf is one past max. */
function ordinal(code: number, format: UlpFormat): number {
  if (format === 'ue8m0') return code;
  const width = format === 'bf16' || format === 'f32' ? WIDTH[format] : 8;
  const signBit = 2 ** (width - 1);
  const magnitude = code % signBit;
  // Not -magnitude for -0: that is the number -0, and every distance from +0 to -0 would read -0.
  return code >= signBit && magnitude !== 0 ? -magnitude : magnitude;
}

/**
 * Signed distance from `expected` to `actual` in representable steps of `format`, on codes.
 * NaN is a class: two NaNs are 0 apart; a NaN against a number is NaN (its own mismatch class).
 */
export function ulpDistance(expected: number, actual: number, format: UlpFormat): number {
  const expectedNan = isNanCode(expected, format);
  const actualNan = isNanCode(actual, format);
  if (expectedNan || actualNan) return expectedNan && actualNan ? 0 : NaN;
  return ordinal(actual, format) - ordinal(expected, format);
}
