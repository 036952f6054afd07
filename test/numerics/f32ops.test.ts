import { describe, expect, test } from 'vitest';
import { bitsFromF32 } from '../../src/numerics/f32.js';
import { FLUSHING_F32, flushSubnormal, IEEE_F32 } from '../../src/numerics/f32ops.js';

// Hand-derived: which f32 operations flush, and where tininess is decided (after rounding).

const bits = (x: number): number => bitsFromF32(x);

describe('flushSubnormal', () => {
  test('subnormals become zeros of their sign; zeros, normals, Inf and NaN stay', () => {
    expect(bits(flushSubnormal(2 ** -149))).toBe(0x00000000);
    expect(bits(flushSubnormal(-(2 ** -127)))).toBe(0x80000000);
    expect(flushSubnormal(2 ** -126)).toBe(2 ** -126);
    expect(bits(flushSubnormal(-0))).toBe(0x80000000);
    expect(flushSubnormal(Infinity)).toBe(Infinity);
    expect(flushSubnormal(Number.NaN)).toBeNaN();
  });
});

describe('flushing arithmetic (hand-derived)', () => {
  test('a subnormal operand reads as zero: 2^-130 * 2^10 is 2^-120 kept, 0 flushed', () => {
    expect(IEEE_F32.mul(2 ** -130, 2 ** 10)).toBe(2 ** -120);
    expect(bits(FLUSHING_F32.mul(2 ** -130, 2 ** 10))).toBe(0);
    expect(bits(FLUSHING_F32.mul(-(2 ** -130), 2 ** 10))).toBe(0x80000000);
  });
  test('a subnormal result becomes a signed zero: 2^-63 * 2^-64 = 2^-127', () => {
    expect(bits(IEEE_F32.mul(2 ** -63, 2 ** -64))).toBe(0x00400000);
    expect(bits(FLUSHING_F32.mul(2 ** -63, 2 ** -64))).toBe(0x00000000);
    expect(bits(FLUSHING_F32.mul(-(2 ** -63), 2 ** -64))).toBe(0x80000000);
    expect(bits(FLUSHING_F32.add(2 ** -126, -1.5 * 2 ** -126))).toBe(0x80000000);
    expect(bits(FLUSHING_F32.add(-(2 ** -126), 2 ** -127))).toBe(0x80800000); // the operand 2^-127 reads as 0
  });
  test('tininess after rounding: (1 - 2^-24) * 2^-126 ties up to 2^-126 and stays; (1 - 2^-23) * 2^-126 is subnormal and goes', () => {
    // (1 - 2^-24) * 2^-126 lies halfway between 0x007fffff and 0x00800000; the tie goes to the
    // even significand, 2^-126, a normal number.
    expect(bits(FLUSHING_F32.mul(1 - 2 ** -24, 2 ** -126))).toBe(0x00800000);
    expect(bits(IEEE_F32.mul(1 - 2 ** -23, 2 ** -126))).toBe(0x007fffff);
    expect(bits(FLUSHING_F32.mul(1 - 2 ** -23, 2 ** -126))).toBe(0x00000000);
  });
  test('fma flushes its result but not the exact product inside: 2^-70 * 2^-70 + 0 is 2^-140 kept, 0 flushed; 2^-70 * 2^-60 + 2^-126 keeps 2^-130', () => {
    expect(IEEE_F32.fma(2 ** -70, 2 ** -70, 0)).toBe(2 ** -140);
    expect(bits(FLUSHING_F32.fma(2 ** -70, 2 ** -70, 0))).toBe(0);
    expect(FLUSHING_F32.fma(2 ** -70, 2 ** -60, 2 ** -126)).toBe(2 ** -126 + 2 ** -130);
    expect(FLUSHING_F32.fma(1, 1, 2 ** -130)).toBe(1);
    expect(bits(FLUSHING_F32.fma(2 ** -130, 2 ** 100, 0))).toBe(0);
  });
  test('divide and sqrt: 1 / -2^-130 is -Inf flushed (1/-0), 2^130 overflow kept; sqrt(-2^-140) is -0 flushed, NaN kept', () => {
    expect(IEEE_F32.div(1, -(2 ** -130))).toBe(-Infinity);
    expect(FLUSHING_F32.div(1, -(2 ** -130))).toBe(-Infinity);
    expect(IEEE_F32.div(2 ** -130, 2)).toBe(2 ** -131);
    expect(bits(FLUSHING_F32.div(2 ** -120, 2 ** 7))).toBe(0);
    expect(IEEE_F32.sqrt(2 ** -140)).toBe(2 ** -70);
    expect(bits(FLUSHING_F32.sqrt(2 ** -140))).toBe(0);
    expect(IEEE_F32.sqrt(-(2 ** -140))).toBeNaN();
    expect(bits(FLUSHING_F32.sqrt(-(2 ** -140)))).toBe(0x80000000);
  });
});
