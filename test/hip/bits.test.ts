// hip/include/ulpwise/bits.h, compiled for the host, against src/numerics, bit for bit: every
// bf16 pattern (decoded, and as an f32 on and around every rounding boundary), every fp8 and
// e8m0 code, and ~1M seeded f32 patterns through every encoder and mode.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Xoshiro128StarStar } from '../../src/fixtures/prng.js';
import {
  bf16FromF32Bits,
  bitsFromF32,
  e8m0FromPowerOfTwoBits,
  f32BitsFromBf16,
  f32BitsFromE8m0,
  f32BitsFromFp8,
  f32FromBits,
  FP8_FORMATS,
  FP8_TRAITS,
  fp8FromF32Bits,
  roundToPowerOfTwo,
  type Bf16Rounding,
  type E8m0Rounding,
  type Fp8Saturation,
} from '../../src/numerics/index.js';
import { PACKAGE_ROOT } from '../../src/packageRoot.js';
import { hex, SIGNIFICAND_PATTERNS } from '../numerics/f32-fields.js';

// Orders as in hip/tests/bits_host_check.cpp, which writes the sections read below.
const BF16_ROUNDINGS: readonly Bf16Rounding[] = ['rne', 'truncate'];
const FP8_SATURATIONS: readonly Fp8Saturation[] = ['satfinite', 'overflow'];
const E8M0_MODES: readonly E8m0Rounding[] = ['ceil', 'floor', 'rne'];
const BF16_NEAR_LOWS = [0x0000, 0x0001, 0x7fff, 0x8000, 0x8001, 0xffff] as const;
const E8M0_NOT_A_POWER_OF_TWO = 0x100;
const INPUT_COUNT = 1 << 20;
const E8M0_CODE_OF_INPUT_CHECKED = 1 << 17;
const SEED = 0x0b175;
const MAX_REPORTED = 8;

const HIP_DIR = join(PACKAGE_ROOT, 'hip');
const HOST_CHECK = join(HIP_DIR, 'build', 'host', 'bits_host_check');

/** The first of these found on PATH (CXX first when set), or undefined. */
function findTool(candidates: readonly (string | undefined)[]): string | undefined {
  for (const tool of candidates) {
    if (tool === undefined || tool === '') continue;
    if (spawnSync('sh', ['-c', 'command -v "$1"', 'sh', tool]).status === 0) return tool;
  }
  return undefined;
}

const compiler = findTool([process.env.CXX, 'c++', 'g++', 'clang++']);
const make = findTool(['make']);
const missingTools = [compiler === undefined ? 'a C++ compiler (c++, g++ or clang++)' : undefined, make === undefined ? 'make' : undefined]
  .filter((tool) => tool !== undefined)
  .join(' and ');
const inCi = process.env.CI === 'true';

/** Seeded f32 patterns: TestFloat-style exponent x significand tables, every fp8 value with its
 *  rounding midpoints and their neighbours in every format, then weighted random. */
function buildInputs(): Uint32Array {
  const inputs: number[] = [];
  for (const sign of [0, 0x80000000]) {
    for (let exponentField = 0; exponentField < 256; exponentField++) {
      for (const significand of SIGNIFICAND_PATTERNS) inputs.push((sign | (exponentField << 23) | significand) >>> 0);
    }
  }
  for (const format of FP8_FORMATS) {
    const t = FP8_TRAITS[format];
    const values: number[] = [];
    for (let code = 0; code <= t.maxFiniteCode; code++) values.push(f32FromBits(f32BitsFromFp8(code, format)));
    const top = values[values.length - 1];
    values.push(top + (top - values[values.length - 2])); // one quantum past max finite: the overflow tie
    for (let k = 0; k + 1 < values.length; k++) {
      const midpoint = (values[k] + values[k + 1]) / 2;
      if (Math.fround(midpoint) !== midpoint) throw new Error(`${format}: midpoint ${midpoint} is not an f32`);
      for (const bits of [bitsFromF32(values[k]), bitsFromF32(midpoint)]) {
        for (const neighbour of [bits - 1, bits, bits + 1]) {
          if (neighbour >= 0) inputs.push(neighbour >>> 0, (neighbour | 0x80000000) >>> 0);
        }
      }
    }
  }
  const random = Xoshiro128StarStar.fromSeed(SEED);
  while (inputs.length < INPUT_COUNT) {
    const bits = random.nextUint32();
    if (random.nextBoolean()) {
      inputs.push(bits);
    } else {
      // Exponent within reach of the fp8 and e8m0 ranges, trailing zeros so that exact ties occur.
      const exponentField = random.nextInt(127 - 24, 127 + 18);
      const trailingZeros = random.nextInt(0, 23);
      const significand = ((bits & 0x7fffff) >>> trailingZeros) << trailingZeros;
      inputs.push(((bits & 0x80000000) | (exponentField << 23) | significand) >>> 0);
    }
  }
  return Uint32Array.from(inputs.slice(0, INPUT_COUNT));
}

/** Reads the host check's output sections in order (each padded to 8 bytes). */
class SectionReader {
  private offset = 0;
  private readonly bytes: Uint8Array;
  constructor(bytes: Uint8Array) {
    // A plain copy: slices of a Node Buffer share (and expose) its whole pool.
    this.bytes = new Uint8Array(bytes);
  }

  private take(byteLength: number): ArrayBuffer {
    if (this.offset + byteLength > this.bytes.length)
      throw new Error(`bits_host_check output ends at ${this.bytes.length} bytes, wanted ${this.offset + byteLength}`);
    const copy = this.bytes.slice(this.offset, this.offset + byteLength).buffer;
    this.offset += Math.ceil(byteLength / 8) * 8;
    return copy;
  }
  u32(count: number): Uint32Array {
    return new Uint32Array(this.take(count * 4));
  }
  u16(count: number): Uint16Array {
    return new Uint16Array(this.take(count * 2));
  }
  u8(count: number): Uint8Array {
    return new Uint8Array(this.take(count));
  }
  expectEnd(): void {
    if (this.offset !== this.bytes.length) throw new Error(`bits_host_check output has ${this.bytes.length - this.offset} unread bytes`);
  }
}

interface HostResults {
  fp8Traits: Uint32Array;
  bf16Decode: Uint32Array;
  bf16Near: Uint16Array;
  fp8Decode: Uint32Array;
  e8m0Decode: Uint32Array;
  bf16: Uint16Array[];
  fp8: Uint8Array[];
  e8m0Rounded: Uint32Array[];
  e8m0CodeOfRounded: Uint32Array[];
  e8m0CodeOfInput: Uint32Array;
}

function parseHostResults(bytes: Uint8Array, inputCount: number): HostResults {
  const reader = new SectionReader(bytes);
  const header = reader.u32(4);
  const magic = Buffer.from(header.buffer, 0, 8).toString('latin1');
  if (magic !== 'ULPWBIT1') throw new Error(`bits_host_check output starts with ${JSON.stringify(magic)}, not ULPWBIT1`);
  if (header[2] !== inputCount) throw new Error(`bits_host_check read ${header[2]} inputs, expected ${inputCount}`);
  const results: HostResults = {
    fp8Traits: reader.u32(FP8_FORMATS.length * 8),
    bf16Decode: reader.u32(1 << 16),
    bf16Near: reader.u16((1 << 16) * BF16_NEAR_LOWS.length * BF16_ROUNDINGS.length),
    fp8Decode: reader.u32(FP8_FORMATS.length * 256),
    e8m0Decode: reader.u32(256),
    bf16: BF16_ROUNDINGS.map(() => reader.u16(inputCount)),
    fp8: FP8_FORMATS.flatMap(() => FP8_SATURATIONS.map(() => reader.u8(inputCount))),
    e8m0Rounded: E8M0_MODES.map(() => reader.u32(inputCount)),
    e8m0CodeOfRounded: E8M0_MODES.map(() => reader.u32(inputCount)),
    e8m0CodeOfInput: reader.u32(inputCount),
  };
  reader.expectEnd();
  return results;
}

/** e8m0FromPowerOfTwoBits with the C++ twin's value where the TypeScript one throws. */
function e8m0CodeOrNotAPower(bits: number): number {
  try {
    return e8m0FromPowerOfTwoBits(bits);
  } catch (error) {
    if (error instanceof RangeError) return E8M0_NOT_A_POWER_OF_TWO;
    throw error;
  }
}

/** Compares element by element; the failure message names the first mismatches. */
function expectSameBits(
  what: string,
  fromHeader: ArrayLike<number>,
  expected: (index: number) => number,
  describeIndex: (index: number) => string,
  digits: number,
): void {
  const lines: string[] = [];
  let mismatches = 0;
  for (let i = 0; i < fromHeader.length; i++) {
    const want = expected(i);
    if (fromHeader[i] === want) continue;
    if (mismatches++ < MAX_REPORTED) lines.push(`  ${describeIndex(i)}: bits.h ${hex(fromHeader[i], digits)}, src/numerics ${hex(want, digits)}`);
  }
  expect(mismatches, `${what}: ${mismatches} of ${fromHeader.length} differ\n${lines.join('\n')}`).toBe(0);
}

describe('hip/include/ulpwise/bits.h on the host, against src/numerics', () => {
  const available = missingTools === '';
  let workDir: string | undefined;
  let inputs: Uint32Array;
  let host: HostResults;

  beforeAll(() => {
    if (!available) {
      if (inCi) throw new Error(`CI=true but ${missingTools} is missing: install them (apt-get install g++ make) so bits.h is checked`);
      return;
    }
    const build = spawnSync(make as string, ['-C', HIP_DIR, 'host', `CXX=${compiler as string}`], { encoding: 'utf8' });
    if (build.status !== 0) throw new Error(`make -C hip host failed:\n${build.stdout}${build.stderr}`);
    workDir = mkdtempSync(join(tmpdir(), 'ulpwise-bits-'));
    inputs = buildInputs();
    const inputPath = join(workDir, 'inputs.bin');
    const outputPath = join(workDir, 'results.bin');
    writeFileSync(inputPath, new Uint8Array(inputs.buffer, inputs.byteOffset, inputs.byteLength));
    const run = spawnSync(HOST_CHECK, [inputPath, outputPath], { encoding: 'utf8' });
    if (run.status !== 0) throw new Error(`${HOST_CHECK} failed (status ${run.status}):\n${run.stdout}${run.stderr}`);
    host = parseHostResults(readFileSync(outputPath), inputs.length);
  });

  afterAll(() => {
    if (workDir !== undefined) rmSync(workDir, { recursive: true, force: true });
  });

  const check = available || inCi ? it : it.skip;
  if (!available && !inCi) it.skip(`needs ${missingTools} (CI=true makes this a failure)`, () => {});

  check('fp8 traits table', () => {
    FP8_FORMATS.forEach((format, f) => {
      const t = FP8_TRAITS[format];
      const fields = [t.exponentBits, t.mantissaBits, t.bias, t.hasInfinity ? 1 : 0, t.fnuz ? 1 : 0, t.maxFiniteCode, t.nanCode, bitsFromF32(t.maxFinite)];
      expect(Array.from(host.fp8Traits.subarray(f * 8, f * 8 + 8)), format).toEqual(fields);
      // maxFinite (FP8_MAX of the kernels) is the value of maxFiniteCode, in the header too.
      expect(hex(host.fp8Traits[f * 8 + 7]), format).toBe(hex(host.fp8Decode[f * 256 + t.maxFiniteCode]));
    });
  });

  check('bf16: every pattern decoded', () => {
    expectSameBits(
      'f32BitsFromBf16',
      host.bf16Decode,
      (p) => f32BitsFromBf16(p),
      (p) => `bf16 ${hex(p, 4)}`,
      8,
    );
  });

  check('bf16: on and around every rounding boundary, both roundings', () => {
    const perPattern = BF16_NEAR_LOWS.length * BF16_ROUNDINGS.length;
    const inputOf = (i: number): number =>
      ((Math.floor(i / perPattern) << 16) | BF16_NEAR_LOWS[Math.floor(i / BF16_ROUNDINGS.length) % BF16_NEAR_LOWS.length]) >>> 0;
    const roundingOf = (i: number): Bf16Rounding => BF16_ROUNDINGS[i % BF16_ROUNDINGS.length];
    expectSameBits(
      'bf16FromF32Bits near boundaries',
      host.bf16Near,
      (i) => bf16FromF32Bits(inputOf(i), roundingOf(i)),
      (i) => `f32 ${hex(inputOf(i))} ${roundingOf(i)}`,
      4,
    );
  });

  check('bf16: seeded f32 patterns, both roundings', () => {
    BF16_ROUNDINGS.forEach((rounding, r) => {
      expectSameBits(
        `bf16FromF32Bits ${rounding}`,
        host.bf16[r],
        (i) => bf16FromF32Bits(inputs[i], rounding),
        (i) => `f32 ${hex(inputs[i])}`,
        4,
      );
    });
  });

  check('fp8: every code decoded, every format', () => {
    FP8_FORMATS.forEach((format, f) => {
      expectSameBits(
        `f32BitsFromFp8 ${format}`,
        host.fp8Decode.subarray(f * 256, f * 256 + 256),
        (code) => f32BitsFromFp8(code, format),
        (code) => `code ${hex(code, 2)}`,
        8,
      );
    });
  });

  check('fp8: seeded f32 patterns, every format and saturation', () => {
    FP8_FORMATS.forEach((format, f) => {
      FP8_SATURATIONS.forEach((saturation, s) => {
        const column = host.fp8[f * FP8_SATURATIONS.length + s];
        expectSameBits(
          `fp8FromF32Bits ${format} ${saturation}`,
          column,
          (i) => fp8FromF32Bits(inputs[i], format, saturation),
          (i) => `f32 ${hex(inputs[i])}`,
          2,
        );
      });
    });
  });

  check('e8m0: every code decoded', () => {
    expectSameBits(
      'f32BitsFromE8m0',
      host.e8m0Decode,
      (code) => f32BitsFromE8m0(code),
      (code) => `code ${hex(code, 2)}`,
      8,
    );
  });

  check('e8m0: seeded f32 patterns rounded to a power of two, every mode, and their codes', () => {
    E8M0_MODES.forEach((mode, m) => {
      const rounded = host.e8m0Rounded[m];
      expectSameBits(
        `roundToPowerOfTwo ${mode}`,
        rounded,
        (i) => roundToPowerOfTwo(inputs[i], mode),
        (i) => `f32 ${hex(inputs[i])}`,
        8,
      );
      expectSameBits(
        `e8m0FromPowerOfTwoBits after ${mode}`,
        host.e8m0CodeOfRounded[m],
        (i) => e8m0CodeOrNotAPower(rounded[i]),
        (i) => `power ${hex(rounded[i])}`,
        3,
      );
    });
    // The TypeScript twin throws for most patterns, slowly: the tables and the first random ones suffice.
    const codesOfInputs = host.e8m0CodeOfInput.subarray(0, E8M0_CODE_OF_INPUT_CHECKED);
    expectSameBits(
      'e8m0FromPowerOfTwoBits of the inputs',
      codesOfInputs,
      (i) => e8m0CodeOrNotAPower(inputs[i]),
      (i) => `f32 ${hex(inputs[i])}`,
      3,
    );
  });
});
