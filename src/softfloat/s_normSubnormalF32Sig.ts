import type { ExpSig32 } from './internals.js';

/** Moves a subnormal's leading 1 to bit 23 and returns the exponent that keeps the value. */
export function s_normSubnormalF32Sig(sig: number): ExpSig32 {
  const shiftDist = Math.clz32(sig) - 8;
  return { exp: 1 - shiftDist, sig: (sig << shiftDist) >>> 0 };
}
