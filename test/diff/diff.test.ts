import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test, vi } from 'vitest';
import { getPreset } from '../../src/contracts/presets.js';
import { parseContract } from '../../src/contracts/validate.js';
import { everySite } from '../../src/diff/dimensions.js';
import { InputFileError } from '../../src/fixtures/errors.js';
import { diffOutputs, DEFAULT_DIFF_OPTIONS, type GoldenSubject } from '../../src/diff/diff.js';
import { loadCandidate, loadGolden } from '../../src/diff/files.js';
import { formatDiffReport } from '../../src/diff/format.js';
import { diffReportHtml } from '../../src/diff/html.js';
import { DiffReportSchema } from '../../src/diff/report.js';
import { diffCommand } from '../../src/cli/commands/diff.js';
import { writeGolden, buildCase } from '../../src/fixtures/golden.js';
import { SafetensorsError, writeSafetensors } from '../../src/fixtures/safetensors.js';
import type { Tensor } from '../../src/numerics/tensor.js';
import { candidateFrom, copyTensor, flipBit, goldenCase } from './helpers.js';

const options = (extra: Partial<typeof DEFAULT_DIFF_OPTIONS> = {}) => ({ ...DEFAULT_DIFF_OPTIONS, ...extra });

/** Signed ULP of flipping one non-sign bit of a finite code, from the sign-magnitude layout. */
function expectedUlp(before: number, after: number, signBit: number): number {
  const magnitude = (c: number) => c & (signBit - 1);
  const negative = (before & signBit) !== 0;
  return (negative ? -1 : 1) * (magnitude(after) - magnitude(before));
}

/** First element at or after `start` whose code is finite and non-zero (so a low-bit flip stays finite). */
function ordinaryElement(t: Tensor, start: number, signBit: number, exponentMask: number): number {
  for (let i = start; i < t.data.length; i++) {
    const c = t.data[i];
    if ((c & (signBit - 1)) !== 0 && (c & exponentMask) !== exponentMask) return i;
  }
  throw new Error('no ordinary element');
}

describe('diff: identical outputs', () => {
  test('a golden against its own outputs is bit-exact and passes', () => {
    const golden = goldenCase('aiter-1stage-quant', 2, 4, 512);
    const report = diffOutputs(golden, candidateFrom(golden, golden.contract), 'same', options());
    expect(report.pass).toBe(true);
    expect(report.outputs.map((o) => o.name).sort()).toEqual(['out.norm', 'out.q', 'out.residual', 'out.scale']);
    for (const o of report.outputs) {
      expect(o.bitExactShare).toBe(1);
      expect(o.histogram).toEqual([]);
      expect(o.worst).toEqual([]);
    }
  });
});

describe('diff: planted single-bit faults', () => {
  const golden = goldenCase('aiter-1stage-quant', 2, 6, 512, 'random', 3);
  const hidden = 512;
  const groups = hidden / 128;
  // Per output: the code's sign bit, its exponent field mask, a starting element, and a bit to flip.
  const plants: [string, number, number, number, number][] = [
    ['out.residual', 0x8000, 0x7f80, 3 * hidden + 77, 0],
    ['out.norm', 0x8000, 0x7f80, 5 * hidden + 400, 2],
    ['out.q', 0x80, 0x78, 1 * hidden + 300, 0],
    ['out.scale', 0x80000000, 0x7f800000, 4 * groups + 3, 5],
  ];
  for (const [name, signBit, exponentMask, start, bit] of plants) {
    test(`${name}: exactly the flipped element, with its row, column, group and ULP`, () => {
      const reference = golden.outputs.get(name)!;
      const index = ordinaryElement(reference, start, signBit, exponentMask);
      const candidate = new Map(golden.outputs);
      candidate.set(name, flipBit(reference, index, bit));
      const report = diffOutputs(golden, candidate, 'planted', options());
      expect(report.pass).toBe(false);
      for (const o of report.outputs) expect(o.stats.differing).toBe(o.name === name ? 1 : 0);
      const o = report.outputs.find((x) => x.name === name)!;
      const perRow = name === 'out.scale' ? groups : hidden;
      const row = Math.floor(index / perRow);
      const column = index % perRow;
      const group = name === 'out.q' ? Math.floor(column / 128) : name === 'out.scale' ? column : null;
      const ulp = expectedUlp(reference.data[index], candidate.get(name)!.data[index], signBit);
      expect(Math.abs(ulp)).toBe(2 ** bit);
      expect(o.worst).toHaveLength(1);
      expect(o.worst[0]).toMatchObject({ index, rank: null, row, column, group, class: 'ulp', ulp });
      expect(o.stats.maxUlp).toBe(2 ** bit);
      expect(o.histogram).toEqual([{ ulp, count: 1 }]);
      expect(o.differingRows).toEqual({ count: 1, rows: [row] });
      if (group !== null) expect(o.differingGroups).toEqual({ count: 1, groups: [{ row, group }] });
      expect(o.worst[0].golden.bits).toBe(
        `0x${reference.data[index]
          .toString(16)
          .toUpperCase()
          .padStart(name === 'out.scale' ? 8 : name === 'out.q' ? 2 : 4, '0')}`,
      );
    });
  }

  test('column-major scales: the element at [group, token] is reported as that token row and group', () => {
    const colmajor = goldenCase('vllm-group-quant-colmajor', 2, 5, 512, 'random', 4);
    const scale = colmajor.outputs.get('out.scale')!;
    expect(scale.shape).toEqual([4, 5]);
    const [g, m] = [2, 3];
    const index = g * 5 + m;
    const candidate = new Map(colmajor.outputs);
    candidate.set('out.scale', flipBit(scale, index, 1));
    const o = diffOutputs(colmajor, candidate, 'planted', options()).outputs.find((x) => x.name === 'out.scale')!;
    expect(o.worst[0]).toMatchObject({ index, row: m, column: g, group: g });
    expect(o.differingGroups!.groups).toEqual([{ row: m, group: g }]);
  });

  test('per-rank candidate tensors: the fault is found on its rank, and ranks diverge by that element', () => {
    const golden4 = goldenCase('aiter-1stage', 4, 3, 256, 'random', 5);
    const candidate = new Map<string, Tensor>();
    for (let r = 0; r < 4; r++) {
      candidate.set(`rank${r}.out.residual`, copyTensor(golden4.outputs.get('out.residual')!));
      candidate.set(`rank${r}.out.norm`, copyTensor(golden4.outputs.get('out.norm')!));
    }
    const norm = golden4.outputs.get('out.norm')!;
    const index = ordinaryElement(norm, 2 * 256 + 10, 0x8000, 0x7f80);
    candidate.set('rank2.out.norm', flipBit(norm, index, 0));
    const report = diffOutputs(golden4, candidate, 'ranks', options());
    expect(report.outputs).toHaveLength(8);
    const faulty = report.outputs.filter((o) => o.stats.differing > 0);
    expect(faulty.map((o) => o.name)).toEqual(['rank2.out.norm']);
    expect(faulty[0].reference).toBe('out.norm');
    expect(faulty[0].worst[0]).toMatchObject({ rank: 2, row: Math.floor(index / 256), column: index % 256 });
    const divergence = report.rankDivergence.find((d) => d.kind === 'norm')!;
    expect(divergence.baseRank).toBe(0);
    expect(divergence.ranks.map((r) => [r.rank, r.differing])).toEqual([
      [1, 0],
      [2, 1],
      [3, 0],
    ]);
    expect(report.rankDivergence.find((d) => d.kind === 'residual')!.ranks.every((r) => r.differing === 0)).toBe(true);
  });
});

describe('diff: NaN and Inf are classes of their own', () => {
  const base = goldenCase('aiter-1stage', 2, 2, 256, 'random', 6);
  const withCodes = (t: Tensor, codes: [number, number][]): Tensor => {
    const out = copyTensor(t);
    for (const [i, c] of codes) out.data[i] = c;
    return out;
  };
  const norm = base.outputs.get('out.norm')!;
  const golden: GoldenSubject = {
    ...base,
    outputs: new Map([
      ...base.outputs,
      [
        'out.norm',
        withCodes(norm, [
          [0, 0x7fc0],
          [1, 0x7f7f],
          [2, 0x3f80],
        ]),
      ],
    ]),
  };

  test('NaN against NaN of another payload and sign matches; NaN against a number and Inf against max are counted apart', () => {
    const candidate = new Map(golden.outputs);
    candidate.set(
      'out.norm',
      withCodes(golden.outputs.get('out.norm')!, [
        [0, 0xffc1],
        [1, 0x7f80],
        [2, 0x7fc0],
      ]),
    );
    const o = diffOutputs(golden, candidate, 'classes', options({ maxUlp: 1000 })).outputs.find((x) => x.name === 'out.norm')!;
    expect(o.stats).toMatchObject({ differing: 2, nanMismatches: 1, infMismatches: 1, maxUlp: 0 });
    expect(o.histogram).toEqual([]);
    // Both have no finite distance, so they rank first, by index.
    expect(o.worst.map((w) => [w.index, w.class, w.ulp])).toEqual([
      [1, 'inf', null],
      [2, 'nan', null],
    ]);
    expect(o.pass).toBe(false);
  });
});

describe('diff: --max-ulp', () => {
  const golden = goldenCase('aiter-1stage', 2, 4, 256, 'random', 7);
  const norm = golden.outputs.get('out.norm')!;
  const oneUlp = [10, 300, 700].map((start) => ordinaryElement(norm, start, 0x8000, 0x7f80));
  const candidate = new Map(golden.outputs);
  let t = norm;
  for (const i of oneUlp) t = flipBit(t, i, 0);
  candidate.set('out.norm', t);

  test('1-ULP differences pass with --max-ulp 1 and fail with 0; a 2-ULP difference fails --max-ulp 1', () => {
    expect(diffOutputs(golden, candidate, 'c', options({ maxUlp: 0 })).pass).toBe(false);
    expect(diffOutputs(golden, candidate, 'c', options({ maxUlp: 1 })).pass).toBe(true);
    const twoUlp = new Map(candidate);
    twoUlp.set('out.norm', flipBit(t, ordinaryElement(norm, 900, 0x8000, 0x7f80), 1));
    const report = diffOutputs(golden, twoUlp, 'c', options({ maxUlp: 1 }));
    expect(report.pass).toBe(false);
    expect(report.outputs.find((o) => o.name === 'out.norm')!.stats.maxUlp).toBe(2);
  });
});

describe('diff: catches the three bug classes', () => {
  const cases: [string, string, string | (() => ReturnType<typeof parseContract>)][] = [
    ['aiter PR 2586 (pre-fix kernel)', 'aiter-1stage', 'aiter-1stage-pre2586'],
    ['gfx942 truncating downcast', 'aiter-1stage', () => parseContract({ ...getPreset('aiter-1stage').contract, bf16Rounding: everySite('truncate') })],
    ['TRT-LLM bf16 accumulation', 'flashinfer-oneshot@sm80', 'flashinfer-oneshot-bf16acc@sm80'],
  ];
  for (const [label, goldenPreset, kernel] of cases) {
    test(label, () => {
      const golden = goldenCase(goldenPreset, 4, 4, 512, 'random', 8);
      const candidate = candidateFrom(golden, typeof kernel === 'string' ? kernel : kernel());
      const report = diffOutputs(golden, candidate, label, options({ maxUlp: 0 }));
      expect(report.pass).toBe(false);
      const residual = report.outputs.find((o) => o.name === 'out.residual')!;
      expect(residual.stats.differing).toBeGreaterThan(0);
      expect(residual.pass).toBe(false);
    });
  }
});

describe('diff: inputs that cannot be compared get a clear error', () => {
  const golden = goldenCase('aiter-1stage-quant', 2, 2, 256, 'random', 9);
  const without = (name: string) => new Map([...golden.outputs].filter(([n]) => n !== name));

  test('a missing output is named', () => {
    expect(() => diffOutputs(golden, without('out.scale'), 'cand.safetensors', options())).toThrow(/'out.scale' is missing/);
  });
  test('dtype and shape mismatches are named', () => {
    const wrongDtype = new Map(golden.outputs);
    wrongDtype.set('out.norm', { dtype: 'F32', shape: [2, 256], data: new Uint32Array(512) });
    expect(() => diffOutputs(golden, wrongDtype, 'cand', options())).toThrow(/'out.norm': dtype F32 does not match the golden's BF16/);
    const wrongShape = new Map(golden.outputs);
    wrongShape.set('out.q', { dtype: golden.outputs.get('out.q')!.dtype, shape: [256, 2], data: new Uint8Array(512) } as Tensor);
    expect(() => diffOutputs(golden, wrongShape, 'cand', options())).toThrow(/'out.q': shape \[256, 2\] does not match the golden's \[2, 256\]/);
  });
  test('a rank the case does not have is named', () => {
    const extra = new Map(golden.outputs);
    extra.set('rank5.out.norm', golden.outputs.get('out.norm')!);
    expect(() => diffOutputs(golden, extra, 'cand', options())).toThrow(/'rank5.out.norm': the case has 2 rank\(s\)/);
  });
  test('missing, unreadable and malformed files', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ulpwise-diff-'));
    expect(() => loadCandidate(join(dir, 'nope.safetensors'))).toThrow(InputFileError);
    expect(() => loadCandidate(join(dir, 'nope.safetensors'))).toThrow(/cannot read the candidate .*nope.safetensors: no such file/);
    expect(() => loadGolden(dir)).toThrow(/is a directory/);
    const garbage = join(dir, 'garbage.safetensors');
    writeFileSync(garbage, 'not a safetensors file at all');
    expect(() => loadCandidate(garbage)).toThrow(SafetensorsError);
    const inputsOnly = join(dir, 'inputs.safetensors');
    writeSafetensors(inputsOnly, [['weight', golden.inputs.weight]]);
    expect(() => loadCandidate(inputsOnly)).toThrow(/no output tensors/);
  });
});

describe('diff: report formats', () => {
  const golden = goldenCase('aiter-1stage-quant', 2, 3, 512, 'random', 10);
  const candidate = candidateFrom(golden, 'sglang-fused-quant-fallback');
  const report = diffOutputs(golden, candidate, 'cand', options({ rstdUlps: 2 }));

  test('the JSON report satisfies its schema and survives a round trip', () => {
    expect(DiffReportSchema.parse(JSON.parse(JSON.stringify(report)))).toEqual(report);
  });
  test('the HTML page is self-contained: inline SVG histograms, no scripts, links or external assets', () => {
    const html = diffReportHtml(report);
    const differing = report.outputs.filter((o) => o.stats.differing > 0).length;
    expect(differing).toBeGreaterThan(0);
    expect(html.match(/<svg /g)?.length).toBe(differing);
    expect(html).not.toMatch(/<script|<link|<img|src=|href=|url\(/i);
    expect(html).toContain('<!doctype html>');
  });
  test('the terminal table lists every output and the verdict', () => {
    const text = formatDiffReport(report);
    for (const o of report.outputs) expect(text).toContain(o.name);
    expect(text).toMatch(/^FAIL: /m);
  });
});

describe('diff command', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ulpwise-diffcli-'));
  const built = buildCase({ preset: 'aiter-1stage', ranks: 2, tokens: 2, hidden: 256, group: null, inputs: 'random', seed: 11 });
  const golden = goldenCase('aiter-1stage', 2, 2, 256, 'random', 11);
  const { file } = writeGolden(dir, built, golden.outputs);
  const goldenPath = join(dir, file);
  const samePath = join(dir, 'same.safetensors');
  writeSafetensors(samePath, [...golden.outputs]);
  const otherPath = join(dir, 'other.safetensors');
  writeSafetensors(otherPath, [...candidateFrom(golden, 'aiter-1stage-pre2586')]);

  test('exit 0 when bit-exact, 1 when not; --json prints the schema-checked report; --html writes the page', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    try {
      expect(await diffCommand.run([goldenPath, samePath])).toBe(0);
      const html = join(dir, 'report.html');
      expect(await diffCommand.run([goldenPath, otherPath, '--json', '--html', html])).toBe(1);
      const printed = JSON.parse(String(log.mock.calls[log.mock.calls.length - 1][0]));
      expect(DiffReportSchema.parse(printed).pass).toBe(false);
      expect(readFileSync(html, 'utf8')).toContain('<svg ');
    } finally {
      log.mockRestore();
    }
  });
  test('usage and file errors are thrown as one-line errors (exit 2 in main)', async () => {
    await expect(diffCommand.run([goldenPath])).rejects.toThrow(/two files/);
    await expect(diffCommand.run([goldenPath, join(dir, 'missing.safetensors')])).rejects.toThrow(/no such file/);
    await expect(diffCommand.run([goldenPath, samePath, '--rstd', 'guess'])).rejects.toThrow(/--rstd infer/);
  });
});
