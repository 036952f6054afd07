import { describe, expect, it } from 'vitest';
import { compareTensors } from '../../src/diff/compare.js';
import { compareTensorRows, type GpuCompareFormat } from '../../src/engines/webgpu/compare.js';
import type { AdapterKind } from '../../src/engines/webgpu/device.js';
import { Xoshiro128StarStar } from '../../src/fixtures/prng.js';
import { FP8_FORMATS } from '../../src/numerics/fp8.js';
import { FP8_DTYPE, type Tensor } from '../../src/numerics/tensor.js';
import { compareRowsTranscribed } from './compareRowsTranscription.js';
import { SOFTWARE_ADAPTERS, suiteDevice } from './software-adapters.js';

// The GPU compare (shaders/diff/compareRows.wgsl) against compareTensors of src/diff/compare.ts,
// the definition diff and explain report with: its TS transcription on every code pair of each
// 8-bit format and on bf16/f32 specials and seeded codes, then the shader itself on the
// software adapters.

const FORMATS: readonly GpuCompareFormat[] = ['bf16', 'f32', ...FP8_FORMATS];

function dtypeOf(format: GpuCompareFormat): Tensor['dtype'] {
  return format === 'bf16' ? 'BF16' : format === 'f32' ? 'F32' : FP8_DTYPE[format];
}

function tensorOf(format: GpuCompareFormat, codes: readonly number[], rowLength: number): Tensor {
  const data = format === 'bf16' ? Uint16Array.from(codes) : format === 'f32' ? Uint32Array.from(codes) : Uint8Array.from(codes);
  return { dtype: dtypeOf(format), shape: [codes.length / rowLength, rowLength], data } as Tensor;
}

const SPECIALS: Readonly<Record<'bf16' | 'f32', readonly number[]>> = {
  // +-0, +-min subnormal, +-1, +-max finite, +-Inf, quiet and signalling NaNs of both signs.
  bf16: [0x0000, 0x8000, 0x0001, 0x8001, 0x3f80, 0xbf80, 0x7f7f, 0xff7f, 0x7f80, 0xff80, 0x7fc0, 0xffc0, 0x7f81, 0xffff],
  f32: [0, 0x80000000, 1, 0x80000001, 0x3f800000, 0xbf800000, 0x7f7fffff, 0xff7fffff, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000, 0x7f800001, 0xffffffff],
};

/** Pairs as [reference, candidate] code lists, rowLength per row: every pair of codes for an
 *  8-bit format (row e compares e with each code); for bf16 and f32 every pair of specials, then
 *  seeded rows of random codes, of codes a few steps apart, and of specials against random codes. */
function casePairs(format: GpuCompareFormat): { reference: number[]; candidate: number[]; rowLength: number } {
  const reference: number[] = [];
  const candidate: number[] = [];
  if (format !== 'bf16' && format !== 'f32') {
    for (let e = 0; e < 256; e++) for (let a = 0; a < 256; a++) (reference.push(e), candidate.push(a));
    return { reference, candidate, rowLength: 256 };
  }
  const specials = SPECIALS[format];
  const width = format === 'bf16' ? 16 : 32;
  const rng = Xoshiro128StarStar.fromSeed(format === 'bf16' ? 16 : 32);
  const code = (): number => (width === 16 ? rng.nextUint32() >>> 16 : rng.nextUint32());
  const rowLength = specials.length;
  for (const e of specials) for (const a of specials) (reference.push(e), candidate.push(a));
  for (let row = 0; row < 40; row++) {
    for (let k = 0; k < rowLength; k++) {
      const e = row % 4 === 3 ? specials[k] : code();
      // Rows of nearby codes (within 8 steps of the code line, across zero now and then), of
      // random codes, and equal codes now and then.
      const near = row % 4 === 1 ? (e + rng.nextInt(-8, 8)) >>> 0 : code();
      const a = row % 4 === 2 ? e : width === 16 ? near & 0xffff : near;
      reference.push(e);
      candidate.push(row % 4 === 0 && k % 5 === 0 ? e : a);
    }
  }
  return { reference, candidate, rowLength };
}

/** compareTensors on each row alone: [differing, nanMismatches, infMismatches, maxUlp] per row. */
function expectedTallies(reference: Tensor, candidate: Tensor, rowLength: number): Uint32Array {
  const rows = reference.data.length / rowLength;
  const out = new Uint32Array(4 * rows);
  for (let r = 0; r < rows; r++) {
    const row = (t: Tensor): Tensor => ({ ...t, shape: [rowLength], data: t.data.subarray(r * rowLength, (r + 1) * rowLength) }) as Tensor;
    const c = compareTensors(row(reference), row(candidate));
    out.set([c.differing, c.nanMismatches, c.infMismatches, c.maxUlp], 4 * r);
  }
  return out;
}

function words(t: Tensor): Uint32Array {
  const bytes = new Uint8Array(Math.ceil(t.data.byteLength / 4) * 4);
  bytes.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
  return new Uint32Array(bytes.buffer);
}

describe('compareRows transcription against compareTensors', () => {
  it('tallies a hand-built bf16 row: -0 vs +0 at 0 ULP, 1 and 2 ULP across zero, NaN as a class, Inf apart', () => {
    // Pairs: equal; NaNs of other payload and sign (same); +0/-0 (distance 0); 1.0 and its
    // successor (1); +min subnormal/-min subnormal (2 steps across zero); Inf/max finite (an Inf
    // mismatch); NaN/1.0 (a NaN mismatch). Hand-derived: 5 differ, 1 NaN, 1 Inf, max |ULP| 2.
    const reference = Uint16Array.of(0x3f80, 0x7fc0, 0x0000, 0x3f80, 0x0001, 0x7f80, 0x7fc0);
    const candidate = Uint16Array.of(0x3f80, 0xffc1, 0x8000, 0x3f81, 0x8001, 0x7f7f, 0x3f80);
    const tallies = compareRowsTranscribed(
      words({ dtype: 'BF16', shape: [7], data: reference }),
      words({ dtype: 'BF16', shape: [7], data: candidate }),
      'bf16',
      1,
      7,
    );
    expect([...tallies]).toEqual([5, 1, 1, 2]);
  });

  it('tallies hand-built FP8 rows: e4m3fn 0x7F/0xFF both NaN, e4m3fnuz 0x80 NaN against +0, e5m2 0x7C Inf, f32 +-max 0xFEFFFFFE apart', () => {
    const row = (format: GpuCompareFormat, e: number[], a: number[]): number[] => [
      ...compareRowsTranscribed(words(tensorOf(format, e, e.length)), words(tensorOf(format, a, a.length)), format, 1, e.length),
    ];
    expect(row('e4m3fn', [0x7f, 0x01, 0x7e], [0xff, 0x81, 0x7f])).toEqual([2, 1, 0, 2]);
    expect(row('e4m3fnuz', [0x80, 0x00, 0x01], [0x00, 0x80, 0x81])).toEqual([3, 2, 0, 2]);
    expect(row('e5m2', [0x7c, 0x7d, 0xfc], [0x7b, 0x7e, 0x7c])).toEqual([2, 0, 2, 0]);
    expect(row('f32', [0x7f7fffff], [0xff7fffff])).toEqual([1, 0, 0, 0xfefffffe]);
  });

  it.each(FORMATS)('agrees with compareTensors row by row on %s (every FP8 pair; bf16/f32 specials and seeded codes)', (format) => {
    const { reference, candidate, rowLength } = casePairs(format);
    const r = tensorOf(format, reference, rowLength);
    const c = tensorOf(format, candidate, rowLength);
    expect(compareRowsTranscribed(words(r), words(c), format, reference.length / rowLength, rowLength)).toEqual(expectedTallies(r, c, rowLength));
  });
});

describe.each(SOFTWARE_ADAPTERS)('compareRows.wgsl on %s', (kind: AdapterKind) => {
  const device = suiteDevice(kind);

  it('gives compareTensors tallies row by row on every format', async ({ skip }) => {
    const ctx = device(skip);
    for (const format of FORMATS) {
      const { reference, candidate, rowLength } = casePairs(format);
      const r = tensorOf(format, reference, rowLength);
      const c = tensorOf(format, candidate, rowLength);
      expect(await compareTensorRows(ctx, r, c, format, rowLength), format).toEqual(expectedTallies(r, c, rowLength));
    }
  });

  it('compares rows whose codes do not start on a word (odd row lengths)', async ({ skip }) => {
    const ctx = device(skip);
    const rng = Xoshiro128StarStar.fromSeed(77);
    const rowLength = 7;
    const reference = Array.from({ length: 9 * rowLength }, () => rng.nextUint32() & 0xff);
    const candidate = reference.map((e, i) => (i % 3 === 0 ? (e + 1) & 0xff : e));
    const r = tensorOf('e4m3fn', reference, rowLength);
    const c = tensorOf('e4m3fn', candidate, rowLength);
    expect(await compareTensorRows(ctx, r, c, 'e4m3fn', rowLength)).toEqual(expectedTallies(r, c, rowLength));
    // In chunks of 2 rows: each chunk's tallies land at its first row.
    expect(await compareTensorRows(ctx, r, c, 'e4m3fn', rowLength, 2)).toEqual(expectedTallies(r, c, rowLength));
  });
});
