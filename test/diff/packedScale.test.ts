import { describe, expect, test } from 'vitest';
import { DEFAULT_DIFF_OPTIONS, diffOutputs } from '../../src/diff/diff.js';
import { formatDiffReport } from '../../src/diff/format.js';
import { copyTensor, goldenCase } from './helpers.js';

// diff on packed UE8M0 scales (DeepGEMM / FlashInfer layout, out.scale I32): each word holds four
// groups' exponent bytes, compared byte by byte in exponent steps. The layout is transcribed here
// from FlashInfer's kernel, not read back from io.ts: group g of token m is byte g % 4 (lowest
// first) of int32 word (g / 4) * tma_aligned_mn + m, the padding zeroed
// (flashinfer-ai/flashinfer@fb28d724 fi.cuh:1206-1240, the preset's quant.scaleLayout evidence).
// A byte e stands for 2^(e - 127); 0xFF is NaN (ml_dtypes@b793a6e README.md:169-176).

const TOKENS = 5;
const HIDDEN = 768; // 6 groups of 128: two words per token, the second with two padding bytes
const ALIGNED = 8; // tokenAlign 4: tokens 5..7 are padding columns
const golden = goldenCase('flashinfer-ar-rms-group-fp8', 2, TOKENS, HIDDEN, 'random', 3);

const wordOf = (m: number, g: number): number => Math.floor(g / 4) * ALIGNED + m;
const byteOf = (words: Uint32Array, m: number, g: number): number => (words[wordOf(m, g)] >>> (8 * (g % 4))) & 0xff;
const setByte = (words: Uint32Array, m: number, g: number, value: number): void => {
  const shift = 8 * (g % 4);
  words[wordOf(m, g)] = ((words[wordOf(m, g)] & ~(0xff << shift)) | (value << shift)) >>> 0;
};
const hex = (b: number) => `0x${b.toString(16).toUpperCase().padStart(2, '0')}`;

describe('diff on packed UE8M0 scales', () => {
  const reference = golden.outputs.get('out.scale')!;
  test('the golden is packed as transcribed: [ceil(6/4), 8] I32, padding bytes 0', () => {
    expect(reference.dtype).toBe('I32');
    expect(reference.shape).toEqual([2, ALIGNED]);
    const words = reference.data as Uint32Array;
    for (let m = 0; m < ALIGNED; m++)
      for (let g = 0; g < 8; g++) {
        const padding = m >= TOKENS || g >= 6;
        if (padding) expect(byteOf(words, m, g), `${m}:${g}`).toBe(0);
        else expect(byteOf(words, m, g), `${m}:${g}`).toBeGreaterThan(0);
      }
  });

  const out = new Map([...golden.outputs].map(([name, t]) => [name, copyTensor(t)]));
  const words = out.get('out.scale')!.data as Uint32Array;
  const golden15 = byteOf(reference.data as Uint32Array, 1, 5);
  const golden30 = byteOf(reference.data as Uint32Array, 3, 0);
  const golden42 = byteOf(reference.data as Uint32Array, 4, 2);
  setByte(words, 1, 5, golden15 + 1); // one exponent up: the scale doubled
  setByte(words, 3, 0, golden30 - 2); // two down: a quarter
  setByte(words, 4, 2, 0xff); // NaN
  setByte(words, 6, 1, 0x01); // a padding token's byte written
  const report = diffOutputs(golden, out, 'planted');
  const scale = report.outputs.find((o) => o.name === 'out.scale')!;

  test('compared per byte: unit ue8m0, 64 bytes, distances in exponent steps, NaN apart', () => {
    expect(scale.unit).toBe('ue8m0');
    expect(scale.elements).toBe(2 * ALIGNED * 4);
    expect(scale.stats).toEqual({ differing: 4, nanMismatches: 1, infMismatches: 0, maxUlp: 2, rows: 4 });
    expect(scale.histogram).toEqual([
      { ulp: -2, count: 1 },
      { ulp: 1, count: 2 },
    ]);
    expect(scale.pass).toBe(false);
  });

  test('each differing byte is named by row and group, with its bits and the power of two it stands for', () => {
    const byGroup = new Map(scale.worst.map((w) => [`${w.row}:${w.group}`, w]));
    expect(scale.worst[0]).toMatchObject({ row: 4, group: 2, class: 'nan', ulp: null, candidate: { bits: '0xFF', value: 'NaN' } });
    const doubled = byGroup.get('1:5')!;
    expect(doubled).toMatchObject({ index: 4 * wordOf(1, 5) + 1, column: 5, ulp: 1, relativeError: 1 });
    expect(doubled.golden.bits).toBe(hex(golden15));
    expect(doubled.candidate.bits).toBe(hex(golden15 + 1));
    // The printed decimal reads back as the power of two (shortest f32 decimal).
    expect(Math.fround(Number(doubled.golden.value))).toBe(2 ** (golden15 - 127));
    expect(Math.fround(Number(doubled.candidate.value))).toBe(2 ** (golden15 - 126));
    expect(byGroup.get('3:0')).toMatchObject({ ulp: -2, golden: { bits: hex(golden30) }, candidate: { bits: hex(golden30 - 2) }, relativeError: 0.75 });
    expect(byGroup.get('6:1')).toMatchObject({ ulp: 1, golden: { bits: '0x00' }, candidate: { bits: '0x01' } });
    expect(scale.differingGroups!.groups).toEqual([
      { row: 1, group: 5 },
      { row: 3, group: 0 },
      { row: 4, group: 2 },
      { row: 6, group: 1 },
    ]);
  });

  // The tests below run after those above (vitest keeps file order) and undo the NaN.
  test('a per-output tolerance in exponent steps; the text shows the unit', () => {
    setByte(words, 4, 2, golden42);
    const within = diffOutputs(golden, out, 'planted', { ...DEFAULT_DIFF_OPTIONS, maxUlp: 0, maxUlpByOutput: { 'out.scale': 2 } });
    expect(within.outputs.find((o) => o.name === 'out.scale')!.pass).toBe(true);
    const strict = diffOutputs(golden, out, 'planted', { ...DEFAULT_DIFF_OPTIONS, maxUlpByOutput: { 'out.scale': 1 } });
    expect(strict.outputs.find((o) => o.name === 'out.scale')!.pass).toBe(false);
    expect(formatDiffReport(strict)).toMatch(/out\.scale\s+ue8m0\s+64\s/);
  });

  test("the codes are still checked against the candidate's own (packed) scales, and rstd inference runs", () => {
    const same = diffOutputs(golden, golden.outputs, 'same', { ...DEFAULT_DIFF_OPTIONS, rstdUlps: 2 });
    expect(same.pass).toBe(true);
    expect(same.quantConsistency).toEqual([expect.objectContaining({ name: 'out.q', differingCodes: 0, inconsistent: 0, groupsWithDifferentScale: 0 })]);
    const moved = diffOutputs(golden, out, 'planted');
    // The NaN was undone above; the padding byte belongs to no token's group: two groups moved.
    expect(moved.quantConsistency[0].groupsWithDifferentScale).toBe(2);
  });

  test('--scale infer on packed scales is refused by name (a power of two does not move by an f32 ULP)', () => {
    expect(() => diffOutputs(golden, golden.outputs, 'same', { ...DEFAULT_DIFF_OPTIONS, scaleUlps: 2 })).toThrow(/--scale infer: packed UE8M0 scales/);
  });
});
