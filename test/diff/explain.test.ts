import { describe, expect, test } from 'vitest';
import { getPreset } from '../../src/contracts/presets.js';
import { parseContract } from '../../src/contracts/validate.js';
import { dimensionDiff, everySite, withFields } from '../../src/diff/dimensions.js';
import { explainCandidate } from '../../src/diff/explain.js';
import { ExplainReportSchema } from '../../src/diff/explainReport.js';
import { stepF32 } from '../../src/diff/rstd.js';
import { candidateFrom, goldenCase } from './helpers.js';

// Each candidate is the golden's inputs run through a known contract; explain sees only the
// candidate's outputs and must name that contract and the dimension that sets it apart.

describe('contract dimensions', () => {
  test('a single-dimension variant differs from its base in exactly that path', () => {
    const base = getPreset('aiter-1stage').contract;
    const variant = withFields(base, { bf16Rounding: everySite('truncate') })!;
    expect(dimensionDiff(base, variant)).toEqual([{ path: 'bf16Rounding', a: 'rne', b: 'truncate' }]);
    const tree = withFields(base, { 'norm.sumOfSquares.tree': { kind: 'cub', blockSize: 256, warpSize: 32, vectorWidth: 1 } })!;
    expect(dimensionDiff(base, tree)).toEqual([{ path: 'norm.sumOfSquares.tree', a: 'butterfly(perThread=8, warpSize=32)', b: 'cub(blockSize=256, warpSize=32, vectorWidth=1)' }]);
  });
  test('invalid combinations and absent sections give no variant', () => {
    expect(withFields(getPreset('unfused').contract, { 'norm.input': 'f32' })).toBeNull(); // residual.add bf16 leaves no f32 x
    expect(withFields(getPreset('unfused').contract, { 'quant.scale': 'divide' })).toBeNull(); // no quant
  });
  test('fields the bits do not depend on are not reported as differences', () => {
    const a = getPreset('unfused').contract;
    const b = parseContract({ ...a, hardwareOps: { ...a.hardwareOps, rsqrt: 'inferred' } });
    expect(dimensionDiff(a, b)).toEqual([]);
  });
});

describe('explain identifies the bug classes from outputs alone', () => {
  test('aiter PR 2586: a pre-fix 1-stage kernel', () => {
    const golden = goldenCase('aiter-1stage', 4, 8, 1024, 'random', 31);
    const report = explainCandidate(golden, candidateFrom(golden, 'aiter-1stage-pre2586'), 'pre2586', { rstdUlps: null });
    expect(report.best).toBe('aiter-1stage-pre2586');
    expect(report.exact).toBe(true);
    expect(report.vsGolden).toEqual([{ path: 'allReduce.roundResult', golden: 'bf16', best: 'none' }]);
    expect(report.runnerUp!.name).toBe('aiter-1stage');
    expect(report.runnerUp!.separatedBy).toEqual([{ path: 'allReduce.roundResult', best: 'none', other: 'bf16' }]);
    // The quant presets built on aiter-1stage emit the same residual and norm: one hypothesis here.
    expect(report.hypotheses.find((h) => h.name === 'aiter-1stage')!.aliases).toContain('aiter-1stage-quant');
    expect(report.confirmed.map((c) => c.path)).toContain('allReduce.roundResult');
    expect(ExplainReportSchema.parse(report)).toEqual(report);
  });

  test('gfx942: a kernel whose bf16 downcast truncates', () => {
    const golden = goldenCase('aiter-1stage', 4, 8, 1024, 'random', 32);
    const kernel = parseContract({ ...getPreset('aiter-1stage').contract, bf16Rounding: everySite('truncate') });
    const report = explainCandidate(golden, candidateFrom(golden, kernel), 'gfx942', { rstdUlps: null });
    expect(report.best).toBe('aiter-1stage + bf16Rounding=truncate');
    expect(report.exact).toBe(true);
    expect(report.vsGolden).toEqual([{ path: 'bf16Rounding', golden: 'rne', best: 'truncate' }]);
    expect(report.runnerUp!.name).toBe('aiter-1stage');
    expect(report.runnerUp!.separatedBy).toEqual([{ path: 'bf16Rounding', best: 'truncate', other: 'rne' }]);
  });

  test('TRT-LLM: ranks accumulated in bf16', () => {
    const golden = goldenCase('trtllm-oneshot-fp32acc', 4, 8, 1024, 'random', 33);
    const report = explainCandidate(golden, candidateFrom(golden, 'trtllm-oneshot-bf16acc'), 'bf16acc', { rstdUlps: null });
    expect(report.best).toBe('trtllm-oneshot-bf16acc');
    expect(report.exact).toBe(true);
    expect(report.vsGolden).toEqual([{ path: 'allReduce.accumulate', golden: 'f32', best: 'bf16' }]);
    expect(report.runnerUp!.separatedBy.map((s) => s.path)).toContain('allReduce.accumulate');
    expect(report.confirmed).toContainEqual(expect.objectContaining({ path: 'allReduce.accumulate', value: 'bf16', alternative: 'f32' }));
  });

  test('vLLM 53339: a Triton-style amax floor, told apart on all-zero quant groups', () => {
    const golden = goldenCase('vllm-group-quant', 2, 4, 512, 'zero-groups', 34);
    const report = explainCandidate(golden, candidateFrom(golden, 'vllm-group-quant-triton'), 'triton', { rstdUlps: null });
    expect(report.best).toBe('vllm-group-quant-triton');
    expect(report.exact).toBe(true);
    expect(report.vsGolden).toEqual([
      { path: 'quant.amaxFloor', golden: 'none', best: '1e-10' },
      { path: 'quant.scaleFloor', golden: '{"stage":"before-ue8m0","value":1e-10}', best: 'none' },
    ]);
  });

  test('with --rstd infer, a kernel with a slightly-off rsqrt is still matched to its contract', () => {
    const golden = goldenCase('aiter-1stage-quant', 2, 32, 4096, 'random', 35);
    const kernel = getPreset('aiter-1stage-pre2586').contract;
    const candidate = candidateFrom(golden, parseContract({ ...kernel, quant: golden.contract.quant }), { rstdOverride: (m, r) => stepF32(r, m % 2 === 0 ? 1 : -1) });
    const withRstd = explainCandidate(golden, candidate, 'rsqrt', { rstdUlps: 2 });
    expect(withRstd.best).toBe('aiter-1stage-quant + allReduce.roundResult=none');
    expect(withRstd.hypotheses[0].aliases).toEqual([]);
    expect(withRstd.exact).toBe(true);
    expect(withRstd.hypotheses[0].rstdExplainedRows).toBeGreaterThan(0);
    const without = explainCandidate(golden, candidate, 'rsqrt', { rstdUlps: null });
    expect(without.exact).toBe(false);
  });
});
