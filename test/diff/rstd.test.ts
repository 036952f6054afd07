import { describe, expect, test } from 'vitest';
import { diffOutputs, DEFAULT_DIFF_OPTIONS } from '../../src/diff/diff.js';
import { differingRows, outputGeometry, pairOutputs, rowMatches, type OutputPair } from '../../src/diff/pairs.js';
import type { GoldenSubject } from '../../src/diff/diff.js';
import type { Contract } from '../../src/contracts/schema.js';
import { parseContract } from '../../src/contracts/validate.js';
import type { Tensor } from '../../src/numerics/tensor.js';
import { describeRstdMiss, inferRstd, stepF32, SUM_OF_SQUARES_DIFFERS } from '../../src/diff/rstd.js';
import { runCpuEngine } from '../../src/engines/cpu/engine.js';
import { bitsFromF32, f32FromBits } from '../../src/numerics/f32.js';
import { formatDiffReport } from '../../src/diff/format.js';
import { candidateFrom, flipBit, goldenCase } from './helpers.js';

// A kernel whose rsqrt is a few ULP off: candidates are built by running the golden's contract
// with rstd moved by a known number of f32 ULP in chosen rows.

describe('stepF32', () => {
  test('moves a positive f32 by whole ULPs, on its bits', () => {
    const one = 1;
    expect(stepF32(one, 1)).toBe(f32FromBits(0x3f800001));
    expect(stepF32(one, -1)).toBe(f32FromBits(0x3f7fffff));
    expect(bitsFromF32(stepF32(f32FromBits(0x3f7fffff), 2))).toBe(0x3f800001);
  });
});

describe('diff --rstd infer', () => {
  const golden = goldenCase('aiter-1stage-quant', 2, 48, 4096, 'random', 21);
  const { tokens } = golden.shape;
  // Every row gets a shift in -3..+3 except rows 0 mod 7, which stay exact (one of them gets a true fault).
  const planted = new Map<number, number>();
  for (let m = 0; m < tokens; m++) if (m % 7 !== 0) planted.set(m, [1, -1, 2, -2, 3, -3][m % 6]);
  const shifted = candidateFrom(golden, golden.contract, { rstdOverride: (m, rstd) => stepF32(rstd, planted.get(m) ?? 0) });
  const faultRow = 14;
  const norm = shifted.get('out.norm')!;
  const candidate = new Map(shifted);
  candidate.set('out.norm', flipBit(norm, faultRow * 4096 + 5, 0));

  const normGeometry = outputGeometry('norm', golden.shape, golden.contract);
  const changedRows = new Set<number>();
  for (const name of ['out.norm', 'out.q', 'out.scale']) {
    const geometry = outputGeometry(name.slice(4) as 'norm' | 'q' | 'scale', golden.shape, golden.contract);
    for (const m of differingRows(golden.outputs.get(name)!, shifted.get(name)!, geometry)) changedRows.add(m);
  }

  test('the planted shifts change some rows (else the test would prove nothing)', () => {
    expect(changedRows.size).toBeGreaterThan(4);
    for (const m of changedRows) expect(planted.has(m)).toBe(true);
  });

  const report = diffOutputs(golden, candidate, 'shifted', { ...DEFAULT_DIFF_OPTIONS, rstdUlps: 4 });

  test('every shifted row that differs is explained by an rstd shift that reproduces it, of the planted sign', () => {
    const rstd = report.rstd!;
    expect(rstd.explained.map((e) => e.row).sort((a, b) => a - b)).toEqual([...changedRows].sort((a, b) => a - b));
    for (const e of rstd.explained) {
      const d = planted.get(e.row)!;
      expect(Math.sign(e.deltaUlp)).toBe(Math.sign(d));
      expect(Math.abs(e.deltaUlp)).toBeLessThanOrEqual(Math.abs(d));
      if (Math.abs(d) === 1) expect(e.deltaUlp).toBe(d);
      // Recompute the row independently of the search: the reported shift must reproduce it.
      const rerun = runCpuEngine(golden.contract, golden.shape, golden.inputs, { rows: [e.row], rstdOverride: (_m, r) => stepF32(r, e.deltaUlp) });
      for (const name of ['out.norm', 'out.q', 'out.scale']) {
        const geometry = outputGeometry(name.slice(4) as 'norm' | 'q' | 'scale', golden.shape, golden.contract);
        expect(rowMatches(rerun.get(name)!, candidate.get(name)!, geometry, e.row)).toBe(true);
      }
    }
  });

  test('the true fault is reported apart, and only it remains after rstd inference', () => {
    expect(report.rstd!.unexplained).toEqual([{ rank: null, row: faultRow, reason: 'no rstd within range' }]);
    const normReport = report.outputs.find((o) => o.name === 'out.norm')!;
    expect(normReport.afterInference).toEqual({ differing: 1, nanMismatches: 0, infMismatches: 0, maxUlp: 1, rows: 1 });
    expect(normReport.pass).toBe(false);
    for (const o of report.outputs.filter((x) => x.name !== 'out.norm')) {
      expect(o.afterInference!.differing).toBe(0);
      expect(o.pass).toBe(true);
    }
    expect(rowMatches(golden.outputs.get('out.norm')!, shifted.get('out.norm')!, normGeometry, faultRow)).toBe(true);
  });

  test('without the fault, the candidate passes once rstd shifts are inferred, and fails without inference', () => {
    const withRstd = diffOutputs(golden, shifted, 'shifted', { ...DEFAULT_DIFF_OPTIONS, rstdUlps: 4 });
    expect(withRstd.pass).toBe(true);
    expect(withRstd.rstd!.unexplained).toEqual([]);
    expect(diffOutputs(golden, shifted, 'shifted', DEFAULT_DIFF_OPTIONS).pass).toBe(false);
  });

  test('a row whose residual differs is not searched: it is a true mismatch', () => {
    const bad = new Map(shifted);
    const row = [...changedRows][0];
    bad.set('out.residual', flipBit(golden.outputs.get('out.residual')!, row * 4096 + 9, 0));
    const r = diffOutputs(golden, bad, 'bad', { ...DEFAULT_DIFF_OPTIONS, rstdUlps: 4 }).rstd!;
    expect(r.unexplained).toContainEqual({ rank: null, row, reason: 'residual differs' });
    expect(r.explained.some((e) => e.row === row)).toBe(false);
  });
});

describe('a row whose rstd is further off than the search range', () => {
  const golden = goldenCase('aiter-1stage', 2, 8, 4096, 'random', 23);
  // Row 3's rstd moved by +40 f32 ULP: as if its sum of squares were summed in another order.
  const [row, planted] = [3, 40];
  const candidate = candidateFrom(golden, golden.contract, { rstdOverride: (m, rstd) => stepF32(rstd, m === row ? planted : 0) });
  const normGeometry = outputGeometry('norm', golden.shape, golden.contract);

  test('is said to have another sum of squares, with a shift that reproduces it', () => {
    expect(rowMatches(golden.outputs.get('out.norm')!, candidate.get('out.norm')!, normGeometry, row)).toBe(false);
    const r = diffOutputs(golden, candidate, 'far', { ...DEFAULT_DIFF_OPTIONS, rstdUlps: 2 }).rstd!;
    expect(r.explained).toEqual([]);
    expect(r.unexplained).toHaveLength(1);
    const [miss] = r.unexplained;
    expect(miss).toMatchObject({ rank: null, row, reason: SUM_OF_SQUARES_DIFFERS });
    const shift = miss.shiftNeededUlp!;
    expect(shift).toBeGreaterThan(2);
    expect(shift).toBeLessThanOrEqual(planted);
    // The named shift reproduces the row (recomputed apart from the search).
    const rerun = runCpuEngine(golden.contract, golden.shape, golden.inputs, { rows: [row], rstdOverride: (_m, r0) => stepF32(r0, shift) });
    expect(rowMatches(rerun.get('out.norm')!, candidate.get('out.norm')!, normGeometry, row)).toBe(true);
    expect(describeRstdMiss(miss)).toBe(`the sum of squares differs (reduction order?): rstd needs a shift of +${shift} f32 ULP`);
  });
});

describe("FP8 codes against the candidate's own scales", () => {
  const golden = goldenCase('vllm-group-quant', 2, 6, 512, 'random', 22);
  // One group (row 2, group 1) quantized with a scale twice as large, as a kernel with another
  // scale formula would; plus one code in row 4 that no scale explains.
  const [row, group] = [2, 1];
  const scaled = candidateFrom(golden, golden.contract, { scaleOverride: (m, g, s) => (m === row && g === group ? s * 2 : s) });
  const candidate = new Map(scaled);
  const q = scaled.get('out.q')!;
  let wrong = 4 * 512 + 50;
  while ((q.data[wrong] & 0x7f) === 0) wrong++;
  candidate.set('out.q', flipBit(q, wrong, 0));

  test("codes that follow from the candidate's scale are told apart from codes no scale explains", () => {
    const report = diffOutputs(golden, candidate, 'scaled', DEFAULT_DIFF_OPTIONS);
    const [check] = report.quantConsistency;
    const qReport = report.outputs.find((o) => o.name === 'out.q')!;
    // Independent count of the codes the doubled scale changed in that group.
    let changedByScale = 0;
    for (let k = 0; k < 128; k++) {
      const i = row * 512 + group * 128 + k;
      if (golden.outputs.get('out.q')!.data[i] !== scaled.get('out.q')!.data[i]) changedByScale++;
    }
    expect(changedByScale).toBeGreaterThan(0);
    expect(check).toEqual({
      name: 'out.q',
      rank: null,
      basis: 'golden inputs',
      differingCodes: changedByScale + 1,
      consistentWithCandidateScale: changedByScale,
      inconsistent: 1,
      groupsWithDifferentScale: 1,
    });
    expect(qReport.stats.differing).toBe(changedByScale + 1);
    expect(qReport.differingGroups!.groups).toEqual([
      { row, group },
      { row: 4, group: 0 },
    ]);
  });
});

describe("FP8 codes against the candidate's own norm output and scales", () => {
  // A quantizer that reads the bf16 norm output (quant.input 'bf16', with the side output): a
  // candidate that rounds the normed value before the weight multiply (or not, where the golden
  // does) has other norm values in places, and codes that follow from those (the engine
  // computed them); one flipped code follows from nothing. vLLM's CUDA chain with the side output
  // is such a quantizer (the aiter indexer kernel quantizes the f32 normed value instead).
  const golden = goldenCase('vllm-unfused-quant', 2, 4, 512, 'random', 23);
  const reordered = candidateFrom(golden, {
    ...golden.contract,
    norm: { ...golden.contract.norm, roundIntermediate: !golden.contract.norm.roundIntermediate },
  });
  const candidate = new Map(reordered);
  const q = reordered.get('out.q')!;
  let wrong = 3 * 512 + 20;
  while ((q.data[wrong] & 0x7f) === 0 || q.data[wrong] !== golden.outputs.get('out.q')!.data[wrong]) wrong++;
  candidate.set('out.q', flipBit(q, wrong, 0));

  test("codes are requantized from the candidate's own norm output: the moved codes are consistent, the flipped one is not", () => {
    const [check] = diffOutputs(golden, candidate, 'reordered', DEFAULT_DIFF_OPTIONS).quantConsistency;
    let changed = 0;
    for (let i = 0; i < q.data.length; i++) if (golden.outputs.get('out.q')!.data[i] !== q.data[i]) changed++;
    expect(changed).toBeGreaterThan(0);
    expect(check).toMatchObject({ basis: 'candidate norm', differingCodes: changed + 1, consistentWithCandidateScale: changed, inconsistent: 1 });
  });
});

describe('diff --rstd infer: a sum of squares that differs', () => {
  // Rows whose rstd is 40 and -300 ULP off (far beyond the +-4 searched): every element of such
  // a row moves the same way, which a reduction order does and a stray bit does not.
  // The direction is read from the bf16 norm output, so the quantizer reads that output too.
  const golden = goldenCase('vllm-unfused-quant', 2, 6, 1024, 'random', 5);
  const planted = new Map([
    [1, 40],
    [4, -300],
  ]);
  const scaled = candidateFrom(golden, golden.contract, { rstdOverride: (m, rstd) => stepF32(rstd, planted.get(m) ?? 0) });
  const candidate = new Map(scaled);
  // Row 2: one element up, one down: no single rstd does that.
  candidate.set('out.norm', flipBit(flipBit(scaled.get('out.norm')!, 2 * 1024 + 3, 0), 2 * 1024 + 9, 15));
  const report = diffOutputs(golden, candidate, 'scaled', { ...DEFAULT_DIFF_OPTIONS, rstdUlps: 4 });

  test('names the rows, the direction and the planted shift, and keeps a two-way change a true mismatch', () => {
    const rstd = report.rstd!;
    expect(rstd.explained).toEqual([]);
    const byRow = new Map(rstd.unexplained.map((u) => [u.row, u]));
    for (const [row, shift] of planted) {
      const u = byRow.get(row)!;
      expect(u.reason).toBe(SUM_OF_SQUARES_DIFFERS);
      // The planted shift reproduces the row; the search may find a smaller one that does too.
      expect(Math.sign(u.shiftNeededUlp!)).toBe(Math.sign(shift));
      const rerun = runCpuEngine(golden.contract, golden.shape, golden.inputs, { rows: [row], rstdOverride: (_m, r) => stepF32(r, u.shiftNeededUlp!) });
      for (const name of ['out.norm', 'out.q', 'out.scale']) {
        const geometry = outputGeometry(name.slice(4) as 'norm' | 'q' | 'scale', golden.shape, golden.contract);
        expect(rowMatches(rerun.get(name)!, candidate.get(name)!, geometry, row)).toBe(true);
      }
    }
    expect(byRow.get(2)).toEqual({ rank: null, row: 2, reason: 'no rstd within range' });
    const text = formatDiffReport(report);
    expect(text).toMatch(/row 1: the sum of squares differs \(reduction order\?\): rstd needs a shift of \+\d+ f32 ULP/);
    expect(text).toMatch(/row 4: the sum of squares differs \(reduction order\?\): rstd needs a shift of -\d+ f32 ULP/);
    expect(text).toMatch(/true mismatches: row 2$/m);
  });
});

describe('the rstd search reruns only the stages after the rstd, and finds what whole engine runs find', () => {
  // The search computes each row's all-reduce and sum of squares once and reruns the norm and
  // quant per shift (RowsFromRstd). Derived apart here: a whole engine run per row and shift, in
  // the order +1, -1, +2, -2, ..., the first that reproduces the row's norm, q and scale rows.
  function bruteForce(golden: GoldenSubject, candidate: ReadonlyMap<string, Tensor>, ulps: number) {
    const shiftOrder = Array.from({ length: ulps }, (_, i) => [i + 1, -(i + 1)]).flat();
    const { pairs } = pairOutputs(golden.outputs, candidate, golden.shape.ranks, 'candidate');
    const explained: { rank: number | null; row: number; deltaUlp: number }[] = [];
    const unexplained: { rank: number | null; row: number }[] = [];
    let deepest = 0;
    for (const rank of [...new Set(pairs.map((p) => p.rank))]) {
      const sides = pairs.filter((p) => p.rank === rank && p.kind !== 'residual');
      const rowOf = (p: OutputPair, t: Tensor, m: number) => rowMatches(t, p.candidate, outputGeometry(p.kind, golden.shape, golden.contract), m);
      for (let m = 0; m < golden.shape.tokens; m++) {
        if (sides.every((p) => rowOf(p, p.reference, m))) continue;
        const at = shiftOrder.findIndex((delta) => {
          const rerun = runCpuEngine(golden.contract, golden.shape, golden.inputs, { rows: [m], rstdOverride: (_m, r) => stepF32(r, delta) });
          return sides.every((p) => rowOf(p, rerun.get(p.referenceName)!, m));
        });
        deepest = Math.max(deepest, at < 0 ? shiftOrder.length : at + 1);
        if (at < 0) unexplained.push({ rank, row: m });
        else explained.push({ rank, row: m, deltaUlp: shiftOrder[at] });
      }
    }
    return { explained, unexplained, deepest };
  }
  /** A candidate whose rank r (or the rank-less outputs, r = 0) has row m's rstd moved by shift(r, m). */
  function shiftedCandidate(golden: GoldenSubject, shift: (rank: number, row: number) => number): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (let r = 0; r < golden.shape.ranks; r++) {
      const run = candidateFrom(golden, golden.contract, { rstdOverride: (m, rstd) => stepF32(rstd, shift(r, m)) });
      for (const [name, t] of run) if (name.startsWith(`rank${r}.`) || (r === 0 && name.startsWith('out.'))) out.set(name, t);
    }
    return out;
  }
  function withContract(golden: GoldenSubject, change: (c: Contract) => Contract): GoldenSubject {
    const parsed = parseContract(change(golden.contract));
    return { ...golden, contract: parsed, outputs: runCpuEngine(parsed, golden.shape, golden.inputs) };
  }
  // Shifts in units of `unit` f32 ULP, searched up to 3 units: the last (10) is out of range. A bf16
  // norm output alone hides most small shifts (an element moves with probability 2^-16 per
  // ULP), so the case without quant plants larger ones.
  const plant = (unit: number) => (rank: number, row: number) => unit * [0, 1, -1, 2, -3, 3, 0, -2, 10][(rank * 5 + row) % 9];
  const cases: [string, GoldenSubject, number][] = [
    ['a row-major quant', goldenCase('aiter-1stage-quant', 2, 9, 2048, 'random', 31), 1],
    ['own-first ranks (an output per rank, shifts per rank)', withContract(goldenCase('aiter-1stage-quant', 4, 6, 1024, 'random', 32), ownFirst), 1],
    ['column-major scales padded to 4 tokens', withContract(goldenCase('vllm-group-quant-colmajor', 2, 9, 1024, 'random', 33), aligned4), 1],
    ['a quantizer of the f32 normed value', withContract(goldenCase('vllm-ar-rms-quant', 2, 9, 1024, 'random', 34), f32QuantInput), 1],
    ['no quant', goldenCase('vllm-unfused', 2, 9, 8192, 'random', 35), 12],
  ];
  function ownFirst(c: Contract): Contract {
    return { ...c, allReduce: { ...c.allReduce, order: { kind: 'own-first' } } };
  }
  function aligned4(c: Contract): Contract {
    return { ...c, quant: { ...c.quant!, input: 'f32', scaleLayout: { kind: 'column-major', tokenAlign: 4 } } };
  }
  function f32QuantInput(c: Contract): Contract {
    return { ...c, quant: { ...c.quant!, input: 'f32' } };
  }
  for (const [what, base, unit] of cases) {
    test(what, () => {
      const candidate = shiftedCandidate(base, plant(unit));
      const { pairs } = pairOutputs(base.outputs, candidate, base.shape.ranks, 'candidate');
      const found = inferRstd(base, pairs, 3 * unit);
      const expected = bruteForce(base, candidate, 3 * unit);
      // Some planted shifts change nothing: both leave those rows alone.
      expect(expected.explained.length).toBeGreaterThan(2);
      expect(expected.unexplained.length).toBeGreaterThan(0);
      expect(found.report.explained).toEqual(expected.explained);
      expect(found.report.unexplained.map(({ rank, row }) => ({ rank, row }))).toEqual(expected.unexplained);
      expect(found.engineRuns).toBeGreaterThanOrEqual(expected.deepest);
      // A row out of range that names a shift (its norm moves one way) is reproduced by it (a whole engine run checks).
      for (const u of found.report.unexplained.filter((x) => x.shiftNeededUlp !== undefined)) {
        const rerun = runCpuEngine(base.contract, base.shape, base.inputs, { rstdOverride: (_m, r) => stepF32(r, u.shiftNeededUlp!) });
        for (const p of pairs.filter((x) => x.rank === u.rank && x.kind !== 'residual'))
          expect(rowMatches(rerun.get(p.referenceName)!, p.candidate, outputGeometry(p.kind, base.shape, base.contract), u.row)).toBe(true);
      }
    });
  }
});
