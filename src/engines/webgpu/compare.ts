import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FP8_TRAITS } from '../../numerics/fp8.js';
import type { Tensor } from '../../numerics/tensor.js';
import type { UlpFormat } from '../../numerics/ulp.js';
import { PACKAGE_ROOT } from '../../packageRoot.js';
import { createZeroedStorageBuffer, readWords } from './buffers.js';
import { withErrorScopes, type GpuContext } from './device.js';
import { LINEAR_WORKGROUP_INDEX_WGSL, runCompute, type ComputeShader } from './dispatch.js';
import { maxWordsPerBinding } from './limits.js';
import { createStorageBufferFrom } from './staging.js';

// Comparing an output with a candidate's on the GPU, row by row (shaders/diff/compareRows.wgsl):
// what comes back is a tally per row, [differing, nanMismatches, infMismatches, maxUlp], never
// the tensors. diff and explain read back only the rows whose tally says they differ
// (src/diff/gpuDiff.ts, src/diff/gpuFitted.ts).

/** Words of one row's tally: differing, NaN mismatches, Inf mismatches, largest |ULP|. */
export const TALLY_WORDS = 4;

/** Formats the compare shader reads: the codes of bf16, f32 and FP8 outputs. */
export type GpuCompareFormat = Exclude<UlpFormat, 'ue8m0'>;

/** How the shader reads a format's codes (CompareParams of compareRows.wgsl, from codeBits on). */
export interface CompareFormatParams {
  readonly codeBits: 8 | 16 | 32;
  readonly signBit: number;
  /** isNanCode of src/numerics/ulp.ts as one comparison: a magnitude above this is NaN. */
  readonly nanAboveMagnitude: number;
  /** 1 for the fnuz formats, whose one NaN code is 0x80 (ulp.ts isNanCode: `code === 0x80`). */
  readonly fnuz: 0 | 1;
  /** isInfCode of src/diff/compare.ts: the infinity's magnitude, 0 where there is none. */
  readonly infMagnitude: number;
}

export function compareFormatParams(format: GpuCompareFormat): CompareFormatParams {
  if (format === 'bf16') return { codeBits: 16, signBit: 0x8000, nanAboveMagnitude: 0x7f80, fnuz: 0, infMagnitude: 0x7f80 };
  if (format === 'f32') return { codeBits: 32, signBit: 0x80000000, nanAboveMagnitude: 0x7f800000, fnuz: 0, infMagnitude: 0x7f800000 };
  const t = FP8_TRAITS[format];
  const infMagnitude = t.hasInfinity ? t.maxFiniteCode + 1 : 0;
  // With an infinity, NaN magnitudes lie above it; without one (e4m3fn), the one NaN magnitude
  // is nanCode, the largest there is, so "above nanCode - 1" says the same. fnuz: unused.
  const nanAboveMagnitude = t.fnuz ? 0x7f : t.hasInfinity ? infMagnitude : t.nanCode - 1;
  return { codeBits: 8, signBit: 0x80, nanAboveMagnitude, fnuz: t.fnuz ? 1 : 0, infMagnitude };
}

let shaderSource: string | undefined;

function compareShader(): ComputeShader {
  shaderSource ??= [LINEAR_WORKGROUP_INDEX_WGSL, readFileSync(join(PACKAGE_ROOT, 'shaders', 'diff', 'compareRows.wgsl'), 'utf8')].join('\n');
  return { label: 'diff compareRows', code: shaderSource, entryPoint: 'compareRows' };
}

/** A storage buffer holding the codes of `data` from its first element, packed as the tensor
 *  holds them (little-endian), padded to a whole word; written through the device's staging
 *  buffers (staging.ts). */
export function uploadCodes(ctx: GpuContext, data: Tensor['data'], label: string): Promise<GPUBuffer> {
  return createStorageBufferFrom(ctx, data.byteLength, [[0, data]], label);
}

export interface RowComparison {
  /** Codes of `rows` rows from the buffer's first word, packed as uploadCodes packs them. */
  readonly reference: GPUBuffer;
  readonly candidate: GPUBuffer;
  readonly format: GpuCompareFormat;
  readonly rows: number;
  readonly rowLength: number;
  /** Where the rows' tallies go: row r at tallies[TALLY_WORDS * (firstRow + r)]. */
  readonly firstRow: number;
  readonly tallies: GPUBuffer;
}

/** Queues the comparison of `rows` rows; their tallies are in `tallies` once the queue has run it. */
export async function compareRowsOnGpu(ctx: GpuContext, comparison: RowComparison): Promise<void> {
  const p = compareFormatParams(comparison.format);
  const words = new Uint32Array([
    comparison.rows,
    comparison.rowLength,
    p.codeBits,
    p.signBit,
    p.nanAboveMagnitude,
    p.fnuz,
    p.infMagnitude,
    comparison.firstRow,
  ]);
  const params = await withErrorScopes(ctx.device, 'compare parameters', () => {
    const buffer = ctx.device.createBuffer({ label: 'compare parameters', size: words.byteLength, usage: GPUBufferUsage.UNIFORM, mappedAtCreation: true });
    new Uint32Array(buffer.getMappedRange()).set(words);
    buffer.unmap();
    return buffer;
  });
  try {
    await runCompute(ctx, {
      shader: compareShader(),
      bindings: [params, comparison.reference, comparison.candidate, comparison.tallies],
      workgroups: comparison.rows,
    });
  } finally {
    // Queued work keeps what it binds alive: the buffer goes once the dispatch is done.
    params.destroy();
  }
}

/** A zeroed tally buffer for `rows` rows. */
export function createTallies(ctx: GpuContext, rows: number, label: string): Promise<GPUBuffer> {
  return createZeroedStorageBuffer(ctx, Math.max(1, TALLY_WORDS * rows), label);
}

/** The per-row tallies of two host tensors of one dtype, compared as [rows, rowLength] on the
 *  GPU in chunks of rows that fit one storage binding (and at most maxRowsPerChunk, which tests
 *  set to cut a small tensor into several): TALLY_WORDS words per row. */
export async function compareTensorRows(
  ctx: GpuContext,
  reference: Tensor,
  candidate: Tensor,
  format: GpuCompareFormat,
  rowLength: number,
  maxRowsPerChunk = Infinity,
): Promise<Uint32Array> {
  const rows = reference.data.length / rowLength;
  const perWord = 32 / compareFormatParams(format).codeBits;
  // count * rowLength codes take at most maxWordsPerBinding words.
  const rowsPerChunk = Math.min(maxRowsPerChunk, Math.max(1, Math.floor((maxWordsPerBinding(ctx.limits) * perWord) / rowLength)));
  const tallies = await createTallies(ctx, rows, 'compared rows');
  try {
    for (let first = 0; first < rows; first += rowsPerChunk) {
      const count = Math.min(rowsPerChunk, rows - first);
      const slice = (t: Tensor): Tensor['data'] => t.data.subarray(first * rowLength, (first + count) * rowLength);
      const referenceCodes = await uploadCodes(ctx, slice(reference), `reference rows ${first}+${count}`);
      const candidateCodes = await uploadCodes(ctx, slice(candidate), `candidate rows ${first}+${count}`);
      try {
        await compareRowsOnGpu(ctx, { reference: referenceCodes, candidate: candidateCodes, format, rows: count, rowLength, firstRow: first, tallies });
      } finally {
        referenceCodes.destroy();
        candidateCodes.destroy();
      }
    }
    return await readWords(ctx, tallies);
  } finally {
    tallies.destroy();
  }
}

/** Rows whose tally counts a differing element, in order. */
export function differingRowsOf(tallies: Uint32Array, rows: number): number[] {
  const out: number[] = [];
  for (let r = 0; r < rows; r++) if (tallies[TALLY_WORDS * r] !== 0) out.push(r);
  return out;
}
