// The shared shape of the + - * / tests: every pair of special values, TestFloat patterns and
// weighted random against the exact reference (with Math.fround cross-checking the reference),
// constructed halfway cases, and a large sweep against Math.fround(a op b) on doubles.

import { expect, test } from 'vitest';
import { f32FromBits } from '../../src/numerics/f32.js';
import { Xoshiro128StarStar } from '../../src/fixtures/prng.js';
import { operandPair, SPECIAL_F32 } from '../../src/softfloat/conformance/testfloat.js';
import { Failures, viaDouble } from './check.js';

export interface BinaryOpUnderTest {
  readonly name: string;
  readonly softfloat: (a: number, b: number) => number;
  readonly exact: (a: number, b: number) => number;
  readonly double: (x: number, y: number) => number;
  readonly tiePair: (rng: Xoshiro128StarStar) => [number, number];
  readonly seed: number;
}

export const EXACT_CASES = 1_000_000;
export const DOUBLE_SWEEP_CASES = 4_000_000;
const TIE_CASES = 100_000;

/** True when the double d is exactly halfway between two adjacent f32s. */
export function isF32Halfway(d: number): boolean {
  const nearest = Math.fround(d);
  if (nearest === d || !Number.isFinite(nearest)) return false;
  const scratch = new Float32Array([nearest]);
  const bits = new Uint32Array(scratch.buffer);
  // Step one f32 towards d (away from zero when |d| > |nearest|).
  bits[0] += Math.abs(d) > Math.abs(nearest) ? 1 : -1;
  return (nearest + scratch[0]) / 2 === d;
}

export function binaryOpSuite(op: BinaryOpUnderTest): void {
  test(`${op.name}: every pair of special values matches the exact reference`, () => {
    const failures = new Failures(op.name);
    for (const a of SPECIAL_F32) {
      for (const b of SPECIAL_F32) {
        failures.check([a, b], op.softfloat(a, b), op.exact(a, b), 'exact');
        failures.check([a, b], op.softfloat(a, b), viaDouble(op.double, a, b), 'Math.fround');
      }
    }
    expect(failures.count, failures.report()).toBe(0);
  });

  test(`${op.name}: ${EXACT_CASES} TestFloat-pattern and weighted random pairs match the exact reference`, () => {
    const rng = Xoshiro128StarStar.fromSeed(op.seed);
    const failures = new Failures(op.name);
    const referenceFailures = new Failures(`reference ${op.name}`);
    for (let i = 0; i < EXACT_CASES; i++) {
      const [a, b] = operandPair(rng, i);
      const want = op.exact(a, b);
      failures.check([a, b], op.softfloat(a, b), want, 'exact');
      referenceFailures.check([a, b], want, viaDouble(op.double, a, b), 'Math.fround');
    }
    expect(referenceFailures.count, referenceFailures.report()).toBe(0);
    expect(failures.count, failures.report()).toBe(0);
  });

  test(`${op.name}: ${TIE_CASES} exact halfway cases round to even`, () => {
    const rng = Xoshiro128StarStar.fromSeed(op.seed + 1);
    const failures = new Failures(op.name);
    let ties = 0;
    for (let i = 0; i < TIE_CASES; i++) {
      const [a, b] = op.tiePair(rng);
      if (isF32Halfway(op.double(f32FromBits(a), f32FromBits(b)))) ties++;
      failures.check([a, b], op.softfloat(a, b), op.exact(a, b), 'exact');
    }
    // The generator must really produce ties (the double result is exact for these inputs).
    expect(ties).toBeGreaterThan(TIE_CASES * 0.9);
    expect(failures.count, failures.report()).toBe(0);
  });

  test(`${op.name}: ${DOUBLE_SWEEP_CASES} random pairs match Math.fround(a ${op.name} b)`, () => {
    const rng = Xoshiro128StarStar.fromSeed(op.seed + 2);
    const failures = new Failures(op.name);
    for (let i = 0; i < DOUBLE_SWEEP_CASES; i++) {
      const [a, b] = operandPair(rng, i);
      failures.check([a, b], op.softfloat(a, b), viaDouble(op.double, a, b), 'Math.fround');
    }
    expect(failures.count, failures.report()).toBe(0);
  });
}
