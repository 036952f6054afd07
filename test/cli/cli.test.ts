import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { checkSafetensors } from '../../src/fixtures/safetensors.js';

// The CLI as a user runs it: the built dist (npm test builds first).
const CLI = join(__dirname, '../../dist/src/cli/main.js');
function ulpwise(...args: string[]) {
  // presets --json is over a megabyte (every preset's evidence): past spawnSync's default maxBuffer.
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('ulpwise CLI', () => {
  test('presets --json lists every preset with its kernels, architectures and evidence', () => {
    const r = ulpwise('presets', '--json');
    expect(r.code).toBe(0);
    const presets = JSON.parse(r.stdout) as {
      name: string;
      kernels: { function: string }[];
      architectures: string[];
      versionWindow: string;
      evidence: Record<string, { cites: { path: string }[] }>;
    }[];
    const pre = presets.find((p) => p.name === 'aiter-1stage-pre2586@gfx942')!;
    expect(pre.kernels[0].function).toBe('allreduce_fusion_kernel_1stage');
    expect(pre.architectures).toEqual(['gfx942']);
    expect(pre.versionWindow).toMatch(/2586/);
    expect(pre.evidence['allReduce.roundResult'].cites[0].path).toBe('csrc/include/custom_all_reduce.cuh');
    const text = ulpwise('presets');
    expect(text.stdout).toMatch(
      /^aiter-1stage@gfx942 +gfx942\n +ROCm\/aiter@e4048607a535 csrc\/include\/custom_all_reduce.cuh allreduce_fusion_kernel_1stage$/m,
    );
  });

  test('presets --schema prints a JSON Schema of the contract', () => {
    const schema = JSON.parse(ulpwise('presets', '--schema').stdout) as { properties: Record<string, unknown> };
    expect(Object.keys(schema.properties)).toEqual(expect.arrayContaining(['allReduce', 'bf16Rounding', 'residual', 'norm', 'quant']));
  });

  test('gen then verify: bit-exact; a corrupted file and a tampered output are caught', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ulpwise-cli-'));
    const gen = ulpwise('gen', '--preset', 'aiter-1stage', '--ranks', '4', '--tokens', '2', '--hidden', '512', '--inputs', 'cancellation', '--out', dir);
    expect(gen.code, gen.stderr).toBe(0);
    expect(ulpwise('gen', '--preset', 'unfused', '--ranks', '2', '--tokens', '1', '--hidden', '256', '--out', dir).code).toBe(0);
    const ok = ulpwise('verify', dir);
    expect(ok.code, ok.stdout).toBe(0);
    expect(ok.stdout).toMatch(/2\/2 cases verified bit-exact/);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { cases: { file: string; sha256: string }[] };
    const file = join(dir, manifest.cases[0].file);
    const original = readFileSync(file);
    const corrupted = Buffer.from(original);
    corrupted[corrupted.length - 1] ^= 1;
    writeFileSync(file, corrupted);
    const bad = ulpwise('verify', dir);
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/sha256 .* does not match/);
    // A flipped output bit with the digest updated: the recomputation catches it.
    manifest.cases[0].sha256 = execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0];
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    const tampered = ulpwise('verify', dir);
    expect(tampered.code).toBe(1);
    expect(tampered.stdout).toMatch(/out\.\w+: 1\/\d+ elements differ in their bits/);
  });

  test('verify compares bits: a NaN of the golden given another sign is caught (a value comparison calls two NaNs equal)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ulpwise-cli-'));
    expect(ulpwise('gen', '--preset', 'unfused', '--ranks', '2', '--tokens', '4', '--hidden', '256', '--inputs', 'special', '--out', dir).code).toBe(0);
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { cases: { file: string; sha256: string }[] };
    const file = join(dir, manifest.cases[0].file);
    const bytes = new Uint8Array(readFileSync(file));
    const header = checkSafetensors(bytes, file);
    const norm = header.tensors.get('out.norm')!;
    const begin = header.dataStart + norm.dataOffsets[0];
    const words = new Uint16Array(bytes.slice(begin, header.dataStart + norm.dataOffsets[1]).buffer);
    const nan = words.findIndex((w) => (w & 0x7f80) === 0x7f80 && (w & 0x7f) !== 0);
    expect(nan).toBeGreaterThanOrEqual(0);
    bytes[begin + 2 * nan + 1] ^= 0x80; // the sign bit of that bf16 NaN (little-endian high byte)
    writeFileSync(file, bytes);
    manifest.cases[0].sha256 = execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0];
    writeFileSync(join(dir, 'manifest.json'), JSON.stringify(manifest));
    const r = ulpwise('verify', dir);
    expect(r.code, r.stdout).toBe(1);
    expect(r.stdout).toMatch(/out\.norm: 1\/\d+ elements differ in their bits \(0 by value, max 0 ULP, 0 NaN against a number\)/);
  });

  test('bad input gets one clear line and exit code 2', () => {
    const cases: [string[], RegExp][] = [
      [['gen', '--preset', 'nope', '--tokens', '1', '--hidden', '8', '--ranks', '2'], /unknown preset 'nope'/],
      [['gen', '--preset', 'vllm-group-quant', '--ranks', '2', '--tokens', '1', '--hidden', '200'], /quant.groupSize: 128 does not divide hidden 200/],
      [['gen', '--preset', 'unfused', '--ranks', '2', '--tokens', 'x', '--hidden', '8'], /--tokens: 'x' is not a non-negative integer/],
      [['gen', '--preset', 'unfused', '--ranks', '2', '--tokens', '1', '--hidden', '8', '--inputs', 'bogus'], /unknown generator 'bogus'/],
      [['verify', '/nonexistent-dir'], /cannot read the manifest/],
      [['frobnicate'], /unknown command 'frobnicate'/],
      [['gen', '--bogus'], /Unknown option '--bogus'/],
    ];
    for (const [args, message] of cases) {
      const r = ulpwise(...args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
    }
  });
});
