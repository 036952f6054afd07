// diff's per-group scale inference and packed UE8M0 scales, through the built CLI binary: the
// text and JSON a user sees, and the one-line refusals (exit 2) of the new flags.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, test } from 'vitest';
import { readGolden } from '../../src/fixtures/golden.js';
import { encodeSafetensors } from '../../src/fixtures/safetensors.js';
import type { Tensor } from '../../src/numerics/tensor.js';

const ROOT = join(__dirname, '../..');
const CLI = join(ROOT, 'dist/src/cli/main.js');

function ulpwise(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', cwd: ROOT, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function gen(dir: string, ...args: string[]): string {
  const r = ulpwise('gen', ...args, '--out', dir);
  expect(r.code, r.stderr).toBe(0);
  return join(dir, r.stdout.split(' ')[1].split('/').pop()!);
}

/** A candidate file: the golden's outputs with `edit` applied to copies. */
function candidateOf(golden: string, path: string, edit: (outputs: Map<string, Tensor>) => void): string {
  const outputs = new Map([...readGolden(golden).outputs].map(([name, t]) => [name, { ...t, data: t.data.slice() } as Tensor]));
  edit(outputs);
  writeFileSync(path, encodeSafetensors([...outputs]));
  return path;
}

function expectUsageError(r: ReturnType<typeof ulpwise>, message: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(message);
}

let work: string;
let inferred: string;
let packed: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'ulpwise-diffinfer-'));
  // hardwareOps.reciprocal/divide 'inferred'; row 0 group 0 is all zeros with this seed (test/diff/scaleInference.test.ts).
  inferred = gen(
    join(work, 'a'),
    '--preset',
    'aiter-add-rmsnorm-quant@gfx950',
    '--ranks',
    '1',
    '--tokens',
    '8',
    '--hidden',
    '512',
    '--inputs',
    'zero-groups',
    '--seed',
    '5',
  );
  packed = gen(join(work, 'b'), '--preset', 'flashinfer-ar-rms-group-fp8', '--ranks', '2', '--tokens', '5', '--hidden', '768', '--seed', '3');
});

describe('diff: scale inference through the CLI', () => {
  test("a one-ULP scale in a zero group passes where the contract says 'inferred', and the text says why", () => {
    const candidate = candidateOf(inferred, join(work, 'shifted.safetensors'), (o) => {
      o.get('out.scale')!.data[0] += 1;
    });
    const r = ulpwise('diff', inferred, candidate);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/after inference/);
    expect(r.stdout).toContain('explained by scale +1 ULP: 1 groups (row 0 group 0)');
    expect(r.stdout).toMatch(/^PASS: every output is bit-exact \(groups a scale shift explains excepted\)$/m);
    const json = JSON.parse(ulpwise('diff', inferred, candidate, '--json').stdout) as {
      schemaVersion: number;
      scale: { trigger: string; explained: unknown[] };
    };
    expect(json.schemaVersion).toBe(3);
    const page = join(work, 'report.html');
    expect(ulpwise('diff', inferred, candidate, '--html', page).code).toBe(0);
    expect(readFileSync(page, 'utf8')).toContain('<section><h2>scale inference (±2 f32 ULP): 1/1 differing groups explained, 0 true mismatches</h2>');
    expect(json.scale).toMatchObject({ trigger: 'contract', explained: [{ rank: null, row: 0, group: 0, slot: 'scale', deltaUlp: 1 }] });
  });

  test('flag errors: one line, exit 2', () => {
    expectUsageError(ulpwise('diff', inferred, inferred, '--scale', 'guess'), /^ulpwise: --scale: 'guess' is not a mode; use --scale infer$/);
    expectUsageError(ulpwise('diff', inferred, inferred, '--scale-ulps', '3'), /^ulpwise: --scale-ulps needs --scale infer$/);
    expectUsageError(ulpwise('diff', inferred, inferred, '--scale', 'infer', '--scale-ulps', '65'), /^ulpwise: --scale-ulps: 65 is outside 1\.\.64$/);
    expectUsageError(ulpwise('explain', inferred, '--inputs', inferred, '--scale', 'infer', '--scale-ulps', '0'), /--scale-ulps: 0 is outside 1\.\.64$/);
    expectUsageError(ulpwise('diff', packed, packed, '--scale', 'infer'), /^ulpwise: --scale infer: packed UE8M0 scales are powers of two/);
  });
});

describe('diff: packed UE8M0 scales through the CLI', () => {
  test('the golden against itself passes, its scale compared in ue8m0 exponent steps', () => {
    const r = ulpwise('diff', packed, packed);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^out\.scale\s+ue8m0\s+64\s+100%/m);
  });

  test('one exponent byte one step up: exit 1, named by row and group; --max-ulp out.scale=1 passes', () => {
    // Group 5 of token 1: byte 1 of word (5 / 4) * 8 + 1 = 9 (FlashInfer's layout, tokenAlign 4 -> 8 columns).
    const candidate = candidateOf(packed, join(work, 'packed.safetensors'), (o) => {
      const words = o.get('out.scale')!.data as Uint32Array;
      words[9] = (words[9] + (1 << 8)) >>> 0;
    });
    const r = ulpwise('diff', packed, candidate);
    expect(r.code, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^out\.scale\s+ue8m0\s+64\s+98\.44%\s+1\s+0\s+0\s+1\s+\+1:1$/m);
    expect(r.stdout).toMatch(/^out\.scale\s+-\s+1\s+5\s+5\s+\+1\s/m);
    expect(ulpwise('diff', packed, candidate, '--max-ulp', 'out.scale=1').code).toBe(0);
  });
});
