import type { U64 } from './internals.js';

/**
 * The full 64-bit product of two u32, from four 16x16 -> 32 partial products (WGSL has no
 * 64-bit integer). Neither running sum can pass 2^32: each partial product is at most
 * (2^16 - 1)^2 = 2^32 - 2^17 + 1, and each sum adds less than 2^16 to one.
 */
export function s_mul32To64(a: number, b: number): U64 {
  const aLo = a & 0xffff;
  const aHi = a >>> 16;
  const bLo = b & 0xffff;
  const bHi = b >>> 16;
  const lowLow = Math.imul(aLo, bLo) >>> 0;
  const lowHigh = Math.imul(aLo, bHi) >>> 0;
  const highLow = Math.imul(aHi, bLo) >>> 0;
  const highHigh = Math.imul(aHi, bHi) >>> 0;
  const middle = (lowHigh + (lowLow >>> 16)) >>> 0;
  const middle2 = (highLow + (middle & 0xffff)) >>> 0;
  return {
    hi: (highHigh + (middle >>> 16) + (middle2 >>> 16)) >>> 0,
    lo: ((middle2 << 16) | (lowLow & 0xffff)) >>> 0,
  };
}
