import { describe, expect, test } from 'vitest';
import { getPreset } from '../../src/contracts/presets.js';
import type { Contract } from '../../src/contracts/schema.js';
import { canonicalJson, parseContract } from '../../src/contracts/validate.js';
import { describeValue, dimensionDiff, getPath, withFields } from '../../src/diff/dimensions.js';
import { explainCandidate } from '../../src/diff/explain.js';
import { ExplainReportSchema, type ExplainReport } from '../../src/diff/explainReport.js';
import type { Rescore } from '../../src/diff/explainRescore.js';
import { genCommand, verdictOf } from '../../src/diff/explainVerdict.js';
import { presetContracts, searchDimensions } from '../../src/diff/explainSpace.js';
import { stepF32 } from '../../src/diff/rstd.js';
import { outputGeometry } from '../../src/diff/pairs.js';
import { runCpuEngine } from '../../src/engines/cpu/engine.js';
import { f32BitsFromBf16 } from '../../src/numerics/bf16.js';
import { bitsFromF32, f32FromBits } from '../../src/numerics/f32.js';
import { fp8FromF32Bits } from '../../src/numerics/fp8.js';
import type { Tensor } from '../../src/numerics/tensor.js';
import { candidateFrom, flipBit, goldenCase } from './helpers.js';

// Each candidate is the golden's inputs run through a contract chosen by hand, several
// dimensions away from every preset; explain sees only the candidate's outputs. The contract
// that made the candidate is the independent answer: every searched dimension must come out at
// its value, or list its value among the ties (and then the tie must really reproduce the
// candidate, checked here on every row with the engine).

const presets = presetContracts();
const paths = searchDimensions(presets.map((p) => p.contract)).map((d) => d.path);

function withAll(base: Contract, fields: Readonly<Record<string, unknown>>): Contract {
  const c = withFields(base, fields);
  if (!c) throw new Error(`test contract invalid: ${JSON.stringify(fields)}`);
  return c;
}

/** Dimensions apart from the nearest preset. */
function distanceFromPresets(contract: Contract): number {
  return Math.min(...presets.map((p) => dimensionDiff(p.contract, contract, paths).length));
}

function dimension(report: ExplainReport, path: string): { value: string; ties: string[] } {
  for (const s of report.stages) {
    const d = s.dimensions.find((x) => x.path === path);
    if (d) return { value: d.value, ties: d.ties };
  }
  throw new Error(`${path} not in the report`);
}

/** Every searched dimension at the truth's value, or the truth among its ties (except
 *  `jointly`: dimensions only a change of two at once can show equivalent); and the fitted
 *  contract reproduces the candidate bit for bit on every row. */
function expectIdentified(
  report: ExplainReport,
  truth: Contract,
  golden: ReturnType<typeof goldenCase>,
  candidate: ReadonlyMap<string, unknown>,
  jointly: readonly string[] = [],
): void {
  for (const s of report.stages) {
    for (const d of s.dimensions) {
      if (jointly.includes(d.path)) continue;
      const expected = describeValue(getPath(truth, d.path));
      if (d.value !== expected) expect(d.ties, `${d.path}: fitted ${d.value}, truth ${expected}`).toContain(expected);
    }
  }
  const fitted = ExplainReportSchema.shape.contract.parse(report.contract);
  const rerun = runCpuEngine(fitted, golden.shape, golden.inputs);
  for (const [name, tensor] of candidate as ReadonlyMap<string, { data: ArrayLike<number> }>) {
    expect(Array.from(rerun.get(name)!.data), name).toEqual(Array.from(tensor.data));
  }
}

describe('explain fits every stage of contracts several changes from every preset', () => {
  test('aiter Triton fused_rms_fp8_group_quant after an all-reduce at N=8 (its preset says ranks 1)', async () => {
    const golden = goldenCase('aiter-1stage-quant', 8, 16, 1024, 'random', 41);
    const passthrough = getPreset('aiter-rms-quant-passthrough');
    expect(passthrough.ranks).toBe(1);
    const truth = withAll(passthrough.contract, {
      'allReduce.order': { kind: 'rotated', packElems: 8 },
      'bf16Rounding.residualOut': 'truncate',
      'quant.scale': 'reciprocal',
      'norm.roundIntermediate': true,
    });
    expect(distanceFromPresets(truth)).toBeGreaterThanOrEqual(3);
    const candidate = candidateFrom(golden, truth);
    const report = await explainCandidate(golden, candidate, 'triton-after-ar', { rstdUlps: null });
    expect(report.verdict).toBe('bit-exact');
    // The truth's tl.sum with threadReduce 'tree' needs perThread 'chain' (a schema rule), so it
    // cannot be a single-dimension tie of a fitted 'fma-chain': the pair is equivalent only when
    // both change, like the cub case below. The rerun in expectIdentified still checks the bits.
    expectIdentified(report, truth, golden, candidate, ['norm.sumOfSquares.perThread', 'norm.sumOfSquares.tree']);
    expect(dimension(report, 'norm.sumOfSquares.perThread').ties).toContain('chain');
    expect(dimension(report, 'quant.amaxFloor').value).toBe('1e-10');
    expect(dimension(report, 'quant.scale')).toEqual({ value: 'reciprocal', ties: [] });
    expect(dimension(report, 'bf16Rounding.residualOut')).toEqual({ value: 'truncate', ties: [] });
    // The truth is three changes from every preset, but its tl.sum / chain pair has a
    // bit-equivalent (dpp-wave64, fma-chain) that aiter add_rmsnorm_quant uses: the nearest
    // preset is the one nearest the fitted contract, and the changes that no tie can hide remain.
    const fitted = ExplainReportSchema.shape.contract.parse(report.contract);
    const named = presets.find((p) => p.name === report.nearestPreset.name)!;
    const fewest = Math.min(...presets.map((p) => dimensionDiff(p.contract, fitted, paths).length));
    expect(report.nearestPreset.differences.map((d) => d.path)).toEqual(dimensionDiff(named.contract, fitted, paths).map((d) => d.path));
    expect(report.nearestPreset.differences.length).toBe(fewest);
    expect(report.nearestPreset.differences).toContainEqual({ path: 'bf16Rounding.residualOut', preset: 'rne', fitted: 'truncate' });
    expect(ExplainReportSchema.parse(report)).toEqual(report);
  });

  test('a norm three choices from every preset: bf16 norm input over an f32 add, x*w first, rounded intermediate, cub 256', async () => {
    const golden = goldenCase('unfused', 4, 8, 2048, 'random', 42);
    const truth = withAll(getPreset('unfused').contract, {
      'residual.add': 'f32',
      'norm.input': 'bf16',
      'norm.multiplyOrder': 'x-w-rstd',
      'norm.roundIntermediate': true,
      'norm.sumOfSquares.tree': { kind: 'cub', blockSize: 256, warpSize: 32 },
    });
    expect(distanceFromPresets(truth)).toBeGreaterThanOrEqual(3);
    const candidate = candidateFrom(golden, truth);
    const report = await explainCandidate(golden, candidate, 'norm', { rstdUlps: null });
    expect(report.verdict).toBe('bit-exact');
    // On these rows the sums of squares of cub 256 over a plain chain are also those of other
    // (per-thread pattern, tree) pairs: equivalent only when both change, so not single ties.
    expectIdentified(report, truth, golden, candidate, ['norm.sumOfSquares.perThread', 'norm.sumOfSquares.tree']);
    expect(dimension(report, 'norm.multiplyOrder')).toEqual({ value: 'x-w-rstd', ties: [] });
    expect(dimension(report, 'norm.roundIntermediate')).toEqual({ value: 'true', ties: [] });
  });

  test('per-rank outputs: own-first bf16 accumulation, column-major UE8M0-floor scales', async () => {
    const golden = goldenCase('vllm-group-quant', 4, 8, 1024, 'random', 43);
    const truth = withAll(getPreset('vllm-group-quant').contract, {
      'allReduce.order': { kind: 'own-first' },
      'allReduce.accumulate': 'bf16',
      'allReduce.roundResult': 'bf16',
      'quant.scaleLayout': { kind: 'column-major', tokenAlign: 1 },
      'quant.ue8m0': 'floor',
      'quant.format': 'e5m2',
    });
    expect(distanceFromPresets(truth)).toBeGreaterThanOrEqual(3);
    const candidate = candidateFrom(golden, truth);
    expect([...candidate.keys()]).toContain('rank3.out.q');
    const report = await explainCandidate(golden, candidate, 'own-first', { rstdUlps: null });
    expect(report.verdict).toBe('bit-exact');
    expectIdentified(report, truth, golden, candidate);
    expect(dimension(report, 'allReduce.order')).toEqual({ value: 'own-first', ties: [] });
    expect(dimension(report, 'quant.ue8m0')).toEqual({ value: 'floor', ties: [] });
  });
});

describe('the bug classes of the presets, named from outputs alone', () => {
  // Candidate preset, golden preset, shape, inputs, and the one difference from the golden's
  // contract the preset pair documents (presets.ts: the candidate differs from its reference
  // there and nowhere the outputs show).
  const cases = [
    { candidate: 'aiter-1stage-pre2586', golden: 'aiter-1stage', inputs: 'random', path: 'allReduce.roundResult', golden_: 'bf16', fitted: 'none' },
    {
      candidate: 'flashinfer-oneshot-bf16acc@sm80',
      golden: 'flashinfer-oneshot@sm80',
      inputs: 'random',
      path: 'allReduce.accumulate',
      golden_: 'f32',
      fitted: 'bf16',
    },
  ] as const;
  for (const c of cases) {
    test(`${c.candidate} against ${c.golden}: ${c.path}`, async () => {
      const golden = goldenCase(c.golden, 4, 8, 1024, c.inputs, 31);
      const candidate = candidateFrom(golden, c.candidate);
      const report = await explainCandidate(golden, candidate, c.candidate, { rstdUlps: null });
      expect(report.verdict).toBe('bit-exact');
      expect(report.vsGolden).toContainEqual({ path: c.path, golden: c.golden_, fitted: c.fitted });
      expect(dimension(report, c.path)).toEqual({ value: c.fitted, ties: [] });
      // Architectures of one kernel family can agree at this size (the SM90 cluster collapses to
      // one block at H 1024): the nearest preset is the candidate's kernel, any architecture.
      expect(report.nearestPreset.differences).toEqual([]);
      expect(report.nearestPreset.name.split('@')[0]).toBe(c.candidate.split('@')[0]);
    });
  }

  test('vLLM 53339: with UE8M0 the C++ op also floors the scale, Triton does not; told apart on all-zero quant groups', async () => {
    // vllm per_token_group_quant.cu @00aa9038: the amax floor (local_absmax = eps) is common to
    // both; fmaxf(|y_s|, 1e-10f) sits inside the UE8M0 branch only, so without UE8M0 they agree.
    const golden = goldenCase('vllm-group-quant-ue8m0', 2, 4, 512, 'zero-groups', 34);
    const truth = withAll(golden.contract, { 'quant.scaleFloor': null });
    const candidate = candidateFrom(golden, truth);
    const report = await explainCandidate(golden, candidate, 'triton', { rstdUlps: null });
    expect(report.verdict).toBe('bit-exact');
    expect(dimension(report, 'quant.amaxFloor')).toEqual({ value: '1e-10', ties: [] });
    expect(dimension(report, 'quant.scaleFloor').value).toBe('none');
    expectIdentified(report, truth, golden, candidate);
  });
});

describe('a fit the probe rows cannot tell from the answer is searched again on the rows it leaves unexplained', () => {
  test('aiter-1stage-quant@gfx942 with the sm_90 rsqrt: rows 0, 32 and 63 fit another tree and variance; the rows it leaves wrong settle it', async () => {
    const golden = goldenCase('aiter-1stage-quant@gfx942', 2, 64, 1024, 'random', 2);
    const made = withAll(golden.contract, { 'hardwareOps.rsqrt': 'sm90' });
    const report = await explainCandidate(golden, candidateFrom(golden, made), 'sm90.safetensors', { rstdUlps: null });
    expect(report.verdict).toBe('bit-exact');
    expect(report.contract).toEqual(made);
    // More than the three first probe rows: the first search's fit left rows unexplained.
    expect(report.probeRows.length).toBeGreaterThan(3);
  });
});

describe('ties are reported as ties', () => {
  test('a clamp at the format max before a saturating conversion is no clamp at all', async () => {
    // e4m3fn satfinite: a value above 448 converts to 448 whether or not it was clamped to 448
    // first, so no input can tell clamp 448 from none (derived from the conversion rule).
    const golden = goldenCase('vllm-group-quant', 2, 4, 512, 'fp8-saturation', 44);
    const truth = withAll(getPreset('vllm-group-quant').contract, { 'quant.format': 'e4m3fn', 'quant.saturation': 'satfinite', 'quant.clamp': 448 });
    const candidate = candidateFrom(golden, truth);
    const report = await explainCandidate(golden, candidate, 'clamp', { rstdUlps: null });
    const clamp = dimension(report, 'quant.clamp');
    expect([clamp.value, ...clamp.ties]).toEqual(expect.arrayContaining(['448', 'none']));
    expectIdentified(report, truth, golden, candidate);
  });
});

describe('approximate hardware operations are reported apart from mismatches', () => {
  test('per-row rstd deviations (an approximate rsqrt) are found with their sign', async () => {
    const golden = goldenCase('aiter-1stage-quant', 2, 16, 2048, 'random', 45);
    const planted = (m: number): number => [1, -1, 2, 0][m % 4];
    const candidate = candidateFrom(golden, golden.contract, { rstdOverride: (m, r) => stepF32(r, planted(m)) });
    const report = await explainCandidate(golden, candidate, 'rsqrt', { rstdUlps: 2 });
    expect(report.verdict).toBe('approximate');
    expect(report.unexplainedCount).toBe(0);
    const rows = report.approximations.rstd!.rows;
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) {
      expect(Math.sign(r.deltaUlp)).toBe(Math.sign(planted(r.row)));
      if (Math.abs(planted(r.row)) === 1) expect(r.deltaUlp).toBe(planted(r.row));
    }
    expect(report.outputs.find((o) => o.name === 'out.norm')!.approximated).toBeGreaterThan(0);
  });

  test('per-group scale deviations (an approximate reciprocal or divide) are found with their sign', async () => {
    const golden = goldenCase('vllm-group-quant', 2, 8, 1024, 'random', 46);
    // Group g of row m moves by +1 f32 ULP when (m + g) % 3 == 0, by -1 when == 1.
    const planted = (m: number, g: number): number => [1, -1, 0][(m + g) % 3];
    const candidate = candidateFrom(golden, golden.contract, { scaleOverride: (m, g, s) => stepF32(s, planted(m, g)) });
    const report = await explainCandidate(golden, candidate, 'rcp', { rstdUlps: null, scaleUlps: 2 });
    expect(report.verdict).toBe('approximate');
    const groups = report.approximations.scale!.groups;
    const scale = candidate.get('out.scale')!;
    const geometry = outputGeometry('scale', golden.shape, golden.contract);
    let planted1 = 0;
    for (let m = 0; m < golden.shape.tokens; m++) for (let g = 0; g < 8; g++) if (planted(m, g) !== 0) planted1++;
    // Every planted group changed its scale bits, so every one must be found, with its delta.
    expect(groups.length).toBe(planted1);
    for (const g of groups) {
      expect(g.deltaUlp).toBe(planted(g.row, g.group));
      const golden32 = f32FromBits(golden.outputs.get('out.scale')!.data[geometry.indexOf(g.row, g.group)]);
      expect(scale.data[geometry.indexOf(g.row, g.group)]).toBe(bitsFromF32(stepF32(golden32, g.deltaUlp)));
    }
  });
});

describe("each stage is fed the candidate's own earlier output", () => {
  test("a wrong residual element that the kernel's own norm then read is one unexplained element, not a row", async () => {
    const golden = goldenCase('unfused', 2, 8, 1024, 'random', 48);
    const truth = golden.contract; // residual.add bf16, norm.input bf16: the norm reads out.residual.
    const [row, column] = [3, 200];
    // The kernel's residual element is wrong, and its norm is computed from it: run the same
    // contract on inputs whose residual differs in that one element.
    const residual = golden.inputs.residual!;
    const bits = (residual.data as Uint16Array).slice();
    bits[row * 1024 + column] ^= 0x0010;
    const changed: Tensor = { dtype: 'BF16', shape: residual.shape, data: bits };
    const candidate = runCpuEngine(truth, golden.shape, { ...golden.inputs, residual: changed });
    const geometry = outputGeometry('norm', golden.shape, truth);
    let normRowDiffers = 0;
    for (let k = 0; k < 1024; k++)
      if (candidate.get('out.norm')!.data[geometry.indexOf(row, k)] !== golden.outputs.get('out.norm')!.data[geometry.indexOf(row, k)]) normRowDiffers++;
    expect(normRowDiffers).toBeGreaterThan(1);
    const report = await explainCandidate(golden, candidate, 'own-residual', { rstdUlps: null });
    expect(report.verdict).toBe('bug');
    expect(report.unexplainedCount).toBe(1);
    expect(report.unexplained).toEqual([expect.objectContaining({ name: 'out.residual', row, column })]);
    expect(report.outputs.find((o) => o.name === 'out.norm')).toMatchObject({ differing: normRowDiffers, inherited: normRowDiffers, unexplained: 0 });
    // The search was not misled by the row: every stage fitted the truth or a tie of it.
    expect(dimension(report, 'norm.input')).toEqual({ value: 'bf16', ties: [] });
    expect(dimension(report, 'residual.add').value).toBe('bf16');
  });
});

describe('the verdict', () => {
  const shape = { ranks: 2, tokens: 40, hidden: 64 };
  const rescored = (differing: number, approximated: number, unexplainedRows: number): Rescore => ({
    contract: getPreset('unfused').contract,
    rstd: null,
    scale: null,
    unexplained: [],
    ties: new Map(),
    tieRows: [],
    engineRuns: 0,
    outputs: [{ name: 'out.norm', elements: 2560, differing, approximated, inherited: 0, unexplained: differing - approximated, note: null }],
    unexplainedCount: differing - approximated,
    unexplainedRows,
  });
  test('bit-exact, approximate, a bug (unexplained elements in at most 5% of output rows), or unexplained', () => {
    expect(verdictOf(rescored(0, 0, 0), shape, 2)).toBe('bit-exact');
    expect(verdictOf(rescored(9, 9, 0), shape, 2)).toBe('approximate');
    // 40 tokens x 2 outputs: 4 (output, row) pairs make a bug, 5 do not.
    expect(verdictOf(rescored(9, 0, 4), shape, 2)).toBe('bug');
    expect(verdictOf(rescored(9, 0, 5), shape, 2)).toBe('unexplained');
  });
  test('the gen command reads the fitted contract from the file it names', () => {
    const contract = getPreset('unfused').contract;
    const gen = genCommand(contract, shape);
    expect(gen.command).toBe('ulpwise gen --contract explained-contract.json --ranks 2 --tokens 40 --hidden 64');
    expect(parseContract(JSON.parse(gen.contractJson))).toEqual(contract);
  });
});

describe('an approximate reciprocal (v_rcp_f32): codes of a reproduced scale', () => {
  test('per-group reciprocal deviations are found with their sign, the scale left alone', async () => {
    const golden = goldenCase('vllm-group-quant', 2, 8, 1024, 'random', 49);
    const truth = withAll(golden.contract, { 'quant.quantize': 'reciprocal', 'quant.bf16SideOutput': true });
    const exact = candidateFrom(golden, truth);
    // Independently of the engine: q = e4m3fn(satfinite)(bf16 value * (fround(1/scale) moved by
    // d f32 ULP)), with the clamp at 448 that satfinite makes redundant for finite values.
    const planted = (m: number, g: number): number => [1, -1, 0][(m + 2 * g) % 3];
    const codes = exact.get('out.q')!.data.slice();
    const scales = exact.get('out.scale')!.data;
    const norm = exact.get('out.norm')!.data;
    const changed = new Set<string>();
    for (let m = 0; m < 8; m++) {
      for (let g = 0; g < 8; g++) {
        const d = planted(m, g);
        if (d === 0) continue;
        const reciprocal = stepF32(Math.fround(1 / f32FromBits(scales[m * 8 + g])), d);
        for (let k = 0; k < 128; k++) {
          const i = m * 1024 + g * 128 + k;
          const code = fp8FromF32Bits(bitsFromF32(Math.fround(f32FromBits(f32BitsFromBf16(norm[i])) * reciprocal)), 'e4m3fn', 'satfinite');
          if (code !== codes[i]) changed.add(`${m}:${g}`);
          codes[i] = code;
        }
      }
    }
    expect(changed.size).toBeGreaterThan(0);
    const candidate = new Map(exact);
    candidate.set('out.q', { ...exact.get('out.q')!, data: codes } as Tensor);
    const report = await explainCandidate(golden, candidate, 'rcp', { rstdUlps: null, scaleUlps: 2 });
    expect(report.verdict).toBe('approximate');
    const found = report.approximations.scale!.groups;
    expect(found.map((g) => `${g.row}:${g.group}`).sort()).toEqual([...changed].sort());
    for (const g of found) expect(g).toMatchObject({ slot: 'reciprocal', deltaUlp: planted(g.row, g.group) });
  });
});

describe('elements no hypothesis reproduces', () => {
  test('a planted single-element bug is reported with its index and bits, everything else explained', async () => {
    const golden = goldenCase('aiter-1stage-quant', 2, 16, 1024, 'random', 47);
    const truth = withAll(golden.contract, { 'allReduce.roundResult': 'none', 'quant.clamp': 240 });
    const exact = candidateFrom(golden, truth);
    const [row, column] = [9, 517];
    const norm = exact.get('out.norm')!;
    const candidate = new Map(exact);
    candidate.set('out.norm', flipBit(norm, row * 1024 + column, 3));
    const report = await explainCandidate(golden, candidate, 'bug', { rstdUlps: null });
    expect(report.verdict).toBe('bug');
    expect(report.unexplainedCount).toBe(1);
    const hex = (v: number): string => `0x${v.toString(16).toUpperCase().padStart(4, '0')}`;
    expect(report.unexplained).toEqual([
      { name: 'out.norm', row, column, expected: hex(norm.data[row * 1024 + column]), actual: hex(norm.data[row * 1024 + column] ^ 8) },
    ]);
    expect(canonicalJson(getPath(report.contract, 'allReduce.roundResult'))).toBe('"none"');
  });
});
