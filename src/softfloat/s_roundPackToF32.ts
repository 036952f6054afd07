import { packToF32UI, type F32Subnormals } from './internals.js';
import { s_shiftRightJam32 } from './s_shiftRightJam32.js';

/**
 * The one place that rounds (to nearest, ties to even). sig holds the significand with its
 * leading 1 at bit 30 and 7 bits below the result's last bit (round bit 6, sticky below);
 * the value is sig * 2^(exp - 156), so a normal result gets exponent field exp + 1. With
 * subnormals 'flush', a result that is subnormal after rounding becomes a zero of its sign
 * (one that rounds up to the smallest normal stays: tininess after rounding, specialize.ts).
 */
export function s_roundPackToF32(sign: number, exp: number, sig: number, subnormals: F32Subnormals): number {
  let e = exp;
  let s = sig;
  if (e < 0) {
    // Below the normal range the quantum is fixed: denormalise, keeping a sticky bit.
    s = s_shiftRightJam32(s, -e);
    e = 0;
  } else if (e > 0xfd) {
    // At e = 0xfd a carry out of the significand packs to exactly Inf, so only this overflows.
    return packToF32UI(sign, 0xff, 0);
  }
  const roundBits = s & 0x7f;
  s = (s + 0x40) >>> 7;
  if (roundBits === 0x40) s = (s & ~1) >>> 0;
  if (subnormals === 'flush' && e === 0 && s < 0x00800000) return packToF32UI(sign, 0, 0);
  return packToF32UI(sign, e, s);
}
