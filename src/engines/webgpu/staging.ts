import { withErrorScopes, type GpuContext } from './device.js';

// Host data reaches the GPU through a few mappable staging buffers per device, made once and
// reused in turn: the host fills one while the GPU copies those filled before it into their
// targets. A buffer created with mappedAtCreation gets host memory of its own size for the
// write (Dawn stages a buffer its backend cannot map through a new mappable buffer of the whole
// size: google/dawn@1e975e28 src/dawn/native/Buffer.cpp:677-691, and on Vulkan only mappable
// usages are CPU-writable, vulkan/BufferVk.cpp:567-570), memory the driver allocates and the
// host faults in page by page: on an H100 host, explain's GPU fit of the N=8, M=8192, H=7168
// case spent 1.0 s uploading its 0.94 GB of inputs that way, with a mappable readback buffer per
// chunk and output (bench/RESULTS.md, explain with the fit on the GPU). Through reused staging
// the upload costs one copy into memory already touched.
//
// GPUBufferUsage and GPUMapMode are read inside the functions: under Node they become globals
// only once openDevice has loaded Dawn.

/** Bytes of one staging buffer: the most one copy moves. */
export const STAGING_BYTES = 16 * 2 ** 20;
/** Staging buffers per device: while one is filled, the others' copies run. */
export const STAGING_BUFFERS = 4;

interface Slot {
  readonly buffer: GPUBuffer;
  /** Settles when the previous holder's copies are done and the buffer is mapped again: null,
   *  or the error that kept it from mapping. */
  turn: Promise<Error | null>;
}

/** A slot held by one writer: its mapped range and the copies queued from it. */
interface Held {
  readonly buffer: GPUBuffer;
  readonly range: Uint8Array;
  readonly handBack: (mapped: Promise<unknown>) => void;
  used: number;
  readonly copies: { readonly target: GPUBuffer; readonly targetOffset: number; readonly from: number; readonly bytes: number }[];
}

class StagingRing {
  private next = 0;
  constructor(private readonly slots: readonly Slot[]) {}

  /** The next buffer in turn, once it is mapped; handBack(mapAsync) gives it to the next holder. */
  async take(): Promise<Held> {
    const slot = this.slots[this.next];
    this.next = (this.next + 1) % this.slots.length;
    const previous = slot.turn;
    let handBack!: (mapped: Promise<unknown>) => void;
    slot.turn = new Promise<Error | null>((resolve) => {
      handBack = (mapped) =>
        void mapped.then(
          () => resolve(null),
          (error: unknown) => resolve(error instanceof Error ? error : new Error(String(error))),
        );
    });
    const failed = await previous;
    if (failed !== null) {
      handBack(Promise.reject(failed));
      throw new Error(`staging buffer '${slot.buffer.label}' could not be mapped: ${failed.message}`);
    }
    return { buffer: slot.buffer, range: new Uint8Array(slot.buffer.getMappedRange()), handBack, used: 0, copies: [] };
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
 * Writes into GPU buffers through the device's staging buffers, packed: many small writes share
 * one staging buffer, whose copies are queued when it is full or at flush(). A write's copy is
 * on the queue, before anything submitted later, once flush() has resolved; flush() also
 * throws the GPU errors the copies raised. Every writer must be flushed: one left holding a
 * staging buffer keeps it from the writers after it.
 */
export class StagedWrites {
  private held: Held | null = null;
  private readonly checks: Promise<void>[] = [];
  private readonly ring: StagingRing;

  constructor(
    private readonly ctx: GpuContext,
    private readonly label: string,
  ) {
    this.ring = ringOf(ctx);
  }

  /** Writes `source`'s bytes into `target` from `offsetBytes` (a multiple of 4); a last partial
   *  word is completed with zero bytes, as a new buffer holds them. */
  async write(target: GPUBuffer, offsetBytes: number, source: ArrayBufferView): Promise<void> {
    if (offsetBytes % 4 !== 0) throw new RangeError(`${this.label}: writing '${target.label}' at offset ${offsetBytes}, not a multiple of 4 bytes`);
    const bytes = new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
    for (let at = 0; at < bytes.length;) {
      this.held ??= await this.ring.take();
      const held = this.held;
      const piece = bytes.subarray(at, at + Math.min(bytes.length - at, STAGING_BYTES - held.used));
      const copied = Math.ceil(piece.length / 4) * 4;
      held.range.set(piece, held.used);
      held.range.fill(0, held.used + piece.length, held.used + copied);
      held.copies.push({ target, targetOffset: offsetBytes + at, from: held.used, bytes: copied });
      held.used += copied;
      at += piece.length;
      if (held.used === STAGING_BYTES) this.submit();
    }
  }

  /** Queues the copies written so far; resolves once they are queued, throws their GPU errors. */
  async flush(): Promise<void> {
    if (this.held !== null) this.submit();
    const checks = this.checks.splice(0);
    for (const check of checks) await check;
  }

  private submit(): void {
    const held = this.held!;
    this.held = null;
    const { device } = this.ctx;
    // withErrorScopes runs the work at once; its check is awaited at flush.
    const check = withErrorScopes(device, this.label, () => {
      try {
        held.buffer.unmap();
        const encoder = device.createCommandEncoder({ label: this.label });
        for (const c of held.copies) encoder.copyBufferToBuffer(held.buffer, c.from, c.target, c.targetOffset, c.bytes);
        device.queue.submit([encoder.finish()]);
      } finally {
        held.handBack(held.buffer.mapState === 'mapped' ? Promise.resolve() : held.buffer.mapAsync(GPUMapMode.WRITE));
      }
    });
    // Observed here so that a writer that never flushes (it failed first) leaves no unhandled rejection.
    check.catch(() => {});
    this.checks.push(check);
  }
}

/** A storage buffer of `bytes` (rounded up to a whole word), written with each `[offsetBytes,
 *  data]` part through the staging buffers (queued once this resolves); bytes no part covers are zero. */
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
    const writes = new StagedWrites(ctx, `uploading '${label}'`);
    for (const [offsetBytes, data] of parts) await writes.write(buffer, offsetBytes, data);
    await writes.flush();
  } catch (error) {
    buffer.destroy();
    throw error;
  }
  return buffer;
}
