// Constructed halfway cases for the soft-float tests: operands whose exact result lies halfway
// between two f32s, in the normal and the subnormal range. The TestFloat pattern operands and
// the special values are src/softfloat/conformance/testfloat.ts (one copy, shared with the
// selftest); the generator is the project's seeded Xoshiro128StarStar.

import type { Xoshiro128StarStar } from '../../src/fixtures/prng.js';

/** Bits of the f32 that is exactly n * 2^e (n a positive integer below 2^24). Throws when that
 *  value is not an f32: a generator that asks for one has a bug. */
export function f32FromScaledInt(n: number, e: number): number {
  if (!Number.isInteger(n) || n <= 0 || n >= 0x1000000) throw new RangeError(`f32FromScaledInt: n = ${n}`);
  const lead = 31 - Math.clz32(n);
  const field = e + lead + 127;
  if (field > 254) throw new RangeError(`f32FromScaledInt: ${n} * 2^${e} overflows`);
  if (field >= 1) return ((field << 23) | ((n << (23 - lead)) & 0x7fffff)) >>> 0;
  if (e < -149) throw new RangeError(`f32FromScaledInt: ${n} * 2^${e} is not a multiple of 2^-149`);
  return n * 2 ** (e + 149);
}

function oddBetween(rng: Xoshiro128StarStar, low: number, high: number): number {
  return (low + rng.nextBelow(high - low)) | 1;
}

function withSign(rng: Xoshiro128StarStar, bits: number): number {
  return rng.nextBelow(2) === 0 ? bits : (bits | 0x80000000) >>> 0;
}

/** a and b whose exact sum is halfway between two f32s: b is an odd multiple of half an ulp of a. */
export function addTiePair(rng: Xoshiro128StarStar): [number, number] {
  const n = oddBetween(rng, 0x800000, 0x1000000); // a's significand
  const e = rng.nextBelow(200) - 120; // a = n * 2^e
  const odd = oddBetween(rng, 1, 64);
  return [withSign(rng, f32FromScaledInt(n, e)), withSign(rng, f32FromScaledInt(odd, e - 1))];
}

/** a and b whose exact product is a tie: a 25-bit odd product in the normal range, or an odd
 *  multiple of 2^-150 in the subnormal range. */
export function mulTiePair(rng: Xoshiro128StarStar): [number, number] {
  const x = oddBetween(rng, 0x800, 0x2000);
  if (rng.nextBelow(2) === 0) {
    const y = oddBetween(rng, Math.ceil(0x1000000 / x), Math.floor(0x2000000 / x));
    const p = rng.nextBelow(200) - 100;
    const q = rng.nextBelow(200) - 100;
    return [withSign(rng, f32FromScaledInt(x, p)), withSign(rng, f32FromScaledInt(y, q))];
  }
  const y = oddBetween(rng, 1, Math.floor(0x1000000 / x));
  const p = -10 - rng.nextBelow(130);
  return [withSign(rng, f32FromScaledInt(x, p)), withSign(rng, f32FromScaledInt(y, -150 - p))];
}

/** a and b = 2^k whose exact quotient is an odd multiple of 2^-150: a subnormal tie. */
export function divTiePair(rng: Xoshiro128StarStar): [number, number] {
  const k = 1 + rng.nextBelow(60);
  const n = oddBetween(rng, 1, 0x1000000);
  return [withSign(rng, f32FromScaledInt(n, k - 150)), withSign(rng, f32FromScaledInt(1, k))];
}

/** a, b, c whose exact a * b + c is a tie: the product is an odd multiple of half an ulp of c
 *  (c normal), or an odd multiple of 2^-150 added to a subnormal c. */
export function mulAddTieTriple(rng: Xoshiro128StarStar): [number, number, number] {
  const x = oddBetween(rng, 1, 64);
  const y = oddBetween(rng, 1, 64);
  if (rng.nextBelow(2) === 0) {
    const n = oddBetween(rng, 0x800000, 0x1000000);
    const e = rng.nextBelow(200) - 100;
    const p = rng.nextBelow(40) - 20;
    return [withSign(rng, f32FromScaledInt(x, p)), withSign(rng, f32FromScaledInt(y, e - 1 - p)), withSign(rng, f32FromScaledInt(n, e))];
  }
  const p = -10 - rng.nextBelow(130);
  const c = rng.nextBelow(0x800000);
  return [withSign(rng, f32FromScaledInt(x, p)), withSign(rng, f32FromScaledInt(y, -150 - p)), withSign(rng, c)];
}
