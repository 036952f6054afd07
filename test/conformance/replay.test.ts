import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parseContract } from '../../src/contracts/validate.js';
import type { Contract } from '../../src/contracts/schema.js';
import { diffOutputs } from '../../src/diff/diff.js';
import { loadCandidate } from '../../src/diff/files.js';
import { runCpuEngine } from '../../src/engines/cpu/engine.js';
import { decodeSafetensors } from '../../src/fixtures/safetensors.js';
import { readGolden } from '../../src/fixtures/golden.js';

// Real kernels captured on an H200 (conformance/captures, provenance.json) replayed without a
// GPU: for every kernel that conformance/contracts.json names a contract for, the CPU engine
// computes that contract on the capture's inputs and every output must match the capture bit
// for bit, rows moved by the hardware rsqrt excepted (`diff --rstd infer`, up to 4 f32 ULP).
// Fails when a change to the engines or the contract space stops reproducing a real kernel.

const root = fileURLToPath(new URL('../../conformance/', import.meta.url));
interface KernelEntry {
  readonly explainBest: string;
  readonly contract: unknown;
}
const table = JSON.parse(readFileSync(`${root}contracts.json`, 'utf8')) as { kernels: Record<string, KernelEntry> };

function captureKernel(path: string): { kernel: string; golden: string } {
  const { metadata } = decodeSafetensors(new Uint8Array(readFileSync(path)), path);
  const info = JSON.parse(metadata['ulpwise.capture'] ?? 'null') as { kernel: string; golden: string } | null;
  if (!info) throw new Error(`${path}: no ulpwise.capture metadata`);
  return info;
}

const captures = readdirSync(`${root}captures`)
  .filter((f) => f.endsWith('.safetensors'))
  .sort();

describe('conformance captures replayed through their recorded contracts', () => {
  it('has captures and contracts for them', () => {
    expect(captures.length).toBe(42);
    expect(Object.keys(table.kernels).length).toBe(7);
  });
  for (const file of captures) {
    const path = `${root}captures/${file}`;
    const { kernel, golden } = captureKernel(path);
    const entry = table.kernels[kernel];
    if (!entry || entry.contract === null) continue; // compiled-hf-llama: no contract reproduces it (SPECS.md)
    it(`${file}: ${entry.explainBest}`, () => {
      const contract: Contract = parseContract(entry.contract);
      const input = readGolden(`${root}inputs/${golden}`);
      const outputs = runCpuEngine(contract, input.shape, input.inputs);
      const subject = { contract, shape: input.shape, inputs: input.inputs, outputs, file: golden, preset: entry.explainBest };
      const report = diffOutputs(subject, loadCandidate(path), path, { maxUlp: 0, worst: 3, rstdUlps: 4, listLimit: 10 });
      const failing = report.outputs.filter((o) => !o.pass).map((o) => `${o.name}: ${o.afterInference?.differing ?? o.stats.differing} differ`);
      expect(failing).toEqual([]);
    });
  }
});
