import { withErrorScopes } from './device.js';
import { submitChunk } from './submit.js';
import type { UploadedCase } from './upload.js';

// What the bench measures beyond wall time: each stage submitted alone and waited for, and each
// chunk's compute pass timed on the GPU with timestamp queries. Neither changes the bits.

export interface PassTime {
  readonly begin: number;
  readonly end: number;
}

export interface GpuTimeline {
  /** The timestamp writes of the next pass. */
  nextPass(): GPUComputePassTimestampWrites;
  /** Queues the resolve of every pass's timestamps, after the last pass. */
  resolve(): void;
  /** Each pass, in GPU milliseconds from the first pass's start; destroys the query objects. */
  read(): Promise<PassTime[]>;
}

/** Timestamp queries at each pass's start and end, resolved after the last pass and read back. */
export function gpuTimeline(device: GPUDevice, passes: number): GpuTimeline {
  if (!device.features.has('timestamp-query'))
    throw new RangeError("executeCase: gpuTimeline needs the device feature 'timestamp-query', which this adapter lacks");
  const count = 2 * passes;
  const querySet = device.createQuerySet({ label: 'pass timestamps', type: 'timestamp', count });
  const resolved = device.createBuffer({ label: 'pass timestamps resolved', size: count * 8, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  const staging = device.createBuffer({ label: 'pass timestamps readback', size: count * 8, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  let passIndex = 0;
  return {
    nextPass() {
      const writes = { querySet, beginningOfPassWriteIndex: 2 * passIndex, endOfPassWriteIndex: 2 * passIndex + 1 };
      passIndex++;
      return writes;
    },
    resolve() {
      const encoder = device.createCommandEncoder({ label: 'resolve pass timestamps' });
      encoder.resolveQuerySet(querySet, 0, count, resolved, 0);
      encoder.copyBufferToBuffer(resolved, 0, staging, 0, count * 8);
      device.queue.submit([encoder.finish()]);
    },
    async read() {
      try {
        await staging.mapAsync(GPUMapMode.READ);
        const ns = new BigUint64Array(staging.getMappedRange());
        const origin = ns[0];
        const ms = (i: number): number => Number(ns[i] - origin) / 1e6;
        return Array.from({ length: passes }, (_, p) => ({ begin: ms(2 * p), end: ms(2 * p + 1) }));
      } finally {
        for (const object of [querySet, resolved, staging]) object.destroy();
      }
    },
  };
}

/** Submits each stage of each chunk and output rank alone and waits for it, adding its wall
 *  milliseconds to `stageMs` under the stage's name; then queues the chunk's readback copies. */
export async function submitStagesTimed(uploaded: UploadedCase, stageMs: Map<string, number>): Promise<void> {
  const { device } = uploaded.ctx;
  for (const chunk of uploaded.chunks) {
    const rows = `rows ${chunk.range.first}+${chunk.range.count}`;
    for (const rankIndex of chunk.bindGroups.keys()) {
      for (const [i, stage] of uploaded.stages.entries()) {
        const started = performance.now();
        await withErrorScopes(device, `stage ${stage.name} ${rows}`, () => submitChunk(uploaded, chunk, rankIndex, [i], false));
        await device.queue.onSubmittedWorkDone();
        stageMs.set(stage.name, (stageMs.get(stage.name) ?? 0) + performance.now() - started);
      }
      await withErrorScopes(device, `reading back ${rows}`, () => submitChunk(uploaded, chunk, rankIndex, [], true));
    }
  }
}
