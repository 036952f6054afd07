import type { Tensor } from '../../numerics/tensor.js';
import { withErrorScopes } from './device.js';
import { gpuTimeline, submitStagesTimed, type PassTime } from './instrumentation.js';
import type { HostOutputs } from './outputs.js';
import { readOutputs } from './readbackCopy.js';
import { checkMappedOutputsReleased, mapOutputs, unmapOutputs } from './readbackMapped.js';
import { submitChunk } from './submit.js';
import type { UploadedCase } from './upload.js';

// Executing an uploaded case: submit every chunk's stages (submit.ts), read the outputs back
// by the case's strategy (readbackCopy.ts or readbackMapped.ts), and account for where the
// wall time went.

export interface ExecuteOptions {
  /** Submit each stage alone and wait for it, to time the stages (slower than a normal run). */
  readonly timeStages?: boolean;
  /** Run every stage of every chunk, wait for the GPU and read nothing back (no outputs): the
   *  compute alone, as a normal run submits it. */
  readonly computeOnly?: boolean;
  /** Time each chunk's compute pass on the GPU (timestamp queries; the device must have the
   *  'timestamp-query' feature, which openDevice asks for where the adapter has it). Ignored
   *  with timeStages. */
  readonly gpuTimeline?: boolean;
  /** A previous execution's outputs of the same case, overwritten in place: a sweep that
   *  reruns a case skips allocating (and faulting in) fresh output arrays. 'copy' readback only. */
  readonly into?: Map<string, Tensor>;
}

export interface Execution {
  readonly outputs: Map<string, Tensor>;
  /** With timeStages: wall milliseconds per stage, summed over chunks and output ranks, and
   *  'readback' (copies to mappable buffers, mapping, and the copy into the output tensors). */
  readonly stageMs: ReadonlyMap<string, number>;
  /** Where the wall time went, in milliseconds: encoding and submitting the work; waiting
   *  for the GPU and for mapped buffers; host work on the outputs (copies out of mapped
   *  buffers, the scales' layout, making views). */
  readonly phaseMs: {
    readonly submit: number;
    readonly wait: number;
    /** 'mapped' readback, which waits for the queue before it maps: of `wait`, the part until
     *  the GPU had finished (the rest is mapping). */
    readonly gpu?: number;
    readonly host: number;
  };
  /** With gpuTimeline: each chunk's compute pass (per output rank, in submission order), in GPU
   *  milliseconds from the first pass's start. The gaps between passes hold the readback copies. */
  readonly gpuPasses?: readonly PassTime[];
  /** 'mapped' readback: unmaps the outputs (their views become empty) so the case can run
   *  again. Does nothing for 'copy' readback, or when called again. */
  release(): void;
}

/** Runs every stage on every chunk and output rank, then reads the outputs back. */
export async function executeCase(uploaded: UploadedCase, options: ExecuteOptions = {}): Promise<Execution> {
  const { device } = uploaded.ctx;
  const stageMs = new Map<string, number>();
  const executionStarted = performance.now();
  if (uploaded.readback === 'none') throw new RangeError("executeCase: the case was uploaded with 'none' readback and has no buffers to read its outputs from");
  if (uploaded.readback === 'mapped') {
    if (options.into) throw new RangeError("executeCase: 'into' needs 'copy' readback; 'mapped' readback returns views of its own buffers");
    checkMappedOutputsReleased(uploaded);
  }

  // Stages timed alone are passes of their own: no timeline then.
  const timeline = options.gpuTimeline && !options.timeStages ? gpuTimeline(device, uploaded.chunks.length * uploaded.plan.outputRanks.length) : null;
  if (options.timeStages) {
    await submitStagesTimed(uploaded, stageMs);
  } else {
    // Every submission inside one error scope, so none waits for another's check: the GPU starts
    // on the first chunk while later ones are encoded.
    const allStages = uploaded.stages.map((_, i) => i);
    await withErrorScopes(device, 'running the case', () => {
      for (const chunk of uploaded.chunks) {
        for (const rankIndex of chunk.bindGroups.keys()) submitChunk(uploaded, chunk, rankIndex, allStages, !options.computeOnly, timeline?.nextPass());
      }
      timeline?.resolve();
    });
  }

  const submitted = performance.now();
  const finish = async ({ outputs, hostMs, gpuMs }: HostOutputs, release: () => void): Promise<Execution> => {
    const submit = submitted - executionStarted;
    const wait = performance.now() - submitted - hostMs;
    const gpuPasses = timeline ? await timeline.read() : undefined;
    return {
      outputs,
      stageMs,
      phaseMs: { submit, wait, ...(gpuMs === undefined ? {} : { gpu: gpuMs }), host: hostMs },
      ...(gpuPasses ? { gpuPasses } : {}),
      release,
    };
  };
  if (options.computeOnly) {
    await device.queue.onSubmittedWorkDone();
    return await finish({ outputs: new Map(), hostMs: 0 }, () => {});
  }
  if (uploaded.readback === 'mapped') {
    const mappedOutputs = await mapOutputs(uploaded);
    if (options.timeStages) stageMs.set('readback', performance.now() - submitted);
    return await finish(mappedOutputs, () => unmapOutputs(uploaded));
  }
  // Chunks are read back in order while the GPU still works on later ones.
  const copiedOutputs = await readOutputs(uploaded, options.into);
  if (options.timeStages) stageMs.set('readback', performance.now() - submitted);
  return await finish(copiedOutputs, () => {});
}
