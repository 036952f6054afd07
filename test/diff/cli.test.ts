import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test, vi, type MockInstance } from 'vitest';
import { explainCommand } from '../../src/cli/commands/explain.js';
import { invarianceCommand } from '../../src/cli/commands/invariance.js';
import { ExplainReportSchema } from '../../src/diff/explainReport.js';
import { InvarianceReportSchema } from '../../src/diff/invariance.js';
import { buildCase, writeGolden } from '../../src/fixtures/golden.js';
import { writeSafetensors } from '../../src/fixtures/safetensors.js';
import { candidateFrom, goldenCase } from './helpers.js';

let log: MockInstance<typeof console.log>;
let err: MockInstance<typeof process.stderr.write>;
beforeEach(() => {
  log = vi.spyOn(console, 'log').mockImplementation(() => {});
  err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
});
afterEach(() => {
  log.mockRestore();
  err.mockRestore();
});
const printed = (): string => String(log.mock.calls[log.mock.calls.length - 1][0]);

describe('explain command', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ulpwise-explaincli-'));
  const spec = { preset: 'flashinfer-oneshot@sm80', ranks: 4, tokens: 2, hidden: 512, group: null, inputs: 'random', seed: 41 };
  const golden = goldenCase(spec.preset, spec.ranks, spec.tokens, spec.hidden, spec.inputs, spec.seed);
  const { file } = writeGolden(dir, buildCase(spec), golden.outputs);
  const candidatePath = join(dir, 'candidate.safetensors');
  writeSafetensors(candidatePath, [...candidateFrom(golden, 'flashinfer-oneshot-bf16acc@sm80')]);

  test('names the fitted contract in text and in schema-checked JSON', async () => {
    expect(await explainCommand.run([candidatePath, '--inputs', join(dir, file)])).toBe(0);
    expect(printed()).toMatch(/^verdict: bit-exact/m);
    expect(printed()).toMatch(/^nearest preset: flashinfer-oneshot-bf16acc@sm(80|90) \(no difference/m);
    expect(printed()).toMatch(/allReduce\.accumulate: f32 -> bf16/);
    expect(printed()).toMatch(/^  ulpwise gen --contract explained-contract\.json --ranks 4 --tokens 2 --hidden 512$/m);
    expect(await explainCommand.run([candidatePath, '--inputs', join(dir, file), '--json'])).toBe(0);
    expect(ExplainReportSchema.parse(JSON.parse(printed())).nearestPreset.name).toMatch(/^flashinfer-oneshot-bf16acc@sm(80|90)$/);
  });
  test('usage errors', async () => {
    await expect(explainCommand.run([candidatePath])).rejects.toThrow(/--inputs GOLDEN is required/);
    await expect(explainCommand.run([candidatePath, '--inputs', join(dir, 'none.safetensors')])).rejects.toThrow(/no such file/);
    await expect(explainCommand.run([candidatePath, '--inputs', join(dir, file), '--rstd-ulps', '3'])).rejects.toThrow(/--rstd-ulps needs --rstd infer/);
  });
});

describe('invariance command', () => {
  test('one report per TP size with --ranks-range; exit 1 when rows change', async () => {
    const code = await invarianceCommand.run([
      '--preset',
      'vllm',
      '--hidden',
      '2048',
      '--tokens',
      '126..129',
      '--ranks-range',
      '2,4',
      '--rows',
      '0,120',
      '--inputs',
      'cancellation',
      '--json',
    ]);
    const reports = InvarianceReportSchema.array().parse(JSON.parse(printed()));
    expect(reports.map((r) => r.ranks)).toEqual([2, 4]);
    // TP 2 is always 1-stage; TP 4 switches to 2-stage at 128 tokens.
    expect(reports[0].segments.map((s) => s.algorithm)).toEqual(['1-stage']);
    expect(reports[1].segments.map((s) => [s.algorithm, s.from])).toEqual([
      ['1-stage', 126],
      ['2-stage', 128],
    ]);
    expect(code).toBe(reports.some((r) => r.changes.length > 0) ? 1 : 0);
    expect(reports[1].changes.map((c) => c.tokens)).toContain(128);
  });
  test('exit 0 when the watched rows never change', async () => {
    expect(await invarianceCommand.run(['--preset', 'unfused', '--hidden', '256', '--tokens', '1..6', '--ranks', '2'])).toBe(0);
    expect(printed()).toMatch(/bit-identical at every batch size in 1\.\.6/);
  });
  test('usage errors', async () => {
    await expect(invarianceCommand.run(['--hidden', '64', '--tokens', '1..2'])).rejects.toThrow(/--preset is required/);
    await expect(invarianceCommand.run(['--preset', 'vllm', '--hidden', '64', '--tokens', '1,2'])).rejects.toThrow(/not a..b or a single batch size/);
    await expect(invarianceCommand.run(['--preset', 'vllm', '--hidden', '64', '--tokens', '1..2', '--ranks', '2', '--ranks-range', '2..4'])).rejects.toThrow(
      /not both/,
    );
  });
});
