import { describe, expect, test } from 'vitest';
import { Xoshiro128StarStar } from '../../src/fixtures/prng.js';
import { operandPair, SPECIAL_F32 } from '../../src/softfloat/conformance/testfloat.js';
import { f32_div } from '../../src/softfloat/f32_div.js';
import { f32_divisorReciprocal, f32_divViaReciprocal } from '../../src/softfloat/f32_divByReciprocal.js';
import { F32_SUBNORMALS } from '../../src/softfloat/internals.js';
import { binaryOpSuite } from './binarySuite.js';
import { divTiePair } from './cases.js';
import { DOUBLE_OPS } from './check.js';
import { exactDiv } from './exact.js';

// The reciprocal against BigInt division, f32_divViaReciprocal against the exact reference
// (binaryOpSuite), then bit for bit against f32_div under both subnormal modes: every divisor
// significand with seeded dividends (the estimate's error depends on the divisor's significand
// alone, its size on the dividend's), TestFloat pairs and every special pair.

function firstMismatch(pairs: Iterable<[number, number]>): string | null {
  for (const [a, b] of pairs) {
    for (const mode of F32_SUBNORMALS) {
      const want = f32_div(a, b, mode);
      const got = f32_divViaReciprocal(a, b, mode);
      if (got !== want) return `${mode} ${a.toString(16)} / ${b.toString(16)}: ${got.toString(16)}, f32_div ${want.toString(16)}`;
    }
  }
  return null;
}

describe('f32_divByReciprocal', () => {
  test('f32_divisorReciprocal is floor(2^54 / significand) for every significand, of normal and subnormal divisors', () => {
    let wrong: string | null = null;
    for (let frac = 0; frac < 1 << 23 && wrong === null; frac++) {
      const want = Number((1n << 54n) / BigInt(frac | 0x00800000));
      const bits = ((0x3f800000 | frac) ^ (frac & 1 ? 0x80000000 : 0)) >>> 0;
      if (f32_divisorReciprocal(bits, 'keep') !== want) wrong = `frac ${frac}`;
    }
    expect(wrong).toBeNull();
    // A subnormal's significand normalised: 1 -> 2^23, 0x7fffff -> 0xfffffe.
    expect(f32_divisorReciprocal(1, 'keep')).toBe(2 ** 31);
    expect(f32_divisorReciprocal(0x007fffff, 'keep')).toBe(Number((1n << 54n) / 0xfffffen));
  });

  binaryOpSuite({
    name: 'divViaReciprocal',
    softfloat: (a, b) => f32_divViaReciprocal(a, b, 'keep'),
    exact: exactDiv,
    double: DOUBLE_OPS.div,
    tiePair: divTiePair,
    seed: 4009,
  });

  test('equals f32_div for every divisor significand (seeded dividends), subnormal divisors, TestFloat pairs and every special pair', () => {
    const rng = Xoshiro128StarStar.fromSeed(16);
    function* pairs(): Generator<[number, number]> {
      for (const a of SPECIAL_F32) for (const b of SPECIAL_F32) yield [a, b];
      for (let frac = 0; frac < 1 << 23; frac++) {
        const b = ((rng.nextUint32() & 0x80000000) | ((1 + rng.nextBelow(254)) << 23) | frac) >>> 0;
        yield [rng.nextUint32(), b];
      }
      for (let i = 0; i < 2_000_000; i++) yield operandPair(rng, i);
      // Subnormal divisors, normalised by f32_divisorReciprocal and f32_divByReciprocal alike.
      for (let i = 0; i < 500_000; i++) yield [rng.nextUint32(), ((rng.nextUint32() & 0x807fffff) | 1) >>> 0];
    }
    expect(firstMismatch(pairs())).toBeNull();
  }, 600_000);
});
