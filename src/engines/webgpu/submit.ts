import { splitWorkgroups } from './dispatch.js';
import { stageWorkgroups } from './pipeline.js';
import type { ChunkWork, UploadedCase } from './upload.js';

// Submission: one command buffer per chunk and output rank, holding the chunk's stages in one
// compute pass and, when asked, its copies to the mappable readback buffers. The copies wait for
// the pass; later passes need not wait for them where each chunk and output rank writes its own
// output set (upload.ts OUTPUT_SET_BUDGET_BYTES), so the GPU can copy beside later chunks' compute.

/**
 * Encodes and submits `stageIndices` (indices into uploaded.stages) of one chunk for one output
 * rank, then the chunk's readback copies when `copies`; `timestampWrites` times the pass.
 */
export function submitChunk(
  uploaded: UploadedCase,
  chunk: ChunkWork,
  rankIndex: number,
  stageIndices: readonly number[],
  copies: boolean,
  timestampWrites?: GPUComputePassTimestampWrites,
): void {
  const { ctx, plan, stages, pipelines } = uploaded;
  const { device } = ctx;
  const encoder = device.createCommandEncoder({ label: `rows ${chunk.range.first}+${chunk.range.count} rank index ${rankIndex}` });
  if (stageIndices.length > 0) {
    const pass = encoder.beginComputePass(timestampWrites ? { timestampWrites } : {});
    for (const i of stageIndices) {
      pass.setPipeline(pipelines[i]);
      pass.setBindGroup(0, chunk.bindGroups[rankIndex][i]);
      pass.dispatchWorkgroups(
        ...splitWorkgroups(stageWorkgroups(stages[i], chunk.range.count, plan.shape.hidden, plan.groups), ctx.limits.maxComputeWorkgroupsPerDimension),
      );
    }
    pass.end();
  }
  if (copies) {
    for (const { role, words, staging, offsetBytes } of chunk.readbacks[rankIndex])
      encoder.copyBufferToBuffer(chunk.outputs[rankIndex][role], 0, staging, offsetBytes, words * 4);
  }
  device.queue.submit([encoder.finish()]);
}
