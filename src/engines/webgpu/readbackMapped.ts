import { scaleWords } from '../io.js';
import { outputTensors, placeScales, type HostOutputs, type OutputRole, type RankOutputData } from './outputs.js';
import type { UploadedCase } from './upload.js';

// 'mapped' readback: every chunk's outputs were copied into one whole-case mappable buffer per
// output; the tensors are views of those buffers, valid until they are unmapped.

/** Throws unless the case's mappable outputs are free to be written again. */
export function checkMappedOutputsReleased(uploaded: UploadedCase): void {
  if (uploaded.caseStaging.some((byRole) => [...byRole.values()].some((b) => b.mapState !== 'unmapped'))) {
    throw new Error("executeCase: this case's mapped outputs from an earlier execution are still held; call that execution's release() first");
  }
}

/** Maps each whole-case output buffer once the queue is idle (every chunk's copy into it done:
 *  nothing to overlap, and the wait splits into GPU and mapping); the tensors are views of the
 *  mapped ranges, except scales in a layout other than row-major, put in their layout. */
export async function mapOutputs(uploaded: UploadedCase): Promise<HostOutputs> {
  const { plan } = uploaded;
  const { tokens, hidden } = plan.shape;
  const elements = tokens * hidden;
  const waitStarted = performance.now();
  await uploaded.ctx.device.queue.onSubmittedWorkDone();
  const gpuMs = performance.now() - waitStarted;
  // Promise.all observes every map, so a rejected one cannot go unhandled.
  await Promise.all(uploaded.caseStaging.flatMap((byRole) => [...byRole.values()].map((staging) => staging.mapAsync(GPUMapMode.READ))));
  const hostStarted = performance.now();
  const layout = plan.contract.quant?.scaleLayout;
  // Row-major scales are the mapped words themselves; another layout is placed in a new array.
  const scalesOf = (words: Uint32Array | null): Uint32Array => {
    if (!layout || !words) return new Uint32Array(0);
    if (layout.kind === 'row-major') return words.subarray(0, tokens * plan.groups);
    const scales = new Uint32Array(scaleWords(layout, tokens, plan.groups));
    placeScales(scales, words, { first: 0, count: tokens }, plan.groups, tokens, layout);
    return scales;
  };
  const perRank = uploaded.caseStaging.map((byRole): RankOutputData => {
    // An output the contract does not emit has no buffer: an empty array, as 'copy' readback gives.
    const mapped = (role: OutputRole): ArrayBuffer => byRole.get(role)?.getMappedRange() ?? new ArrayBuffer(0);
    const bf16 = (role: 'residualOut' | 'normOut'): Uint16Array => new Uint16Array(mapped(role), 0, byRole.has(role) ? elements : 0);
    return {
      residualOut: bf16('residualOut'),
      normOut: bf16('normOut'),
      q: new Uint8Array(mapped('q'), 0, byRole.has('q') ? elements : 0),
      scales: scalesOf(byRole.has('scales') ? new Uint32Array(mapped('scales')) : null),
    };
  });
  const outputs = outputTensors(plan, perRank);
  return { outputs, hostMs: performance.now() - hostStarted, gpuMs };
}

/** Unmaps the whole-case outputs (their views become empty) so the case can run again. */
export function unmapOutputs(uploaded: UploadedCase): void {
  for (const byRole of uploaded.caseStaging) for (const staging of byRole.values()) if (staging.mapState === 'mapped') staging.unmap();
}
