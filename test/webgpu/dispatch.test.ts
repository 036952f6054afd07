import { describe, expect, it } from 'vitest';
import { GpuOperationError, type AdapterKind } from '../../src/engines/webgpu/device.js';
import { createStorageBuffer, createZeroedStorageBuffer, readWords } from '../../src/engines/webgpu/buffers.js';
import { computePipeline, LINEAR_WORKGROUP_INDEX_WGSL, runCompute, splitWorkgroups, WgslCompileError } from '../../src/engines/webgpu/dispatch.js';
import { Xoshiro128StarStar } from '../../src/fixtures/prng.js';
import { SOFTWARE_ADAPTERS, suiteDevice } from './software-adapters.js';

describe('splitWorkgroups', () => {
  it('fits every count up to max^3 with each dimension within the limit and a small surplus', () => {
    const max = 7;
    for (let total = 1; total <= max ** 3; total++) {
      const [x, y, z] = splitWorkgroups(total, max);
      for (const d of [x, y, z]) expect(d >= 1 && d <= max).toBe(true);
      expect(x * y * z).toBeGreaterThanOrEqual(total);
      expect(x * y * z - total).toBeLessThan(y * z);
    }
    expect(() => splitWorkgroups(max ** 3 + 1, max)).toThrow('344 workgroups exceed 7^3');
  });

  it('stays one-dimensional up to the limit and splits just past it', () => {
    expect(splitWorkgroups(65535, 65535)).toEqual([65535, 1, 1]);
    expect(splitWorkgroups(65536, 65535)).toEqual([32768, 2, 1]);
    expect(splitWorkgroups(65535 * 65535 + 1, 65535)).toEqual([65535, 32768, 2]);
  });

  it('rejects counts that are not positive integers', () => {
    expect(() => splitWorkgroups(0, 65535)).toThrow('workgroup count must be a positive integer, got 0');
    expect(() => splitWorkgroups(2.5, 65535)).toThrow('got 2.5');
  });
});

/** Each invocation writes its linear index, xor a pattern, to its own word. */
function indexShader(workgroupSize: number) {
  return {
    label: `linear index x${workgroupSize}`,
    entryPoint: 'main',
    code: `${LINEAR_WORKGROUP_INDEX_WGSL}
@group(0) @binding(0) var<storage, read_write> out: array<u32>;

@compute @workgroup_size(${workgroupSize})
fn main(@builtin(workgroup_id) workgroupId: vec3u, @builtin(num_workgroups) numWorkgroups: vec3u,
        @builtin(local_invocation_index) lane: u32) {
  let i = linearWorkgroupIndex(workgroupId, numWorkgroups) * ${workgroupSize}u + lane;
  if (i >= arrayLength(&out)) { return; }
  out[i] = i ^ 0xa5a5a5a5u;
}
`,
  };
}

function firstWrongIndex(got: Uint32Array): number {
  return got.findIndex((word, i) => word !== (i ^ 0xa5a5a5a5) >>> 0);
}

describe.each(SOFTWARE_ADAPTERS)('dispatch on %s', (kind: AdapterKind) => {
  const device = suiteDevice(kind);

  it('reaches every workgroup of a dispatch split past maxComputeWorkgroupsPerDimension', async ({ skip }) => {
    const ctx = device(skip);
    const count = ctx.limits.maxComputeWorkgroupsPerDimension + 3;
    const out = await createZeroedStorageBuffer(ctx, count, 'split dispatch output');
    try {
      await runCompute(ctx, { shader: indexShader(1), bindings: [out], workgroups: count });
      expect(firstWrongIndex(await readWords(ctx, out))).toBe(-1);
    } finally {
      out.destroy();
    }
  });

  it('runs the largest workgroup the device was given', async ({ skip }) => {
    const ctx = device(skip);
    const size = Math.min(ctx.limits.maxComputeInvocationsPerWorkgroup, ctx.limits.maxComputeWorkgroupSizeX);
    const count = size * 3 + 5;
    const out = await createZeroedStorageBuffer(ctx, count, 'wide workgroup output');
    try {
      await runCompute(ctx, { shader: indexShader(size), bindings: [out], workgroups: Math.ceil(count / size) });
      expect(firstWrongIndex(await readWords(ctx, out))).toBe(-1);
    } finally {
      out.destroy();
    }
  });

  it('round-trips buffer words bit for bit', async ({ skip }) => {
    const ctx = device(skip);
    const words = new Uint32Array(4099);
    const rng = Xoshiro128StarStar.fromSeed(4099);
    for (let i = 0; i < words.length; i++) words[i] = rng.nextUint32();
    words.set([0, 0xffffffff, 0x7fc00000, 0xffc00001, 0x00000001, 0x80000000]);
    const buffer = await createStorageBuffer(ctx, words, 'round trip');
    try {
      expect(await readWords(ctx, buffer)).toEqual(words);
    } finally {
      buffer.destroy();
    }
  });

  it('builds each pipeline once per device', async ({ skip }) => {
    const ctx = device(skip);
    const first = computePipeline(ctx, indexShader(8));
    expect(computePipeline(ctx, indexShader(8))).toBe(first);
    expect(await computePipeline(ctx, indexShader(8))).toBe(await first);
    expect(await computePipeline(ctx, indexShader(16))).not.toBe(await first);
  });

  it('reports WGSL compile errors with line, message and source, and does not cache them', async ({ skip }) => {
    const ctx = device(skip);
    const broken = {
      label: 'broken',
      entryPoint: 'main',
      code: '@compute @workgroup_size(1)\nfn main() {\n  let x: u32 = 1.5;\n}\n',
    };
    const error = await runCompute(ctx, { shader: broken, bindings: [], workgroups: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(WgslCompileError);
    const message = (error as WgslCompileError).message;
    expect(message).toContain("WGSL 'broken' does not compile:");
    expect(message).toMatch(/ {2}3:\d+ error: .*abstract-float.*u32/);
    expect(message).toContain('\n      let x: u32 = 1.5;\n                   ^');
    await expect(computePipeline(ctx, broken)).rejects.toBeInstanceOf(WgslCompileError);
  });

  it('turns validation errors into thrown errors naming the operation', async ({ skip }) => {
    const ctx = device(skip);
    const missingEntry = { ...indexShader(1), entryPoint: 'absent' };
    await expect(computePipeline(ctx, missingEntry)).rejects.toThrow(/creating pipeline 'linear index x1' \(entry point absent\): validation error: .*absent/s);
    const error = await runCompute(ctx, { shader: indexShader(1), bindings: [], workgroups: 1 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GpuOperationError);
    expect((error as GpuOperationError).message).toMatch(/^dispatching 'linear index x1' \(1x1x1 workgroups\): /);
    expect((error as GpuOperationError).errors.map((e) => e.filter)).toContain('validation');
  });

  it('rejects empty and oversized buffers before touching the device', async ({ skip }) => {
    const ctx = device(skip);
    await expect(createStorageBuffer(ctx, new Uint32Array(0), 'empty')).rejects.toThrow("buffer 'empty': needs a positive whole number of words, got 0");
    const tooMany = ctx.limits.maxBufferSize / 4 + 1;
    await expect(createZeroedStorageBuffer(ctx, tooMany, 'huge')).rejects.toThrow(/exceed the device's maxBufferSize/);
  });
});
