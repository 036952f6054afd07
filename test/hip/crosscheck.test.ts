// `ulpwise crosscheck` end to end without a GPU: a fake harness (fakeHarness.mjs) copies the
// goldens' outputs, or plants one fault, and crosscheck must report exactly that.
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { crosscheckCommand } from '../../src/cli/commands/crosscheck.js';
import { HarnessError, parseStatusLines } from '../../src/crosscheck/protocol.js';
import { CrosscheckReportSchema } from '../../src/crosscheck/report.js';
import { generateCases } from '../../src/fixtures/suiteWriter.js';
import { UsageError } from '../../src/cli/errors.js';
import { cpuEngine } from '../../src/engines/engine.js';
import type { CaseSpec } from '../../src/fixtures/caseSpec.js';

const FAKE_HARNESS = fileURLToPath(new URL('./fakeHarness.mjs', import.meta.url));

const SPECS: CaseSpec[] = [
  { preset: 'aiter-1stage', ranks: 2, tokens: 3, hidden: 256, group: null, inputs: 'random', seed: 11 },
  { preset: 'aiter-1stage-quant', ranks: 2, tokens: 2, hidden: 256, group: null, inputs: 'random', seed: 12 },
  { preset: 'unfused', ranks: 4, tokens: 1, hidden: 128, group: null, inputs: 'random', seed: 13 },
];

let work: string;
let suite: string;
let harness: string;

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'ulpwise-crosscheck-'));
  suite = join(work, 'suite');
  await generateCases(suite, SPECS, cpuEngine, true);
  harness = join(work, 'harness');
  writeFileSync(harness, `#!/bin/sh\nexec "${process.execPath}" "${FAKE_HARNESS}" "$@"\n`);
  chmodSync(harness, 0o755);
});

afterAll(() => {
  rmSync(work, { recursive: true, force: true });
});

/** Runs crosscheck with a fault planted by the fake harness; returns exit code and output. */
async function crosscheck(fault: string, extra: string[] = []): Promise<{ code: number; text: string; out: string }> {
  const out = join(work, `out-${fault || 'exact'}-${extra.length}`);
  mkdirSync(out, { recursive: true });
  const lines: string[] = [];
  const log = vi.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => void lines.push(parts.join(' ')));
  process.env.FAKE_HARNESS_FAULT = fault;
  try {
    const code = await crosscheckCommand.run(['--harness', harness, '--suite', suite, '--out', out, ...extra]);
    return { code, text: lines.join('\n'), out };
  } finally {
    delete process.env.FAKE_HARNESS_FAULT;
    log.mockRestore();
  }
}

function rowOf(text: string, caseName: string): string {
  const row = text.split('\n').find((l) => l.includes(caseName));
  if (row === undefined) throw new Error(`no row for ${caseName} in:\n${text}`);
  return row;
}

describe('ulpwise crosscheck', () => {
  it('passes exact copies and prints one bit-exact row per case', async () => {
    const { code, text } = await crosscheck('');
    expect(code).toBe(0);
    for (const spec of SPECS) expect(rowOf(text, `${spec.preset}__tp${spec.ranks}`)).toMatch(/bit-exact$/);
    expect(rowOf(text, 'aiter-1stage-quant__')).toMatch(/100% 0ulp\s+100% 0ulp\s+100% 0ulp\s+100% 0ulp\s+bit-exact/);
    expect(text).toContain('3/3 compared cases bit-exact');
  });

  it('fails on one flipped bit and reports its ULP distance', async () => {
    const { code, text } = await crosscheck('flip');
    expect(code).toBe(1);
    const row = rowOf(text, 'aiter-1stage__tp2');
    expect(row).toMatch(/MISMATCH$/);
    // 768 norm elements, one 1 ULP away; the residual output is untouched.
    expect(row).toMatch(/100% 0ulp\s+99\.870% 1ulp/);
    expect(rowOf(text, 'unfused__tp4')).toMatch(/bit-exact$/);
    expect(text).toContain('2/3 compared cases bit-exact');
  });

  it('fails when an output tensor is missing from a candidate', async () => {
    const { code, text } = await crosscheck('drop');
    expect(code).toBe(1);
    expect(rowOf(text, 'aiter-1stage__tp2')).toMatch(/MISSING.*MISMATCH$/);
  });

  it('fails when the harness reports a failed case', async () => {
    const { code, text } = await crosscheck('fail');
    expect(code).toBe(1);
    expect(text).toContain('FAILED fake-kernel aiter-1stage__tp2');
    expect(text).toContain('not written');
  });

  it('lists skipped cases with their reason without failing', async () => {
    const { code, text } = await crosscheck('skip');
    expect(code).toBe(0);
    expect(text).toContain('skipped 1 case(s):');
    expect(text).toContain('1 x fake-kernel: peer mode needs one GPU per rank');
    expect(text).toContain('2/2 compared cases bit-exact');
  });

  it('compares candidates made elsewhere with --candidates, flipped bit included', async () => {
    const exact = await crosscheck('');
    const flipped = await crosscheck('flip', ['--kernel', 'fake-kernel']);
    expect(readdirSync(exact.out).filter((f) => f.endsWith('.safetensors'))).toHaveLength(3);
    const lines: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((...parts: unknown[]) => void lines.push(parts.join(' ')));
    try {
      expect(await crosscheckCommand.run(['--candidates', exact.out, '--suite', suite])).toBe(0);
      expect(await crosscheckCommand.run(['--candidates', flipped.out, '--suite', suite])).toBe(1);
    } finally {
      log.mockRestore();
    }
    expect(lines.join('\n')).toContain('3/3 compared cases bit-exact');
    expect(lines.join('\n')).toContain('2/3 compared cases bit-exact');
  });

  it('--json prints the report under its schema, one tally per output kind', async () => {
    const exact = await crosscheck('');
    const flipped = await crosscheck('flip', ['--kernel', 'fake-kernel', '--json']);
    const report = CrosscheckReportSchema.parse(JSON.parse(flipped.text));
    expect(report.schemaVersion).toBe(1);
    expect(report.pass).toBe(false);
    const aiter = report.compared.find((c) => c.file.startsWith('aiter-1stage__tp2'))!;
    // 768 norm elements, one flipped bit: one differing element at 1 ULP; the residual untouched.
    expect(aiter.outputs.map((o) => [o.kind, o.elements, o.differing, o.maxUlp])).toEqual([
      ['residual', 768, 0, 0],
      ['norm', 768, 1, 1],
    ]);
    expect(JSON.parse((await crosscheck('', ['--json'])).text).pass).toBe(true);
    expect(exact.code).toBe(0);
  });

  it('rejects a call with neither or both of --harness and --candidates', async () => {
    await expect(crosscheckCommand.run(['--suite', suite])).rejects.toThrow(UsageError);
    await expect(crosscheckCommand.run(['--harness', harness, '--candidates', work, '--suite', suite])).rejects.toThrow(UsageError);
    await expect(crosscheckCommand.run(['--harness', harness, '--suite', suite, '--kernel', 'nope'])).rejects.toThrow(/has fake-kernel/);
  });

  it('reads status lines among other output and rejects malformed ones', () => {
    const text = 'NCCL INFO hello\n{"file":"a.safetensors","kernel":"k","status":"ok","message":""}\n';
    expect(parseStatusLines(text, 'x')).toEqual([{ file: 'a.safetensors', kernel: 'k', status: 'ok', message: '' }]);
    expect(() => parseStatusLines('{"file":"a","kernel":"k","status":"maybe","message":""}', 'x')).toThrow(HarnessError);
  });
});
