import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type * as ParallelModule from '../../src/engines/cpu/parallel.js';
import type * as EngineModule from '../../src/engines/cpu/engine.js';
import type * as GoldenModule from '../../src/fixtures/golden.js';
import type * as PresetsModule from '../../src/contracts/presets.js';
import type { Contract } from '../../src/contracts/schema.js';
import type { Tensor } from '../../src/numerics/tensor.js';

// The worker-thread engine against the single-threaded one, bit for bit. Workers run compiled
// JavaScript, so both sides come from dist/ (built by `npm test`'s pretest), and every case
// asserts that it really ran on several threads.

const ROOT = join(__dirname, '../..');
const dist = (path: string) => import(join(ROOT, 'dist', path));
const { runCpuEngineParallel, cpuThreads } = (await dist('src/engines/cpu/parallel.js')) as typeof ParallelModule;
const { runCpuEngine } = (await dist('src/engines/cpu/engine.js')) as typeof EngineModule;
const { buildCase, readGolden } = (await dist('src/fixtures/golden.js')) as typeof GoldenModule;
const { listPresets } = (await dist('src/contracts/presets.js')) as typeof PresetsModule;

function bytesOf(t: Tensor): Buffer {
  return Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
}

function expectSameOutputs(actual: Map<string, Tensor>, expected: Map<string, Tensor>): void {
  expect([...actual.keys()]).toEqual([...expected.keys()]);
  for (const [name, t] of expected) {
    const a = actual.get(name)!;
    expect(a.dtype, name).toBe(t.dtype);
    expect(a.shape, name).toEqual(t.shape);
    expect(bytesOf(a).equals(bytesOf(t)), `${name} bits`).toBe(true);
  }
}

const GENERATORS = ['random', 'special', 'cancellation', 'subnormals', 'fp8-saturation', 'bf16-ties'];

describe('cpu engine on worker threads', () => {
  const cases: { name: string; contract: Contract; ranks: number; hidden: number }[] = [];
  for (const preset of listPresets()) {
    cases.push({ name: preset.name, contract: preset.contract, ranks: preset.ranks ?? 4, hidden: 4096 });
  }
  // Per-rank outputs: own-first order on a quant contract with packed scales.
  const packed = listPresets().find((p) => p.contract.quant?.scaleLayout.kind === 'packed-ue8m0')!;
  const ownFirst: Contract = { ...packed.contract, allReduce: { ...packed.contract.allReduce, order: { kind: 'own-first' } } };
  cases.push({ name: `${packed.name} own-first`, contract: ownFirst, ranks: 4, hidden: 4096 });

  it('covers every tree kind, both non-row-major scale layouts and own-first', () => {
    const trees = new Set(cases.map((c) => c.contract.norm.sumOfSquares.tree.kind));
    for (const kind of ['sequential', 'butterfly', 'cub', 'dpp-wave64', 'smem-halving', 'triton-sum', 'cluster']) expect(trees, kind).toContain(kind);
    const layouts = new Set(cases.map((c) => c.contract.quant?.scaleLayout.kind));
    expect(layouts).toContain('column-major');
    expect(layouts).toContain('packed-ue8m0');
    expect(cases.some((c) => c.contract.allReduce.order.kind === 'own-first')).toBe(true);
  });

  cases.forEach((c, index) => {
    it(`${c.name}: 3 threads equal 1 thread bit for bit`, async () => {
      const inputs = GENERATORS[index % GENERATORS.length];
      const spec = { preset: c.name.split(' ')[0], ranks: c.ranks, tokens: 7, hidden: c.hidden, group: null, inputs, seed: 11 + index };
      const built = buildCase(spec, c.contract);
      expect(cpuThreads(built.shape, { threads: 3 })).toBe(3);
      const single = runCpuEngine(built.contract, built.shape, built.inputs);
      const parallel = await runCpuEngineParallel(built.contract, built.shape, built.inputs, { threads: 3 });
      expectSameOutputs(parallel, single);
    });
  });

  it('falls back to one thread when diff hooks are given, and they still apply', async () => {
    const built = buildCase({ preset: 'aiter-1stage-quant', ranks: 8, tokens: 4, hidden: 7168, group: null, inputs: 'random', seed: 3 });
    const hooks = { rstdOverride: (_row: number, rstd: number) => rstd * 2, threads: 3 };
    expect(cpuThreads(built.shape, hooks)).toBe(1);
    const hooked = await runCpuEngineParallel(built.contract, built.shape, built.inputs, hooks);
    expectSameOutputs(hooked, runCpuEngine(built.contract, built.shape, built.inputs, hooks));
    const plain = runCpuEngine(built.contract, built.shape, built.inputs);
    expect(bytesOf(hooked.get('out.norm')!).equals(bytesOf(plain.get('out.norm')!))).toBe(false);
  });

  it('equals the committed goldens where the single-threaded engine does', async () => {
    const dir = join(ROOT, 'golden');
    let compared = 0;
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.safetensors'))) {
      const golden = readGolden(join(dir, file));
      if (golden.shape.tokens < 2) continue;
      const single = runCpuEngine(golden.contract, golden.shape, golden.inputs);
      const matches = [...golden.outputs].every(([name, t]) => single.has(name) && bytesOf(single.get(name)!).equals(bytesOf(t)));
      if (!matches) continue;
      const threads = Math.min(3, golden.shape.tokens);
      const parallel = await runCpuEngineParallel(golden.contract, golden.shape, golden.inputs, { threads });
      expectSameOutputs(parallel, single);
      compared++;
    }
    expect(compared).toBeGreaterThan(0);
    console.log(`parallel engine equal to ${compared} multi-row goldens`);
  });
});
