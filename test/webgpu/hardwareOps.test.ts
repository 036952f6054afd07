import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { Contract, ContractInput, Shape } from '../../src/contracts/schema.js';
import { parseContract } from '../../src/contracts/validate.js';
import { compareTensors } from '../../src/diff/compare.js';
import { runCpuEngine } from '../../src/engines/cpu/engine.js';
import type { CaseInputs } from '../../src/engines/io.js';
import { createStorageBuffer, createZeroedStorageBuffer, readWords } from '../../src/engines/webgpu/buffers.js';
import type { AdapterKind, GpuContext } from '../../src/engines/webgpu/device.js';
import { runCompute } from '../../src/engines/webgpu/dispatch.js';
import { runWebGpuEngine } from '../../src/engines/webgpu/engine.js';
import { sm90TablesBuffer } from '../../src/engines/webgpu/hardwareTables.js';
import { ENGINE_STAGES, engineShaderDir, stageShader } from '../../src/engines/webgpu/pipeline.js';
import { planCase } from '../../src/engines/webgpu/plan.js';
import { fillSm90Tables, SM90_TABLE_WORDS } from '../../src/numerics/hardware/sm90.js';
import type { Tensor } from '../../src/numerics/tensor.js';
import { twinShader } from '../../src/softfloat/conformance/run.js';
import { conformanceSuites } from '../../src/softfloat/conformance/suites.js';
import { HARDWARE_TWINS, type WgslTwin } from '../../src/softfloat/twins.js';
import { caseOf, randomBf16Values } from '../engines/caseBuilder.js';
import { SOFTWARE_ADAPTERS, suiteDevice } from './software-adapters.js';

// sm_90's measured instructions in the WebGPU simulator (shaders/numerics/hardware, wired into
// the stages by shaders/engine/hardwareOps.wgsl), on both software adapters:
// - the WGSL ops against what an H200 returned (the vectors test/numerics/hardware.test.ts
//   holds the TS twins to), and a table with one entry off fails that comparison;
// - the WGSL ops against their TS twins on the selftest's seeded and edge cases: that is
//   test/webgpu/softfloat.conformance.test.ts (HARDWARE_TWINS are among its suites); here, that
//   those cases hold the edges;
// - the whole engine with each slot, in each subnormal mode, bit-identical to the CPU engine.

function vectors(file: string, width: number): Uint32Array {
  const raw = gunzipSync(readFileSync(new URL(`../numerics/hardware-data/${file}`, import.meta.url)));
  const all = new Uint32Array(raw.buffer, raw.byteOffset, raw.length / 4);
  expect(all.length % width).toBe(0);
  return all;
}

/** Columns `args` of each row of `rows`, packed as a twin's cases. */
function argsOf(rows: Uint32Array, width: number, arity: number): Uint32Array {
  const out = new Uint32Array((rows.length / width) * arity);
  for (let r = 0; r < rows.length / width; r++) for (let j = 0; j < arity; j++) out[r * arity + j] = rows[r * width + j];
  return out;
}

const twin = (name: string): WgslTwin => HARDWARE_TWINS.find((t) => t.name === name)!;
const isNan = (b: number): boolean => (b & 0x7fffffff) > 0x7f800000;
const hex = (b: number): string => `0x${(b >>> 0).toString(16).padStart(8, '0')}`;

/** The twin's WGSL on every case, reading `tables` as its sm90Tables. */
async function runWgsl(ctx: GpuContext, op: WgslTwin, cases: Uint32Array, tables: GPUBuffer): Promise<Uint32Array> {
  const count = cases.length / op.args.length;
  const input = await createStorageBuffer(ctx, cases, `${op.name} vectors`);
  const output = await createZeroedStorageBuffer(ctx, count, `${op.name} results`);
  try {
    await runCompute(ctx, { shader: twinShader(op), bindings: [input, output, tables], workgroups: Math.ceil(count / 64) });
    return await readWords(ctx, output);
  } finally {
    input.destroy();
    output.destroy();
  }
}

/** Rows where the GPU's result is not the H200's (NaN as a class, as the TS twins' test). */
function againstHardware(rows: Uint32Array, width: number, arity: number, column: number, gpu: Uint32Array): string[] {
  const bad: string[] = [];
  for (let r = 0; r < gpu.length; r++) {
    const want = rows[r * width + column];
    if (gpu[r] === want || (isNan(gpu[r]) && isNan(want))) continue;
    const args = Array.from(rows.subarray(r * width, r * width + arity), hex).join(', ');
    bad.push(`${args}: hardware ${hex(want)}, webgpu ${hex(gpu[r])}`);
  }
  return bad;
}

const UNARY = [
  ['sm90RsqrtApprox', 1],
  ['sm90RsqrtApproxFtz', 2],
  ['sm90RcpApprox', 3],
  ['sm90RcpApproxFtz', 4],
] as const;
const DIVIDE = [
  ['sm90DivFull', 2],
  ['sm90DivFullFtz', 3],
] as const;

describe('sm_90 ops: what the selftest cases hold (no GPU)', () => {
  const suites = conformanceSuites('quick');
  const casesOf = (label: string): Uint32Array => {
    const suite = suites.find((s) => s.label === label)!;
    return Uint32Array.from([...suite.batches(1 << 30)].flatMap((b) => Array.from(b)));
  };

  it('every unary op: ±0, ±Inf, NaNs, every subnormal leading bit, both ends of every binade (period boundaries), the period [1, 4)', () => {
    for (const [name] of UNARY) {
      const cases = new Set(casesOf(`${name} edges + period`));
      const wanted = [0, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0x7f800001, 0xff800123, 0x3f800000, 0x407fffff, 0x40800000];
      for (let bit = 0; bit < 23; bit++) wanted.push(1 << bit, ((1 << bit) | 0x80000000) >>> 0);
      for (let field = 1; field < 255; field++) wanted.push(field << 23, (field << 23) | 0x7fffff);
      expect(wanted.filter((w) => !cases.has(w >>> 0)).map(hex), name).toEqual([]);
      // every 16th input of [1, 4) at the quick level
      for (let i = 0; i < 1 << 24; i += 1 << 16) expect(cases.has(0x3f800000 + i)).toBe(true);
    }
  });

  it('div.full: specials crossed, |b| > 2^126, |b| < 2^-126 (subnormal b), and quotients near 2^-126', () => {
    for (const [name] of DIVIDE) {
      const pairs = casesOf(name);
      let big = 0;
      let small = 0;
      let nearTiny = 0;
      for (let i = 0; i < pairs.length; i += 2) {
        const [a, b] = [pairs[i], pairs[i + 1]];
        const magB = b & 0x7fffffff;
        if (magB > 0x7e800000 && magB < 0x7f800000) big++;
        if (magB !== 0 && magB < 0x00800000) small++;
        const fieldA = (a >>> 23) & 0xff;
        const fieldB = (b >>> 23) & 0xff;
        if (fieldA > 0 && fieldB < 255 && Math.abs(fieldA - fieldB + 126) <= 1) nearTiny++;
      }
      expect(big, name).toBeGreaterThan(100_000);
      expect(small, name).toBeGreaterThan(100_000);
      expect(nearTiny, name).toBeGreaterThan(50_000);
    }
  });
});

describe('sm_90 slots in the WebGPU plan (no GPU)', () => {
  it('the stages that call a slot function are the ones that bind the tables', () => {
    for (const stage of ENGINE_STAGES) {
      const code = readFileSync(join(engineShaderDir(), stage.file), 'utf8');
      // groupScale and quantize share quant.wgsl: each entry point's body reaches the slots.
      expect(/\b(rsqrt|reciprocal|divide)Slot\(/.test(code), stage.name).toBe(stage.readsSm90Tables);
    }
  });

  it('binds the tables only for a contract with an sm_90 slot: otherwise no stage passes the 4 storage buffers compatibility mode guarantees', () => {
    const storageBuffers = (code: string): number => (code.match(/@binding\([^)]*\) var<storage/g) ?? []).length;
    for (const stage of ENGINE_STAGES) {
      const without = stageShader(stage, { ENGINE_F32_SUBNORMALS: 0 }, false).code;
      const withTables = stageShader(stage, { ENGINE_F32_SUBNORMALS: 0 }, true).code;
      expect(storageBuffers(without), stage.name).toBeLessThanOrEqual(4);
      expect(without).toContain('var<private> sm90Tables: array<u32, 1>;');
      expect(storageBuffers(withTables), stage.name).toBe(storageBuffers(without) + 1);
    }
  });
});

const HIDDEN = 96;
const TOKENS = 32;
const SHAPE: Shape = { ranks: 2, tokens: TOKENS, hidden: HIDDEN };

type Slots = ContractInput['hardwareOps'];
const IEEE: Slots = { rsqrt: 'ieee', reciprocal: 'ieee', divide: 'ieee' };

/** Each slot's call sites in use: the variance and the quant formed with the slot's operation. */
function slotContract(slots: Slots, subnormals: 'keep' | 'flush', formedBy: 'divide' | 'reciprocal'): Contract {
  const rne = 'rne' as const;
  return parseContract({
    allReduce: { order: { kind: 'natural' }, accumulate: 'f32', roundResult: 'none' },
    bf16Rounding: { allReduceHop: rne, allReduceResult: rne, residualAdd: rne, residualOut: rne, normIntermediate: rne, normOut: rne },
    f32Subnormals: subnormals,
    hardwareOps: slots,
    residual: null,
    norm: {
      input: 'f32',
      sumOfSquares: { perThread: 'chain', tree: { kind: 'sequential' } },
      variance: formedBy === 'divide' ? 'divide' : 'reciprocal-multiply',
      eps: 1e-6,
      weight: { dtype: 'bf16', castToBf16: false, offset: 'none' },
      multiplyOrder: 'x-rstd-w',
      roundIntermediate: false,
    },
    quant: {
      groupSize: 32,
      format: 'e4m3fn',
      input: 'f32',
      staticScale: null,
      // 1/300 is one of the few small integers' reciprocals that rcp.approx gets 1 ulp off
      // (every multiple of 32 up to 1024 and 448 it gets right), so the reciprocal slot moves the scale.
      divisor: 300,
      amaxFloor: null,
      scaleFloor: null,
      zeroAmaxScaleOne: false,
      scale: formedBy,
      ue8m0: 'none',
      quantize: formedBy,
      clamp: 'none',
      saturation: 'satfinite',
      scaleLayout: { kind: 'row-major' },
      bf16SideOutput: true,
    },
  });
}

const SLOT_CASES: readonly { name: string; slots: Slots; formedBy: 'divide' | 'reciprocal' }[] = [
  { name: "rsqrt 'sm90'", slots: { ...IEEE, rsqrt: 'sm90' }, formedBy: 'divide' },
  { name: "reciprocal 'sm90'", slots: { ...IEEE, reciprocal: 'sm90' }, formedBy: 'reciprocal' },
  { name: "divide 'sm90-div-full'", slots: { ...IEEE, divide: 'sm90-div-full' }, formedBy: 'divide' },
  { name: 'all three sm_90', slots: { rsqrt: 'sm90', reciprocal: 'sm90', divide: 'sm90-div-full' }, formedBy: 'reciprocal' },
];

/** Rows over a wide range of magnitudes; the weight's three quant groups near 2^-128 (normed
 *  values and scales subnormal, flushed under 'flush'), near 1, and near 2^100. */
function slotInputs(): CaseInputs {
  const rows = randomBf16Values(TOKENS * HIDDEN, 21, 3).map((v, i) => v * 2 ** ((Math.floor(i / HIDDEN) % 8) * 16 - 64));
  const second = randomBf16Values(TOKENS * HIDDEN, 22, 3).map((v, i) => v * 2 ** ((Math.floor(i / HIDDEN) % 8) * 16 - 64));
  const weight = randomBf16Values(HIDDEN, 23, 1.5).map((w, h) => w * 2 ** [-128, 0, 100][Math.floor(h / 32)]);
  return caseOf([rows, second], null, weight, TOKENS);
}

/** Outputs whose codes differ: every bit ('bits', engine against engine), or with NaN codes as
 *  one class ('nan-class', slot against slot: sm_90's NaN is 0x7fffffff where the IEEE slots give
 *  0x7fc00000, a difference that is not the value moving). */
function differingOutputs(a: Map<string, Tensor>, b: Map<string, Tensor>, nan: 'bits' | 'nan-class'): string[] {
  expect([...b.keys()]).toEqual([...a.keys()]);
  const out: string[] = [];
  for (const [name, t] of a) {
    const other = b.get(name)!;
    const differing = nan === 'bits' ? t.data.filter((code, i) => other.data[i] !== code).length : compareTensors(t, other).differing;
    if (differing > 0) out.push(`${name}: ${differing}/${t.data.length}`);
  }
  return out;
}

describe('sm_90 slot cases move bits (CPU engine, no GPU)', () => {
  it.for(SLOT_CASES.flatMap((c) => (['keep', 'flush'] as const).map((s) => [`${c.name}, ${s}`, c, s] as const)))(
    '%s differs from the same contract with every slot ieee',
    ([, c, subnormals]) => {
      const inputs = slotInputs();
      const sm90 = runCpuEngine(slotContract(c.slots, subnormals, c.formedBy), SHAPE, inputs);
      const ieee = runCpuEngine(slotContract(IEEE, subnormals, c.formedBy), SHAPE, inputs);
      expect(differingOutputs(sm90, ieee, 'nan-class')).not.toEqual([]);
    },
  );

  it('the plan reads the tables exactly when a slot is sm_90', () => {
    const limits = {
      maxComputeInvocationsPerWorkgroup: 256,
      maxComputeWorkgroupSizeX: 256,
      maxComputeWorkgroupStorageSize: 16384,
      maxComputeWorkgroupsPerDimension: 65535,
      maxStorageBufferBindingSize: 2 ** 27,
      maxBufferSize: 2 ** 28,
      maxStorageBuffersPerShaderStage: 8,
      minStorageBufferOffsetAlignment: 256,
    };
    const plan = (slots: Slots) => planCase(slotContract(slots, 'keep', 'divide'), SHAPE, slotInputs(), limits);
    expect(plan(IEEE).readsSm90Tables).toBe(false);
    expect(plan({ ...IEEE, rsqrt: 'inferred', reciprocal: 'inferred', divide: 'inferred' }).readsSm90Tables).toBe(false);
    for (const c of SLOT_CASES) {
      const p = plan(c.slots);
      expect(p.readsSm90Tables, c.name).toBe(true);
      expect([p.baseParams.rsqrtSm90, p.baseParams.reciprocalSm90, p.baseParams.divideSm90], c.name).toEqual([
        c.slots.rsqrt === 'sm90' ? 1 : 0,
        c.slots.reciprocal === 'sm90' ? 1 : 0,
        c.slots.divide === 'sm90-div-full' ? 1 : 0,
      ]);
    }
  });
});

describe.each(SOFTWARE_ADAPTERS)('sm_90 ops in WGSL on %s', (kind: AdapterKind) => {
  const device = suiteDevice(kind);

  const spots = vectors('sm90-unary-spots.u32.gz', 5);
  const pairs = vectors('sm90-div-full.u32.gz', 4);

  it.for(UNARY)('%s matches the H200 on its 2^16 measured inputs', async ([name, column], { skip }) => {
    const ctx = device(skip);
    const gpu = await runWgsl(ctx, twin(name), argsOf(spots, 5, 1), await sm90TablesBuffer(ctx));
    expect(gpu.length).toBe(1 << 16);
    expect(againstHardware(spots, 5, 1, column, gpu).slice(0, 10)).toEqual([]);
  });

  it.for(DIVIDE)('%s matches the H200 on every measured pair', async ([name, column], { skip }) => {
    const ctx = device(skip);
    const gpu = await runWgsl(ctx, twin(name), argsOf(pairs, 4, 2), await sm90TablesBuffer(ctx));
    expect(gpu.length).toBeGreaterThan(3 * (1 << 14));
    expect(againstHardware(pairs, 4, 2, column, gpu).slice(0, 10)).toEqual([]);
  });

  it('a table with one entry off fails the comparison at the inputs that read it', async ({ skip }) => {
    const ctx = device(skip);
    const words = new Uint32Array(SM90_TABLE_WORDS);
    fillSm90Tables(words);
    // rsqrt of the first measured normal input in the period's range [1, 4): its entry, + 1 ulp.
    let row = 0;
    while (spots[row * 5] < 0x3f800000 || spots[row * 5] >= 0x40800000) row++;
    const x = spots[row * 5];
    words[x - 0x3f800000] += 1;
    const planted = await createStorageBuffer(ctx, words, 'sm90 tables, one entry off');
    try {
      const gpu = await runWgsl(ctx, twin('sm90RsqrtApprox'), argsOf(spots, 5, 1), planted);
      const bad = againstHardware(spots, 5, 1, 1, gpu);
      expect(bad.length).toBeGreaterThan(0);
      expect(bad[0].startsWith(`${hex(x)}: hardware ${hex(spots[row * 5 + 1])}, webgpu ${hex(spots[row * 5 + 1] + 1)}`)).toBe(true);
    } finally {
      planted.destroy();
    }
  });

  it.for(SLOT_CASES.flatMap((c) => (['keep', 'flush'] as const).map((s) => [`${c.name}, ${s}`, c, s] as const)))(
    'engine with %s: WebGPU bits equal the CPU engine',
    async ([, c, subnormals], { skip }) => {
      const ctx = device(skip);
      const contract = slotContract(c.slots, subnormals, c.formedBy);
      const inputs = slotInputs();
      expect(differingOutputs(runCpuEngine(contract, SHAPE, inputs), await runWebGpuEngine(ctx, contract, SHAPE, inputs), 'bits')).toEqual([]);
    },
  );
});
