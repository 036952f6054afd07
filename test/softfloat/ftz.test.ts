import { describe, expect, test } from 'vitest';
import { Xoshiro128StarStar } from '../../src/fixtures/prng.js';
import { operandPair, operandTriple, SPECIAL_F32 } from '../../src/softfloat/conformance/testfloat.js';
import { f32_add } from '../../src/softfloat/f32_add.js';
import { f32_addFast } from '../../src/softfloat/f32_addFast.js';
import { f32_div } from '../../src/softfloat/f32_div.js';
import { f32_divViaReciprocal } from '../../src/softfloat/f32_divByReciprocal.js';
import { f32_mul } from '../../src/softfloat/f32_mul.js';
import { f32_mulAdd } from '../../src/softfloat/f32_mulAdd.js';
import { f32_sqrt } from '../../src/softfloat/f32_sqrt.js';
import { f32_sub } from '../../src/softfloat/f32_sub.js';
import { s_roundPackToF32 } from '../../src/softfloat/s_roundPackToF32.js';
import { describeF32, Failures } from './check.js';
import { exactAdd, exactDiv, exactMul, exactMulAdd, exactSqrt, exactSub, roundToF32 } from './exact.js';

// f32Subnormals 'flush' (the contract's definition, src/contracts/schema.ts): every operand
// that is subnormal reads as a zero of its sign, and a result that is subnormal is flushed to
// a zero of its sign. The reference applies that definition, written here from the IEEE 754
// fields, around the BigInt reference of exact.ts: flush(exact(daz(a), daz(b))).

/** A subnormal (exponent field 0, fraction not 0) as the zero of its sign; anything else as is. */
function toSignedZeroIfSubnormal(bits: number): number {
  const field = (bits >>> 23) & 0xff;
  const fraction = bits & 0x7fffff;
  return field === 0 && fraction !== 0 ? (bits & 0x80000000) >>> 0 : bits;
}

function flushing<Args extends number[]>(exact: (...args: Args) => number): (...args: Args) => number {
  return (...args: Args) => toSignedZeroIfSubnormal(exact(...(args.map(toSignedZeroIfSubnormal) as Args)));
}

const CASES = 200_000;

interface OpUnderTest {
  readonly name: string;
  readonly arity: 1 | 2 | 3;
  readonly flush: (...args: number[]) => number;
  /** The exact reference with subnormals kept (exact.ts). */
  readonly exact: (...args: number[]) => number;
}

const OPS: readonly OpUnderTest[] = [
  { name: 'add', arity: 2, flush: (a, b) => f32_add(a, b, 'flush'), exact: exactAdd },
  { name: 'sub', arity: 2, flush: (a, b) => f32_sub(a, b, 'flush'), exact: exactSub },
  { name: 'mul', arity: 2, flush: (a, b) => f32_mul(a, b, 'flush'), exact: exactMul },
  { name: 'div', arity: 2, flush: (a, b) => f32_div(a, b, 'flush'), exact: exactDiv },
  { name: 'sqrt', arity: 1, flush: (a) => f32_sqrt(a, 'flush'), exact: exactSqrt },
  { name: 'mulAdd', arity: 3, flush: (a, b, c) => f32_mulAdd(a, b, c, 'flush'), exact: exactMulAdd },
  { name: 'addFast', arity: 2, flush: (a, b) => f32_addFast(a, b, 'flush'), exact: exactAdd },
  { name: 'divViaReciprocal', arity: 2, flush: (a, b) => f32_divViaReciprocal(a, b, 'flush'), exact: exactDiv },
];

/** Operands at the bottom of the range: subnormals, and normals whose results land there. */
function tinyOperand(rng: Xoshiro128StarStar): number {
  const field = rng.pick([0, 0, 1, 2, 3, 24, 50, 100, 127, 150, 200]);
  return ((rng.nextBelow(2) << 31) | (field << 23) | (rng.nextUint32() & 0x7fffff)) >>> 0;
}

function operands(rng: Xoshiro128StarStar, arity: number, index: number): number[] {
  if (index % 2 === 0) return Array.from({ length: arity }, () => tinyOperand(rng));
  if (arity === 3) return operandTriple(rng, index >>> 1);
  return operandPair(rng, index >>> 1).slice(0, arity);
}

describe("f32 arithmetic with subnormals 'flush'", () => {
  // Derived by hand from the definition (values as sign/field/fraction):
  const handCases: readonly [string, number[], number][] = [
    // 2^-149 + 2^-149: operands read as +0, +0 + +0 = +0 (keep gives 2^-148 = 0x00000002).
    ['add', [0x00000001, 0x00000001], 0x00000000],
    // (1 + 2^-23) * 2^-126 - 2^-126 = 2^-149: exact but subnormal, flushed to +0.
    ['sub', [0x00800001, 0x00800000], 0x00000000],
    // -2^-149 * 1: the operand reads as -0, and -0 * +1 = -0.
    ['mul', [0x80000001, 0x3f800000], 0x80000000],
    // 2^-126 * 0.5 = 2^-127: subnormal result, flushed to +0 (keep: 0x00400000).
    ['mul', [0x00800000, 0x3f000000], 0x00000000],
    // (1 - 2^-24) * 2^-126 is halfway between 0x007fffff and 2^-126 = 0x00800000: rounds to the
    // even 0x00800000, a normal, so it stays (the flush looks at the rounded result).
    ['mul', [0x3f7fffff, 0x00800000], 0x00800000],
    // 2^-149 / 2^-149: 0 / 0 once both read as zero: the default NaN (keep: 1.0).
    ['div', [0x00000001, 0x00000001], 0x7fc00000],
    // 1 / 2^-149: 1 / +0 = +Inf (keep: 2^149 overflows to +Inf as well, but via a finite divisor).
    ['div', [0x3f800000, 0x00000001], 0x7f800000],
    // sqrt(2^-148): the operand reads as +0 (keep: 2^-74 = 0x1a800000).
    ['sqrt', [0x00000002], 0x00000000],
    // sqrt(-2^-149): reads as -0, sqrt(-0) = -0 (keep: the default NaN).
    ['sqrt', [0x80000001], 0x80000000],
    // 2^-100 * 2^-30 + 2^-149: c reads as +0, the product 2^-130 is subnormal: +0.
    ['mulAdd', [0x0d800000, 0x30800000, 0x00000001], 0x00000000],
    // 2^-63 * 2^-63 + (-2^-149): c reads as -0, product 2^-126 is normal and stays.
    ['mulAdd', [0x20000000, 0x20000000, 0x80000001], 0x00800000],
  ];

  test('hand-derived cases', () => {
    for (const [name, args, want] of handCases) {
      const op = OPS.find((o) => o.name === name)!;
      expect(describeF32(op.flush(...args)), `${name}(${args.map(describeF32).join(', ')})`).toBe(describeF32(want));
      expect(describeF32(flushing(op.exact)(...args)), `reference ${name}`).toBe(describeF32(want));
    }
  });

  for (const op of OPS) {
    test(`${op.name}: specials crossed and ${CASES} seeded tuples (half at the bottom of the range) match flush(exact(daz(...)))`, () => {
      const failures = new Failures(`${op.name}(flush)`);
      const tuples: number[][] = [];
      if (op.arity === 1) for (const a of SPECIAL_F32) tuples.push([a]);
      if (op.arity === 2) for (const a of SPECIAL_F32) for (const b of SPECIAL_F32) tuples.push([a, b]);
      if (op.arity === 3) for (const a of SPECIAL_F32) for (const b of SPECIAL_F32) tuples.push([a, b, 0x00000001], [a, 0x3f800000, b]);
      const rng = Xoshiro128StarStar.fromSeed(9000 + op.arity);
      for (let i = 0; i < CASES; i++) tuples.push(operands(rng, op.arity, i));
      const reference = flushing(op.exact);
      let subnormalResultsUnderKeep = 0;
      for (const args of tuples) {
        failures.check(args, op.flush(...args), reference(...args), 'flush(exact(daz))');
        const kept = op.exact(...args);
        if (toSignedZeroIfSubnormal(kept) !== kept) subnormalResultsUnderKeep++;
      }
      expect(failures.count, failures.report()).toBe(0);
      // The cases must reach the flush: results that IEEE arithmetic would leave subnormal
      // (sqrt's results never are; its subnormal operands are the cases there).
      if (op.name !== 'sqrt') expect(subnormalResultsUnderKeep).toBeGreaterThan(1000);
    });
  }

  test('s_roundPackToF32 flushes exactly the results that round to a subnormal', () => {
    const rng = Xoshiro128StarStar.fromSeed(9010);
    const failures = new Failures('roundPack(flush)');
    for (let i = 0; i < 300_000; i++) {
      const sign = rng.nextBelow(2);
      const exp = rng.nextBelow(2) === 0 ? rng.nextBelow(60) - 40 : rng.pick([-26, -25, -24, -2, -1, 0, 1]);
      let sig = (0x40000000 | (rng.nextUint32() & 0x3fffffff)) >>> 0;
      // Low bits on or beside a tie; or all ones, which rounds up to the next binade.
      if (rng.nextBelow(2) === 0) sig = ((sig & ~0x7f) | rng.pick([0x3f, 0x40, 0x41, 0x00, 0x7f])) >>> 0;
      if (rng.nextBelow(8) === 0) sig = 0x7fffffff;
      const want = toSignedZeroIfSubnormal(roundToF32(sign === 1, BigInt(sig), 1n, exp - 156));
      failures.check([sign, exp, sig], s_roundPackToF32(sign, exp, sig, 'flush'), want, 'flush(exact)');
    }
    expect(failures.count, failures.report()).toBe(0);
  });
});
