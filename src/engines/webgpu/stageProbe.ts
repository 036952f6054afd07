import { readWords } from './buffers.js';
import { withErrorScopes } from './device.js';
import type { EngineStage } from './pipeline.js';
import { submitChunk } from './submit.js';
import type { UploadedCase } from './upload.js';

// The WGSL half of the stage registry test: run an uploaded case's stages up to one of them and
// read back a buffer it writes, so each WGSL entry point can be checked against its CPU twin on
// the same rows (test/webgpu/stages.test.ts). Whole-case buffers of one chunk and one output rank.

/** The buffers a stage writes that a probe reads: f32 x, rstd per row, packed bf16 residual and
 *  norm outputs, the scales buffer's three regions (quant.wgsl), packed fp8 codes. */
export type ProbedBuffer = 'x' | 'rstd' | 'residualOut' | 'normOut' | 'scales' | 'q';

/** Runs the stages up to and including `stage` and returns the words of `buffer`. */
export async function probeStage(uploaded: UploadedCase, stage: EngineStage['name'], buffer: ProbedBuffer): Promise<Uint32Array> {
  const { plan, stages, ctx } = uploaded;
  if (uploaded.chunks.length !== 1 || plan.outputRanks.length !== 1) {
    throw new RangeError(
      `probeStage: needs a case of one chunk and one output rank, got ${uploaded.chunks.length} chunks and ${plan.outputRanks.length} output ranks`,
    );
  }
  const last = stages.findIndex((s) => s.name === stage);
  if (last < 0) throw new RangeError(`probeStage: stage '${stage}' does not run for this contract`);
  const through = stages.slice(0, last + 1).map((_, i) => i);
  await withErrorScopes(ctx.device, `probing stage ${stage}`, () => submitChunk(uploaded, uploaded.chunks[0], 0, through, false));
  return readWords(ctx, buffer === 'x' || buffer === 'rstd' ? uploaded.scratch[buffer] : uploaded.outputs[buffer]);
}
