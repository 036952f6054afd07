import type { U64 } from './internals.js';

/** a + b modulo 2^64. */
export function s_add64(a: U64, b: U64): U64 {
  const lo = (a.lo + b.lo) >>> 0;
  const carry = lo < a.lo ? 1 : 0;
  return { hi: (a.hi + b.hi + carry) >>> 0, lo };
}
