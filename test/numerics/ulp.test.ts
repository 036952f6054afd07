import { describe, expect, it } from 'vitest';
import { FP8_FORMATS, isNanCode, ulpDistance } from '../../src/numerics/index.js';
import { hex, valueOfBf16, valueOfF32Bits } from './f32-fields.js';
import { FP8_SPECS, buildTable } from './fp8-spec.js';
import { Xoshiro128StarStar } from '../../src/fixtures/prng.js';

/**
 * Rank of every code on the sorted number line of its format's distinct values (-0 and +0
 * share one rank; +-Inf sit one past +-max); NaN codes get NaN. Built by sorting values.
 */
function ranksBySorting(values: readonly number[]): number[] {
  const distinct = [...new Set(values.filter((v) => !Number.isNaN(v)).map((v) => (v === 0 ? 0 : v)))].sort((a, b) => a - b);
  const rankOf = new Map(distinct.map((v, i) => [v, i - distinct.indexOf(0)]));
  return values.map((v) => (Number.isNaN(v) ? NaN : (rankOf.get(v === 0 ? 0 : v) as number)));
}

function expectedDistance(ranks: readonly number[], expected: number, actual: number): number {
  const a = ranks[expected];
  const b = ranks[actual];
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? 0 : NaN;
  return b - a;
}

describe('ulpDistance on bf16', () => {
  const values = Array.from({ length: 0x10000 }, (_, code) => valueOfBf16(code));
  const ranks = ranksBySorting(values);
  const ordered = Array.from({ length: 0x10000 }, (_, code) => code)
    .filter((code) => !Number.isNaN(values[code]) && code !== 0x8000)
    .sort((a, b) => values[a] - values[b]);

  it('consecutive values on the whole line are 1 apart, -Inf to +Inf, across zero', () => {
    expect(ordered.length).toBe(2 * 0x7f80 + 1); // every finite and infinite value once, zero once
    const failures: string[] = [];
    for (let i = 0; i + 1 < ordered.length; i++) {
      const [low, high] = [ordered[i], ordered[i + 1]];
      if (ulpDistance(low, high, 'bf16') !== 1 || ulpDistance(high, low, 'bf16') !== -1) failures.push(`${hex(low, 4)} -> ${hex(high, 4)}`);
    }
    expect(failures.slice(0, 10)).toEqual([]);
    expect(ulpDistance(0x8000, 0x0000, 'bf16')).toBe(0);
    expect(ulpDistance(0x8001, 0x8000, 'bf16')).toBe(1);
    expect(ulpDistance(0x8001, 0x0001, 'bf16')).toBe(2);
    expect(ulpDistance(0x7f7f, 0x7f80, 'bf16')).toBe(1); // Inf one past max
    expect(ulpDistance(0xff80, 0x7f80, 'bf16')).toBe(ordered.length - 1);
  });

  it('every code against +0 and against -0 is its rank; one million random pairs are their rank difference', () => {
    const failures: string[] = [];
    for (let code = 0; code < 0x10000; code++) {
      for (const zero of [0x0000, 0x8000]) {
        const want = expectedDistance(ranks, zero, code);
        if (!Object.is(ulpDistance(zero, code, 'bf16'), want)) failures.push(`${hex(zero, 4)} -> ${hex(code, 4)}`);
      }
    }
    const prng = Xoshiro128StarStar.fromSeed(0x1f);
    for (let i = 0; i < 1_000_000; i++) {
      const expected = prng.nextBelow(0x10000);
      const actual = i % 2 === 0 ? prng.nextBelow(0x10000) : (expected + prng.nextInt(-4, 4)) & 0xffff;
      if (!Object.is(ulpDistance(expected, actual, 'bf16'), expectedDistance(ranks, expected, actual)))
        failures.push(`${hex(expected, 4)} -> ${hex(actual, 4)}`);
      if (failures.length >= 10) break;
    }
    expect(failures).toEqual([]);
  });

  it('NaN is a class: two NaNs are 0 apart whatever their payload or sign, NaN against a number is NaN', () => {
    const nans = [0x7f81, 0x7fc0, 0x7fff, 0xff81, 0xffc0, 0xffff];
    for (const a of nans) {
      expect(isNanCode(a, 'bf16')).toBe(true);
      for (const b of nans) expect(ulpDistance(a, b, 'bf16')).toBe(0);
      for (const number of [0x0000, 0x8000, 0x3f80, 0x7f80, 0xff80, 0x7f7f]) {
        expect(ulpDistance(a, number, 'bf16')).toBeNaN();
        expect(ulpDistance(number, a, 'bf16')).toBeNaN();
      }
    }
    expect(isNanCode(0x7f80, 'bf16')).toBe(false);
  });
});

describe.each(FP8_FORMATS)('ulpDistance on %s, all 256 x 256 pairs', (format) => {
  it('equals the rank difference on the derived number line (NaN class rules included)', () => {
    const table = buildTable(FP8_SPECS[format]);
    const ranks = ranksBySorting(table.values);
    const failures: string[] = [];
    for (let expected = 0; expected < 256; expected++) {
      expect(isNanCode(expected, format), hex(expected, 2)).toBe(Number.isNaN(table.values[expected]));
      for (let actual = 0; actual < 256; actual++) {
        const want = expectedDistance(ranks, expected, actual);
        if (!Object.is(ulpDistance(expected, actual, format), want)) failures.push(`${hex(expected, 2)} -> ${hex(actual, 2)}: want ${want}`);
      }
    }
    expect(failures.slice(0, 10)).toEqual([]);
    // Spelled out: max to the next code past it and the ends of the line.
    const top = ranks[table.maxCode];
    expect(ulpDistance(0x80 | table.maxCode, table.maxCode, format)).toBe(2 * top);
    if (table.positiveInfCode !== null) expect(ulpDistance(table.maxCode, table.positiveInfCode, format)).toBe(1);
  });
});

describe('ulpDistance on f32', () => {
  /**
   * Signed count of f32 values strictly between 0 and |v| (plus one), from the value alone:
   * 2^23 per binade above the subnormals, the subnormals counted in steps of 2^-149.
   */
  function ordinalFromValue(v: number): number {
    const magnitude = Math.abs(v);
    let count: number;
    if (magnitude === Infinity) count = 255 * 2 ** 23;
    else if (magnitude < 2 ** -126) count = magnitude * 2 ** 149;
    else {
      let e = Math.floor(Math.log2(magnitude));
      while (2 ** e > magnitude) e--;
      while (2 ** (e + 1) <= magnitude) e++;
      count = 2 ** 23 * (e + 126) + magnitude * 2 ** (23 - e);
    }
    return v < 0 ? -count : count;
  }

  function expectedF32(expected: number, actual: number): number {
    const a = valueOfF32Bits(expected);
    const b = valueOfF32Bits(actual);
    if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b) ? 0 : NaN;
    return ordinalFromValue(b) - ordinalFromValue(a);
  }

  it('seeded pairs: random, neighbours, across zero, subnormals, Inf, NaN', () => {
    const prng = Xoshiro128StarStar.fromSeed(0xf32);
    const edges = [
      0x00000000, 0x80000000, 0x00000001, 0x80000001, 0x007fffff, 0x00800000, 0x3f800000, 0x7f7fffff, 0x7f800000, 0xff800000, 0x7fc00000, 0xff800001,
    ];
    const pairs: [number, number][] = [];
    for (const a of edges) for (const b of edges) pairs.push([a, b]);
    for (let i = 0; i < 300_000; i++) {
      const a = prng.nextUint32();
      const kind = i % 3;
      const b = kind === 0 ? prng.nextUint32() : kind === 1 ? (a + prng.nextInt(-1000, 1000)) >>> 0 : (a ^ 0x80000000 ^ prng.nextBelow(4)) >>> 0;
      pairs.push([a, b]);
    }
    const failures: string[] = [];
    for (const [a, b] of pairs) {
      const want = expectedF32(a, b);
      if (!Object.is(ulpDistance(a, b, 'f32'), want)) failures.push(`${hex(a)} -> ${hex(b)}: want ${want}, got ${ulpDistance(a, b, 'f32')}`);
      if (failures.length >= 10) break;
    }
    expect(failures).toEqual([]);
    expect(ulpDistance(0x7f7fffff, 0x7f800000, 'f32')).toBe(1);
    expect(ulpDistance(0x80000001, 0x00000001, 'f32')).toBe(2);
    expect(ulpDistance(0x80000000, 0x00000000, 'f32')).toBe(0);
    expect(ulpDistance(0x7fc00000, 0xffc00001, 'f32')).toBe(0);
    expect(ulpDistance(0x7fc00000, 0x3f800000, 'f32')).toBeNaN();
  });
});
