import type { Xoshiro128StarStar } from '../../fixtures/prng.js';
import { bitsFromF32, f32FromBits } from '../../numerics/f32.js';

// TestFloat-style f32 operands (Hauser's TestFloat: sign x exponent pattern x significand
// pattern, operands placed near each other, weighted random), the one copy of these tables:
// `ulpwise selftest` (suites.ts), the soft-float tests (test/softfloat) and the codec tests
// (test/numerics) draw from them. Seeded by the caller's generator, so every case reproduces.

/** Biased exponent fields at the edges: subnormal, near min normal, around 1, near overflow. */
export const EXPONENT_PATTERNS: readonly number[] = [
  0, 1, 2, 3, 23, 24, 25, 26, 27, 48, 50, 64, 100, 102, 103, 104, 125, 126, 127, 128, 129, 150, 151, 152, 190, 200, 226, 229, 230, 252, 253, 254,
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

/** ±0, ±min and max subnormal, ±min normal, ±1 and both its neighbours, ±2, ±max, ±Inf, and
 *  NaNs (quiet of either sign, signalling, full and odd payloads). */
export const SPECIAL_F32: readonly number[] = (() => {
  const magnitudes = [0, 0x00000001, 0x007fffff, 0x00800000, 0x3f7fffff, 0x3f800000, 0x3f800001, 0x40000000, 0x7f7fffff, 0x7f800000];
  const values = magnitudes.flatMap((m) => [m, (m | 0x80000000) >>> 0]);
  values.push(0x7fc00000, 0xffc00000, 0x7f800001, 0x7fffffff, 0xff800123);
  return values;
})();

export function packF32(sign: number, field: number, fraction: number): number {
  return ((sign << 31) | (field << 23) | fraction) >>> 0;
}

/** One operand from the pattern tables. */
export function patternOperand(rng: Xoshiro128StarStar): number {
  return packF32(rng.nextBelow(2), rng.pick(EXPONENT_PATTERNS), rng.pick(SIGNIFICAND_PATTERNS));
}

function fraction(rng: Xoshiro128StarStar): number {
  return rng.nextBelow(2) === 0 ? rng.pick(SIGNIFICAND_PATTERNS) : rng.nextUint32() & 0x7fffff;
}

/** A finite operand whose exponent field is `field` pushed by up to `spread` (clamped to finite). */
export function operandNear(rng: Xoshiro128StarStar, field: number, spread: number): number {
  const near = Math.min(254, Math.max(0, field + rng.nextInt(-spread, spread)));
  return packF32(rng.nextBelow(2), near, fraction(rng));
}

/** A partner for `a`: its exponent pushed by up to 30 (alignment shifts, cancellation), and a
 *  third of the time a's own fraction moved by a few ulps (near-ties). */
function partnerOf(rng: Xoshiro128StarStar, a: number): number {
  const field = (a >>> 23) & 0xff;
  if (rng.nextBelow(3) !== 0) return operandNear(rng, field, 30);
  const near = Math.min(254, Math.max(0, field + rng.nextInt(-26, 26)));
  return packF32(rng.nextBelow(2), near, (a + rng.nextInt(-3, 3)) & 0x7fffff);
}

/** Weighted random: uniform exponent field (Inf/NaN included), pattern or random fraction. */
export function weightedOperand(rng: Xoshiro128StarStar): number {
  return packF32(rng.nextBelow(2), rng.nextBelow(256), fraction(rng));
}

/** One operand pair, cycling through the generators so each gets a share. */
export function operandPair(rng: Xoshiro128StarStar, index: number): [number, number] {
  switch (index % 4) {
    case 0:
      return [patternOperand(rng), patternOperand(rng)];
    case 1: {
      const a = patternOperand(rng);
      return [a, partnerOf(rng, a)];
    }
    case 2: {
      const a = weightedOperand(rng);
      return [a, partnerOf(rng, a)];
    }
    default:
      return [rng.nextUint32(), rng.nextUint32()];
  }
}

/** One operand triple for a * b + c: patterns, c near the product's exponent, c cancelling
 *  the product to within a few ulps, or random bits. */
export function operandTriple(rng: Xoshiro128StarStar, index: number): [number, number, number] {
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
      // c = -(a * b) rounded, moved a few ulps: the sum cancels most of the product's bits
      // (the product is formed in double only to pick c; no result is computed this way).
      const productBits = bitsFromF32(Math.fround(f32FromBits(a) * f32FromBits(b)));
      return [a, b, ((productBits ^ 0x80000000) + rng.nextInt(-4, 4)) >>> 0];
    }
    default:
      return [rng.nextUint32(), rng.nextUint32(), rng.nextUint32()];
  }
}
