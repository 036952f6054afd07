import { describe, expect, it } from 'vitest';
import {
  adoptDevice,
  closeDevice,
  describeAdapter,
  NoAdapterError,
  openDevice,
  parseAdapterChoice,
  SWIFTSHADER_ICD,
  type AdapterKind,
  type GpuContext,
} from '../../src/engines/webgpu/device.js';
import { createStorageBuffer, createZeroedStorageBuffer, readWords } from '../../src/engines/webgpu/buffers.js';
import { LINEAR_WORKGROUP_INDEX_WGSL, runCompute } from '../../src/engines/webgpu/dispatch.js';
import { Xoshiro128StarStar } from '../../src/fixtures/prng.js';
import { deviceOrSkip, openOrExplain, SOFTWARE_ADAPTERS, suiteDevice } from './software-adapters.js';

const WORKGROUP_SIZE = 64;

/** out[3i] = a*3+i (wrapping), out[3i+1] = a >> (i mod 64) (WGSL: amount mod 32), out[3i+2] = clz(a). */
const INTEGER_SHADER = {
  label: 'integer probe',
  entryPoint: 'main',
  code: `${LINEAR_WORKGROUP_INDEX_WGSL}
@group(0) @binding(0) var<storage, read> a: array<u32>;
@group(0) @binding(1) var<storage, read_write> out: array<u32>;

@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(workgroup_id) workgroupId: vec3u, @builtin(num_workgroups) numWorkgroups: vec3u,
        @builtin(local_invocation_index) lane: u32) {
  let i = linearWorkgroupIndex(workgroupId, numWorkgroups) * ${WORKGROUP_SIZE}u + lane;
  if (i >= arrayLength(&a)) { return; }
  out[3u * i] = a[i] * 3u + i;
  out[3u * i + 1u] = a[i] >> (i % 64u);
  out[3u * i + 2u] = countLeadingZeros(a[i]);
}
`,
};

/** Values whose products by 3 wrap, or land exactly on 2^32 - 1, plus shift and clz edges. */
const INTEGER_EDGES = [
  0x00000000, 0x00000001, 0x55555555, 0x55555556, 0x7fffffff, 0x80000000, 0xaaaaaaaa, 0xaaaaaaab, 0xfffffffe, 0xffffffff, 0x00010000, 0x0000ffff,
];

function integerInputs(count: number): Uint32Array {
  const rng = Xoshiro128StarStar.fromSeed(0x5eed1234);
  const words = new Uint32Array(count);
  words.set(INTEGER_EDGES);
  for (let i = INTEGER_EDGES.length; i < count; i++) words[i] = rng.nextUint32();
  return words;
}

/** Independent of the shader: BigInt arithmetic reduced mod 2^32, JS clz32. */
function integerExpected(a: Uint32Array): Uint32Array {
  const out = new Uint32Array(a.length * 3);
  for (let i = 0; i < a.length; i++) {
    const value = BigInt(a[i]);
    out[3 * i] = Number((value * 3n + BigInt(i)) % 2n ** 32n);
    out[3 * i + 1] = Number(value >> BigInt((i % 64) % 32));
    out[3 * i + 2] = Math.clz32(a[i]);
  }
  return out;
}

function hex(word: number): string {
  return `0x${word.toString(16).padStart(8, '0')}`;
}

function mismatches(got: Uint32Array, expected: Uint32Array, name: (index: number) => string): string[] {
  const found: string[] = [];
  if (got.length !== expected.length) found.push(`length ${got.length}, expected ${expected.length}`);
  for (let i = 0; i < expected.length && found.length < 8; i++) {
    if (got[i] !== expected[i]) found.push(`${name(i)}: got ${hex(got[i])}, expected ${hex(expected[i])}`);
  }
  return found;
}

async function runIntegerProbe(ctx: GpuContext, count: number): Promise<string[]> {
  const a = integerInputs(count);
  const input = await createStorageBuffer(ctx, a, 'integer probe input');
  const output = await createZeroedStorageBuffer(ctx, count * 3, 'integer probe output');
  try {
    await runCompute(ctx, {
      shader: INTEGER_SHADER,
      bindings: [input, output],
      workgroups: Math.ceil(count / WORKGROUP_SIZE),
    });
    const got = await readWords(ctx, output);
    const names = ['a*3+i', 'a>>(i%64)', 'clz(a)'];
    return mismatches(got, integerExpected(a), (k) => {
      const i = Math.floor(k / 3);
      return `i=${i} a=${hex(a[i])} ${names[k % 3]}`;
    });
  } finally {
    input.destroy();
    output.destroy();
  }
}

/**
 * The adapters' own f32 arithmetic, observed (never trusted). Seen with npm webgpu 0.6.2 on
 * Debian 12 (Mesa 22.3.6 llvmpipe, Chromium 156 SwiftShader 5.0.0):
 * - llvmpipe keeps subnormals: 2^-149 + 0 = 2^-149, and 2^-149 == 0.0 is false.
 * - SwiftShader flushes subnormal operands to zero of the same sign: 2^-149 + 0 = +0,
 *   -2^-149 + 0 = +0, -2^-149 * 1 = -0, 0x007fffff * 1 = +0, and 2^-149 == 0.0 is true; a
 *   bitcast with no arithmetic keeps the bits.
 * - Both: Inf * 0 = 0xffc00000 (x86's negative default NaN; JS and numpy give 0x7fc00000).
 * - NVIDIA H200 through Vulkan (driver 580.159.04), same probe: flushes exactly as SwiftShader
 *   does, and Inf * 0 = 0x7fffffff.
 * So the assertions accept either the IEEE result or the flushed one and record which came
 * back: the WGSL engine's f32 steps must run on the integer soft-float.
 */
const FLOAT_SHADER = {
  label: 'float probe',
  entryPoint: 'main',
  code: `
@group(0) @binding(0) var<storage, read> a: array<u32>;
@group(0) @binding(1) var<storage, read> constants: array<u32>; // [+0, 1.0]
@group(0) @binding(2) var<storage, read_write> out: array<u32>;

@compute @workgroup_size(1)
fn main(@builtin(global_invocation_id) id: vec3u) {
  let i = id.x;
  if (i >= arrayLength(&a)) { return; }
  let x = bitcast<f32>(a[i]);
  let zero = bitcast<f32>(constants[0]);
  let one = bitcast<f32>(constants[1]);
  out[5u * i] = bitcast<u32>(x);
  out[5u * i + 1u] = bitcast<u32>(x + zero);
  out[5u * i + 2u] = bitcast<u32>(x * one);
  out[5u * i + 3u] = bitcast<u32>(x * zero);
  out[5u * i + 4u] = select(0u, 1u, x == zero);
}
`,
};

const FLOAT_PROBES = [0x00000001, 0x007fffff, 0x80000001, 0x00800000, 0x3f800000, 0x7f800000];

function f32(bits: number): number {
  return new Float32Array(new Uint32Array([bits]).buffer)[0];
}

function bitsOf(value: number): number {
  return new Uint32Array(new Float32Array([value]).buffer)[0];
}

function isNanBits(bits: number): boolean {
  return (bits & 0x7f800000) === 0x7f800000 && (bits & 0x007fffff) !== 0;
}

/** Shader output slot and a JS reference (+ * on f32 values are exact in f64, then rounded). */
const FLOAT_OPERATIONS = [
  { name: 'bitcast', slot: 0, reference: (x: number) => bitsOf(x) },
  { name: 'x + 0', slot: 1, reference: (x: number) => bitsOf(x + 0) },
  { name: 'x * 1', slot: 2, reference: (x: number) => bitsOf(x * 1) },
  { name: 'x * 0', slot: 3, reference: (x: number) => bitsOf(x * 0) },
  { name: 'x == 0', slot: 4, reference: (x: number) => (x === 0 ? 1 : 0) },
];

type FloatVerdict = 'ieee' | 'flushed' | 'unexplained';

/** IEEE on the input as given, or on the input flushed to a zero of its sign; NaN as a class. */
function floatVerdict(reference: (x: number) => number, input: number, got: number): FloatVerdict {
  const matches = (expected: number) => got === expected || (isNanBits(expected) && isNanBits(got));
  if (matches(reference(f32(input)))) return 'ieee';
  const subnormal = (input & 0x7f800000) === 0 && (input & 0x007fffff) !== 0;
  if (subnormal && matches(reference(f32(input & 0x80000000)))) return 'flushed';
  return 'unexplained';
}

describe.each(SOFTWARE_ADAPTERS)('software adapter %s', (kind: AdapterKind) => {
  const device = suiteDevice(kind);

  it('opens the adapter asked for and reports it', ({ skip }) => {
    const ctx = device(skip);
    console.info(`${kind}: ${describeAdapter(ctx.adapter)}; limits ${JSON.stringify(ctx.limits)}`);
    expect(ctx.adapter.kind).toBe(kind);
    if (kind === 'swiftshader') {
      expect(ctx.adapter).toMatchObject({ backend: 'vulkan', featureLevel: 'core', architecture: 'swiftshader' });
    } else {
      expect(ctx.adapter).toMatchObject({ backend: 'opengles', featureLevel: 'compatibility' });
      expect(`${ctx.adapter.device} ${ctx.adapter.description}`).toMatch(/llvmpipe/i);
    }
    // The device was given the adapter's maxima, not WebGPU's defaults.
    expect(ctx.limits.maxComputeInvocationsPerWorkgroup).toBeGreaterThanOrEqual(256);
    expect(ctx.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 2 ** 20);
  });

  it('computes wrapping u32 arithmetic, runtime shifts and clz bit-exactly', async ({ skip }) => {
    const ctx = device(skip);
    expect(await runIntegerProbe(ctx, 10_000)).toEqual([]);
  });

  it("has float arithmetic that is observably the adapter's own (recorded, never trusted)", async ({ skip }) => {
    const ctx = device(skip);
    const a = await createStorageBuffer(ctx, new Uint32Array(FLOAT_PROBES), 'float probe input');
    const constants = await createStorageBuffer(ctx, new Uint32Array([0x00000000, 0x3f800000]), 'float constants');
    const out = await createZeroedStorageBuffer(ctx, FLOAT_PROBES.length * 5, 'float probe output');
    try {
      await runCompute(ctx, { shader: FLOAT_SHADER, bindings: [a, constants, out], workgroups: FLOAT_PROBES.length });
      const got = await readWords(ctx, out);
      const lines: string[] = [];
      const unexplained: string[] = [];
      FLOAT_PROBES.forEach((input, i) => {
        for (const { name, slot, reference } of FLOAT_OPERATIONS) {
          const result = got[5 * i + slot];
          const verdict = floatVerdict(reference, input, result);
          const line = `${name.padEnd(8)} ${hex(input)} -> ${hex(result)} ${verdict}`;
          lines.push(line);
          if (verdict === 'unexplained') unexplained.push(line);
        }
      });
      console.info(`${kind} float probe:\n${lines.join('\n')}`);
      expect(unexplained).toEqual([]);
    } finally {
      a.destroy();
      constants.destroy();
      out.destroy();
    }
  });

  it('leaves an adopted device alive on close, and closes its own once', async ({ skip }) => {
    const ctx = device(skip);
    const adopted = adoptDevice(ctx.device);
    expect(adopted.adapter.kind).toBe('adopted');
    expect(adopted.adapter.architecture).toBe(ctx.adapter.architecture);
    await closeDevice(adopted);
    expect(await runIntegerProbe(ctx, 100)).toEqual([]);

    const own = await openDevice(kind);
    await closeDevice(own);
    await closeDevice(own);
    const lost = await own.device.lost;
    expect(lost.reason).toBe('destroyed');
  });
});

const LOADER_VARIABLES = ['VK_DRIVER_FILES', 'VK_ICD_FILENAMES', 'EGL_PLATFORM', 'LIBGL_ALWAYS_SOFTWARE', '__EGL_VENDOR_LIBRARY_FILENAMES'];

function loaderEnvironment(): (string | undefined)[] {
  return LOADER_VARIABLES.map((name) => process.env[name]);
}

describe('adapter choice', () => {
  it("'vulkan' gives a real GPU, or a NoAdapterError saying what to install", async () => {
    const before = loaderEnvironment();
    const opened = await openOrExplain('vulkan');
    expect(loaderEnvironment()).toEqual(before);
    if (opened instanceof NoAdapterError) {
      console.info(`no GPU here:\n${opened.message}`);
      expect(opened.attempts.map((a) => a.kind)).toEqual(['vulkan']);
      expect(opened.message).toContain('apt-get install');
      expect(opened.message).toContain('chromium-common');
      expect(opened.message).toContain('VK_DRIVER_FILES');
    } else {
      console.info(`GPU: ${describeAdapter(opened.adapter)}`);
      expect(opened.adapter).toMatchObject({ kind: 'vulkan', backend: 'vulkan', isFallbackAdapter: false });
      expect(await runIntegerProbe(opened, 10_000)).toEqual([]);
      await closeDevice(opened);
    }
  });

  it("'vulkan' refuses SwiftShader even when VK_DRIVER_FILES names only it", async ({ skip }) => {
    await closeDevice(deviceOrSkip(await openOrExplain('swiftshader'), skip));
    const saved = process.env.VK_DRIVER_FILES;
    process.env.VK_DRIVER_FILES = SWIFTSHADER_ICD;
    try {
      const opened = await openOrExplain('vulkan');
      if (!(opened instanceof NoAdapterError)) await closeDevice(opened);
      expect(opened).toBeInstanceOf(NoAdapterError);
      expect((opened as NoAdapterError).attempts[0].reason).toMatch(/only a CPU fallback/);
    } finally {
      if (saved === undefined) delete process.env.VK_DRIVER_FILES;
      else process.env.VK_DRIVER_FILES = saved;
    }
  });

  it("'auto' takes a real GPU first, then SwiftShader, then llvmpipe", async ({ skip }) => {
    const available: AdapterKind[] = [];
    let missing: NoAdapterError | undefined;
    for (const kind of ['vulkan', 'swiftshader', 'llvmpipe'] as const) {
      const opened = await openOrExplain(kind);
      if (opened instanceof NoAdapterError) {
        if (kind !== 'vulkan') missing ??= opened;
      } else {
        available.push(kind);
        await closeDevice(opened);
      }
    }
    if (missing !== undefined) deviceOrSkip(missing, skip);
    const auto = await openDevice('auto');
    try {
      expect(auto.adapter.kind).toBe(available[0]);
    } finally {
      await closeDevice(auto);
    }
  });

  it('parses adapter names and rejects others by listing the choices', () => {
    expect(parseAdapterChoice('llvmpipe')).toBe('llvmpipe');
    expect(() => parseAdapterChoice('lavapipe')).toThrow("unknown adapter 'lavapipe': expected one of auto, vulkan, swiftshader, llvmpipe");
  });

  it('builds the NoAdapterError message from every attempt and the install hint', () => {
    const error = new NoAdapterError('auto', [
      { kind: 'vulkan', reason: 'no driver' },
      { kind: 'swiftshader', reason: 'no ICD' },
    ]);
    expect(error.message.split('\n').slice(0, 3)).toEqual(["no WebGPU adapter for 'auto':", '  vulkan: no driver', '  swiftshader: no ICD']);
    expect(error.message).toContain('libegl1 libegl-mesa0 libgles2 libgl1-mesa-dri libvulkan1 chromium-common');
  });
});
