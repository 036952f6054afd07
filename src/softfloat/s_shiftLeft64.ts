import type { U64 } from './internals.js';

/** a << dist for dist in [0, 63] (bits shifted past bit 63 are lost). */
export function s_shiftLeft64(a: U64, dist: number): U64 {
  if (dist === 0) return a;
  if (dist < 32) return { hi: ((a.hi << dist) | (a.lo >>> (32 - dist))) >>> 0, lo: (a.lo << dist) >>> 0 };
  return { hi: (a.lo << (dist - 32)) >>> 0, lo: 0 };
}
