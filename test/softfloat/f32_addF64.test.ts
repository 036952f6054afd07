import { describe, expect, test } from 'vitest';
import { Xoshiro128StarStar } from '../../src/fixtures/prng.js';
import { bitsFromF32, f32FromBits } from '../../src/numerics/f32.js';
import { flushSubnormal } from '../../src/numerics/f32ops.js';
import { f32_addF64 } from '../../src/softfloat/f32_addF64.js';

// The soft-float f32 + f64 add (aiter add_rmsnorm_quant's double-epsilon add) against the
// platform's own f64 add: a JS number add is IEEE f64 round to nearest even, Math.fround the
// conversion back. Independent of the soft-float's integer code.

function halves(b: number): [number, number] {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, b);
  return [view.getUint32(0), view.getUint32(4)];
}
const twin = (a: number, b: number, flush = false): number => f32_addF64(bitsFromF32(a), ...halves(b), flush ? 'flush' : 'keep');
const native = (a: number, b: number, flush = false): number => {
  const sum = Math.fround((flush ? flushSubnormal(a) : a) + b);
  return bitsFromF32(flush ? flushSubnormal(sum) : sum);
};

describe('f32_addF64', () => {
  test('double rounding, by hand: 1 + (2^-24 + 2^-76) rounds to f64 1 + 2^-24, an f32 tie, then to the even 1.0', () => {
    // One rounding of the exact sum would give 1 + 2^-23 (0x3f800001): it lies above the tie.
    expect(twin(1, 2 ** -24 + 2 ** -76)).toBe(0x3f800000);
  });
  test('the double eps, by hand: 529/1024 + (2^-25 + 2^-51) is 0x3f044001; with fround(eps) = 2^-25 it is the tie 0x3f044000', () => {
    // 529/1024 = 0x3f044000 (ulp 2^-24 in [0.5, 1)); the exact sum is representable in f64 and
    // lies 2^-51 above the midpoint v + 2^-25, so f32 rounds it up. fround(eps) drops the 2^-51.
    expect(twin(529 / 1024, 2 ** -25 + 2 ** -51)).toBe(0x3f044001);
    expect(bitsFromF32(Math.fround(529 / 1024 + Math.fround(2 ** -25 + 2 ** -51)))).toBe(0x3f044000);
  });
  test('a zero a gives fround(b); a tiny b rounds to +0, and a negative a or a non-positive b is outside the domain', () => {
    expect(twin(0, 1e-6)).toBe(bitsFromF32(Math.fround(1e-6)));
    expect(twin(0, 1e-300)).toBe(0);
    expect(twin(-1, 1e-6)).toBe(0x7fc00000);
    expect(f32_addF64(0x3f800000, 0, 0, 'keep')).toBe(0x7fc00000);
    expect(f32_addF64(0x7f800000, ...halves(1e-6), 'keep')).toBe(0x7f800000);
  });
  test('under flush, a subnormal a reads as 0 and a subnormal result becomes 0', () => {
    expect(twin(2 ** -130, 2 ** -140, true)).toBe(0);
    expect(twin(2 ** -130, 2 ** -140, false)).toBe(native(2 ** -130, 2 ** -140));
    expect(twin(2 ** -130, 2 ** -140, false)).not.toBe(0);
  });
  test('equals the platform f64 add on 400k seeded cases, near f32 ties included, both subnormal modes', () => {
    const rng = Xoshiro128StarStar.fromSeed(0xe95);
    const epsilons = [1e-6, 1e-5, 1e-12, 0.1, 1, 2 ** -24 + 2 ** -76, 5e-324, 1e-310, 1e-40];
    let mismatches = 0;
    for (let i = 0; i < 400_000; i++) {
      const flush = i % 4 === 3;
      let a = f32FromBits(rng.nextUint32() & 0x7f7fffff);
      let b = i % 2 === 0 ? epsilons[i % epsilons.length] : f32FromBits(rng.nextUint32() & 0x3f7fffff) * (1 + rng.nextUint32() / 2 ** 40);
      if (i % 8 === 1) {
        // a and b placed so the exact sum sits within a few f64 ulps of an f32 midpoint.
        a = f32FromBits(0x3f800000 | (rng.nextUint32() & 0x7fffff));
        b = 2 ** -24 + (rng.nextUint32() % 9) * 2 ** -76 - 4 * 2 ** -76;
      }
      if (!(b > 0)) continue;
      if (twin(a, b, flush) !== native(a, b, flush)) mismatches++;
    }
    expect(mismatches).toBe(0);
  });
});
