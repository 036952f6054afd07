import type { F32Subnormals } from './internals.js';
import { s_roundPackToF32 } from './s_roundPackToF32.js';

/** s_roundPackToF32 for a significand whose leading 1 is anywhere below bit 31 (sig != 0). */
export function s_normRoundPackToF32(sign: number, exp: number, sig: number, subnormals: F32Subnormals): number {
  const shiftDist = Math.clz32(sig) - 1;
  return s_roundPackToF32(sign, exp - shiftDist, (sig << shiftDist) >>> 0, subnormals);
}
