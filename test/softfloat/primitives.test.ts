import { describe, expect, test } from 'vitest';
import type { U64 } from '../../src/softfloat/internals.js';
import { s_add64 } from '../../src/softfloat/s_add64.js';
import { s_countLeadingZeros64 } from '../../src/softfloat/s_countLeadingZeros64.js';
import { s_mul32To64 } from '../../src/softfloat/s_mul32To64.js';
import { s_normRoundPackToF32 } from '../../src/softfloat/s_normRoundPackToF32.js';
import { s_normSubnormalF32Sig } from '../../src/softfloat/s_normSubnormalF32Sig.js';
import { s_propagateNaN } from '../../src/softfloat/s_propagateNaN.js';
import { s_roundPackToF32 } from '../../src/softfloat/s_roundPackToF32.js';
import { s_shiftRightJam32 } from '../../src/softfloat/s_shiftRightJam32.js';
import { s_shiftRightJam64 } from '../../src/softfloat/s_shiftRightJam64.js';
import { s_shortShiftLeft64 } from '../../src/softfloat/s_shortShiftLeft64.js';
import { s_sub64 } from '../../src/softfloat/s_sub64.js';
import { F32_SPECIALIZATION } from '../../src/softfloat/specialize.js';
import { Xoshiro128StarStar } from '../../src/fixtures/prng.js';
import { Failures, describeF32 } from './check.js';
import { roundToF32 } from './exact.js';

// The helpers, each against its definition in BigInt.

const MASK64 = (1n << 64n) - 1n;

function toBig(a: U64): bigint {
  return (BigInt(a.hi) << 32n) | BigInt(a.lo);
}

/** x >> dist with every shifted-out bit OR-ed into bit 0. */
function shiftRightJamBig(x: bigint, dist: number): bigint {
  const kept = x >> BigInt(dist);
  const lost = x - (kept << BigInt(dist));
  return lost === 0n ? kept : kept | 1n;
}

/** Random values with runs of ones and zeros at both ends, not only uniform bits. */
function edgyU32(rng: Xoshiro128StarStar): number {
  switch (rng.nextBelow(4)) {
    case 0:
      return rng.pick([0, 1, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0xffffffff]);
    case 1:
      return (0xffffffff >>> rng.nextBelow(32)) >>> 0;
    case 2:
      return (0xffffffff << rng.nextBelow(32)) >>> 0;
    default:
      return rng.nextUint32();
  }
}

function formatU64(a: U64): string {
  return `0x${toBig(a).toString(16)}`;
}

describe('64-bit helpers built from u32 halves', () => {
  test('s_mul32To64 is the exact product (edge and 1000000 random pairs)', () => {
    const rng = Xoshiro128StarStar.fromSeed(7001);
    const wrong: string[] = [];
    for (let i = 0; i < 1_000_000; i++) {
      const a = edgyU32(rng);
      const b = edgyU32(rng);
      const got = s_mul32To64(a, b);
      if (toBig(got) !== BigInt(a) * BigInt(b) || got.hi > 0xffffffff || got.lo > 0xffffffff || got.hi < 0 || got.lo < 0) {
        wrong.push(`${a} * ${b} = ${formatU64(got)}`);
      }
    }
    expect(wrong.slice(0, 5)).toEqual([]);
  });

  test('s_add64, s_sub64 wrap modulo 2^64; s_countLeadingZeros64 and s_shortShiftLeft64 match BigInt', () => {
    const rng = Xoshiro128StarStar.fromSeed(7002);
    const wrong: string[] = [];
    for (let i = 0; i < 200_000; i++) {
      const a = { hi: edgyU32(rng), lo: edgyU32(rng) };
      const b = { hi: edgyU32(rng), lo: edgyU32(rng) };
      const x = toBig(a);
      const y = toBig(b);
      if (toBig(s_add64(a, b)) !== ((x + y) & MASK64)) wrong.push(`add ${formatU64(a)} ${formatU64(b)}`);
      if (toBig(s_sub64(a, b)) !== ((x - y) & MASK64)) wrong.push(`sub ${formatU64(a)} ${formatU64(b)}`);
      const clz = x === 0n ? 64 : 64 - x.toString(2).length;
      if (s_countLeadingZeros64(a) !== clz) wrong.push(`clz ${formatU64(a)}`);
      const dist = 1 + rng.nextBelow(31);
      if (toBig(s_shortShiftLeft64(a, dist)) !== ((x << BigInt(dist)) & MASK64)) wrong.push(`shl ${formatU64(a)} ${dist}`);
    }
    expect(wrong.slice(0, 5)).toEqual([]);
  });

  test('s_shiftRightJam32 and s_shiftRightJam64 keep a sticky bit for every distance', () => {
    const rng = Xoshiro128StarStar.fromSeed(7003);
    const wrong: string[] = [];
    for (let i = 0; i < 5_000; i++) {
      const a32 = edgyU32(rng);
      const a64 = { hi: edgyU32(rng), lo: edgyU32(rng) };
      for (let dist = 0; dist <= 70; dist++) {
        if (BigInt(s_shiftRightJam32(a32, dist)) !== shiftRightJamBig(BigInt(a32), dist)) wrong.push(`jam32 ${a32} ${dist}`);
        if (toBig(s_shiftRightJam64(a64, dist)) !== shiftRightJamBig(toBig(a64), dist)) wrong.push(`jam64 ${formatU64(a64)} ${dist}`);
      }
    }
    expect(wrong.slice(0, 5)).toEqual([]);
  });
});

describe('rounding and normalisation', () => {
  test('s_roundPackToF32 rounds sig * 2^(exp - 156) like the exact reference, across the whole exponent range', () => {
    const rng = Xoshiro128StarStar.fromSeed(7004);
    const failures = new Failures('roundPack');
    for (let i = 0; i < 1_000_000; i++) {
      const sign = rng.nextBelow(2);
      const exp = rng.nextBelow(2) === 0 ? rng.nextBelow(560) - 300 : rng.pick([-40, -26, -25, -24, -2, -1, 0, 1, 0xfc, 0xfd, 0xfe]);
      // Leading 1 at bit 30; low bits random, or forced to a tie or to just either side of one.
      let sig = (0x40000000 | (rng.nextUint32() & 0x3fffffff)) >>> 0;
      if (rng.nextBelow(2) === 0) sig = ((sig & ~0x7f) | rng.pick([0x3f, 0x40, 0x41, 0x00, 0x7f])) >>> 0;
      failures.check([sign, exp, sig], s_roundPackToF32(sign, exp, sig, 'keep'), roundToF32(sign === 1, BigInt(sig), 1n, exp - 156), 'exact');
    }
    expect(failures.count, failures.report()).toBe(0);
  });

  test('s_normRoundPackToF32 takes a significand with its leading 1 anywhere below bit 31', () => {
    const rng = Xoshiro128StarStar.fromSeed(7005);
    const failures = new Failures('normRoundPack');
    for (let i = 0; i < 300_000; i++) {
      const exp = rng.nextBelow(400) - 150;
      const sig = Math.max(1, rng.nextUint32() >>> (1 + rng.nextBelow(31)));
      failures.check([exp, sig], s_normRoundPackToF32(0, exp, sig, 'keep'), roundToF32(false, BigInt(sig), 1n, exp - 156), 'exact');
    }
    expect(failures.count, failures.report()).toBe(0);
  });

  test('s_normSubnormalF32Sig keeps the value of every subnormal fraction', () => {
    const wrong: string[] = [];
    for (let fraction = 1; fraction < 0x800000; fraction++) {
      const { exp, sig } = s_normSubnormalF32Sig(fraction);
      // fraction * 2^(1 - 150) = sig * 2^(exp - 150) with sig in [2^23, 2^24).
      if (sig < 0x800000 || sig >= 0x1000000 || sig !== fraction * 2 ** (1 - exp)) wrong.push(`${fraction}`);
    }
    expect(wrong.slice(0, 5)).toEqual([]);
  });
});

describe('specialisation', () => {
  test('s_propagateNaN returns the first NaN operand, quieted', () => {
    const quiet = F32_SPECIALIZATION.quietBitF32UI;
    const cases: [number, number, number][] = [
      [0x7f800001, 0x3f800000, 0x7fc00001],
      [0x3f800000, 0xff800001, 0xffc00001],
      [0x7fa00000, 0xffc00000, 0x7fe00000],
      [0xffc00123, 0x7f800001, 0xffc00123],
    ];
    for (const [a, b, want] of cases) expect(describeF32(s_propagateNaN(a, b))).toBe(describeF32(want));
    expect(quiet).toBe(0x00400000);
    expect(F32_SPECIALIZATION.defaultNaNF32UI).toBe(0x7fc00000);
  });
});
