import { describe, expect, it } from 'vitest';
import { readWords } from '../../src/engines/webgpu/buffers.js';
import { GpuOperationError, type AdapterKind, type GpuContext } from '../../src/engines/webgpu/device.js';
import { StagedWrites, STAGING_BUFFERS, STAGING_BYTES } from '../../src/engines/webgpu/staging.js';
import { Xoshiro128StarStar } from '../../src/fixtures/prng.js';
import { SOFTWARE_ADAPTERS, suiteDevice } from './software-adapters.js';

// Writes through the device's staging buffers (src/engines/webgpu/staging.ts) read back byte for
// byte against a host model of what the writes put where: the source bytes at their offsets, a
// last partial word completed with zeros, every other byte zero (a new buffer's). Sizes cross
// the staging buffers' boundaries and wrap the ring; two writers share it at once.

function seededBytes(length: number, seed: number): Uint8Array {
  const rng = Xoshiro128StarStar.fromSeed(seed);
  const words = new Uint32Array(Math.ceil(length / 4));
  for (let i = 0; i < words.length; i++) words[i] = rng.nextUint32();
  return new Uint8Array(words.buffer, 0, length);
}

/** A zeroed storage buffer that can be copied in and out, of `bytes` (a multiple of 4). */
function target(ctx: GpuContext, bytes: number, label: string): GPUBuffer {
  return ctx.device.createBuffer({ label, size: bytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC });
}

async function bytesOf(ctx: GpuContext, buffer: GPUBuffer): Promise<Uint8Array> {
  const words = await readWords(ctx, buffer);
  return new Uint8Array(words.buffer, words.byteOffset, words.byteLength);
}

/** The host model: `writes` applied in order to `size` zero bytes, each padded to a whole word with zeros. */
function modelOf(size: number, writes: readonly (readonly [number, Uint8Array])[]): Uint8Array {
  const out = new Uint8Array(size);
  for (const [offset, data] of writes) {
    out.set(data, offset);
    out.fill(0, offset + data.length, offset + Math.ceil(data.length / 4) * 4);
  }
  return out;
}

/** Where the first differing byte is (-1: none), so a failure names it rather than printing megabytes. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return i;
  return -1;
}

describe.each(SOFTWARE_ADAPTERS)('staged writes (%s)', (kind: AdapterKind) => {
  const device = suiteDevice(kind);

  it('packs small writes of odd lengths into one staging buffer, each at its offset, padded with zeros', async ({ skip }) => {
    const ctx = device(skip);
    const size = 4096;
    const writes: [number, Uint8Array][] = [
      [0, seededBytes(5, 1)],
      [8, seededBytes(3, 2)],
      [100, seededBytes(1, 3)],
      // Overwrites part of the first write: later writes win, as on the queue.
      [4, seededBytes(6, 4)],
      [2000, seededBytes(2093, 5)],
    ];
    // Ones first, through every staging buffer in turn (a writer per buffer): the padding must
    // clear ones both in the target and in the staging buffer the writes then go through.
    const buffer = target(ctx, size, 'small writes');
    for (let i = 0; i < STAGING_BUFFERS; i++) {
      const ones = new StagedWrites(ctx, 'ones');
      await ones.write(buffer, 0, new Uint8Array(size).fill(0xff));
      await ones.flush();
    }
    const staged = new StagedWrites(ctx, 'small writes');
    for (const [offset, data] of writes) await staged.write(buffer, offset, data);
    await staged.flush();
    const expected = modelOf(size, writes);
    // Bytes no write covers keep the ones.
    const covered = new Uint8Array(size);
    for (const [offset, data] of writes) covered.fill(1, offset, offset + Math.ceil(data.length / 4) * 4);
    for (let i = 0; i < size; i++) if (!covered[i]) expected[i] = 0xff;
    expect(firstDifference(await bytesOf(ctx, buffer), expected)).toBe(-1);
    buffer.destroy();
  });

  it('writes more than the ring holds, across staging buffers, with two writers at once', async ({ skip }) => {
    const ctx = device(skip);
    // Past every staging buffer once (the ring wraps), ending in a partial word, at an offset
    // that makes each piece straddle a staging buffer's end.
    const big = seededBytes((STAGING_BUFFERS + 1) * STAGING_BYTES + 4099, 6);
    const other = seededBytes(2 * STAGING_BYTES + 6, 7);
    const bigBuffer = target(ctx, Math.ceil((12 + big.length) / 4) * 4, 'big');
    const otherBuffer = target(ctx, Math.ceil(other.length / 4) * 4, 'other');
    const first = new StagedWrites(ctx, 'first writer');
    const second = new StagedWrites(ctx, 'second writer');
    const head = seededBytes(10, 8);
    await Promise.all([
      (async () => {
        await first.write(bigBuffer, 0, head);
        await first.write(bigBuffer, 12, big);
        await first.flush();
      })(),
      (async () => {
        await second.write(otherBuffer, 0, other);
        await second.flush();
      })(),
    ]);
    expect(
      firstDifference(
        await bytesOf(ctx, bigBuffer),
        modelOf(bigBuffer.size, [
          [0, head],
          [12, big],
        ]),
      ),
    ).toBe(-1);
    expect(firstDifference(await bytesOf(ctx, otherBuffer), modelOf(otherBuffer.size, [[0, other]]))).toBe(-1);
    bigBuffer.destroy();
    otherBuffer.destroy();
  });

  it('refuses an offset off a word, and reports at flush a copy the GPU refuses', async ({ skip }) => {
    const ctx = device(skip);
    const buffer = target(ctx, 64, 'small');
    const staged = new StagedWrites(ctx, 'bad writes');
    await expect(staged.write(buffer, 2, new Uint8Array(4))).rejects.toThrow("bad writes: writing 'small' at offset 2, not a multiple of 4 bytes");
    // Past the buffer's end: a validation error, thrown by flush.
    await staged.write(buffer, 60, new Uint8Array(8));
    await expect(staged.flush()).rejects.toBeInstanceOf(GpuOperationError);
    // The ring goes on serving writes after the refused copy.
    const good = new StagedWrites(ctx, 'good writes');
    const data = seededBytes(64, 9);
    await good.write(buffer, 0, data);
    await good.flush();
    expect(firstDifference(await bytesOf(ctx, buffer), data)).toBe(-1);
    buffer.destroy();
  });
});
