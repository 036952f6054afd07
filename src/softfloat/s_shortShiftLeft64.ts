import type { U64 } from './internals.js';

/** a << dist for dist in [1, 31]. */
export function s_shortShiftLeft64(a: U64, dist: number): U64 {
  return { hi: ((a.hi << dist) | (a.lo >>> (32 - dist))) >>> 0, lo: (a.lo << dist) >>> 0 };
}
