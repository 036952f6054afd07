import type { Tensor } from '../../numerics/tensor.js';
import { outputName, scaleWords } from '../io.js';
import { outputTensors, placeScales, ROW_MAJOR, type HostOutputs, type RankOutputData } from './outputs.js';
import type { UploadedCase } from './upload.js';

// 'copy' readback: each chunk's outputs are mapped as soon as its copy is done and copied into
// host arrays (the caller's, or new ones), while the GPU works on later chunks.

/** Maps each chunk's readbacks in turn and places its packed outputs into whole tensors, named
 *  and ordered as the CPU engine's (into `into`'s arrays when given). */
export async function readOutputs(uploaded: UploadedCase, into: Map<string, Tensor> | undefined): Promise<HostOutputs> {
  const { plan } = uploaded;
  const { tokens, hidden } = plan.shape;
  const quant = plan.contract.quant;
  const groups = plan.groups;
  const elements = (emitted: boolean): number => (emitted ? tokens * hidden : 0);
  const perRank = plan.outputRanks.map((outputRank): RankOutputData => {
    const rank = plan.outputRanks.length > 1 ? outputRank : null;
    return {
      residualOut: outputData(into, outputName('residual', rank), Uint16Array, elements(plan.emits.residual)),
      normOut: outputData(into, outputName('norm', rank), Uint16Array, elements(plan.emits.norm)),
      q: outputData(into, outputName('q', rank), Uint8Array, elements(plan.emits.quant)),
      scales: outputData(into, outputName('scale', rank), Uint32Array, quant ? scaleWords(quant.scaleLayout, tokens, groups) : 0),
    };
  });
  // Every map is requested at once: each resolves when its chunk's copy is done, so map
  // round trips overlap the GPU work and each other instead of queueing one behind another.
  const mapped = uploaded.chunks.map((chunk) => chunk.readbacks.map((readbacks) => readbacks.map(({ staging }) => staging.mapAsync(GPUMapMode.READ))));
  // A rejected map is awaited below; the others must not surface as unhandled rejections.
  for (const promise of mapped.flat(2)) promise.catch(() => {});
  let hostMs = 0;
  for (const [chunkIndex, chunk] of uploaded.chunks.entries()) {
    const first = chunk.range.first * hidden;
    const count = chunk.range.count * hidden;
    for (const [rankIndex, readbacks] of chunk.readbacks.entries()) {
      const out = perRank[rankIndex];
      for (const [readbackIndex, { role, staging }] of readbacks.entries()) {
        await mapped[chunkIndex][rankIndex][readbackIndex];
        const hostStarted = performance.now();
        try {
          const range = staging.getMappedRange();
          if (role === 'residualOut' || role === 'normOut') out[role].set(new Uint16Array(range, 0, count), first);
          else if (role === 'q') out.q.set(new Uint8Array(range, 0, count), first);
          else placeScales(out.scales, new Uint32Array(range), chunk.range, groups, tokens, quant?.scaleLayout ?? ROW_MAJOR);
        } finally {
          staging.unmap();
          hostMs += performance.now() - hostStarted;
        }
      }
    }
  }
  return { outputs: outputTensors(plan, perRank), hostMs };
}

/** A fresh output array, or the one `into` holds under that name (checked for type and length). */
function outputData<T extends Uint8Array | Uint16Array | Uint32Array>(
  into: Map<string, Tensor> | undefined,
  name: string,
  make: new (length: number) => T,
  length: number,
): T {
  if (into === undefined || length === 0) return new make(length);
  const data = into.get(name)?.data;
  if (!(data instanceof make) || data.length !== length) throw new RangeError(`executeCase: 'into' holds no output '${name}' of this case`);
  return data;
}
