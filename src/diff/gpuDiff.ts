import type { Engine } from '../engines/engine.js';
import type { WebGpuEngine } from '../engines/webgpu/engine.js';
import { compareTensorRows, differingRowsOf, TALLY_WORDS, type GpuCompareFormat } from '../engines/webgpu/compare.js';
import type { GpuContext } from '../engines/webgpu/device.js';
import { InputBufferCache } from '../engines/webgpu/upload.js';
import type { Tensor } from '../numerics/tensor.js';
import { ulpFormatOf } from './compare.js';
import { diffOutputs, DEFAULT_DIFF_OPTIONS, type DiffOptions, type GoldenSubject } from './diff.js';
import { explainCandidate, explainCandidateWith, type ExplainedGolden, type ExplainOptions } from './explain.js';
import type { ExplainReport } from './explainReport.js';
import { fittedOutputsOnGpu, type GpuFitOptions } from './gpuFitted.js';
import { pairOutputs } from './pairs.js';
import type { DiffReport, MismatchStats } from './report.js';

// `diff --engine webgpu` and `explain --engine webgpu`: the same reports as the CPU's, with the
// element-by-element comparison of the large outputs (residual, norm, q) done on the GPU
// (shaders/diff/compareRows.wgsl) and only the rows it finds differing scanned on the host.

/** diffOutputs with the golden's residual, norm and q outputs compared with the candidate's on
 *  the GPU first: the report's scan then visits only the rows that differ. The GPU's tallies are
 *  checked against the report's own (an error names the output where they disagree). */
export async function diffOutputsOnGpu(
  ctx: GpuContext,
  golden: GoldenSubject,
  candidate: ReadonlyMap<string, Tensor>,
  candidateFile: string,
  options: DiffOptions = DEFAULT_DIFF_OPTIONS,
): Promise<DiffReport> {
  const { tokens, hidden } = golden.shape;
  // pairOutputs refuses what diffOutputs would, before anything is uploaded.
  const { pairs } = pairOutputs(golden.outputs, candidate, golden.shape.ranks, candidateFile);
  const rowsToScan = new Map<string, readonly number[]>();
  const gpuStats = new Map<string, MismatchStats>();
  for (const pair of pairs) {
    if (pair.kind === 'scale') continue;
    const tallies = await compareTensorRows(ctx, pair.reference, pair.candidate, ulpFormatOf(pair.reference.dtype) as GpuCompareFormat, hidden);
    rowsToScan.set(pair.name, differingRowsOf(tallies, tokens));
    gpuStats.set(pair.name, statsOf(tallies, tokens));
  }
  const report = diffOutputs(golden, candidate, candidateFile, options, rowsToScan);
  for (const output of report.outputs) {
    const gpu = gpuStats.get(output.name);
    const keys = Object.keys(output.stats) as (keyof MismatchStats)[];
    if (gpu && keys.some((k) => gpu[k] !== output.stats[k]))
      throw new Error(`internal: the GPU compare of ${output.name} counts ${JSON.stringify(gpu)}, the host's scan of its rows ${JSON.stringify(output.stats)}`);
  }
  return report;
}

/** An output's statistics summed from its per-row tallies, keyed as MismatchStats. */
function statsOf(tallies: Uint32Array, rows: number): MismatchStats {
  let differing = 0;
  let nanMismatches = 0;
  let infMismatches = 0;
  let maxUlp = 0;
  let differingRows = 0;
  for (let r = 0; r < rows; r++) {
    const at = TALLY_WORDS * r;
    differing += tallies[at];
    nanMismatches += tallies[at + 1];
    infMismatches += tallies[at + 2];
    maxUlp = Math.max(maxUlp, tallies[at + 3]);
    if (tallies[at] > 0) differingRows++;
  }
  return { differing, nanMismatches, infMismatches, maxUlp, rows: differingRows };
}

/** explainCandidate with the fitted contract run and compared on the GPU (src/diff/gpuFitted.ts).
 *  The inputs go up while the search runs (it waits on its scoring threads, scoreThreads.ts, and
 *  the upload's copies run then), the input buffers alone, laid out for the golden's contract;
 *  the search rounds' fits take them from the InputBufferCache, and a fit whose layout differs
 *  (another rank order) uploads its own. `fit`: phase timings (bench/explain-gpu.ts). */
export async function explainCandidateOnGpu(
  ctx: GpuContext,
  golden: ExplainedGolden,
  candidate: ReadonlyMap<string, Tensor>,
  candidateFile: string,
  options: ExplainOptions,
  fit: Pick<GpuFitOptions, 'phaseMs'> = {},
): Promise<ExplainReport> {
  const inputCache = new InputBufferCache();
  // A failed early upload leaves the cache empty; the fit's own upload then reports the error.
  const early = inputCache.upload(ctx, golden.contract, golden.shape, golden.inputs).catch(() => undefined);
  try {
    return await explainCandidateWith(golden, candidate, candidateFile, options, async (contract) => {
      const waited = performance.now();
      await early;
      fit.phaseMs?.set('early upload waited for', (fit.phaseMs.get('early upload waited for') ?? 0) + performance.now() - waited);
      return fittedOutputsOnGpu(ctx, contract, golden.shape, golden.inputs, candidate, { ...fit, inputCache });
    });
  } finally {
    await early;
    inputCache.release();
  }
}

function onGpu(engine: Engine): engine is WebGpuEngine {
  return 'ctx' in engine;
}

/** `diff --engine`: the comparison on the engine's GPU, or on the host for the CPU engine. */
export async function diffOn(
  engine: Engine,
  golden: GoldenSubject,
  candidate: ReadonlyMap<string, Tensor>,
  candidateFile: string,
  options: DiffOptions,
): Promise<DiffReport> {
  return onGpu(engine) ? await diffOutputsOnGpu(engine.ctx, golden, candidate, candidateFile, options) : diffOutputs(golden, candidate, candidateFile, options);
}

/** `explain --engine`: the fitted contract run and compared on the engine's GPU, or by the CPU engine. */
export async function explainOn(
  engine: Engine,
  golden: ExplainedGolden,
  candidate: ReadonlyMap<string, Tensor>,
  candidateFile: string,
  options: ExplainOptions,
): Promise<ExplainReport> {
  return onGpu(engine)
    ? await explainCandidateOnGpu(engine.ctx, golden, candidate, candidateFile, options)
    : explainCandidate(golden, candidate, candidateFile, options);
}
