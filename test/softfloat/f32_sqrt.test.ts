import { describe, expect, test } from 'vitest';
import { f32_sqrt } from '../../src/softfloat/f32_sqrt.js';
import { Xoshiro128StarStar } from '../../src/fixtures/prng.js';
import { SIGNIFICAND_PATTERNS, SPECIAL_F32, weightedOperand } from '../../src/softfloat/conformance/testfloat.js';
import { Failures } from './check.js';
import { exactSqrt } from './exact.js';

// Math.fround(Math.sqrt(x)) is the correctly rounded f32 root of an f32 x (NUMERICS section 3).
const scratchF32 = new Float32Array(1);
const scratchU32 = new Uint32Array(scratchF32.buffer);
function sqrtViaDouble(bits: number): number {
  scratchU32[0] = bits;
  scratchF32[0] = Math.sqrt(scratchF32[0]);
  return scratchU32[0];
}

/** Compares f32_sqrt with the double path on every pattern in [first, last]. */
function sweepAgainstDouble(first: number, last: number): Failures {
  const failures = new Failures('sqrt');
  for (let bits = first; bits <= last; bits++) {
    const got = f32_sqrt(bits, 'keep');
    const want = sqrtViaDouble(bits);
    if (got !== want) failures.check([bits], got, want, 'Math.fround(Math.sqrt)');
  }
  return failures;
}

describe('f32_sqrt', () => {
  test('special values match the exact reference and the double path', () => {
    const failures = new Failures('sqrt');
    for (const a of SPECIAL_F32) {
      failures.check([a], f32_sqrt(a, 'keep'), exactSqrt(a), 'exact');
      failures.check([a], f32_sqrt(a, 'keep'), sqrtViaDouble(a), 'Math.fround(Math.sqrt)');
    }
    expect(failures.count, failures.report()).toBe(0);
  });

  test('every f32 in [1, 4): both exponent parities, every mantissa (2 * 2^23 inputs)', () => {
    const failures = sweepAgainstDouble(0x3f800000, 0x407fffff);
    expect(failures.count, failures.report()).toBe(0);
  });

  test('every positive subnormal, and a stride through the negative ones', () => {
    const failures = sweepAgainstDouble(0x00000001, 0x007fffff);
    for (let bits = 0x80000001; bits <= 0x807fffff; bits += 997) failures.check([bits], f32_sqrt(bits, 'keep'), exactSqrt(bits), 'exact');
    expect(failures.count, failures.report()).toBe(0);
  });

  test('every exponent field x significand pattern, and 300000 weighted random, match the exact reference', () => {
    const failures = new Failures('sqrt');
    const referenceFailures = new Failures('reference sqrt');
    const check = (a: number): void => {
      const want = exactSqrt(a);
      failures.check([a], f32_sqrt(a, 'keep'), want, 'exact');
      referenceFailures.check([a], want, sqrtViaDouble(a), 'Math.fround(Math.sqrt)');
    };
    for (let field = 0; field < 256; field++) {
      for (const fraction of SIGNIFICAND_PATTERNS) check(((field << 23) | fraction) >>> 0);
    }
    const rng = Xoshiro128StarStar.fromSeed(5001);
    for (let i = 0; i < 300_000; i++) check(weightedOperand(rng) & 0x7fffffff);
    expect(referenceFailures.count, referenceFailures.report()).toBe(0);
    expect(failures.count, failures.report()).toBe(0);
  });
});
