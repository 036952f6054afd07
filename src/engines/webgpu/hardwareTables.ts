import { fillSm90Tables, SM90_TABLE_WORDS } from '../../numerics/hardware/sm90.js';
import { withErrorScopes, type GpuContext } from './device.js';

// sm_90's measured period tables (src/numerics/hardware/sm90.ts) as one storage buffer per
// device: rsqrt's 2^24 words, then rcp's 2^23 (96 MiB, under the 128 MiB storage binding every
// WebGPU device allows). Built and uploaded on the first use on a device, kept for the device's
// life and shared by every case and every selftest run on it; a case that uses no sm_90 slot
// binds none (pipeline.ts declares no table binding for it), so they are never built for it.

/** The upload in flight or done, so concurrent first uses build the tables once. */
const tablesOf = new WeakMap<GPUDevice, Promise<GPUBuffer>>();

/** The device's copy of the sm_90 tables (the WGSL's `sm90Tables`). */
export function sm90TablesBuffer(ctx: GpuContext): Promise<GPUBuffer> {
  const cached = tablesOf.get(ctx.device);
  if (cached) return cached;
  const upload = withErrorScopes(ctx.device, 'uploading the sm_90 tables', () => {
    const made = ctx.device.createBuffer({ label: 'sm90 tables', size: SM90_TABLE_WORDS * 4, usage: GPUBufferUsage.STORAGE, mappedAtCreation: true });
    fillSm90Tables(new Uint32Array(made.getMappedRange()));
    made.unmap();
    return made;
  });
  // A failed upload is not kept: the next use tries again.
  upload.catch(() => tablesOf.delete(ctx.device));
  tablesOf.set(ctx.device, upload);
  return upload;
}
