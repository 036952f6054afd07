import type { U64 } from './internals.js';
import { s_shiftRightJam32 } from './s_shiftRightJam32.js';

/** a >> dist on a 64-bit value, OR-ing every bit shifted out into bit 0, for any dist. */
export function s_shiftRightJam64(a: U64, dist: number): U64 {
  if (dist === 0) return a;
  if (dist < 32) {
    const sticky = a.lo << (32 - dist) !== 0 ? 1 : 0;
    return { hi: a.hi >>> dist, lo: ((a.hi << (32 - dist)) | (a.lo >>> dist) | sticky) >>> 0 };
  }
  if (dist < 64) return { hi: 0, lo: (s_shiftRightJam32(a.hi, dist - 32) | (a.lo !== 0 ? 1 : 0)) >>> 0 };
  return { hi: 0, lo: (a.hi | a.lo) !== 0 ? 1 : 0 };
}
