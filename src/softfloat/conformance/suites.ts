import { Xoshiro128StarStar } from '../../fixtures/prng.js';
import { bitsFromF32, f32FromBits } from '../../numerics/f32.js';
import { FP8_FORMATS, f32BitsFromFp8 } from '../../numerics/fp8.js';
import { HARDWARE_TWINS, WGSL_TWINS, type WgslTwin } from '../twins.js';
import type { F32Subnormals } from '../internals.js';
import { WGSL_CODES } from '../wgslCodes.js';
import { operandNear, operandPair, operandTriple, packF32, SIGNIFICAND_PATTERNS, SPECIAL_F32, weightedOperand } from './testfloat.js';

// The inputs `ulpwise selftest` runs through each soft-float twin, TestFloat style: special
// values, exponent x significand pattern tables and weighted random (testfloat.ts), and
// exhaustive sweeps where the space allows (every mantissa of two sqrt binades, every
// bf16/fp8/e8m0 code, every rounding boundary of the encoders), plus a strided sweep over all
// f32 patterns. Seeded: a level gives the same cases on every run.

export const CONFORMANCE_LEVELS = ['quick', 'full'] as const;
export type ConformanceLevel = (typeof CONFORMANCE_LEVELS)[number];

interface LevelSizes {
  /** Seeded random operand tuples per arithmetic op. */
  readonly randomTuples: number;
  /** Patterns of the strided sweep over all f32 bit patterns (a power of two). */
  readonly sweep: number;
  /** Subnormal sqrt inputs per subnormal exponent (all 2^23 subnormals when >= 2^22). */
  readonly subnormalsPerExponent: number;
  /** The sm_90 unary ops: every this-many-th input of the rsqrt period [1, 4) (1: all 2^24,
   *  which holds rcp's period [1, 2)). */
  readonly hardwarePeriodStride: number;
}

const LEVEL_SIZES: Readonly<Record<ConformanceLevel, LevelSizes>> = {
  quick: { randomTuples: 1 << 20, sweep: 1 << 20, subnormalsPerExponent: 1 << 12, hardwarePeriodStride: 16 },
  full: { randomTuples: 1 << 23, sweep: 1 << 24, subnormalsPerExponent: 1 << 22, hardwarePeriodStride: 1 },
};

/** One row of the selftest table: a twin with fixed format/mode codes, and where its cases come from. */
export interface ConformanceSuite {
  readonly label: string;
  readonly twin: WgslTwin;
  readonly coverage: string;
  /** Number of cases. */
  readonly count: number;
  /** The cases, twin.args.length words each, in batches of at most `maxCases` cases. */
  batches(maxCases: number): Iterable<Uint32Array>;
}

function* inBatches(count: number, arity: number, maxCases: number, fill: (out: Uint32Array, first: number) => void): Iterable<Uint32Array> {
  for (let first = 0; first < count; first += maxCases) {
    const out = new Uint32Array(Math.min(maxCases, count - first) * arity);
    fill(out, first);
    yield out;
  }
}

/** A suite over an explicit list of first arguments, each followed by fixed code arguments. */
function listSuite(label: string, twin: WgslTwin, coverage: string, values: () => Uint32Array, codes: readonly number[] = []): ConformanceSuite {
  const arity = 1 + codes.length;
  let cached: Uint32Array | undefined;
  const list = (): Uint32Array => (cached ??= values());
  return {
    label,
    twin,
    coverage,
    get count() {
      return list().length;
    },
    batches: (maxCases) =>
      inBatches(list().length, arity, maxCases, (out, first) => {
        const all = list();
        for (let i = 0; i < out.length / arity; i++) {
          out[i * arity] = all[first + i];
          codes.forEach((code, j) => (out[i * arity + 1 + j] = code));
        }
      }),
  };
}

/** Every f32 pattern at a stride, each with a low-bit pattern that sits on or near a rounding point. */
function sweepPatterns(count: number): Uint32Array {
  const lowBits = 32 - Math.log2(count);
  const low = (1 << lowBits) - 1;
  const half = 1 << (lowBits - 1);
  const lows = [0, 1, low, half, half + 1, half - 1];
  const rng = Xoshiro128StarStar.fromSeed(0x5eed);
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    const pick = i % 8;
    out[i] = (i << lowBits) | (pick < lows.length ? lows[pick] : rng.nextUint32() & low);
  }
  return out;
}

function withNegatives(values: readonly number[]): Uint32Array {
  return Uint32Array.from(values.flatMap((v) => [v, v ^ 0x80000000]));
}

/** Every bf16 code as f32, then on and around each rounding point below the next code. */
function bf16Boundaries(): Uint32Array {
  const lows = [0, 1, 0x7fff, 0x8000, 0x8001, 0xfffe, 0xffff];
  const out = new Uint32Array(0x10000 * lows.length);
  for (let hi = 0; hi < 0x10000; hi++) lows.forEach((lo, j) => (out[hi * lows.length + j] = (hi << 16) | lo));
  return out;
}

/** Every fp8 code's value, its f32 neighbours, and the midpoints to the next code with theirs. */
function fp8Boundaries(format: (typeof FP8_FORMATS)[number]): Uint32Array {
  const points: number[] = [];
  const finite = (bits: number): boolean => (bits & 0x7f800000) !== 0x7f800000;
  for (let code = 0; code < 0x80; code++) {
    const value = f32BitsFromFp8(code, format);
    if (!finite(value)) continue;
    const nextBits = f32BitsFromFp8(code + 1, format);
    const previous = code > 0 ? f32FromBits(f32BitsFromFp8(code - 1, format)) : 0;
    // Past the largest finite code the next step is extrapolated: its midpoint is the overflow point.
    const next = code + 1 < 0x80 && finite(nextBits) ? f32FromBits(nextBits) : 2 * f32FromBits(value) - previous;
    const midpoint = bitsFromF32((f32FromBits(value) + next) / 2);
    for (const centre of [value, midpoint]) for (let d = -2; d <= 2; d++) if (centre + d >= 0) points.push(centre + d);
  }
  return withNegatives(points);
}

/** Powers of two across the whole f32 range, the midpoints between them, and their neighbours. */
function powerOfTwoBoundaries(): Uint32Array {
  const points: number[] = [];
  for (let field = 0; field < 255; field++) {
    const centres = field === 0 ? [] : [field << 23, (field << 23) | 0x400000];
    for (const centre of centres) for (let d = -1; d <= 1; d++) points.push(centre + d);
  }
  for (let bit = 0; bit < 23; bit++) points.push(1 << bit, (1 << bit) + 1, (3 << bit) >>> 1);
  return withNegatives(points);
}

function allPatterns(width: 8 | 16): Uint32Array {
  return Uint32Array.from({ length: 1 << width }, (_, i) => i);
}

/** sqrt: the mantissas of the binades [1, 2) and [2, 4) (both exponent parities) at a stride
 *  (1: every one), subnormals by exponent. */
function sqrtInputs(sizes: LevelSizes, binadeStride: number): Uint32Array {
  const perExponent = (lead: number): number => Math.min(1 << lead, sizes.subnormalsPerExponent);
  let subnormals = 0;
  for (let lead = 0; lead < 23; lead++) subnormals += perExponent(lead);
  const out = new Uint32Array(SPECIAL_F32.length + 2 * Math.ceil((1 << 23) / binadeStride) + subnormals);
  out.set(SPECIAL_F32);
  let n = SPECIAL_F32.length;
  for (const field of [127, 128]) for (let f = 0; f < 1 << 23; f += binadeStride) out[n++] = (field << 23) | f;
  const rng = Xoshiro128StarStar.fromSeed(0x50b);
  for (let lead = 0; lead < 23; lead++) {
    const span = 1 << lead;
    if (span === perExponent(lead)) {
      for (let f = 0; f < span; f++) out[n++] = span | f;
    } else {
      out[n++] = span;
      out[n++] = span | (span - 1);
      for (let i = 2; i < perExponent(lead); i++) out[n++] = span | rng.nextBelow(span);
    }
  }
  return out;
}

/** Specials crossed, then seeded TestFloat tuples (testfloat.ts), for an op whose arguments are
 *  f32 operands followed by one code (the subnormal mode). */
function tupleSuite(twin: WgslTwin, randomTuples: number, seed: number, subnormals: F32Subnormals): ConformanceSuite {
  const arity = twin.args.length;
  const operands = twin.args.filter((arg) => arg.kind === 'bits').length;
  const n = SPECIAL_F32.length;
  const specials = n ** operands;
  const count = specials + randomTuples;
  return {
    label: `${twin.name}(${subnormals})`,
    twin,
    coverage: `${specials} special ${operands === 3 ? 'triples' : 'pairs'} + ${randomTuples} seeded random`,
    count,
    batches: (maxCases) => {
      const rng = Xoshiro128StarStar.fromSeed(seed);
      return inBatches(count, arity, maxCases, (out, first) => {
        for (let i = 0; i < out.length / arity; i++) {
          const index = first + i;
          let tuple: number[];
          if (index < specials) {
            tuple = Array.from({ length: operands }, (_, k) => SPECIAL_F32[Math.floor(index / n ** k) % n]);
          } else {
            tuple = operands === 3 ? operandTriple(rng, index) : operandPair(rng, index);
          }
          out.set(tuple, i * arity);
          out[i * arity + operands] = WGSL_CODES.f32Subnormals[subnormals];
        }
      });
    },
  };
}

/** The sm_90 unary ops' edges: specials, every exponent field (subnormals, both parities of
 *  the rsqrt period, overflow of rcp) of either sign with every significand pattern (the
 *  period boundaries 0 and 0x7fffff among them), then the period [1, 4) at a stride. */
function sm90UnaryInputs(stride: number): Uint32Array {
  const edges: number[] = [...SPECIAL_F32];
  for (let field = 0; field < 256; field++) for (const frac of SIGNIFICAND_PATTERNS) edges.push(packF32(0, field, frac), packF32(1, field, frac));
  const period = Math.ceil((1 << 24) / stride);
  const out = new Uint32Array(edges.length + period);
  out.set(edges);
  for (let i = 0; i < period; i++) out[edges.length + i] = (0x3f800000 + i * stride) >>> 0;
  return out;
}

/**
 * div.full pairs: specials crossed, then seeded pairs cycling through TestFloat's pairs, the
 * operand scaling ranges of the sequence (|b| > 2^126: exponent fields 253 and 254; |b| <
 * 2^-126: subnormal b), and quotients near 2^-126, where FMUL.FTZ's tininess decides.
 */
function sm90DivSuite(twin: WgslTwin, randomPairs: number, seed: number): ConformanceSuite {
  const n = SPECIAL_F32.length;
  const count = n * n + randomPairs;
  return {
    label: twin.name,
    twin,
    coverage: `${n * n} special pairs + ${randomPairs} seeded (|b| > 2^126, subnormal b, quotients near 2^-126)`,
    count,
    batches: (maxCases) => {
      const rng = Xoshiro128StarStar.fromSeed(seed);
      return inBatches(count, 2, maxCases, (out, first) => {
        for (let i = 0; i < out.length / 2; i++) {
          const index = first + i;
          let pair: [number, number];
          if (index < n * n) pair = [SPECIAL_F32[index % n], SPECIAL_F32[Math.floor(index / n)]];
          else if (index % 4 === 0) pair = operandPair(rng, index >>> 2);
          else if (index % 4 === 1) pair = [weightedOperand(rng), operandNear(rng, 253 + rng.nextBelow(2), 0)];
          else if (index % 4 === 2) pair = [weightedOperand(rng), operandNear(rng, 0, 0)];
          else {
            const b = operandNear(rng, 127, 126);
            pair = [operandNear(rng, ((b >>> 23) & 0xff) - 126, 2), b];
          }
          out.set(pair, i * 2);
        }
      });
    },
  };
}

/** f32_addF64 (aiter's double-epsilon add): f32 a from the strided sweep (negatives and specials
 *  give the default NaN on both sides), each with one f64 b, the epsilons kernels pass and
 *  seeded ones in (0, 2), some of them placed so that a + b sits within a few f64 ulps of an
 *  f32 midpoint (where f64 rounding decides the f32 result). */
function addF64Suite(sweep: () => Uint32Array, subnormals: F32Subnormals): ConformanceSuite {
  const twin = twinNamed('f32_addF64');
  const arity = twin.args.length;
  const epsilons = [1e-6, 1e-5, 1e-12, 0.1, 1, 2 ** -24 + 2 ** -76, 5e-324, 1e-310, 1e-40];
  const view = new DataView(new ArrayBuffer(8));
  return {
    label: `f32_addF64(${subnormals})`,
    twin,
    coverage: 'strided f32 patterns x (kernel epsilons | seeded doubles | near f32 midpoints)',
    get count() {
      return sweep().length;
    },
    batches: (maxCases) => {
      const rng = Xoshiro128StarStar.fromSeed(subnormals === 'keep' ? 0xe95 : 0xe96);
      const all = sweep();
      return inBatches(all.length, arity, maxCases, (out, first) => {
        for (let i = 0; i < out.length / arity; i++) {
          let a = all[first + i];
          let b: number;
          const pick = (first + i) % 4;
          if (pick === 0) b = epsilons[rng.nextBelow(epsilons.length)];
          else if (pick === 1) b = (rng.nextUint32() + 1) / 2 ** 31;
          else {
            // a in [1, 2), b = 2^-24 + k * 2^-76 with |k| <= 4: the exact sum is an f32 midpoint +- 4 f64 ulps or less.
            a = 0x3f800000 | (a & 0x7fffff);
            b = 2 ** -24 + (rng.nextBelow(9) - 4) * 2 ** -76;
          }
          view.setFloat64(0, b);
          out.set([a, view.getUint32(0), view.getUint32(4), WGSL_CODES.f32Subnormals[subnormals]], i * arity);
        }
      });
    },
  };
}

function twinNamed(name: string): WgslTwin {
  const twin = WGSL_TWINS.find((t) => t.name === name);
  if (!twin) throw new Error(`selftest: no twin '${name}' in WGSL_TWINS`);
  return twin;
}

/** Every suite of a level: every twin in WGSL_TWINS, every code combination. */
export function conformanceSuites(level: ConformanceLevel): ConformanceSuite[] {
  const sizes = LEVEL_SIZES[level];
  // One sweep shared by every encoder suite (67 MB at the full level).
  let sweepCases: Uint32Array | undefined;
  const sweep = (): Uint32Array => (sweepCases ??= sweepPatterns(sizes.sweep));
  const sweepNote = `${sizes.sweep} strided f32 patterns`;
  const suites: ConformanceSuite[] = [];
  const seeds: Record<string, number> = { f32_add: 1, f32_sub: 2, f32_mul: 3, f32_div: 4, f32_mulAdd: 5, f32_addFast: 8, f32_divViaReciprocal: 9 };
  // Flushing subnormals changes only what reads or rounds to a subnormal: a quarter of the
  // random tuples, under seeds of their own.
  for (const [name, seed] of Object.entries(seeds)) {
    suites.push(tupleSuite(twinNamed(name), sizes.randomTuples, seed, 'keep'));
    suites.push(tupleSuite(twinNamed(name), sizes.randomTuples / 4, seed + 100, 'flush'));
  }
  const subnormalNote = `subnormals (${sizes.subnormalsPerExponent >= 1 << 22 ? 'all' : `${sizes.subnormalsPerExponent} per exponent`})`;
  const sqrt = twinNamed('f32_sqrt');
  suites.push(
    listSuite('f32_sqrt(keep)', sqrt, `specials + every mantissa of [1,4) + ${subnormalNote}`, () => sqrtInputs(sizes, 1), [WGSL_CODES.f32Subnormals.keep]),
  );
  suites.push(
    listSuite('f32_sqrt(flush)', sqrt, `specials + every 256th mantissa of [1,4) + ${subnormalNote}`, () => sqrtInputs(sizes, 256), [
      WGSL_CODES.f32Subnormals.flush,
    ]),
  );

  for (const [rounding, code] of Object.entries(WGSL_CODES.bf16Rounding)) {
    for (const name of ['bf16FromF32Bits', 'roundF32BitsToBf16']) {
      suites.push(listSuite(`${name}(${rounding}) boundaries`, twinNamed(name), 'every bf16 code x 7 low halves', bf16Boundaries, [code]));
      suites.push(listSuite(`${name}(${rounding}) sweep`, twinNamed(name), sweepNote, sweep, [code]));
    }
  }
  suites.push(listSuite('f32BitsFromBf16', twinNamed('f32BitsFromBf16'), 'all 65536 codes', () => allPatterns(16)));
  for (const format of FP8_FORMATS) {
    const formatCode = WGSL_CODES.fp8Format[format];
    for (const [saturation, saturationCode] of Object.entries(WGSL_CODES.fp8Saturation)) {
      const twin = twinNamed('fp8FromF32Bits');
      suites.push(
        listSuite(`fp8FromF32Bits(${format}, ${saturation}) boundaries`, twin, 'every code, midpoints, +-2 ulp', () => fp8Boundaries(format), [
          formatCode,
          saturationCode,
        ]),
      );
      suites.push(listSuite(`fp8FromF32Bits(${format}, ${saturation}) sweep`, twin, sweepNote, sweep, [formatCode, saturationCode]));
    }
    suites.push(listSuite(`f32BitsFromFp8(${format})`, twinNamed('f32BitsFromFp8'), 'all 256 codes', () => allPatterns(8), [formatCode]));
  }
  for (const [mode, code] of Object.entries(WGSL_CODES.e8m0Rounding)) {
    const twin = twinNamed('roundToPowerOfTwo');
    suites.push(listSuite(`roundToPowerOfTwo(${mode}) boundaries`, twin, 'powers of two, midpoints, +-1 ulp', powerOfTwoBoundaries, [code]));
    suites.push(listSuite(`roundToPowerOfTwo(${mode}) sweep`, twin, sweepNote, sweep, [code]));
  }
  suites.push(listSuite('f32BitsFromE8m0', twinNamed('f32BitsFromE8m0'), 'all 256 codes', () => allPatterns(8)));
  suites.push(addF64Suite(sweep, 'keep'), addF64Suite(sweep, 'flush'));

  // sm_90's measured instructions: one input list shared by the unary ops, plus the sweep.
  let unaryCases: Uint32Array | undefined;
  const unary = (): Uint32Array => (unaryCases ??= sm90UnaryInputs(sizes.hardwarePeriodStride));
  const periodNote = sizes.hardwarePeriodStride === 1 ? 'all' : `every ${sizes.hardwarePeriodStride}th`;
  for (const twin of HARDWARE_TWINS.filter((t) => t.args.length === 1)) {
    suites.push(listSuite(`${twin.name} edges + period`, twin, `specials, every exponent x significand pattern, ${periodNote} of [1,4)`, unary));
    suites.push(listSuite(`${twin.name} sweep`, twin, sweepNote, sweep));
  }
  suites.push(sm90DivSuite(twinNamed('sm90DivFull'), sizes.randomTuples, 6));
  suites.push(sm90DivSuite(twinNamed('sm90DivFullFtz'), sizes.randomTuples, 7));

  const covered = new Set(suites.map((s) => s.twin.name));
  const missing = WGSL_TWINS.filter((t) => !covered.has(t.name)).map((t) => t.name);
  if (missing.length > 0) throw new Error(`selftest: no conformance cases for ${missing.join(', ')}`);
  return suites;
}
