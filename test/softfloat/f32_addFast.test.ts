import { describe, expect, test } from 'vitest';
import { Xoshiro128StarStar } from '../../src/fixtures/prng.js';
import { operandPair, SPECIAL_F32 } from '../../src/softfloat/conformance/testfloat.js';
import { f32_add } from '../../src/softfloat/f32_add.js';
import { f32_addFast } from '../../src/softfloat/f32_addFast.js';
import { F32_SUBNORMALS } from '../../src/softfloat/internals.js';
import { binaryOpSuite } from './binarySuite.js';
import { addTiePair } from './cases.js';
import { DOUBLE_OPS } from './check.js';
import { exactAdd } from './exact.js';

// f32_addFast against the exact reference (binaryOpSuite: rationals, not f32_add), then bit for
// bit against f32_add under both subnormal modes where the all-reduce uses it: bf16 x bf16 on a
// stride through every pair of codes, f32 sums x bf16, and TestFloat pairs with the specials.

/** The first mismatch of f32_addFast against f32_add over `pairs`, or null. */
function firstMismatch(pairs: Iterable<[number, number]>): string | null {
  for (const [a, b] of pairs) {
    for (const mode of F32_SUBNORMALS) {
      const want = f32_add(a, b, mode);
      const got = f32_addFast(a, b, mode);
      if (got !== want) return `${mode} ${a.toString(16)} + ${b.toString(16)}: ${got.toString(16)}, f32_add ${want.toString(16)}`;
    }
  }
  return null;
}

describe('f32_addFast', () => {
  binaryOpSuite({ name: 'addFast', softfloat: (a, b) => f32_addFast(a, b, 'keep'), exact: exactAdd, double: DOUBLE_OPS.add, tiePair: addTiePair, seed: 1008 });

  test('equals f32_add on bf16 x bf16: every code against every 127th code (34 million pairs)', () => {
    function* pairs(): Generator<[number, number]> {
      for (let a = 0; a < 0x10000; a++) for (let b = a % 127; b < 0x10000; b += 127) yield [(a << 16) >>> 0, (b << 16) >>> 0];
    }
    expect(firstMismatch(pairs())).toBeNull();
  }, 600_000);

  test('equals f32_add on seeded f32 sums x bf16 ranks, TestFloat pairs and every special pair', () => {
    const rng = Xoshiro128StarStar.fromSeed(16);
    function* pairs(): Generator<[number, number]> {
      for (const a of SPECIAL_F32) for (const b of SPECIAL_F32) yield [a, b];
      for (let i = 0; i < 2_000_000; i++) yield [rng.nextUint32(), (rng.nextUint32() & 0xffff0000) >>> 0];
      for (let i = 0; i < 2_000_000; i++) yield operandPair(rng, i);
    }
    expect(firstMismatch(pairs())).toBeNull();
  }, 600_000);
});
