import { describe, expect, test } from 'vitest';
import { bitsFromF32, f32FromBits, fmaF32 } from '../../src/numerics/f32.js';
import { f32_mulAdd } from '../../src/softfloat/f32_mulAdd.js';
import { isF32Halfway } from './binarySuite.js';
import { Xoshiro128StarStar } from '../../src/fixtures/prng.js';
import { operandTriple, SPECIAL_F32 } from '../../src/softfloat/conformance/testfloat.js';
import { mulAddTieTriple } from './cases.js';
import { Failures } from './check.js';
import { exactMulAdd } from './exact.js';

// fmaF32 (src/numerics/f32.ts) is an independent f64 method (TwoSum and round-to-odd).
function fmaViaDouble(a: number, b: number, c: number): number {
  return bitsFromF32(fmaF32(f32FromBits(a), f32FromBits(b), f32FromBits(c)));
}

const EXACT_CASES = 1_000_000;
const DOUBLE_SWEEP_CASES = 2_000_000;
const TIE_CASES = 100_000;

describe('f32_mulAdd', () => {
  test('every triple of special values matches the exact reference', () => {
    const failures = new Failures('mulAdd');
    for (const a of SPECIAL_F32) {
      for (const b of SPECIAL_F32) {
        for (const c of SPECIAL_F32) failures.check([a, b, c], f32_mulAdd(a, b, c, 'keep'), exactMulAdd(a, b, c), 'exact');
      }
    }
    expect(failures.count, failures.report()).toBe(0);
  });

  test(`${EXACT_CASES} pattern, near-product, cancelling and random triples match the exact reference`, () => {
    const rng = Xoshiro128StarStar.fromSeed(6001);
    const failures = new Failures('mulAdd');
    const referenceFailures = new Failures('reference mulAdd');
    for (let i = 0; i < EXACT_CASES; i++) {
      const [a, b, c] = operandTriple(rng, i);
      const want = exactMulAdd(a, b, c);
      failures.check([a, b, c], f32_mulAdd(a, b, c, 'keep'), want, 'exact');
      referenceFailures.check([a, b, c], want, fmaViaDouble(a, b, c), 'fmaF32');
    }
    expect(referenceFailures.count, referenceFailures.report()).toBe(0);
    expect(failures.count, failures.report()).toBe(0);
  });

  test(`${TIE_CASES} exact halfway cases round to even`, () => {
    const rng = Xoshiro128StarStar.fromSeed(6002);
    const failures = new Failures('mulAdd');
    let ties = 0;
    for (let i = 0; i < TIE_CASES; i++) {
      const [a, b, c] = mulAddTieTriple(rng);
      // These products and sums are exact in double, so the double tells whether it is a tie.
      if (isF32Halfway(f32FromBits(a) * f32FromBits(b) + f32FromBits(c))) ties++;
      failures.check([a, b, c], f32_mulAdd(a, b, c, 'keep'), exactMulAdd(a, b, c), 'exact');
    }
    expect(ties).toBeGreaterThan(TIE_CASES * 0.9);
    expect(failures.count, failures.report()).toBe(0);
  });

  test(`${DOUBLE_SWEEP_CASES} triples match the f64 fma method`, () => {
    const rng = Xoshiro128StarStar.fromSeed(6003);
    const failures = new Failures('mulAdd');
    for (let i = 0; i < DOUBLE_SWEEP_CASES; i++) {
      const [a, b, c] = operandTriple(rng, i);
      failures.check([a, b, c], f32_mulAdd(a, b, c, 'keep'), fmaViaDouble(a, b, c), 'fmaF32');
    }
    expect(failures.count, failures.report()).toBe(0);
  });
});
