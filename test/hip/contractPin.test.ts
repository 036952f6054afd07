// Which contracts the 1-stage kernel's pinned instances run (hip/kernels/contract_pin.h), read
// through the C++ parser (contract_check --pins, host build): exactly the contracts of aiter's
// gfx950 1-stage presets, plain and with group quant, at a row of at most 7168 elements (896
// threads), and nothing else; so the device crosscheck of every ULPWISE_BW_VARIANT (hip/scripts/
// device-bandwidth.sh) runs the pinned instances on the committed goldens of those contracts and
// the generic one on every other golden. The expected pins are written here by preset name, not
// computed.
import { spawnSync } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect } from 'vitest';
import { listPresets } from '../../src/contracts/presets.js';
import { canonicalJson } from '../../src/contracts/validate.js';
import { PACKAGE_ROOT } from '../../src/packageRoot.js';
import { HIP_DIR, hostBuild } from './hostBuild.js';

const CONTRACT_CHECK = join(HIP_DIR, 'build', 'host', 'contract_check');
const GOLDEN_DIR = join(PACKAGE_ROOT, 'golden');

/** The pinned instance of each preset's 1-stage run, by name: aiter's gfx950 1-stage kernels,
 *  and two presets whose contract is aiter-1stage-quant@gfx950's to the last field (checked
 *  below on the canonical JSON): a pin is a contract, not a kernel name. */
const PINNED: Record<string, string> = {
  'aiter-1stage@gfx950': 'aiter-gfx950',
  'aiter-1stage-quant@gfx950': 'aiter-gfx950-quant',
  'sglang-fused-quant': 'aiter-gfx950-quant',
  'vllm-ar-rms-quant-indexer': 'aiter-gfx950-quant',
};
/** The golden files of those presets (golden/<preset, '@' as '.'>__<case>.safetensors). */
const PINNED_GOLDEN = /^(aiter-1stage\.gfx950|aiter-1stage-quant\.gfx950|sglang-fused-quant|vllm-ar-rms-quant-indexer)__/;

const { check, scratch } = hostBuild('contract-check', 'the contract pins are checked');

/** contract_check --pins HIDDEN (NVIDIA build's verdict) on each contract JSON, in order. */
function pins(contracts: readonly string[], hidden: number): string[] {
  const file = join(scratch(), 'contracts.jsonl');
  writeFileSync(file, contracts.join('\n') + '\n');
  const run = spawnSync(CONTRACT_CHECK, ['--target', 'nvidia', '--pins', String(hidden), file], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (run.status !== 0) throw new Error(`contract_check --pins failed: ${run.stdout}${run.stderr}`);
  const lines = run.stdout.trimEnd().split('\n');
  expect(lines.length).toBe(contracts.length);
  return lines;
}

/** A golden's contract (its safetensors header's `ulpwise.contract`). */
function goldenContract(path: string): string {
  const bytes = readFileSync(path);
  const headerLength = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + headerLength).toString('utf8')) as { __metadata__: Record<string, string> };
  return header.__metadata__['ulpwise.contract'];
}

describe('contract pins of the 1-stage kernel', () => {
  check("every preset: aiter's gfx950 1-stage contracts pin at H <= 7168, nothing else does, and nothing pins at H = 8192", () => {
    const presets = listPresets();
    const contracts = presets.map((p) => canonicalJson(p.contract));
    const at7168 = pins(contracts, 7168);
    const pinned: Record<string, string> = {};
    presets.forEach((p, i) => {
      expect(at7168[i], p.name).toMatch(/^(pin |unsupported )/);
      if (at7168[i].startsWith('pin ') && at7168[i] !== 'pin none') pinned[p.name] = at7168[i].slice('pin '.length);
    });
    expect(pinned).toEqual(PINNED);
    const contractOf = (name: string) => canonicalJson(presets.find((p) => p.name === name)?.contract);
    for (const [name, pin] of Object.entries(PINNED)) {
      expect(contractOf(name), name).toBe(contractOf(pin === 'aiter-gfx950' ? 'aiter-1stage@gfx950' : 'aiter-1stage-quant@gfx950'));
    }
    expect(new Set(pins(contracts, 8192).filter((v) => v.startsWith('pin ')))).toEqual(new Set(['pin none']));
  });

  check('the committed goldens of those presets pin (the device crosscheck runs the pinned instances on them), no other golden does', () => {
    const files = readdirSync(GOLDEN_DIR).filter((f) => f.endsWith('.safetensors'));
    const hiddenOf = (file: string) => Number(/_h(\d+)_/.exec(file)?.[1]);
    const verdicts = pins(
      files.map((f) => goldenContract(join(GOLDEN_DIR, f))),
      7168,
    );
    const pinned = new Map<string, string>();
    files.forEach((f, i) => {
      expect(hiddenOf(f), f).toBeLessThanOrEqual(7168);
      if (verdicts[i] !== 'pin none' && !verdicts[i].startsWith('unsupported')) pinned.set(f, verdicts[i]);
    });
    const expected = files
      .filter((f) => PINNED_GOLDEN.test(f))
      .map((f) => [f, f.startsWith('aiter-1stage.gfx950') ? 'pin aiter-gfx950' : 'pin aiter-gfx950-quant'] as const);
    expect(expected.length).toBeGreaterThanOrEqual(14);
    expect(pinned).toEqual(new Map(expected));
  });

  check('--pins refuses a hidden size that is not a positive integer', () => {
    const file = join(scratch(), 'one.jsonl');
    writeFileSync(file, '{}\n');
    const run = spawnSync(CONTRACT_CHECK, ['--pins', '0', file], { encoding: 'utf8' });
    expect(run.status).toBe(2);
    expect(run.stderr).toContain("contract_check: --pins: expected a positive hidden size, got '0'");
  });
});
