import type { U64 } from './internals.js';

export function s_countLeadingZeros64(a: U64): number {
  if (a.hi !== 0) return Math.clz32(a.hi);
  return 32 + Math.clz32(a.lo);
}
