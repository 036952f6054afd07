import { describe, expect, it } from 'vitest';
import { E8M0_NAN, E8M0_ROUNDINGS, e8m0FromPowerOfTwoBits, f32BitsFromE8m0, roundToPowerOfTwo, type E8m0Rounding } from '../../src/numerics/index.js';
import { SIGNIFICAND_PATTERNS, f32BitsOfExactValue, hex, isF32NanBits, valueOfF32Bits } from './f32-fields.js';
import { Xoshiro128StarStar } from '../../src/fixtures/prng.js';

/** f32 bits of 2^n from n alone: Inf past 2^127, subnormal below 2^-126. */
function bitsOfPowerOfTwo(n: number): number {
  if (n > 127) return 0x7f800000;
  if (n >= -126) return (n + 127) * 2 ** 23;
  return 2 ** (n + 149);
}

/** 2^k for k in [-149, 128], so the exhaustive sweeps do not call pow per value. */
const POWERS_OF_TWO = Array.from({ length: 128 + 149 + 1 }, (_, i) => 2 ** (i - 149));

function powerOfTwo(k: number): number {
  return POWERS_OF_TWO[k + 149];
}

/** The power of two a positive finite value rounds to in each mode, found with log2 and double compares. */
function referencePowersOfTwo(value: number): Record<E8m0Rounding, number> {
  const below = Math.floor(Math.log2(value));
  const above = powerOfTwo(below) === value ? below : below + 1;
  // Guard the reference itself: log2 must bracket the value exactly.
  if (!(powerOfTwo(below) <= value && value <= powerOfTwo(above))) throw new Error(`log2 bracket failed for ${value}`);
  const downGap = value - powerOfTwo(below); // exact: Sterbenz, both within a factor 2
  const upGap = powerOfTwo(above) - value;
  const tieExponent = (below + 127) % 2 === 0 ? below : above; // even e8m0 code
  const nearest = downGap < upGap ? below : downGap > upGap ? above : tieExponent;
  return { floor: bitsOfPowerOfTwo(below), ceil: bitsOfPowerOfTwo(above), rne: bitsOfPowerOfTwo(nearest) };
}

function referencePowerOfTwo(value: number, mode: E8m0Rounding): number {
  return referencePowersOfTwo(value)[mode];
}

function checkBinade(exponentField: number): string[] {
  const failures: string[] = [];
  const head = exponentField * 2 ** 23;
  for (let fraction = 0; fraction < 2 ** 23; fraction++) {
    const bits = head + fraction;
    const value = valueOfF32Bits(bits);
    if (value === 0) continue;
    const expected = referencePowersOfTwo(value);
    for (const mode of E8M0_ROUNDINGS) {
      const actual = roundToPowerOfTwo(bits, mode);
      if (actual !== expected[mode]) failures.push(`${mode} ${hex(bits)}: expected ${hex(expected[mode])}, got ${hex(actual)}`);
    }
    if (failures.length >= 10) break;
  }
  return failures;
}

describe('roundToPowerOfTwo: every mantissa of whole binades, all three modes', () => {
  it.each([
    ['f32 subnormals (exponent field 0)', 0],
    ['the smallest normal binade [2^-126, 2^-125)', 1],
    ['[1, 2)', 127],
    ['the top binade [2^127, 2^128): ceil and rne overflow to Inf', 254],
  ])('%s', (_name, exponentField) => {
    expect(checkBinade(exponentField)).toEqual([]);
  });
});

describe('roundToPowerOfTwo: every other binade, sampled', () => {
  it('all exponent fields x significand patterns x 2000 random mantissas', () => {
    const prng = Xoshiro128StarStar.fromSeed(0xe8);
    const failures: string[] = [];
    for (let exponentField = 0; exponentField < 255; exponentField++) {
      const fractions = [...SIGNIFICAND_PATTERNS];
      for (let i = 0; i < 2000; i++) fractions.push(prng.nextUint32() & 0x7fffff);
      for (const fraction of fractions) {
        const bits = exponentField * 2 ** 23 + fraction;
        if (bits === 0) continue;
        for (const mode of E8M0_ROUNDINGS) {
          const expected = referencePowerOfTwo(valueOfF32Bits(bits), mode);
          const actual = roundToPowerOfTwo(bits, mode);
          if (actual !== expected) failures.push(`${mode} ${hex(bits)}: expected ${hex(expected)}, got ${hex(actual)}`);
        }
      }
    }
    expect(failures.slice(0, 10)).toEqual([]);
  });
});

describe('roundToPowerOfTwo: rules spelled out', () => {
  it('rne ties (1.5 * 2^k) go to the even biased exponent, normal and subnormal', () => {
    for (let k = -148; k <= 127; k++) {
      const bits = f32BitsOfExactValue(1.5 * 2 ** k);
      const evenExponent = (k + 127) % 2 === 0 ? k : k + 1;
      expect(roundToPowerOfTwo(bits, 'rne'), `1.5 * 2^${k}`).toBe(bitsOfPowerOfTwo(evenExponent));
      // one f32 ulp either side of the tie decides by distance
      expect(roundToPowerOfTwo(bits - 1, 'rne')).toBe(bitsOfPowerOfTwo(k));
      expect(roundToPowerOfTwo(bits + 1, 'rne')).toBe(bitsOfPowerOfTwo(k + 1));
    }
  });

  it('powers of two are fixed points of every mode', () => {
    for (let k = -149; k <= 127; k++) {
      for (const mode of E8M0_ROUNDINGS) expect(roundToPowerOfTwo(bitsOfPowerOfTwo(k), mode)).toBe(bitsOfPowerOfTwo(k));
    }
  });

  it('overflow to Inf, zero, Inf and NaN', () => {
    const largest = f32BitsOfExactValue((2 - 2 ** -23) * 2 ** 127);
    expect(roundToPowerOfTwo(largest, 'ceil')).toBe(0x7f800000);
    expect(roundToPowerOfTwo(largest, 'rne')).toBe(0x7f800000);
    expect(roundToPowerOfTwo(largest, 'floor')).toBe(bitsOfPowerOfTwo(127));
    expect(roundToPowerOfTwo(f32BitsOfExactValue(1.5 * 2 ** 127), 'rne')).toBe(bitsOfPowerOfTwo(127)); // 254 is even
    expect(roundToPowerOfTwo(f32BitsOfExactValue((1.5 + 2 ** -23) * 2 ** 127), 'rne')).toBe(0x7f800000);
    for (const mode of E8M0_ROUNDINGS) {
      expect(roundToPowerOfTwo(0, mode)).toBe(0);
      expect(roundToPowerOfTwo(0x7f800000, mode)).toBe(0x7f800000);
      expect(isF32NanBits(roundToPowerOfTwo(0x7fc00000, mode))).toBe(true);
      expect(isF32NanBits(roundToPowerOfTwo(0x7f800001, mode))).toBe(true);
    }
  });

  it('the vLLM UE8M0 scale: 2^ceil(log2(s)) over random scales', () => {
    const prng = Xoshiro128StarStar.fromSeed(42);
    for (let i = 0; i < 100_000; i++) {
      const scale = Math.fround(2 ** ((prng.nextBelow(2 ** 20) / 2 ** 20) * 80 - 40));
      const expected = f32BitsOfExactValue(2 ** Math.ceil(Math.log2(scale)));
      const actual = roundToPowerOfTwo(f32BitsOfExactValue(scale), 'ceil');
      if (actual !== expected) expect(hex(actual), `scale ${scale}`).toBe(hex(expected));
    }
  });
});

describe('e8m0 codes', () => {
  it('every code 0..254 is 2^(code - 127) and round-trips; 255 is NaN', () => {
    for (let code = 0; code < 255; code++) {
      const bits = f32BitsFromE8m0(code);
      expect(valueOfF32Bits(bits), `code ${code}`).toBe(2 ** (code - 127));
      expect(e8m0FromPowerOfTwoBits(bits)).toBe(code);
      expect(e8m0FromPowerOfTwoBits(bitsOfPowerOfTwo(code - 127))).toBe(code);
    }
    expect(E8M0_NAN).toBe(0xff);
    expect(isF32NanBits(f32BitsFromE8m0(0xff))).toBe(true);
    expect(e8m0FromPowerOfTwoBits(f32BitsFromE8m0(0xff))).toBe(0xff);
    expect(e8m0FromPowerOfTwoBits(0x7f800000)).toBe(0xff); // an overflowed scale becomes the NaN code
  });

  it('rejects what is not a power of two in [2^-127, 2^127], naming the bits', () => {
    const rejected = [
      f32BitsOfExactValue(3),
      f32BitsOfExactValue(1.5),
      0x3f800001,
      f32BitsOfExactValue(-1),
      0,
      0x80000000,
      bitsOfPowerOfTwo(-128),
      bitsOfPowerOfTwo(-149),
      0x00600000,
      0xff800000,
      f32BitsOfExactValue((2 - 2 ** -23) * 2 ** 127),
    ];
    for (const bits of rejected) {
      expect(() => e8m0FromPowerOfTwoBits(bits), hex(bits)).toThrow(RangeError);
      expect(() => e8m0FromPowerOfTwoBits(bits)).toThrow(`0x${bits.toString(16)}`);
      expect(() => e8m0FromPowerOfTwoBits(bits)).toThrow(/not a power of two/);
    }
  });
});
