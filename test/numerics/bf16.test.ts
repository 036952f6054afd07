import { describe, expect, it } from 'vitest';
import { bf16FromF32Bits, decodeBf16, encodeBf16, f32BitsFromBf16, roundF32BitsToBf16 } from '../../src/numerics/index.js';
import { hex, valueOfBf16, valueOfF32Bits } from './f32-fields.js';
import { Xoshiro128StarStar } from '../../src/fixtures/prng.js';

/** Magnitude on the extended grid: the Inf code stands for 2^128, one step past max. */
function gridMagnitudeOfBf16(code: number): number {
  return (code & 0x7fff) === 0x7f80 ? 2 ** 128 : Math.abs(valueOfBf16(code));
}

const NAN = -1;

/** Nearest bf16 by comparing the two candidate codes' values with the exact f32 value. */
function referenceRne(bits: number): number {
  const x = valueOfF32Bits(bits);
  if (Number.isNaN(x)) return NAN;
  const down = Math.floor(bits / 65536); // same sign, magnitude truncated
  if (!Number.isFinite(x)) return down;
  const up = down + 1;
  const magnitude = Math.abs(x);
  // Both differences are exact: |x| lies inside one bf16 step and has 24 significant bits.
  const belowGap = magnitude - gridMagnitudeOfBf16(down);
  const aboveGap = gridMagnitudeOfBf16(up) - magnitude;
  if (belowGap < aboveGap) return down;
  if (belowGap > aboveGap) return up;
  return down % 2 === 0 ? down : up;
}

function referenceTruncate(bits: number): number {
  return Number.isNaN(valueOfF32Bits(bits)) ? NAN : Math.floor(bits / 65536);
}

function checkAgainst(bits: number, actual: number, expected: number, mode: string): string | null {
  if (expected === NAN) {
    const sameSign = actual >>> 15 === bits >>> 31;
    return Number.isNaN(valueOfBf16(actual)) && sameSign && actual <= 0xffff
      ? null
      : `${mode} ${hex(bits)}: expected NaN with sign ${bits >>> 31}, got ${hex(actual, 4)}`;
  }
  return actual === expected ? null : `${mode} ${hex(bits)}: expected ${hex(expected, 4)}, got ${hex(actual, 4)}`;
}

/** Low halves around the tie 0x8000 and at the ends of the half. */
const LOW_HALVES = [0x0000, 0x0001, 0x0002, 0x4000, 0x7ffe, 0x7fff, 0x8000, 0x8001, 0x8002, 0xc000, 0xfffe, 0xffff];

describe('bf16 decode and re-encode, all 2^16 codes', () => {
  it('decodes every code to the value its fields define', () => {
    const failures: string[] = [];
    for (let code = 0; code < 0x10000; code++) {
      const bits = f32BitsFromBf16(code);
      const expected = valueOfBf16(code);
      const actual = valueOfF32Bits(bits);
      const ok = Number.isNaN(expected) ? Number.isNaN(actual) && bits >>> 31 === code >>> 15 : Object.is(actual, expected);
      if (!ok) failures.push(`${hex(code, 4)} -> ${hex(bits)}`);
    }
    expect(failures.slice(0, 10)).toEqual([]);
  });

  it('re-encodes every decoded code to itself (RNE and truncate; NaN stays NaN with its sign)', () => {
    const failures: string[] = [];
    for (let code = 0; code < 0x10000; code++) {
      const bits = f32BitsFromBf16(code);
      const expected = Number.isNaN(valueOfBf16(code)) ? NAN : code;
      for (const mode of ['rne', 'truncate'] as const) {
        const failure = checkAgainst(bits, bf16FromF32Bits(bits, mode), expected, mode);
        if (failure) failures.push(failure);
      }
    }
    expect(failures.slice(0, 10)).toEqual([]);
  });

  it('decodeBf16 over the whole code space matches the field values', () => {
    const codes = new Uint16Array(0x10000);
    for (let i = 0; i < codes.length; i++) codes[i] = i;
    const decoded = decodeBf16(codes);
    let mismatches = 0;
    for (let i = 0; i < codes.length; i++) {
      const expected = valueOfBf16(i);
      if (Number.isNaN(expected) ? !Number.isNaN(decoded[i]) : !Object.is(decoded[i], expected)) mismatches++;
    }
    expect(mismatches).toBe(0);
  });
});

describe('bf16 from f32 against the nearest-candidate reference', () => {
  function sweep(bitsSource: Iterable<number>): { count: number; failures: string[] } {
    const failures: string[] = [];
    let count = 0;
    for (const bits of bitsSource) {
      count++;
      const rne = bf16FromF32Bits(bits, 'rne');
      const expected = referenceRne(bits);
      const failure = checkAgainst(bits, rne, expected, 'rne') ?? checkAgainst(bits, bf16FromF32Bits(bits, 'truncate'), referenceTruncate(bits), 'truncate');
      if (failure) failures.push(failure);
      // The round trip is the RNE code widened back: same bits as the code shifted up.
      if (expected !== NAN && roundF32BitsToBf16(bits, 'rne') !== expected * 65536) failures.push(`roundF32BitsToBf16 ${hex(bits)}`);
      if (failures.length >= 10) break;
    }
    return { count, failures };
  }

  it('every exponent x sign x all 7 upper fraction bits x low halves near the tie', () => {
    function* structured(): Generator<number> {
      for (let exponentField = 0; exponentField < 256; exponentField++) {
        for (let sign = 0; sign < 2; sign++) {
          for (let upper = 0; upper < 128; upper++) {
            for (const low of LOW_HALVES) yield sign * 2 ** 31 + exponentField * 2 ** 23 + upper * 2 ** 16 + low;
          }
        }
      }
    }
    const { count, failures } = sweep(structured());
    expect(failures).toEqual([]);
    expect(count).toBe(256 * 2 * 128 * LOW_HALVES.length);
  });

  it('4 million seeded random f32 bit patterns, plus 1 million biased to ties', () => {
    const prng = Xoshiro128StarStar.fromSeed(0xbf16);
    function* random(): Generator<number> {
      for (let i = 0; i < 4_000_000; i++) yield prng.nextUint32();
      for (let i = 0; i < 1_000_000; i++) {
        const offset = prng.nextInt(-3, 3);
        yield ((prng.nextUint32() & 0xffff0000) >>> 0) + ((0x8000 + offset) & 0xffff);
      }
    }
    const { count, failures } = sweep(random());
    expect(failures).toEqual([]);
    expect(count).toBe(5_000_000);
  });

  it('boundaries: overflow near max, the tie under 2^128, subnormals, zeros, Inf, NaN payloads', () => {
    const edges = [
      0x7f7fffff, 0x7f7f8000, 0x7f7f7fff, 0x7f7f8001, 0x7f7effff, 0x7f7e8000, 0x7f7f0000, 0x7f800000, 0x00000000, 0x00000001, 0x00008000, 0x00008001,
      0x00018000, 0x0000ffff, 0x007fffff, 0x007f8000, 0x00800000, 0x3f808000, 0x3f818000, 0x3f807fff, 0x7f800001, 0x7f80ffff, 0x7fc00000, 0x7fffffff,
      0x7f810000,
    ];
    const withSigns = edges.flatMap((bits) => [bits, (bits | 0x80000000) >>> 0]);
    const { failures } = sweep(withSigns);
    expect(failures).toEqual([]);
    // The derivations the reference makes at the edges, spelled out.
    expect(referenceRne(0x7f7f8000)).toBe(0x7f80); // max + half ulp: tie, even code is Inf
    expect(referenceRne(0x7f7f7fff)).toBe(0x7f7f);
    expect(referenceRne(0x00008000)).toBe(0x0000); // half the smallest subnormal: tie to +0
    expect(referenceRne(0x00018000)).toBe(0x0002);
    expect(referenceRne(0x807fffff)).toBe(0x8080); // largest subnormal rounds up to -min normal
  });

  it('a low-payload NaN stays NaN when truncated (u >> 16 alone would make it Inf)', () => {
    for (const bits of [0x7f800001, 0xff800001, 0x7f80ffff]) {
      for (const mode of ['rne', 'truncate'] as const) {
        const code = bf16FromF32Bits(bits >>> 0, mode);
        expect(Number.isNaN(valueOfBf16(code)), `${mode} ${hex(bits)}`).toBe(true);
        expect(code >>> 15).toBe(bits >>> 31);
      }
    }
  });

  it('encodeBf16 on a Float32Array keeps NaN payloads (reads bits, not numbers) and defaults to RNE', () => {
    const prng = Xoshiro128StarStar.fromSeed(7);
    const bits = new Uint32Array(100_000);
    for (let i = 0; i < bits.length; i++) bits[i] = prng.nextUint32();
    bits.set([0x7f800001, 0xff800001, 0x3f808000, 0x3f818000], 0);
    const values = new Float32Array(bits.buffer);
    const rne = encodeBf16(values);
    const truncated = encodeBf16(values, { rounding: 'truncate' });
    const failures: string[] = [];
    for (let i = 0; i < bits.length; i++) {
      const a = checkAgainst(bits[i], rne[i], referenceRne(bits[i]), 'rne');
      const b = checkAgainst(bits[i], truncated[i], referenceTruncate(bits[i]), 'truncate');
      if (a) failures.push(a);
      if (b) failures.push(b);
    }
    expect(failures.slice(0, 10)).toEqual([]);
  });
});
