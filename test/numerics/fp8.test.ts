import { describe, expect, it } from 'vitest';
import { FP8_FORMATS, FP8_TRAITS, decodeFp8, encodeFp8, f32BitsFromFp8, fp8FromF32Bits, type Fp8Format, type Fp8Saturation } from '../../src/numerics/index.js';
import { fp8Encoder } from '../../src/numerics/fp8.js';
import { SIGNIFICAND_PATTERNS, f32BitsOfExactValue, hex, valueOfF32Bits } from './f32-fields.js';
import { FP8_SPECS, buildTable, type Fp8Table } from './fp8-spec.js';
import { Xoshiro128StarStar } from '../../src/fixtures/prng.js';

const SATURATIONS: readonly Fp8Saturation[] = ['satfinite', 'overflow'];
const TABLES: Readonly<Record<Fp8Format, Fp8Table>> = {
  e4m3fn: buildTable(FP8_SPECS.e4m3fn),
  e4m3fnuz: buildTable(FP8_SPECS.e4m3fnuz),
  e5m2: buildTable(FP8_SPECS.e5m2),
  e5m2fnuz: buildTable(FP8_SPECS.e5m2fnuz),
};

type Expected = { readonly code: number } | { readonly nanWithSign: number };

function overflowResult(table: Fp8Table, sign: number, saturation: Fp8Saturation): Expected {
  if (saturation === 'satfinite') return { code: sign | table.maxCode };
  switch (table.spec.special) {
    case 'fnuz':
      return { code: 0x80 };
    case 'ieee':
      return { code: sign | (table.positiveInfCode as number) };
    case 'fn':
      return { code: sign | table.positiveNanCodes[0] };
  }
}

/**
 * Nearest value of the derived table, ties to the even code, on the grid extended by one
 * step past max (so ml_dtypes' RNE-then-overflow rule falls out); then the saturation rule.
 */
function referenceFp8(bits: number, table: Fp8Table, saturation: Fp8Saturation): Expected {
  const x = valueOfF32Bits(bits);
  const sign = bits >>> 31 === 1 ? 0x80 : 0;
  if (Number.isNaN(x)) return table.spec.special === 'fnuz' ? { code: 0x80 } : { nanWithSign: sign };
  const magnitude = Math.abs(x);
  if (magnitude >= table.beyond) return overflowResult(table, sign, saturation);
  const { positive, maxCode } = table;
  let lo = 0;
  let hi = maxCode;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (positive[mid] <= magnitude) lo = mid;
    else hi = mid - 1;
  }
  const upper = lo === maxCode ? table.beyond : positive[lo + 1];
  // 2|x| and the sum of two fp8 neighbours are both exact doubles: no rounding in the compare.
  const twice = 2 * magnitude;
  const midpoint = positive[lo] + upper;
  const chosen = twice < midpoint ? lo : twice > midpoint ? lo + 1 : lo % 2 === 0 ? lo : lo + 1;
  if (chosen > maxCode) return overflowResult(table, sign, saturation);
  if (chosen === 0) return { code: table.spec.special === 'fnuz' ? 0 : sign };
  return { code: sign | chosen };
}

function mismatch(actual: number, expected: Expected, table: Fp8Table): boolean {
  if ('code' in expected) return actual !== expected.code;
  return !(Number.isNaN(table.values[actual]) && (actual & 0x80) === expected.nanWithSign);
}

function describeMismatch(format: Fp8Format, saturation: Fp8Saturation, bits: number, actual: number, expected: Expected): string {
  const want = 'code' in expected ? hex(expected.code, 2) : `NaN sign ${expected.nanWithSign >>> 7}`;
  return `${format}/${saturation} ${hex(bits)} (${valueOfF32Bits(bits)}): expected ${want}, got ${hex(actual, 2)}`;
}

function runMatrix(format: Fp8Format, inputs: Iterable<number>): { count: number; failures: string[] } {
  const table = TABLES[format];
  const failures: string[] = [];
  let count = 0;
  for (const bits of inputs) {
    count++;
    for (const saturation of SATURATIONS) {
      const actual = fp8FromF32Bits(bits, format, saturation);
      const expected = referenceFp8(bits, table, saturation);
      if (mismatch(actual, expected, table)) failures.push(describeMismatch(format, saturation, bits, actual, expected));
    }
    if (failures.length >= 10) break;
  }
  return { count, failures };
}

/** Exponents (unbiased) from 4x under the smallest subnormal to 4x over max. */
function exponentRange(table: Fp8Table): [number, number] {
  const low = Math.floor(Math.log2(table.positive[1])) - 2;
  const high = Math.floor(Math.log2(table.max)) + 2;
  return [Math.max(low, -126), Math.min(high, 127)];
}

/** Every binade of the range x both signs x all top M+3 fraction bits x low-part patterns. */
function* structuredInputs(table: Fp8Table, prng: Xoshiro128StarStar): Generator<number> {
  const [low, high] = exponentRange(table);
  const topBits = table.spec.mantissaBits + 3;
  const lowBits = 23 - topBits;
  const lowMask = (1 << lowBits) - 1;
  for (let e = low; e <= high; e++) {
    for (let sign = 0; sign < 2; sign++) {
      const head = sign * 2 ** 31 + (e + 127) * 2 ** 23;
      for (let top = 0; top < 1 << topBits; top++) {
        const lows = [0, 1, lowMask, 1 << (lowBits - 1), lowMask >>> 1, prng.nextUint32() & lowMask, prng.nextUint32() & lowMask];
        for (const lowPart of lows) yield head + top * 2 ** lowBits + lowPart;
      }
      for (const fraction of SIGNIFICAND_PATTERNS) yield head + fraction;
    }
  }
}

function* randomInputs(table: Fp8Table, prng: Xoshiro128StarStar, count: number): Generator<number> {
  const [low, high] = exponentRange(table);
  for (let i = 0; i < count; i++) {
    if (i % 4 === 0) {
      yield prng.nextUint32(); // anywhere, including f32 subnormals, Inf and NaN
    } else {
      const exponentField = prng.nextInt(low, high) + 127;
      yield (prng.nextUint32() & 0x807fffff) + exponentField * 2 ** 23;
    }
  }
}

function boundaryValues(table: Fp8Table): number[] {
  const minSubnormal = table.positive[1];
  const minNormal = table.positive[1 << table.spec.mantissaBits];
  const halfTopStep = (table.beyond - table.max) / 2;
  return [
    0,
    table.max,
    table.max + halfTopStep,
    table.beyond,
    2 * table.beyond,
    4 * table.max,
    table.max - halfTopStep,
    minSubnormal,
    minSubnormal / 2,
    minSubnormal / 4,
    1.5 * minSubnormal,
    2.5 * minSubnormal,
    minNormal,
    minNormal - minSubnormal / 2,
    1,
    2 ** -149,
    2 ** -126,
    (2 - 2 ** -23) * 2 ** 127,
  ];
}

/** Each boundary as f32 bits, its f32 neighbours (one f32 ulp either side), and both signs. */
function boundaryInputs(table: Fp8Table): number[] {
  const out: number[] = [];
  for (const value of boundaryValues(table)) {
    const bits = f32BitsOfExactValue(value);
    for (const neighbour of [bits - 1, bits, bits + 1]) {
      if (neighbour < 0 || neighbour > 0x7fffffff) continue;
      out.push(neighbour, neighbour + 2 ** 31);
    }
  }
  out.push(0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000, 0x7f800001, 0xff800001, 0x7fffffff, 0xffffffff);
  return out;
}

describe.each(FP8_FORMATS)('%s', (format) => {
  const table = TABLES[format];
  const spec = FP8_SPECS[format];

  it('traits agree with the format definition', () => {
    const traits = FP8_TRAITS[format];
    expect(traits.exponentBits).toBe(spec.exponentBits);
    expect(traits.mantissaBits).toBe(spec.mantissaBits);
    expect(traits.bias).toBe(spec.bias);
    expect(traits.maxFinite).toBe(table.max);
    expect(traits.maxFiniteCode).toBe(table.maxCode);
    expect(traits.hasInfinity).toBe(table.positiveInfCode !== null);
    expect(traits.fnuz).toBe(spec.special === 'fnuz');
    expect(Number.isNaN(table.values[traits.nanCode])).toBe(true);
  });

  it('the derived table matches ml_dtypes numeric_limits (jax-ml/ml_dtypes@b793a6e2 ml_dtypes/include/float8.h:712-1001)', () => {
    const rows: Record<Fp8Format, [number, number, number, number]> = {
      // max, min normal, min subnormal, NaN codes in 0..255
      e4m3fn: [448, 2 ** -6, 2 ** -9, 2],
      e4m3fnuz: [240, 2 ** -7, 2 ** -10, 1],
      e5m2: [57344, 2 ** -14, 2 ** -16, 6],
      e5m2fnuz: [57344, 2 ** -15, 2 ** -17, 1],
    };
    const [max, minNormal, minSubnormal, nanCount] = rows[format];
    expect([table.max, table.positive[1 << spec.mantissaBits], table.positive[1]]).toEqual([max, minNormal, minSubnormal]);
    expect(table.values.filter(Number.isNaN).length).toBe(nanCount);
    expect(Object.is(table.values[0x80], -0)).toBe(spec.special !== 'fnuz');
  });

  it('decodes all 256 codes to the derived values (bits compared; NaN as a class, sign kept)', () => {
    const failures: string[] = [];
    for (let code = 0; code < 256; code++) {
      const bits = f32BitsFromFp8(code, format);
      const expected = table.values[code];
      if (Number.isNaN(expected)) {
        const signKept = spec.special === 'fnuz' || bits >>> 31 === code >>> 7;
        if (!Number.isNaN(valueOfF32Bits(bits)) || !signKept) failures.push(`${hex(code, 2)} -> ${hex(bits)}`);
      } else if (bits !== f32BitsOfExactValue(expected)) {
        failures.push(`${hex(code, 2)} -> ${hex(bits)}, expected ${hex(f32BitsOfExactValue(expected))}`);
      }
    }
    expect(failures).toEqual([]);
    const codes = new Uint8Array(256).map((_, i) => i);
    const decoded = decodeFp8(codes, format);
    for (let code = 0; code < 256; code++) {
      const expected = table.values[code];
      expect(Number.isNaN(expected) ? Number.isNaN(decoded[code]) : Object.is(decoded[code], expected), hex(code, 2)).toBe(true);
    }
  });

  it('encode(decode(code)) == code for every non-NaN code', () => {
    const failures: string[] = [];
    for (let code = 0; code < 256; code++) {
      const value = table.values[code];
      if (Number.isNaN(value)) continue;
      const bits = f32BitsOfExactValue(value);
      for (const saturation of SATURATIONS) {
        // Inf is finite-saturated by satfinite; every other code must come back as itself.
        const expected = !Number.isFinite(value) && saturation === 'satfinite' ? (code & 0x80) | table.maxCode : code;
        const actual = fp8FromF32Bits(bits, format, saturation);
        if (actual !== expected) failures.push(`${saturation} ${hex(code, 2)} -> ${hex(actual, 2)}`);
      }
    }
    expect(failures).toEqual([]);
  });

  it('from f32 to fp8: every binade within 4x of the range x mantissa patterns x both signs', () => {
    const { count, failures } = runMatrix(format, structuredInputs(table, Xoshiro128StarStar.fromSeed(0xf8)));
    expect(failures).toEqual([]);
    expect(count).toBeGreaterThan(10_000);
  });

  it('from f32 to fp8: 400k seeded random f32 (3/4 inside the range, 1/4 any bits)', () => {
    const { count, failures } = runMatrix(format, randomInputs(table, Xoshiro128StarStar.fromSeed(0xf80 + FP8_FORMATS.indexOf(format)), 400_000));
    expect(failures).toEqual([]);
    expect(count).toBe(400_000);
  });

  it('from f32 to fp8: boundaries (max, max + half step, min subnormal, its half, -0, Inf, NaN) and f32 neighbours', () => {
    const { failures } = runMatrix(format, boundaryInputs(table));
    expect(failures).toEqual([]);
  });

  it('boundary rules, spelled out from the table', () => {
    const max = f32BitsOfExactValue(table.max);
    const tie = f32BitsOfExactValue(table.max + (table.beyond - table.max) / 2);
    const maxCodeIsEven = table.maxCode % 2 === 0;
    // ml_dtypes rounds first: the tie above max goes to max only when max's code is even.
    expect(fp8FromF32Bits(tie, format, 'overflow')).toBe(maxCodeIsEven ? table.maxCode : overflowCode(format));
    expect(fp8FromF32Bits(tie + 1, format, 'overflow')).toBe(overflowCode(format));
    expect(fp8FromF32Bits(tie + 1, format, 'satfinite')).toBe(table.maxCode);
    expect(fp8FromF32Bits(0x7f800000, format, 'satfinite')).toBe(table.maxCode);
    expect(fp8FromF32Bits(0xff800000, format, 'satfinite')).toBe(0x80 | table.maxCode);
    expect(fp8FromF32Bits(max, format, 'overflow')).toBe(table.maxCode);
    // Half the smallest subnormal is a tie between 0 (even) and code 1: it goes to zero.
    const halfMin = f32BitsOfExactValue(table.positive[1] / 2);
    expect(fp8FromF32Bits(halfMin, format, 'satfinite')).toBe(0);
    expect(fp8FromF32Bits(halfMin + 1, format, 'satfinite')).toBe(1);
    // Negative zero and negative underflow: fnuz has no -0, so both give 0x00.
    const negativeZero = spec.special === 'fnuz' ? 0x00 : 0x80;
    expect(fp8FromF32Bits(0x80000000, format, 'satfinite')).toBe(negativeZero);
    expect(fp8FromF32Bits(halfMin + 2 ** 31, format, 'satfinite')).toBe(negativeZero);
    expect(fp8FromF32Bits(0x80000001, format, 'overflow')).toBe(negativeZero);
  });

  it('double rounding: 2^e (1 + 2^-(M+1) + 2^-q) rounds up, never to a tie then down', () => {
    const m = spec.mantissaBits;
    const minNormalExponent = 1 - spec.bias;
    const maxExponent = Math.floor(Math.log2(table.max));
    const failures: string[] = [];
    for (let e = minNormalExponent; e <= maxExponent; e++) {
      for (let q = m + 2; q <= 23; q++) {
        const x = 2 ** e * (1 + 2 ** -(m + 1) + 2 ** -q);
        const roundedUp = 2 ** e * (1 + 2 ** -m);
        const upCode = table.values.indexOf(roundedUp);
        if (upCode < 0) continue; // 2^e (1 + 2^-M) past max
        for (const sign of [0, 0x80]) {
          const bits = f32BitsOfExactValue(sign ? -x : x);
          const actual = fp8FromF32Bits(bits, format, 'satfinite');
          if (actual !== (sign | upCode)) failures.push(`e=${e} q=${q} sign=${sign}: ${hex(actual, 2)} != ${hex(sign | upCode, 2)}`);
        }
      }
      // and the exact tie 2^e (1 + 2^-(M+1)) goes down to the even code 2^e
      const tieBits = f32BitsOfExactValue(2 ** e * (1 + 2 ** -(m + 1)));
      if (fp8FromF32Bits(tieBits, format, 'satfinite') !== table.values.indexOf(2 ** e)) failures.push(`tie at e=${e}`);
    }
    // The subnormal analogue: just above half the smallest subnormal rounds up to it.
    for (let q = 1; q <= 23; q++) {
      const bits = f32BitsOfExactValue(table.positive[1] * (0.5 + 2 ** -q));
      if (fp8FromF32Bits(bits, format, 'satfinite') !== 1) failures.push(`subnormal q=${q}`);
    }
    expect(failures).toEqual([]);
  });

  it('encodeFp8 on a Float32Array reads bits and defaults to satfinite', () => {
    const bits = new Uint32Array([...boundaryInputs(table), ...randomInputs(table, Xoshiro128StarStar.fromSeed(99), 10_000)]);
    const values = new Float32Array(bits.buffer);
    const defaults = encodeFp8(values, format);
    const overflow = encodeFp8(values, format, { saturation: 'overflow' });
    const failures: string[] = [];
    for (let i = 0; i < bits.length; i++) {
      const satfiniteExpected = referenceFp8(bits[i], table, 'satfinite');
      const overflowExpected = referenceFp8(bits[i], table, 'overflow');
      if (mismatch(defaults[i], satfiniteExpected, table)) failures.push(describeMismatch(format, 'satfinite', bits[i], defaults[i], satfiniteExpected));
      if (mismatch(overflow[i], overflowExpected, table)) failures.push(describeMismatch(format, 'overflow', bits[i], overflow[i], overflowExpected));
    }
    expect(failures.slice(0, 10)).toEqual([]);
  });
});

/** ml_dtypes overflow for a positive value: e4m3fn -> NaN 0x7F, fnuz -> 0x80, e5m2 -> Inf 0x7C. */
function overflowCode(format: Fp8Format): number {
  const table = TABLES[format];
  const result = overflowResult(table, 0, 'overflow');
  return 'code' in result ? result.code : -1;
}

it('ml_dtypes overflow codes, as the table derives them', () => {
  expect(FP8_FORMATS.map(overflowCode)).toEqual([0x7f, 0x80, 0x7c, 0x80]);
  expect(fp8FromF32Bits(f32BitsOfExactValue(-1e6), 'e4m3fn', 'overflow')).toBe(0xff);
  expect(fp8FromF32Bits(f32BitsOfExactValue(-1e6), 'e5m2', 'overflow')).toBe(0xfc);
  expect(fp8FromF32Bits(f32BitsOfExactValue(464), 'e4m3fn', 'overflow')).toBe(0x7e); // 464 -> 448
  expect(fp8FromF32Bits(f32BitsOfExactValue(61440), 'e5m2', 'overflow')).toBe(0x7c); // tie -> Inf
});

describe('fp8Encoder (the CPU engine table) against fp8FromF32Bits', () => {
  // Every f32 input was compared once (bench/fp8-exhaustive.ts, every format and saturation); here
  // the inputs the table argument rests on: low 16 bits zero, one, a tie's neighbours, every top
  // 16-bit pattern with low bits 0, 1 and 0xffff, and seeded random words.
  const rng = Xoshiro128StarStar.fromSeed(0xf8e4);
  const seeded = Array.from({ length: 1 << 16 }, () => rng.nextUint32());
  for (const format of FP8_FORMATS) {
    for (const saturation of SATURATIONS) {
      it(`${format} ${saturation}: same code on every top 16-bit pattern and on seeded inputs`, () => {
        const encode = fp8Encoder(format, saturation);
        const bad: string[] = [];
        const check = (bits: number): void => {
          const want = fp8FromF32Bits(bits >>> 0, format, saturation);
          const got = encode(bits >>> 0);
          if (got !== want && bad.length < 5) bad.push(`${hex(bits >>> 0)}: table ${got}, fp8FromF32Bits ${want}`);
        };
        for (let high = 0; high < 1 << 16; high++) for (const low of [0, 1, 0x7fff, 0x8000, 0xffff]) check((high << 16) | low);
        for (const bits of seeded) check(bits);
        expect(bad).toEqual([]);
      });
    }
  }
});
