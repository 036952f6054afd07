import type { Contract, Shape } from '../contracts/schema.js';
import { outputName, scaleDtype, scaleShape, scaleWords, type CaseInputs, type OutputKind } from '../engines/io.js';
import { compareRowsOnGpu, createTallies, differingRowsOf, type GpuCompareFormat } from '../engines/webgpu/compare.js';
import { withErrorScopes, type GpuContext } from '../engines/webgpu/device.js';
import { outputOffsetBytes, outputWords, placeScales, type OutputRole } from '../engines/webgpu/outputs.js';
import { StagedWrites } from '../engines/webgpu/staging.js';
import { readWords } from '../engines/webgpu/buffers.js';
import { submitChunk } from '../engines/webgpu/submit.js';
import { releaseCase, uploadCase, type ChunkWork, type InputBufferCache, type UploadedCase } from '../engines/webgpu/upload.js';
import type { PlanOptions } from '../engines/webgpu/plan.js';
import { FP8_DTYPE, type Tensor } from '../numerics/tensor.js';
import { ulpFormatOf } from './compare.js';
import type { FittedOutputs } from './explainRescore.js';
import { incompatibility, parseOutputName, referenceNameFor } from './pairs.js';

// explain's fitted contract run over the whole case on the GPU (the WebGPU engine) and compared
// with the candidate there, row by row (shaders/diff/compareRows.wgsl), so that only the rows
// that differ come back:
//   1. every chunk's stages, then the compare of each candidate output with the chunk's output
//      (the candidate's rows of the chunk written, through the staging buffers, into one buffer
//      per candidate output); the per-row tallies and the scales (a word per quant group,
//      small) are read back;
//   2. the chunks holding a differing row run again and those rows alone are taken from their
//      readback.
// The reference output given to rescoring is the candidate's own codes with the differing rows
// replaced by the engine's: on every other row each code is the same as the engine's (NaN codes
// as one class, compare.ts sameCode), so everything rescoring reads of it (differing elements,
// their rows, groups and bits) is what the CPU engine's whole output gives.

const ROLE_OF: Readonly<Record<OutputKind, OutputRole>> = { residual: 'residualOut', norm: 'normOut', q: 'q', scale: 'scales' };

interface EngineOutput {
  readonly name: string;
  readonly kind: OutputKind;
  readonly rankIndex: number;
  readonly dtype: Tensor['dtype'];
  readonly shape: readonly number[];
}

/** The outputs the case writes, named and ordered as the engines name them (outputs.ts outputTensors). */
function engineOutputs(uploaded: UploadedCase): EngineOutput[] {
  const { plan } = uploaded;
  const { tokens, hidden } = plan.shape;
  const quant = plan.contract.quant;
  const out: EngineOutput[] = [];
  for (const [rankIndex, outputRank] of plan.outputRanks.entries()) {
    const rank = plan.outputRanks.length > 1 ? outputRank : null;
    const add = (kind: OutputKind, dtype: Tensor['dtype'], shape: readonly number[]): number =>
      out.push({ name: outputName(kind, rank), kind, rankIndex, dtype, shape });
    if (plan.emits.residual) add('residual', 'BF16', [tokens, hidden]);
    if (plan.emits.norm) add('norm', 'BF16', [tokens, hidden]);
    if (quant) {
      add('q', FP8_DTYPE[quant.format], [tokens, hidden]);
      add('scale', scaleDtype(quant.scaleLayout), scaleShape(quant.scaleLayout, tokens, plan.groups));
    }
  }
  return out;
}

/** A candidate output compared on the GPU with the engine's output it pairs with. */
interface Comparison {
  readonly candidateName: string;
  readonly output: EngineOutput;
  readonly candidate: Tensor;
  tallies?: GPUBuffer;
  /** The candidate's rows of the chunk being compared. */
  rows?: GPUBuffer;
}

export interface GpuFitOptions {
  /** Chunking of the case (tests cut it into chunks of a few rows). */
  readonly plan?: PlanOptions;
  /** Wall milliseconds per phase are added here (bench/explain-gpu.ts). */
  readonly phaseMs?: Map<string, number>;
  /** Input buffers kept from an earlier fit to the same inputs, and for the next (explain's
   *  search rounds: explainCandidateOnGpu). */
  readonly inputCache?: InputBufferCache;
}

export async function fittedOutputsOnGpu(
  ctx: GpuContext,
  contract: Contract,
  shape: Shape,
  inputs: CaseInputs,
  candidate: ReadonlyMap<string, Tensor>,
  options: GpuFitOptions = {},
): Promise<FittedOutputs> {
  let phaseStarted = performance.now();
  const phaseDone = (phase: string): void => {
    const now = performance.now();
    options.phaseMs?.set(phase, (options.phaseMs.get(phase) ?? 0) + now - phaseStarted);
    phaseStarted = now;
  };
  // No mappable buffers per chunk ('none' readback: the scales and the differing rows are copied
  // out below), and one output set: with no large copies out of the outputs, a chunk's pass has
  // nothing to overlap that a set of its own would free it from waiting for.
  const uploaded = await uploadCase(ctx, contract, shape, inputs, {
    ...options.plan,
    readback: 'none',
    outputSetBudgetBytes: 0,
    inputCache: options.inputCache,
  });
  phaseDone('upload');
  const owned: GPUBuffer[] = [];
  const make = (label: string, bytes: number, usage: number): GPUBuffer => {
    const buffer = ctx.device.createBuffer({ label, size: Math.max(4, Math.ceil(bytes / 4) * 4), usage });
    owned.push(buffer);
    return buffer;
  };
  try {
    const { plan } = uploaded;
    const { tokens, hidden } = plan.shape;
    const maxRows = Math.max(...plan.chunks.map((c) => c.count));
    const produced = engineOutputs(uploaded);
    const byName = new Map(produced.map((o) => [o.name, { dtype: o.dtype, shape: [...o.shape], data: new Uint8Array(0) } as Tensor]));
    // Outputs read back whole: the scales, and any output a candidate cannot be compared with
    // element for element (rescoring notes why; reading it costs nothing then).
    const whole = new Set<string>();
    const comparisons: Comparison[] = [];
    for (const [name, tensor] of candidate) {
      const referenceName = referenceNameFor(name, byName);
      if (referenceName === null || parseOutputName(name) === null) continue;
      const output = produced.find((o) => o.name === referenceName)!;
      if (output.kind === 'scale' || incompatibility(byName.get(referenceName)!, tensor) !== null) whole.add(referenceName);
      else comparisons.push({ candidateName: name, output, candidate: tensor });
    }
    for (const c of comparisons) {
      c.tallies = await createTallies(ctx, tokens, `tallies of ${c.candidateName}`);
      owned.push(c.tallies);
      // One chunk's rows of the candidate at a time, rewritten for each chunk once its compare is
      // queued (the queue runs the compare before the next write's copy).
      c.rows = await withErrorScopes(ctx.device, `rows of ${c.candidateName}`, () =>
        make(`${c.candidateName} rows`, maxRows * hidden * c.candidate.data.BYTES_PER_ELEMENT, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST),
      );
    }
    // Each output rank's scales, every chunk's at its rows' offset (as 'mapped' readback places them).
    const scaleReadbacks = plan.emits.quant
      ? await withErrorScopes(ctx.device, 'scales readback', () =>
          plan.outputRanks.map((outputRank) =>
            make(`scales readback rank ${outputRank}`, 4 * outputWords(plan, 'scales', tokens), GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST),
          ),
        )
      : [];

    // 1. Stages, compares, and the scales' readback.
    const allStages = uploaded.stages.map((_, i) => i);
    for (const chunk of uploaded.chunks) {
      for (const rankIndex of chunk.bindGroups.keys()) {
        await withErrorScopes(ctx.device, 'running the fit', () => submitChunk(uploaded, chunk, rankIndex, allStages, false));
        const { first, count } = chunk.range;
        const compared = comparisons.filter((c) => c.output.rankIndex === rankIndex);
        const rows = new StagedWrites(ctx, `uploading the candidate's rows ${first}+${count}`);
        for (const c of compared) await rows.write(c.rows!, 0, c.candidate.data.subarray(first * hidden, (first + count) * hidden));
        await rows.flush();
        for (const c of compared) {
          const format = ulpFormatOf(c.candidate.dtype) as GpuCompareFormat;
          const reference = chunk.outputs[rankIndex][ROLE_OF[c.output.kind]];
          await compareRowsOnGpu(ctx, { reference, candidate: c.rows!, format, rows: count, rowLength: hidden, firstRow: first, tallies: c.tallies! });
        }
        if (plan.emits.quant) {
          const offset = outputOffsetBytes(plan, 'scales', chunk.range.first);
          await copyOut(uploaded, chunk, rankIndex, [['scales', scaleReadbacks[rankIndex], offset]]);
        }
      }
    }
    const outputs = new Map<string, Tensor>();
    const quant = plan.contract.quant;
    if (quant) {
      for (const scale of produced.filter((o) => o.kind === 'scale')) {
        const words = new Uint32Array(scaleWords(quant.scaleLayout, tokens, plan.groups));
        await mapped(scaleReadbacks[scale.rankIndex], (range) =>
          placeScales(words, new Uint32Array(range), { first: 0, count: tokens }, plan.groups, tokens, quant.scaleLayout),
        );
        outputs.set(scale.name, { dtype: scale.dtype, shape: [...scale.shape], data: words } as Tensor);
      }
    }

    // The rows each engine output must hold exactly: those where a candidate compared with it
    // differs (the union over candidates: on the other rows each is the same as the output).
    const rowsToScan = new Map<string, readonly number[]>();
    const neededRows = new Map<string, Set<number>>();
    for (const c of comparisons) {
      const rows = differingRowsOf(await readWords(ctx, c.tallies!), tokens);
      rowsToScan.set(c.candidateName, rows);
      const needed = neededRows.get(c.output.name) ?? new Set<number>();
      for (const m of rows) needed.add(m);
      neededRows.set(c.output.name, needed);
    }
    for (const name of whole) if (!outputs.has(name)) neededRows.set(name, new Set(Array.from({ length: tokens }, (_, m) => m)));
    for (const c of comparisons) {
      if (outputs.has(c.output.name)) continue;
      // The candidate's codes, the engine's on the rows where they differ (filled in below); the
      // candidate's own array where no row differs (nothing writes to a reference output).
      const data = neededRows.get(c.output.name)!.size === 0 ? c.candidate.data : c.candidate.data.slice();
      outputs.set(c.output.name, { dtype: c.output.dtype, shape: [...c.output.shape], data } as Tensor);
    }
    for (const name of whole) {
      if (outputs.has(name)) continue;
      const output = produced.find((o) => o.name === name)!;
      const data = output.dtype === 'BF16' ? new Uint16Array(tokens * hidden) : new Uint8Array(tokens * hidden);
      outputs.set(name, { dtype: output.dtype, shape: [...output.shape], data } as Tensor);
    }

    phaseDone('run, compare, tallies and scales read back');

    // 2. The chunks that hold a needed row, run again; their needed rows copied out, through one
    // mappable buffer per output role, made when first needed.
    const rowReadbacks = new Map<OutputRole, GPUBuffer>();
    const rowReadback = async (role: OutputRole): Promise<GPUBuffer> => {
      let made = rowReadbacks.get(role);
      if (made === undefined) {
        made = await withErrorScopes(ctx.device, `${role} readback`, () =>
          make(`${role} readback`, 4 * outputWords(plan, role, maxRows), GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST),
        );
        rowReadbacks.set(role, made);
      }
      return made;
    };
    for (const chunk of uploaded.chunks) {
      const { first, count } = chunk.range;
      for (const rankIndex of chunk.bindGroups.keys()) {
        const here = produced.filter((o) => o.rankIndex === rankIndex && o.kind !== 'scale' && neededRows.has(o.name));
        const rowsOf = (o: EngineOutput): number[] => [...neededRows.get(o.name)!].filter((m) => m >= first && m < first + count);
        const wanted = here.filter((o) => rowsOf(o).length > 0);
        if (wanted.length === 0) continue;
        await withErrorScopes(ctx.device, 'running the fit again', () => submitChunk(uploaded, chunk, rankIndex, allStages, false));
        const copies: [OutputRole, GPUBuffer, number][] = [];
        for (const o of wanted) copies.push([ROLE_OF[o.kind], await rowReadback(ROLE_OF[o.kind]), 0]);
        await copyOut(uploaded, chunk, rankIndex, copies);
        for (const o of wanted) {
          const target = outputs.get(o.name)!.data;
          await mapped(rowReadbacks.get(ROLE_OF[o.kind])!, (range) => {
            const staged = o.kind === 'q' ? new Uint8Array(range, 0, count * hidden) : new Uint16Array(range, 0, count * hidden);
            for (const m of rowsOf(o)) target.set(staged.subarray((m - first) * hidden, (m - first + 1) * hidden), m * hidden);
          });
        }
      }
    }
    phaseDone('differing rows run again and read back');
    return { outputs: new Map(produced.filter((o) => outputs.has(o.name)).map((o) => [o.name, outputs.get(o.name)!])), rowsToScan };
  } finally {
    for (const buffer of owned) buffer.destroy();
    releaseCase(uploaded);
  }
}

/** Queues copies of these outputs of the chunk (its rows, at offset 0 of its output buffers,
 *  ChunkWork.outputs) into mappable buffers at the offsets given. */
function copyOut(uploaded: UploadedCase, chunk: ChunkWork, rankIndex: number, copies: readonly (readonly [OutputRole, GPUBuffer, number])[]): Promise<void> {
  const { device } = uploaded.ctx;
  const label = `readback of ${copies.map(([role]) => role).join(', ')} rows ${chunk.range.first}+${chunk.range.count}`;
  return withErrorScopes(device, label, () => {
    const encoder = device.createCommandEncoder({ label });
    for (const [role, target, offsetBytes] of copies)
      encoder.copyBufferToBuffer(chunk.outputs[rankIndex][role], 0, target, offsetBytes, 4 * outputWords(uploaded.plan, role, chunk.range.count));
    device.queue.submit([encoder.finish()]);
  });
}

/** Maps a readback buffer once its copies are done, hands its contents to `take`, unmaps it. */
async function mapped(readback: GPUBuffer, take: (range: ArrayBuffer) => void): Promise<void> {
  await readback.mapAsync(GPUMapMode.READ);
  try {
    take(readback.getMappedRange());
  } finally {
    readback.unmap();
  }
}
