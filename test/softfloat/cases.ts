// TestFloat-style f32 operands: sign x exponent pattern x significand pattern, operands placed
// near each other (alignment, cancellation, near-ties), weighted random, and the special
// values. Seeded, so every failure reproduces.

import { bitsFromF32, f32FromBits } from '../../src/numerics/f32.js';

/** xorshift128 (Marsaglia 2003): u32 in [0, 2^32), reproducible from the seed. */
export class Rng {
  private x: number;
  private y = 362436069;
  private z = 521288629;
  private w = 88675123;

  constructor(seed: number) {
    this.x = seed >>> 0 || 123456789;
    for (let i = 0; i < 16; i++) this.nextU32();
  }

  nextU32(): number {
    const t = (this.x ^ (this.x << 11)) >>> 0;
    this.x = this.y;
    this.y = this.z;
    this.z = this.w;
    this.w = (this.w ^ (this.w >>> 19) ^ (t ^ (t >>> 8))) >>> 0;
    return this.w;
  }

  /** Uniform integer in [0, n), n <= 2^32. */
  below(n: number): number {
    return Math.floor((this.nextU32() / 4294967296) * n);
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)];
  }
}

/** Biased exponent fields at the edges: subnormal, near min normal, around 1, near overflow. */
export const EXPONENT_PATTERNS: readonly number[] = [
  0, 1, 2, 3, 23, 24, 25, 26, 27, 48, 50, 64, 100, 102, 103, 104, 125, 126, 127, 128, 129, 150, 151, 152, 190,
  200, 226, 229, 230, 252, 253, 254,
];

/** 23-bit fractions: zero, single bits, runs of ones from the top and from the bottom, all ones
 *  but one bit, and both-ends patterns (near-ties and long carries). */
export const SIGNIFICAND_PATTERNS: readonly number[] = (() => {
  const set = new Set<number>([0, 0x7fffff, 0x400001, 0x000003, 0x600000, 0x7ffffe, 0x3fffff]);
  for (let k = 0; k < 23; k++) {
    set.add(1 << k);
    set.add(0x7fffff ^ (1 << k));
    set.add((0x7fffff & ~((1 << k) - 1)) >>> 0);
    set.add((1 << (k + 1)) - 1);
    set.add((1 << k) | 1);
  }
  return [...set].sort((a, b) => a - b);
})();

function packF32(sign: number, field: number, fraction: number): number {
  return ((sign << 31) | (field << 23) | fraction) >>> 0;
}

export const QNAN = 0x7fc00000;

/** ±0, ±min subnormal, ±max subnormal, ±min normal, ±1, ±max, ±Inf, and NaNs. */
export const SPECIAL_VALUES: readonly number[] = (() => {
  const magnitudes = [0, 0x00000001, 0x007fffff, 0x00800000, 0x3f800000, 0x3f800001, 0x40000000, 0x7f7fffff, 0x7f800000];
  const values: number[] = [];
  for (const magnitude of magnitudes) values.push(magnitude, (magnitude | 0x80000000) >>> 0);
  values.push(QNAN, 0xffc00000, 0x7f800001, 0x7fffffff, 0xff800123);
  return values;
})();

/** One operand from the pattern tables. */
export function patternOperand(rng: Rng): number {
  return packF32(rng.below(2), rng.pick(EXPONENT_PATTERNS), rng.pick(SIGNIFICAND_PATTERNS));
}

function fraction(rng: Rng): number {
  return rng.below(2) === 0 ? rng.pick(SIGNIFICAND_PATTERNS) : rng.nextU32() & 0x7fffff;
}

/** A finite operand whose exponent field is `field` pushed by a small delta (clamped to finite). */
export function operandNear(rng: Rng, field: number, spread: number): number {
  const near = Math.min(254, Math.max(0, field + rng.below(2 * spread + 1) - spread));
  return packF32(rng.below(2), near, fraction(rng));
}

/** Weighted random: uniform exponent field (Inf/NaN included), pattern or random fraction. */
export function weightedOperand(rng: Rng): number {
  return packF32(rng.below(2), rng.below(256), fraction(rng));
}

/** One operand pair, cycling through the generators so each gets a share. */
export function operandPair(rng: Rng, index: number): [number, number] {
  switch (index % 4) {
    case 0:
      return [patternOperand(rng), patternOperand(rng)];
    case 1: {
      const a = patternOperand(rng);
      return [a, operandNear(rng, (a >>> 23) & 0xff, 30)];
    }
    case 2: {
      const a = weightedOperand(rng);
      return [a, operandNear(rng, (a >>> 23) & 0xff, 30)];
    }
    default:
      return [rng.nextU32(), rng.nextU32()];
  }
}

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

function oddBetween(rng: Rng, low: number, high: number): number {
  return (low + rng.below(high - low)) | 1;
}

function withSign(rng: Rng, bits: number): number {
  return rng.below(2) === 0 ? bits : (bits | 0x80000000) >>> 0;
}

/** a and b whose exact sum is halfway between two f32s: b is an odd multiple of half an ulp of a. */
export function addTiePair(rng: Rng): [number, number] {
  const n = oddBetween(rng, 0x800000, 0x1000000); // a's significand
  const e = rng.below(200) - 120; // a = n * 2^e
  const odd = oddBetween(rng, 1, 64);
  return [withSign(rng, f32FromScaledInt(n, e)), withSign(rng, f32FromScaledInt(odd, e - 1))];
}

/** a and b whose exact product is a tie: a 25-bit odd product in the normal range, or an odd
 *  multiple of 2^-150 in the subnormal range. */
export function mulTiePair(rng: Rng): [number, number] {
  const x = oddBetween(rng, 0x800, 0x2000);
  if (rng.below(2) === 0) {
    const y = oddBetween(rng, Math.ceil(0x1000000 / x), Math.floor(0x2000000 / x));
    const p = rng.below(200) - 100;
    const q = rng.below(200) - 100;
    return [withSign(rng, f32FromScaledInt(x, p)), withSign(rng, f32FromScaledInt(y, q))];
  }
  const y = oddBetween(rng, 1, Math.floor(0x1000000 / x));
  const p = -10 - rng.below(130);
  return [withSign(rng, f32FromScaledInt(x, p)), withSign(rng, f32FromScaledInt(y, -150 - p))];
}

/** a and b = 2^k whose exact quotient is an odd multiple of 2^-150: a subnormal tie. */
export function divTiePair(rng: Rng): [number, number] {
  const k = 1 + rng.below(60);
  const n = oddBetween(rng, 1, 0x1000000);
  return [withSign(rng, f32FromScaledInt(n, k - 150)), withSign(rng, f32FromScaledInt(1, k))];
}

/** a, b, c whose exact a * b + c is a tie: the product is an odd multiple of half an ulp of c
 *  (c normal), or an odd multiple of 2^-150 added to a subnormal c. */
export function mulAddTieTriple(rng: Rng): [number, number, number] {
  const x = oddBetween(rng, 1, 64);
  const y = oddBetween(rng, 1, 64);
  if (rng.below(2) === 0) {
    const n = oddBetween(rng, 0x800000, 0x1000000);
    const e = rng.below(200) - 100;
    const p = rng.below(40) - 20;
    return [withSign(rng, f32FromScaledInt(x, p)), withSign(rng, f32FromScaledInt(y, e - 1 - p)), withSign(rng, f32FromScaledInt(n, e))];
  }
  const p = -10 - rng.below(130);
  const c = rng.below(0x800000);
  return [withSign(rng, f32FromScaledInt(x, p)), withSign(rng, f32FromScaledInt(y, -150 - p)), withSign(rng, c)];
}

/** One operand triple for a * b + c: patterns, c near the product's exponent, c cancelling
 *  the product to within a few ulps, or random bits. */
export function operandTriple(rng: Rng, index: number): [number, number, number] {
  switch (index % 4) {
    case 0:
      return [patternOperand(rng), patternOperand(rng), patternOperand(rng)];
    case 1: {
      const [a, b] = operandPair(rng, index >>> 2);
      const productField = ((a >>> 23) & 0xff) + ((b >>> 23) & 0xff) - 127;
      return [a, b, operandNear(rng, productField, 30)];
    }
    case 2: {
      const a = weightedOperand(rng);
      const b = operandNear(rng, 127, 100);
      // c = -(a * b) rounded, moved a few ulps: the sum cancels most of the product's bits.
      const productBits = bitsFromF32(Math.fround(f32FromBits(a) * f32FromBits(b)));
      return [a, b, ((productBits ^ 0x80000000) + rng.below(9) - 4) >>> 0];
    }
    default:
      return [rng.nextU32(), rng.nextU32(), rng.nextU32()];
  }
}
