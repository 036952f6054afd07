import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { diffCommand } from '../../src/cli/commands/diff.js';
import { explainCommand } from '../../src/cli/commands/explain.js';
import type { Command } from '../../src/cli/args.js';
import { writeSafetensors } from '../../src/fixtures/safetensors.js';
import { diffOutputs, type DiffOptions, type GoldenSubject } from '../../src/diff/diff.js';
import { explainCandidate } from '../../src/diff/explain.js';
import type { ExplainReport } from '../../src/diff/explainReport.js';
import { loadGolden } from '../../src/diff/files.js';
import { diffOutputsOnGpu, explainCandidateOnGpu } from '../../src/diff/gpuDiff.js';
import { fittedOutputsOnGpu } from '../../src/diff/gpuFitted.js';
import { sameCodeOf } from '../../src/diff/compare.js';
import { runCpuEngine } from '../../src/engines/cpu/engine.js';
import type { AdapterKind } from '../../src/engines/webgpu/device.js';
import { planCase } from '../../src/engines/webgpu/plan.js';
import { InputBufferCache } from '../../src/engines/webgpu/upload.js';
import type { Tensor } from '../../src/numerics/tensor.js';
import { SOFTWARE_ADAPTERS, suiteDevice } from '../webgpu/software-adapters.js';
import { copyTensor, flipBit } from './helpers.js';

// diff and explain with the comparison on the GPU (src/diff/gpuDiff.ts, gpuFitted.ts) against
// the CPU's reports, byte for byte as JSON, on committed goldens and planted faults: the
// candidates are the golden's own outputs, some with bits flipped, a NaN or an Inf planted, or
// whole rows from another preset's contract run on the golden's inputs.

const GOLDENS = [
  'aiter-1stage-quant.gfx950__tp2_m2_h4096_random_s4.safetensors',
  'vllm-group-quant-colmajor__tp2_m2_h4096_random_s4.safetensors',
  'vllm-group-quant-ue8m0__tp2_m2_h4096_random_s4.safetensors',
  'aiter-1stage.gfx950__tp2_m16_h2880_random_s5.safetensors',
  'flashinfer-oneshot.sm90__tp2_m2_h2880_random_s4.safetensors',
];

const golden = (file: string): GoldenSubject => loadGolden(join('golden', file));

/** The golden's outputs with faults planted in the last row (and in row 0 of q): a flipped low
 *  bit of the norm, a NaN and an Inf in the residual, a flipped code. */
function planted(g: GoldenSubject): Map<string, Tensor> {
  const { tokens, hidden } = g.shape;
  const last = (tokens - 1) * hidden;
  const out = new Map<string, Tensor>();
  for (const [name, t] of g.outputs) {
    let c = copyTensor(t);
    if (name === 'out.norm') c = flipBit(flipBit(c, last + 3, 0), last + 100, 5);
    if (name === 'out.residual') {
      c.data[last + 7] = 0x7fc0;
      c.data[last + 8] = (c.data[last + 8] & 0x8000) | 0x7f80;
    }
    if (name === 'out.q') c = flipBit(flipBit(c, 5, 1), last + 11, 0);
    out.set(name, c);
  }
  return out;
}

/** Another contract's outputs on the golden's inputs (eps 10^8 times the golden's: 100, near the inputs' mean square): most rows differ. */
function otherContract(g: GoldenSubject): Map<string, Tensor> {
  return runCpuEngine({ ...g.contract, norm: { ...g.contract.norm, eps: g.contract.norm.eps * 1e8 } }, g.shape, g.inputs);
}

/** The candidate under per-rank names, rank 1's residual with a flipped bit: two candidates pair with one reference. */
function perRank(g: GoldenSubject): Map<string, Tensor> {
  const out = new Map<string, Tensor>();
  for (const [name, t] of g.outputs) {
    out.set(name.replace('out.', 'rank0.out.'), t);
    out.set(name.replace('out.', 'rank1.out.'), name === 'out.residual' ? flipBit(t, g.shape.hidden + 1, 0) : t);
  }
  return out;
}

const cpuExplained = new Map<string, ExplainReport>();

const OPTIONS: DiffOptions = { maxUlp: 0, worst: 10, rstdUlps: null, scaleUlps: null, listLimit: 1000 };

describe.each(SOFTWARE_ADAPTERS)('diff and explain on the GPU (%s) against the CPU', (kind: AdapterKind) => {
  const device = suiteDevice(kind);

  it.for(GOLDENS)('diff reports equal byte for byte on %s', async (file, { skip }) => {
    const ctx = device(skip);
    const g = golden(file);
    const cases: [string, Map<string, Tensor>, DiffOptions][] = [
      ['exact', new Map(g.outputs), OPTIONS],
      ['planted', planted(g), OPTIONS],
      [
        'planted, rstd and scale inference',
        planted(g),
        { ...OPTIONS, rstdUlps: 2, scaleUlps: g.contract.quant && g.contract.quant.scaleLayout.kind !== 'packed-ue8m0' ? 2 : null },
      ],
      ['other contract', otherContract(g), OPTIONS],
      ['per rank', perRank(g), OPTIONS],
    ];
    for (const [label, candidate, options] of cases) {
      const cpu = diffOutputs(g, candidate, 'candidate.safetensors', options);
      const gpu = await diffOutputsOnGpu(ctx, g, candidate, 'candidate.safetensors', options);
      expect(JSON.stringify(gpu, null, 2), `${file}: ${label}`).toBe(JSON.stringify(cpu, null, 2));
      // Not vacuous: a planted fault is found.
      if (label !== 'exact') expect(cpu.pass, `${file}: ${label}`).toBe(false);
    }
  });

  it('reads back only the differing rows, which hold the engine bits, over several chunks', async ({ skip }) => {
    const ctx = device(skip);
    const g = golden('aiter-1stage.gfx950__tp2_m16_h2880_random_s5.safetensors');
    const candidate = new Map(g.outputs);
    // Rows 5 and 13 of the norm differ: chunks of 4 rows, so chunks 1 and 3 run again.
    candidate.set('out.norm', flipBit(flipBit(g.outputs.get('out.norm')!, 5 * 2880 + 9, 0), 13 * 2880, 3));
    const fitted = await fittedOutputsOnGpu(ctx, g.contract, g.shape, g.inputs, candidate, { plan: { maxRowsPerChunk: 4 } });
    expect(fitted.rowsToScan?.get('out.norm')).toEqual([5, 13]);
    expect(fitted.rowsToScan?.get('out.residual')).toEqual([]);
    const engine = runCpuEngine(g.contract, g.shape, g.inputs);
    for (const [name, reference] of engine) {
      const gpu = fitted.outputs.get(name)!;
      const same = sameCodeOf(reference.dtype);
      expect(
        gpu.data.every((code, i) => same(code, reference.data[i])),
        name,
      ).toBe(true);
    }
    expect([...fitted.outputs.get('out.norm')!.data.subarray(5 * 2880, 6 * 2880)]).toEqual([...engine.get('out.norm')!.data.subarray(5 * 2880, 6 * 2880)]);
  });

  it('keeps the inputs uploaded (alone, or by a fit) for the next fit of the same layout, and uploads again for another', async ({ skip }) => {
    const ctx = device(skip);
    const g = golden('aiter-1stage.gfx950__tp2_m16_h2880_random_s5.safetensors');
    const candidate = new Map(g.outputs);
    candidate.set('out.norm', flipBit(g.outputs.get('out.norm')!, 5 * 2880 + 9, 0));
    const engine = runCpuEngine(g.contract, g.shape, g.inputs);
    const inputCache = new InputBufferCache();
    try {
      // The input buffers alone, uploaded ahead of any fit (as explainCandidateOnGpu does during
      // the search), in chunks of 4 rows.
      await inputCache.upload(ctx, g.contract, g.shape, g.inputs, { maxRowsPerChunk: 4 });
      const early = inputCache.find(g.inputs, planCase(g.contract, g.shape, g.inputs, ctx.limits, { maxRowsPerChunk: 4 }));
      expect(early).not.toBeNull();
      const fits = [];
      const kept = [];
      // Chunks of 4 rows (the early buffers used), again, then chunks of 8 (a new layout).
      for (const maxRowsPerChunk of [4, 4, 8]) {
        fits.push(await fittedOutputsOnGpu(ctx, g.contract, g.shape, g.inputs, candidate, { plan: { maxRowsPerChunk }, inputCache }));
        kept.push(inputCache.find(g.inputs, planCase(g.contract, g.shape, g.inputs, ctx.limits, { maxRowsPerChunk })));
      }
      expect(kept[0]).toBe(early);
      expect(kept[1]).toBe(kept[0]);
      expect(kept[2]).not.toBeNull();
      expect(kept[2]).not.toBe(kept[0]);
      for (const fitted of fits) {
        expect(fitted.rowsToScan?.get('out.norm')).toEqual([5]);
        for (const [name, reference] of engine) {
          const same = sameCodeOf(reference.dtype);
          expect(
            fitted.outputs.get(name)!.data.every((code, i) => same(code, reference.data[i])),
            name,
          ).toBe(true);
        }
      }
    } finally {
      inputCache.release();
    }
    expect(inputCache.find(g.inputs, planCase(g.contract, g.shape, g.inputs, ctx.limits, { maxRowsPerChunk: 8 }))).toBeNull();
  });

  it('reads back whole an output a candidate cannot be compared with (another dtype), bit for bit', async ({ skip }) => {
    const ctx = device(skip);
    const g = golden('aiter-1stage.gfx950__tp2_m16_h2880_random_s5.safetensors');
    const candidate = new Map(g.outputs);
    candidate.set('out.norm', { dtype: 'F32', shape: [16, 2880], data: new Uint32Array(16 * 2880) });
    const fitted = await fittedOutputsOnGpu(ctx, g.contract, g.shape, g.inputs, candidate, { plan: { maxRowsPerChunk: 4 } });
    expect(fitted.rowsToScan?.has('out.norm')).toBe(false);
    expect(fitted.outputs.get('out.norm')!.data).toEqual(runCpuEngine(g.contract, g.shape, g.inputs).get('out.norm')!.data);
  });

  it.for([
    ['aiter-1stage-quant.gfx950__tp2_m2_h4096_random_s4.safetensors', 'planted'],
    ['vllm-group-quant-colmajor__tp2_m2_h4096_random_s4.safetensors', 'other contract'],
    ['flashinfer-oneshot.sm90__tp2_m2_h2880_random_s4.safetensors', 'per rank'],
  ] as const)('explain reports equal byte for byte on %s (%s)', async ([file, label], { skip }) => {
    const ctx = device(skip);
    const g = golden(file);
    const candidate = label === 'planted' ? planted(g) : label === 'per rank' ? perRank(g) : otherContract(g);
    const { outputs, ...inputsOnly } = g;
    expect(outputs.size).toBeGreaterThan(0);
    // The planted case with the rstd search on: its rows are those the GPU found differing.
    const options = { rstdUlps: label === 'planted' ? 2 : null, scaleUlps: null };
    // The CPU's report, computed once for both adapters (the search dominates a run).
    const cpu = cpuExplained.get(`${file} ${label}`) ?? (await explainCandidate(inputsOnly, candidate, 'candidate.safetensors', options));
    cpuExplained.set(`${file} ${label}`, cpu);
    const gpu = await explainCandidateOnGpu(ctx, inputsOnly, candidate, 'candidate.safetensors', options);
    expect(JSON.stringify(gpu, null, 2)).toBe(JSON.stringify(cpu, null, 2));
  });
  it('the CLI prints the same JSON with --engine webgpu as with --engine cpu (diff and explain)', async ({ skip }) => {
    device(skip);
    const file = 'flashinfer-oneshot.sm90__tp2_m2_h2880_random_s4.safetensors';
    const candidatePath = join(mkdtempSync(join(tmpdir(), 'ulpwise-gpuengine-')), 'candidate.safetensors');
    writeSafetensors(candidatePath, [...planted(golden(file))]);
    const printed = async (command: Command, argv: string[]): Promise<{ code: number; text: string }> => {
      const log = vi.spyOn(console, 'log').mockImplementation(() => {});
      try {
        const code = await command.run(argv);
        return { code, text: log.mock.calls.map((c) => String(c[0])).join('\n') };
      } finally {
        log.mockRestore();
      }
    };
    const gpu = ['--engine', 'webgpu', '--adapter', kind];
    const diffArgs = [join('golden', file), candidatePath, '--json', '--rstd', 'infer'];
    const diffCpu = await printed(diffCommand, [...diffArgs, '--engine', 'cpu']);
    expect(diffCpu.code).toBe(1);
    expect(await printed(diffCommand, [...diffArgs, ...gpu])).toEqual(diffCpu);
    const explainArgs = [candidatePath, '--inputs', join('golden', file), '--json'];
    const explainCpu = await printed(explainCommand, explainArgs);
    expect(await printed(explainCommand, [...explainArgs, ...gpu])).toEqual(explainCpu);
  });
});
