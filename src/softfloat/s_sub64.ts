import type { U64 } from './internals.js';

/** a - b modulo 2^64. */
export function s_sub64(a: U64, b: U64): U64 {
  const lo = (a.lo - b.lo) >>> 0;
  const borrow = a.lo < b.lo ? 1 : 0;
  return { hi: (a.hi - b.hi - borrow) >>> 0, lo };
}
