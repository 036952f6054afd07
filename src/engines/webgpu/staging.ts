import { withErrorScopes, type GpuContext } from './device.js';

// Host data reaches the GPU through a few mappable staging buffers per device, made once and
// reused in turn: the host fills one while the GPU copies those filled before it into their
// targets. A buffer created with mappedAtCreation gets host memory of its own size for the
// write (Dawn stages a non-mappable buffer through a fresh mappable one), memory the driver
// allocates and the host faults in page by page: on an H100 host, uploading the N=8, M=8192,
// H=7168 case's 0.94 GB of inputs that way took 1.0 s (bench/RESULTS.md, explain with the fit on
// the GPU). Through reused staging the upload costs one copy into memory already touched.
//
// GPUBufferUsage and GPUMapMode are read inside the functions: under Node they become globals
// only once openDevice has loaded Dawn.

/** Bytes of one staging buffer: the most one copy moves. */
export const STAGING_BYTES = 16 * 2 ** 20;
/** Staging buffers per device: while one is filled, the others' copies run. */
export const STAGING_BUFFERS = 4;

interface Slot {
  readonly buffer: GPUBuffer;
  /** Settles when the previous holder's copy is done and the buffer is mapped again: null, or
   *  the error that kept it from mapping. */
  turn: Promise<Error | null>;
}

class StagingRing {
  private next = 0;
  constructor(private readonly slots: readonly Slot[]) {}

  /** Waits for the next buffer in turn, mapped, hands it to `work` (which unmaps it and queues
   *  its copy), then maps it again for the next holder. */
  async use(work: (staging: GPUBuffer) => Promise<void>): Promise<void> {
    const slot = this.slots[this.next];
    this.next = (this.next + 1) % this.slots.length;
    const previous = slot.turn;
    let handBack!: (mapped: Promise<unknown>) => void;
    slot.turn = new Promise<Error | null>((resolve) => {
      handBack = (mapped) =>
        mapped.then(
          () => resolve(null),
          (error: unknown) => resolve(error instanceof Error ? error : new Error(String(error))),
        );
    });
    const failed = await previous;
    if (failed !== null) {
      handBack(Promise.reject(failed));
      throw new Error(`staging buffer '${slot.buffer.label}' could not be mapped: ${failed.message}`);
    }
    try {
      await work(slot.buffer);
    } finally {
      // A failed work may leave the buffer mapped; then it is ready as it is.
      handBack(slot.buffer.mapState === 'mapped' ? Promise.resolve() : slot.buffer.mapAsync(GPUMapMode.WRITE));
    }
  }
}

const rings = new WeakMap<GPUDevice, StagingRing>();

function ringOf(ctx: GpuContext): StagingRing {
  let ring = rings.get(ctx.device);
  if (ring === undefined) {
    const slots = Array.from({ length: STAGING_BUFFERS }, (_, i) => ({
      buffer: ctx.device.createBuffer({
        label: `upload staging ${i}`,
        size: STAGING_BYTES,
        usage: GPUBufferUsage.MAP_WRITE | GPUBufferUsage.COPY_SRC,
        mappedAtCreation: true,
      }),
      turn: Promise.resolve(null),
    }));
    ring = new StagingRing(slots);
    rings.set(ctx.device, ring);
  }
  return ring;
}

/**
 * Writes `source`'s bytes into `target` from `offsetBytes` (a multiple of 4), through the
 * device's staging buffers; a last partial word is completed with zero bytes (as a new buffer
 * holds them). The copies are queued, in order, before anything submitted after this resolves.
 */
export async function writeToBuffer(ctx: GpuContext, target: GPUBuffer, offsetBytes: number, source: ArrayBufferView, label: string): Promise<void> {
  if (offsetBytes % 4 !== 0) throw new RangeError(`writing '${label}': offset ${offsetBytes} is not a multiple of 4 bytes`);
  const bytes = new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  const ring = ringOf(ctx);
  const { device } = ctx;
  for (let at = 0; at < bytes.length; at += STAGING_BYTES) {
    const piece = bytes.subarray(at, Math.min(at + STAGING_BYTES, bytes.length));
    const copied = Math.ceil(piece.length / 4) * 4;
    await ring.use((staging) =>
      withErrorScopes(device, `uploading '${label}'`, () => {
        const range = new Uint8Array(staging.getMappedRange(0, copied));
        range.set(piece);
        range.fill(0, piece.length);
        staging.unmap();
        const encoder = device.createCommandEncoder({ label: `upload of '${label}'` });
        encoder.copyBufferToBuffer(staging, 0, target, offsetBytes + at, copied);
        device.queue.submit([encoder.finish()]);
      }),
    );
  }
}

/** A storage buffer of `bytes` (rounded up to a whole word), written with each `[offsetBytes,
 *  data]` part through the staging buffers; bytes no part covers are zero. */
export async function createStorageBufferFrom(
  ctx: GpuContext,
  bytes: number,
  parts: readonly (readonly [number, ArrayBufferView])[],
  label: string,
): Promise<GPUBuffer> {
  const buffer = await withErrorScopes(ctx.device, `creating buffer '${label}'`, () =>
    ctx.device.createBuffer({ label, size: Math.max(4, Math.ceil(bytes / 4) * 4), usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST }),
  );
  try {
    for (const [offsetBytes, data] of parts) await writeToBuffer(ctx, buffer, offsetBytes, data, label);
  } catch (error) {
    buffer.destroy();
    throw error;
  }
  return buffer;
}
