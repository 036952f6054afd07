import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Bench } from 'tinybench';
import { getPreset } from '../src/contracts/presets.js';
import { compareTensors } from '../src/diff/compare.js';
import { runCpuEngine } from '../src/engines/cpu/engine.js';
import { closeDevice, describeAdapter, openDevice, parseAdapterChoice, withErrorScopes, type GpuContext } from '../src/engines/webgpu/device.js';
import { computePipeline, LINEAR_WORKGROUP_INDEX_WGSL, splitWorkgroups } from '../src/engines/webgpu/dispatch.js';
import { runWebGpuEngine } from '../src/engines/webgpu/engine.js';
import { executeCase, type Execution } from '../src/engines/webgpu/execute.js';
import { maxWordsPerBinding } from '../src/engines/webgpu/limits.js';
import { releaseCase, uploadCase } from '../src/engines/webgpu/upload.js';
import { buildCase } from '../src/fixtures/golden.js';
import { defaultSuite } from '../src/fixtures/suite.js';
import type { Tensor } from '../src/numerics/tensor.js';
import { benchInputs } from './benchInputs.js';
import { numberList } from './stats.js';

// WebGPU engine vs CPU engine at N=8, H=7168, aiter-1stage-quant (per-group FP8 quant with the
// bf16 side output). Upload (buffers made and filled) is timed apart from execution (every
// dispatch plus the readback into output tensors). Before timing, the engine is checked bit
// for bit against the CPU engine on the default golden suite and on every timed case.
//
// usage: node dist/bench/webgpu.js [--adapter A] [--tokens 128,1024,8192] [--cpu-tokens LIST]
//        [--iterations 5] [--chunk-rows N] [--output-set-budget-mib MIB] [--ranks 8] [--no-suite-check] [--json FILE]
// --output-set-budget-mib 0: every chunk reuses one set of output buffers (upload.ts OUTPUT_SET_BUDGET_BYTES).

const { values } = parseArgs({
  options: {
    adapter: { type: 'string', default: 'auto' },
    tokens: { type: 'string', default: '128,1024,8192' },
    'cpu-tokens': { type: 'string' },
    iterations: { type: 'string', default: '5' },
    'chunk-rows': { type: 'string' },
    'output-set-budget-mib': { type: 'string' },
    ranks: { type: 'string', default: '8' },
    'no-suite-check': { type: 'boolean', default: false },
    json: { type: 'string' },
  },
});
const tokensList = numberList(values.tokens);
const cpuTokens = new Set(numberList(values['cpu-tokens'] ?? values.tokens));
const iterations = Number(values.iterations);
const maxRowsPerChunk = values['chunk-rows'] === undefined ? undefined : Number(values['chunk-rows']);
const outputSetBudgetBytes = values['output-set-budget-mib'] === undefined ? undefined : Number(values['output-set-budget-mib']) * 2 ** 20;

const RANKS = Number(values.ranks);
if (!Number.isInteger(RANKS) || RANKS < 1) throw new RangeError(`--ranks must be a positive integer, got ${values.ranks}`);
const HIDDEN = 7168;
const PRESET = 'aiter-1stage-quant';
const contract = getPreset(PRESET).contract;

function differingOutputs(expected: Map<string, Tensor>, actual: Map<string, Tensor>): string[] {
  const problems: string[] = [];
  for (const [name, e] of expected) {
    const a = actual.get(name);
    if (!a) problems.push(`${name} missing`);
    else {
      const c = compareTensors(e, a);
      if (c.differing > 0) problems.push(`${name}: ${c.differing}/${c.elements} differ`);
    }
  }
  return problems;
}

/** Device bandwidth: a WGSL copy of one buffer into another, bytes read plus bytes written per second. */
async function copyBandwidth(ctx: GpuContext): Promise<{ bytes: number; gbPerSecond: number }> {
  const { device } = ctx;
  // 256 MiB each: far past the L2 caches, within software adapters' memory.
  const words = Math.min(maxWordsPerBinding(ctx.limits), 64 * 2 ** 20) & ~3;
  const shader = {
    label: 'bandwidth copy',
    entryPoint: 'main',
    code: `${LINEAR_WORKGROUP_INDEX_WGSL}
@group(0) @binding(0) var<storage, read> src: array<vec4u>;
@group(0) @binding(1) var<storage, read_write> dst: array<vec4u>;
@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) workgroupId: vec3u, @builtin(num_workgroups) numWorkgroups: vec3u,
        @builtin(local_invocation_index) lane: u32) {
  let i = linearWorkgroupIndex(workgroupId, numWorkgroups) * 64u + lane;
  if (i < arrayLength(&dst)) { dst[i] = src[i]; }
}`,
  };
  const pipeline = await computePipeline(ctx, shader);
  const [src, dst] = ['src', 'dst'].map((label) => device.createBuffer({ label, size: words * 4, usage: GPUBufferUsage.STORAGE }));
  const bindGroup = await withErrorScopes(device, 'bandwidth buffers', () =>
    device.createBindGroup({
      layout: pipeline.getBindGroupLayout(0),
      entries: [
        { binding: 0, resource: { buffer: src } },
        { binding: 1, resource: { buffer: dst } },
      ],
    }),
  );
  const grid = splitWorkgroups(Math.ceil(words / 4 / 64), ctx.limits.maxComputeWorkgroupsPerDimension);
  const copies = async (count: number): Promise<number> => {
    const started = performance.now();
    await withErrorScopes(device, 'bandwidth copy', () => {
      const encoder = device.createCommandEncoder();
      for (let i = 0; i < count; i++) {
        const pass = encoder.beginComputePass();
        pass.setPipeline(pipeline);
        pass.setBindGroup(0, bindGroup);
        pass.dispatchWorkgroups(...grid);
        pass.end();
      }
      device.queue.submit([encoder.finish()]);
    });
    await device.queue.onSubmittedWorkDone();
    return performance.now() - started;
  };
  try {
    await copies(2);
    // The difference of two runs cancels the submit and wait overhead.
    const few = await copies(2);
    const many = await copies(12);
    return { bytes: words * 4, gbPerSecond: (2 * words * 4 * 10) / ((many - few) / 1000) / 1e9 };
  } finally {
    src.destroy();
    dst.destroy();
  }
}

/** Where readback time goes, on one 256 MiB buffer: the copy into a mappable buffer, mapping it,
 *  and the host copy out of it into a fresh array and into one already written; then the upload
 *  path (queue.writeBuffer). */
async function transferProbe(ctx: GpuContext): Promise<Record<string, number>> {
  const { device } = ctx;
  const size = Math.min(256 * 2 ** 20, ctx.limits.maxBufferSize);
  const source = device.createBuffer({ label: 'probe source', size, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST });
  const staging = device.createBuffer({ label: 'probe staging', size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const timed = async (work: () => Promise<unknown> | unknown): Promise<number> => {
    const started = performance.now();
    await work();
    return performance.now() - started;
  };
  const toStaging = async (): Promise<void> => {
    const encoder = device.createCommandEncoder();
    encoder.copyBufferToBuffer(source, 0, staging, 0, size);
    device.queue.submit([encoder.finish()]);
    await device.queue.onSubmittedWorkDone();
  };
  try {
    await toStaging();
    const gpuToMappableMs = await timed(toStaging);
    const mapMs = await timed(() => staging.mapAsync(GPUMapMode.READ));
    const mapped = new Uint8Array(staging.getMappedRange());
    let host = new Uint8Array(0);
    const freshCopyMs = await timed(() => {
      host = new Uint8Array(size);
      host.set(mapped);
    });
    const warmCopyMs = await timed(() => host.set(mapped));
    const touchFreshMs = await timed(() => new Uint8Array(size).fill(1));
    staging.unmap();
    // The readback's own pattern: eight chunk-sized copies into one mappable buffer at offsets.
    const chunkBytes = Math.floor(size / 8 / 4) * 4;
    const chunk = device.createBuffer({ label: 'probe chunk', size: chunkBytes, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
    const chunkedCopies = async (): Promise<void> => {
      const encoder = device.createCommandEncoder();
      for (let i = 0; i < 8; i++) encoder.copyBufferToBuffer(chunk, 0, staging, i * chunkBytes, chunkBytes);
      device.queue.submit([encoder.finish()]);
      await device.queue.onSubmittedWorkDone();
    };
    await chunkedCopies();
    const chunkedMs = await timed(chunkedCopies);
    chunk.destroy();
    const uploadMs = await timed(async () => {
      device.queue.writeBuffer(source, 0, host);
      await device.queue.onSubmittedWorkDone();
    });
    const gbps = (ms: number): number => Number((size / (ms / 1000) / 1e9).toFixed(2));
    return {
      mib: size / 2 ** 20,
      'gpu->mappable GB/s': gbps(gpuToMappableMs),
      'gpu->mappable in 8 chunk copies GB/s': gbps(chunkedMs),
      'map ms': Number(mapMs.toFixed(2)),
      'mapped->fresh array GB/s': gbps(freshCopyMs),
      'mapped->written array GB/s': gbps(warmCopyMs),
      'fresh array fill GB/s': gbps(touchFreshMs),
      'writeBuffer upload GB/s': gbps(uploadMs),
    };
  } finally {
    source.destroy();
    staging.destroy();
  }
}

/** Bytes the fused kernel must move at least: every rank input, the residual and the weight in,
 *  residual, norm side output, fp8 codes and scales out. */
function bytesToMove(tokens: number): number {
  const elements = tokens * HIDDEN;
  return elements * (2 * RANKS + 2) + HIDDEN * 2 + elements * (2 + 2 + 1) + (elements / 128) * 4;
}

/** A GPU timeline (executeCase gpuTimeline) in three numbers. */
class PassSummary {
  constructor(
    readonly passes: number,
    readonly inPasses: number,
    readonly betweenPasses: number,
    readonly span: number,
  ) {}
  toString(): string {
    return `${this.passes}: ${this.inPasses.toFixed(2)} / ${this.betweenPasses.toFixed(2)} / ${this.span.toFixed(2)}`;
  }
}

function summarizePasses(passes: readonly { begin: number; end: number }[]): PassSummary {
  let inPasses = 0;
  let betweenPasses = 0;
  passes.forEach((pass, i) => {
    inPasses += pass.end - pass.begin;
    if (i > 0) betweenPasses += pass.begin - passes[i - 1].end;
  });
  return new PassSummary(passes.length, inPasses, betweenPasses, passes.length > 0 ? passes[passes.length - 1].end - passes[0].begin : 0);
}

/** Execution phases averaged over a bench's runs (its warm-up included). */
class PhaseMeans {
  private readonly sums = { submit: 0, wait: 0, gpu: 0, host: 0 };
  private count = 0;
  add(phases: Execution['phaseMs']): void {
    this.sums.submit += phases.submit;
    this.sums.wait += phases.wait;
    this.sums.gpu += phases.gpu ?? Number.NaN;
    this.sums.host += phases.host;
    this.count++;
  }
  means(): Record<'submit' | 'wait' | 'gpu' | 'host', number | null> {
    const mean = (sum: number): number | null => (Number.isNaN(sum) ? null : Number((sum / Math.max(1, this.count)).toFixed(2)));
    return { submit: mean(this.sums.submit), wait: mean(this.sums.wait), gpu: mean(this.sums.gpu), host: mean(this.sums.host) };
  }
  toString(): string {
    const m = this.means();
    return `${m.submit} / ${m.wait}${m.gpu === null ? '' : ` (GPU ${m.gpu})`} / ${m.host}`;
  }
}

function meanMs(bench: Bench): { mean: number; min: number; median: number; max: number; samples: number } {
  const result = bench.tasks[0].result;
  if (!result || result.state !== 'completed') throw new Error(`${bench.tasks[0].name}: ${result?.state ?? 'no result'}`);
  const { mean, min, p50, max, samplesCount } = result.latency;
  return { mean, min, median: p50, max, samples: samplesCount };
}

const ctx = await openDevice(parseAdapterChoice(values.adapter));
const timestamps = ctx.device.features.has('timestamp-query');
const report: Record<string, unknown> = { date: new Date().toISOString(), adapter: describeAdapter(ctx.adapter), preset: PRESET, ranks: RANKS, hidden: HIDDEN };
try {
  console.log(`adapter: ${describeAdapter(ctx.adapter)}`);
  if (!values['no-suite-check']) {
    const started = performance.now();
    const failures: string[] = [];
    const suite = defaultSuite();
    for (const spec of suite) {
      const built = buildCase(spec);
      const problems = differingOutputs(
        runCpuEngine(built.contract, built.shape, built.inputs),
        await runWebGpuEngine(ctx, built.contract, built.shape, built.inputs),
      );
      if (problems.length > 0) failures.push(`${spec.preset} ${spec.ranks}x${spec.tokens}x${spec.hidden} ${spec.inputs}: ${problems.join('; ')}`);
    }
    console.log(
      `default suite: ${suite.length - failures.length}/${suite.length} cases bit-exact, WebGPU vs CPU (${((performance.now() - started) / 1000).toFixed(1)} ` +
        `s)`,
    );
    for (const f of failures) console.log(`  MISMATCH ${f}`);
    report.suiteCheck = { cases: suite.length, bitExact: suite.length - failures.length, failures };
  }

  const bandwidth = await copyBandwidth(ctx);
  console.log(`copy bandwidth: ${bandwidth.gbPerSecond.toFixed(1)} GB/s (read + write, ${bandwidth.bytes / 2 ** 20} MiB buffers)`);
  report.bandwidth = bandwidth;
  const transfers = await transferProbe(ctx);
  console.log(
    `transfers: ${Object.entries(transfers)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  report.transfers = transfers;

  const rows: Record<string, string | number>[] = [];
  for (const tokens of tokensList) {
    const shape = { ranks: RANKS, tokens, hidden: HIDDEN };
    const inputs = benchInputs(shape, tokens);
    const elements = tokens * HIDDEN;

    // The CPU engine's run is both the speed reference and the bits the WebGPU run must give.
    let cpuMs: number | null = null;
    let cpuOutputs: Map<string, Tensor> | undefined;
    if (cpuTokens.has(tokens)) {
      const cpuBench = new Bench({ iterations: tokens >= 4096 ? 1 : 3, warmupIterations: 0, time: 0, warmupTime: 0 });
      cpuBench.add(`cpu M=${tokens}`, () => {
        cpuOutputs = runCpuEngine(contract, shape, inputs);
      });
      await cpuBench.run();
      cpuMs = meanMs(cpuBench).mean;
    }

    const uploadStarted = performance.now();
    const uploaded = await uploadCase(ctx, contract, shape, inputs, { maxRowsPerChunk, outputSetBudgetBytes });
    await ctx.device.queue.onSubmittedWorkDone();
    const uploadMs = performance.now() - uploadStarted;
    try {
      const first = await executeCase(uploaded);
      const gpuBench = new Bench({ iterations, warmupIterations: 1, time: 0, warmupTime: 0 });
      gpuBench.add(`webgpu M=${tokens}`, async () => {
        await executeCase(uploaded);
      });
      await gpuBench.run();
      const gpu = meanMs(gpuBench);
      // A sweep rerunning a case can write into the previous outputs: no fresh arrays to fault in.
      const reused = await executeCase(uploaded, { into: (await executeCase(uploaded)).outputs });
      const reuseBench = new Bench({ iterations, warmupIterations: 1, time: 0, warmupTime: 0 });
      const intoPhases = new PhaseMeans();
      reuseBench.add(`webgpu M=${tokens} into`, async () => {
        intoPhases.add((await executeCase(uploaded, { into: reused.outputs })).phaseMs);
      });
      await reuseBench.run();
      const gpuInto = meanMs(reuseBench);
      // The same work with no host copy: the outputs are views of the mapped buffers.
      const mappedCase = await uploadCase(ctx, contract, shape, inputs, { maxRowsPerChunk, outputSetBudgetBytes, readback: 'mapped' });
      let gpuMapped: ReturnType<typeof meanMs>;
      const timelines: Record<string, PassSummary> = {};
      const mappedPhases = new PhaseMeans();
      const mappedProblems: string[] = [];
      try {
        const mappedFirst = await executeCase(mappedCase);
        mappedProblems.push(...differingOutputs(first.outputs, mappedFirst.outputs).map((p) => `mapped outputs: ${p}`));
        mappedFirst.release();
        const mappedBench = new Bench({ iterations, warmupIterations: 1, time: 0, warmupTime: 0 });
        mappedBench.add(`webgpu M=${tokens} mapped`, async () => {
          const execution = await executeCase(mappedCase);
          mappedPhases.add(execution.phaseMs);
          execution.release();
        });
        await mappedBench.run();
        gpuMapped = meanMs(mappedBench);
        if (timestamps) {
          const traced = await executeCase(mappedCase, { gpuTimeline: true });
          timelines.mapped = summarizePasses(traced.gpuPasses ?? []);
          traced.release();
        }
      } finally {
        releaseCase(mappedCase);
      }
      // Every dispatch as a run submits them, waited for, nothing read back.
      const computeBench = new Bench({ iterations, warmupIterations: 1, time: 0, warmupTime: 0 });
      computeBench.add(`webgpu M=${tokens} compute`, async () => {
        await executeCase(uploaded, { computeOnly: true });
      });
      await computeBench.run();
      const gpuCompute = meanMs(computeBench);
      if (timestamps) timelines.computeOnly = summarizePasses((await executeCase(uploaded, { computeOnly: true, gpuTimeline: true })).gpuPasses ?? []);
      if (timestamps)
        console.log(
          `M=${tokens}: GPU timeline, ms (passes: compute in passes / gaps between passes / first start to last end): mapped readback ${timelines.mapped}; ` +
            `compute only ${timelines.computeOnly}`,
        );
      const problems = [
        ...(cpuOutputs ? differingOutputs(cpuOutputs, first.outputs) : []),
        ...differingOutputs(first.outputs, reused.outputs).map((p) => `reused outputs: ${p}`),
        ...mappedProblems,
      ];
      const exact = problems.length > 0 ? problems.join('; ') : cpuOutputs ? 'yes' : 'not checked (no cpu run)';
      const stages = (await executeCase(uploaded, { timeStages: true })).stageMs;
      const floorMs = (bytesToMove(tokens) / (bandwidth.gbPerSecond * 1e9)) * 1000;
      const row = {
        M: tokens,
        chunks: uploaded.chunks.length,
        'output sets': new Set(uploaded.chunks.flatMap((chunk) => chunk.outputs)).size,
        'upload ms': Number(uploadMs.toFixed(1)),
        'run+readback ms': Number(gpu.mean.toFixed(2)),
        'min ms': Number(gpu.min.toFixed(2)),
        'into ms': Number(gpuInto.mean.toFixed(2)),
        'mapped ms': Number(gpuMapped.mean.toFixed(2)),
        'mapped min ms': Number(gpuMapped.min.toFixed(2)),
        'mapped median ms': Number(gpuMapped.median.toFixed(2)),
        'mapped max ms': Number(gpuMapped.max.toFixed(2)),
        'compute ms': Number(gpuCompute.mean.toFixed(2)),
        'webgpu elem/s': Number((elements / (gpu.mean / 1000)).toPrecision(4)),
        'cpu ms': cpuMs === null ? '-' : Number(cpuMs.toFixed(0)),
        'cpu elem/s': cpuMs === null ? '-' : Number((elements / (cpuMs / 1000)).toPrecision(4)),
        speedup: cpuMs === null ? '-' : Number((cpuMs / gpu.mean).toFixed(1)),
        'floor ms': Number(floorMs.toFixed(3)),
        'floor share': Number((floorMs / gpu.mean).toFixed(4)),
        'bit-exact': exact,
      };
      rows.push(row);
      const stageText = [...stages].map(([name, ms]) => `${name} ${ms.toFixed(2)}`).join(', ');
      console.log(`M=${tokens}: stages alone (ms): ${stageText}`);
      console.log(`M=${tokens}: phases, mean ms (submit / wait for GPU and maps / host work): into ${intoPhases}; mapped ${mappedPhases}`);
      report[`M=${tokens}`] = {
        ...row,
        stageMs: Object.fromEntries(stages),
        phaseMs: { into: intoPhases.means(), mapped: mappedPhases.means() },
        gpuTimeline: timelines,
        bytesToMove: bytesToMove(tokens),
        samples: gpu.samples,
      };
    } finally {
      releaseCase(uploaded);
    }
  }
  console.table(rows);
  if (values.json) writeFileSync(values.json, JSON.stringify(report, null, 2));
} finally {
  await closeDevice(ctx);
}
