import { describe, expect, it } from 'vitest';
import { fmaF32 } from '../../src/numerics/index.js';
import { SIGNIFICAND_PATTERNS, f32BitsOfExactValue, hex, isF32NanBits, valueOfF32Bits } from './f32-fields.js';
import { Xoshiro128StarStar } from '../../src/fixtures/prng.js';

const F32_NAN = 0x7fc00000;

interface Finite {
  readonly negative: boolean;
  /** value = significand * 2^exponent, exactly */
  readonly significand: bigint;
  readonly exponent: number;
}

function unpack(bits: number): Finite {
  const exponentField = (bits >>> 23) & 0xff;
  const fraction = bits & 0x7fffff;
  return {
    negative: bits >>> 31 === 1,
    significand: BigInt(exponentField === 0 ? fraction : fraction + 0x800000),
    exponent: (exponentField === 0 ? 1 : exponentField) - 150,
  };
}

function isInfBits(bits: number): boolean {
  return (bits & 0x7fffffff) === 0x7f800000;
}

function bitLength(n: bigint): number {
  let length = Math.floor(Math.log2(Number(n))) + 1;
  while (n >> BigInt(length) !== 0n) length++;
  while (length > 0 && n >> BigInt(length - 1) === 0n) length--;
  return length;
}

/** Round the exact magnitude n * 2^e (n > 0) to the nearest-even f32, with subnormals and overflow. */
function roundToF32(negative: boolean, n: bigint, e: number): number {
  const sign = negative ? 0x80000000 : 0;
  const topExponent = bitLength(n) - 1 + e; // value in [2^top, 2^(top+1))
  const quantumExponent = Math.max(topExponent, -126) - 23;
  let significand: bigint;
  if (e >= quantumExponent) {
    significand = n << BigInt(e - quantumExponent);
  } else {
    const shift = BigInt(quantumExponent - e);
    significand = n >> shift;
    const remainder = n - (significand << shift);
    const half = 1n << (shift - 1n);
    if (remainder > half || (remainder === half && (significand & 1n) === 1n)) significand += 1n;
  }
  let exponent = quantumExponent;
  if (significand === 1n << 24n) {
    significand >>= 1n;
    exponent += 1;
  }
  if (significand < 1n << 23n) return (sign + Number(significand)) >>> 0; // subnormal (exponent is -149)
  const exponentField = exponent + 150;
  if (exponentField >= 255) return (sign + 0x7f800000) >>> 0;
  return (sign + exponentField * 2 ** 23 + Number(significand - (1n << 23n))) >>> 0;
}

/** Exact a*b + c from the bit fields in BigInt, one rounding. NaN comes back as 0x7FC00000. */
function referenceFma(a: number, b: number, c: number): number {
  if (isF32NanBits(a) || isF32NanBits(b) || isF32NanBits(c)) return F32_NAN;
  const productNegative = a >>> 31 !== b >>> 31;
  const aZero = (a & 0x7fffffff) === 0;
  const bZero = (b & 0x7fffffff) === 0;
  if (isInfBits(a) || isInfBits(b)) {
    if (aZero || bZero) return F32_NAN; // 0 * Inf
    if (isInfBits(c) && (c >>> 31 === 1) !== productNegative) return F32_NAN; // Inf - Inf
    return productNegative ? 0xff800000 : 0x7f800000;
  }
  if (isInfBits(c)) return c;
  const pa = unpack(a);
  const pb = unpack(b);
  const pc = unpack(c);
  const productSignificand = pa.significand * pb.significand;
  const productExponent = pa.exponent + pb.exponent;
  const common = Math.min(productExponent, pc.exponent);
  const product = (productSignificand << BigInt(productExponent - common)) * (productNegative ? -1n : 1n);
  const addend = (pc.significand << BigInt(pc.exponent - common)) * (pc.negative ? -1n : 1n);
  const sum = product + addend;
  if (sum === 0n) {
    // Non-zero terms that cancel have opposite signs: +0. Two zeros keep a common sign (IEEE 754 6.3).
    return productNegative && pc.negative && productSignificand === 0n && pc.significand === 0n ? 0x80000000 : 0;
  }
  return sum < 0n ? roundToF32(true, -sum, common) : roundToF32(false, sum, common);
}

function sameResult(expected: number, actual: number): boolean {
  return expected === F32_NAN ? isF32NanBits(actual) : expected === actual;
}

/** fmaF32's result as bits, or why it is not an f32 value at all. */
function fmaBits(x: number, y: number, z: number): number | string {
  try {
    return f32BitsOfExactValue(fmaF32(x, y, z));
  } catch (error) {
    return String(error);
  }
}

function runTriples(triples: Iterable<readonly [number, number, number]>): { count: number; froundDiffers: number; failures: string[] } {
  const failures: string[] = [];
  let count = 0;
  let froundDiffers = 0;
  for (const [a, b, c] of triples) {
    count++;
    const x = valueOfF32Bits(a);
    const y = valueOfF32Bits(b);
    const z = valueOfF32Bits(c);
    const expected = referenceFma(a, b, c);
    const actual = fmaBits(x, y, z);
    if (typeof actual === 'string' || !sameResult(expected, actual)) {
      const got = typeof actual === 'string' ? actual : hex(actual);
      failures.push(`fma(${hex(a)}, ${hex(b)}, ${hex(c)}): expected ${hex(expected)}, got ${got}`);
      if (failures.length >= 10) break;
    }
    if (!sameResult(expected, f32BitsOfExactValue(Math.fround(x * y + z)))) froundDiffers++;
  }
  return { count, froundDiffers, failures };
}

function operand(prng: Xoshiro128StarStar, exponentField: number): number {
  const fraction = prng.nextBelow(10) < 3 ? prng.pick(SIGNIFICAND_PATTERNS) : prng.nextUint32() & 0x7fffff;
  return ((prng.nextBoolean() ? 0x80000000 : 0) + exponentField * 2 ** 23 + fraction) >>> 0;
}

function clampField(field: number): number {
  return Math.min(254, Math.max(0, field));
}

/** Random f32 bits with the given unbiased exponent (normal), random fraction and sign. */
function withExponent(prng: Xoshiro128StarStar, exponent: number): number {
  return operand(prng, clampField(exponent + 127));
}

/**
 * c big, a*b = ulp(c)/2 * (1 - u^2 2^-2j): the exact sum sits just off an f32 tie by less
 * than an f64 ulp, so the f64 sum lands on the tie and fround breaks it the wrong way.
 */
function nearTieFromProduct(prng: Xoshiro128StarStar): readonly [number, number, number] {
  const j = prng.nextInt(15, 23);
  const u = prng.nextInt(1, 2 ** (j - 15));
  const x = prng.nextInt(-20, 20);
  const y = prng.nextInt(-20, 20);
  const sa = prng.nextBoolean() ? -1 : 1;
  const sb = prng.nextBoolean() ? -1 : 1;
  const a = f32BitsOfExactValue(sa * 2 ** x * (1 + u * 2 ** -j));
  const b = f32BitsOfExactValue(sb * 2 ** y * (1 - u * 2 ** -j));
  return [a, b, withExponent(prng, x + y + 24)];
}

/** a*b an exact f32 tie (odd 25-bit significand product), c far below it: c decides the direction. */
function tieProductTinyAddend(prng: Xoshiro128StarStar): readonly [number, number, number] {
  const ma = 2 * prng.nextInt(2 ** 11, 2 ** 12 - 1) + 1;
  const lowest = Math.ceil(2 ** 24 / ma);
  const highest = Math.floor((2 ** 25 - 1) / ma);
  const mb = 2 * prng.nextInt(Math.ceil((lowest - 1) / 2), Math.floor((highest - 1) / 2)) + 1;
  const x = prng.nextInt(-40, 20);
  const y = prng.nextInt(-40, 20);
  const a = f32BitsOfExactValue((prng.nextBoolean() ? -1 : 1) * ma * 2 ** x);
  const b = f32BitsOfExactValue((prng.nextBoolean() ? -1 : 1) * mb * 2 ** y);
  const productTop = x + y + 24;
  return [a, b, withExponent(prng, Math.max(productTop - prng.nextInt(26, 80), -126))];
}

/**
 * TestFloat-style weighted random triples: uniform bits, addend near the product, addend
 * cancelling the product to within a few ulps, subnormal and overflowing results, and the
 * two double-rounding hazards.
 */
function* randomTriples(prng: Xoshiro128StarStar, count: number): Generator<readonly [number, number, number]> {
  for (let i = 0; i < count; i++) {
    const kind = i % 10;
    if (kind === 0) {
      yield [prng.nextUint32(), prng.nextUint32(), prng.nextUint32()];
    } else if (kind <= 3) {
      // c within a few binades of a*b: alignment, carries and sticky bits all matter.
      const ea = prng.nextInt(127 - 40, 127 + 40);
      const eb = prng.nextInt(127 - 40, 127 + 40);
      const ec = clampField(ea + eb - 127 + prng.nextInt(-30, 30));
      yield [operand(prng, ea), operand(prng, eb), operand(prng, ec)];
    } else if (kind <= 5) {
      // c = -round(a*b) moved a few f32 ulps: massive cancellation leaves the product's low half.
      const a = operand(prng, prng.nextInt(127 - 30, 127 + 30));
      const b = operand(prng, prng.nextInt(127 - 30, 127 + 30));
      const rounded = f32BitsOfExactValue(Math.fround(valueOfF32Bits(a) * valueOfF32Bits(b)));
      const nudged = (rounded + prng.nextInt(-3, 3)) >>> 0;
      yield [a, b, (nudged ^ 0x80000000) >>> 0];
    } else if (kind === 6) {
      // results near or inside the f32 subnormal range
      const ea = prng.nextInt(1, 127);
      const eb = clampField(prng.nextInt(-30, 20) - ea + 127);
      yield [operand(prng, ea), operand(prng, eb), operand(prng, prng.nextInt(0, 30))];
    } else if (kind === 7) {
      // results near the overflow threshold
      const ea = prng.nextInt(127, 254);
      const eb = clampField(254 - ea + 127 + prng.nextInt(-2, 1));
      yield [operand(prng, ea), operand(prng, eb), operand(prng, prng.nextInt(240, 254))];
    } else if (kind === 8) {
      yield nearTieFromProduct(prng);
    } else {
      yield tieProductTinyAddend(prng);
    }
  }
}

const SPECIALS: readonly number[] = [
  0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00001, 0x00000001, 0x80000001, 0x007fffff, 0x00800000, 0x80800000, 0x3f800000, 0xbf800000,
  0x3f800001, 0x7f7fffff, 0xff7fffff, 0x40400000, 0x3f000000, 0x1a000000, 0x5a000000, 0x33800000, 0xb3800000, 0x4b800000, 0xcb800000,
];

describe('fmaF32 against an exact BigInt reference', () => {
  it('every triple of special values (zeros, Inf, NaN, subnormals, max, 2^24, 2^-24)', () => {
    function* cube(): Generator<readonly [number, number, number]> {
      for (const a of SPECIALS) for (const b of SPECIALS) for (const c of SPECIALS) yield [a, b, c];
    }
    const { count, failures } = runTriples(cube());
    expect(failures).toEqual([]);
    expect(count).toBe(SPECIALS.length ** 3);
  });

  it('products that cancel c exactly give +0 (and -0 only for -0 + -0)', () => {
    const prng = Xoshiro128StarStar.fromSeed(5);
    const triples: [number, number, number][] = [];
    for (let i = 0; i < 20_000; i++) {
      // a has at most 12 significant bits, so a*b is exact in f32 and -a*b cancels it exactly.
      const a = ((prng.nextUint32() & 0x80000000) + prng.nextInt(100, 150) * 2 ** 23 + (prng.nextUint32() & 0x7ff000)) >>> 0;
      const b = ((prng.nextUint32() & 0x80000000) + prng.nextInt(100, 150) * 2 ** 23 + (prng.nextUint32() & 0x7ff000)) >>> 0;
      const product = Math.fround(valueOfF32Bits(a) * valueOfF32Bits(b));
      triples.push([a, b, f32BitsOfExactValue(-product)]);
    }
    const { failures } = runTriples(triples);
    expect(failures).toEqual([]);
    for (const [a, b, c] of triples.slice(0, 100)) expect(referenceFma(a, b, c)).toBe(0);
    expect(Object.is(fmaF32(-0, 1, -0), -0)).toBe(true);
    expect(Object.is(fmaF32(0, -1, -0), -0)).toBe(true);
    expect(Object.is(fmaF32(-0, 1, 0), 0)).toBe(true);
    expect(Object.is(fmaF32(3, 5, -15), 0)).toBe(true);
  });

  it('a tie in f32 plus a tiny addend: the f64 sum drops the addend, the exact method keeps it', () => {
    // (1 + 2^-12)^2 = 1 + 2^-11 + 2^-24: halfway between two f32. Adding 2^-80 must round up;
    // a*b+c in f64 loses 2^-80, and fround then breaks the tie to even (down).
    const a = 1 + 2 ** -12;
    const c = 2 ** -80;
    const expected = referenceFma(f32BitsOfExactValue(a), f32BitsOfExactValue(a), f32BitsOfExactValue(c));
    expect(valueOfF32Bits(expected)).toBe(1 + 2 ** -11 + 2 ** -23);
    expect(fmaF32(a, a, c)).toBe(1 + 2 ** -11 + 2 ** -23);
    expect(Math.fround(a * a + c)).toBe(1 + 2 ** -11);
    // the same below the tie, from the negative side
    expect(fmaF32(a, a, -c)).toBe(1 + 2 ** -11);
    expect(fmaF32(-a, a, c)).toBe(-(1 + 2 ** -11));
  });

  it('2 million seeded weighted-random triples; fround(a*b+c) is wrong on some of them', () => {
    const { count, froundDiffers, failures } = runTriples(randomTriples(Xoshiro128StarStar.fromSeed(0xf3a), 2_000_000));
    expect(failures).toEqual([]);
    expect(count).toBe(2_000_000);
    // Proves the test needs the exact method: the naive double expression fails on the hazards.
    expect(froundDiffers).toBeGreaterThan(50_000);
  });
});
