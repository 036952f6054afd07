import { withErrorScopes, type GpuContext } from './device.js';

// GPUBufferUsage and GPUMapMode are read inside the functions: under Node they become
// globals only once openDevice has loaded Dawn.

/** A storage buffer (`array<u32>` in WGSL) holding `words`; it can be copied in and out. */
export async function createStorageBuffer(ctx: GpuContext, words: Uint32Array, label: string): Promise<GPUBuffer> {
  checkSize(ctx, words.length, label);
  return withErrorScopes(ctx.device, `creating buffer '${label}'`, () => {
    const buffer = ctx.device.createBuffer({
      label,
      size: words.byteLength,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
      mappedAtCreation: true,
    });
    new Uint32Array(buffer.getMappedRange()).set(words);
    buffer.unmap();
    return buffer;
  });
}

/** A storage buffer of `wordCount` zero words (WebGPU zero-fills new buffers), for outputs. */
export async function createZeroedStorageBuffer(ctx: GpuContext, wordCount: number, label: string): Promise<GPUBuffer> {
  checkSize(ctx, wordCount, label);
  return withErrorScopes(ctx.device, `creating buffer '${label}'`, () =>
    ctx.device.createBuffer({
      label,
      size: wordCount * 4,
      usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
    }),
  );
}

/** Copies a whole buffer back through a mappable staging buffer; waits for queued work. */
export async function readWords(ctx: GpuContext, buffer: GPUBuffer): Promise<Uint32Array> {
  const { device } = ctx;
  const label = `${buffer.label} readback`;
  const staging = await withErrorScopes(device, `reading back '${buffer.label}'`, () => {
    const target = device.createBuffer({
      label,
      size: buffer.size,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    const encoder = device.createCommandEncoder({ label });
    encoder.copyBufferToBuffer(buffer, 0, target, 0, buffer.size);
    device.queue.submit([encoder.finish()]);
    return target;
  });
  try {
    await staging.mapAsync(GPUMapMode.READ);
    // slice: the mapped range is detached by unmap.
    return new Uint32Array(staging.getMappedRange().slice(0));
  } finally {
    staging.destroy();
  }
}

function checkSize(ctx: GpuContext, wordCount: number, label: string): void {
  if (!Number.isSafeInteger(wordCount) || wordCount < 1) {
    throw new RangeError(`buffer '${label}': needs a positive whole number of words, got ${wordCount}`);
  }
  if (wordCount * 4 > ctx.limits.maxBufferSize) {
    throw new RangeError(
      `buffer '${label}': ${wordCount * 4} bytes exceed the device's maxBufferSize of ` + `${ctx.limits.maxBufferSize} (split the work with chunkItems)`,
    );
  }
}
