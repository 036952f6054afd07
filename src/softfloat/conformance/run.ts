import { createStorageBuffer, createZeroedStorageBuffer, readWords } from '../../engines/webgpu/buffers.js';
import type { GpuContext } from '../../engines/webgpu/device.js';
import { LINEAR_WORKGROUP_INDEX_WGSL, runCompute, type ComputeShader } from '../../engines/webgpu/dispatch.js';
import { sm90TablesBuffer } from '../../engines/webgpu/hardwareTables.js';
import { maxWordsPerBinding } from '../../engines/webgpu/limits.js';
import type { WgslTwin } from '../twins.js';
import { hardwareWgslSource, softfloatWgslSource } from '../wgslSource.js';
import type { ConformanceSuite } from './suites.js';

// Runs each soft-float (and sm_90 hardware-op) twin's WGSL on the adapter and its CPU twin on
// the host, over the same cases, and compares the bits exactly: the two are the same algorithm, so even NaN payloads
// must agree. What `ulpwise selftest` runs (report.ts prints it) and the conformance test
// asserts. The device plumbing (buffers, dispatch, limits) is the WebGPU engine's.

const WORKGROUP_SIZE = 64;
/** Cases per dispatch: bounded so a batch's buffers stay small on every adapter. */
const MAX_BATCH_CASES = 1 << 22;
const KEPT_EXAMPLES = 5;

export interface ConformanceMismatch {
  readonly args: readonly number[];
  readonly gpu: number;
  readonly cpu: number;
}

export interface ConformanceResult {
  readonly label: string;
  readonly twin: string;
  readonly coverage: string;
  readonly cases: number;
  readonly mismatches: number;
  readonly examples: readonly ConformanceMismatch[];
  readonly gpuMs: number;
  readonly cpuMs: number;
}

/** The WGSL entry point applying one twin to every case of a batch; a twin that reads the sm_90
 *  tables gets them at binding 2. */
export function twinShader(twin: WgslTwin): ComputeShader {
  const arity = twin.args.length;
  const call = `${twin.name}(${twin.args.map((_, j) => `cases[i * ${arity}u + ${j}u]`).join(', ')})`;
  const tables = twin.tables === 'sm90' ? `${hardwareWgslSource()}\n@group(0) @binding(2) var<storage, read> sm90Tables: array<u32>;\n` : '';
  return {
    label: `selftest ${twin.name}`,
    entryPoint: 'main',
    code: `${softfloatWgslSource()}
${tables}${LINEAR_WORKGROUP_INDEX_WGSL}
@group(0) @binding(0) var<storage, read> cases: array<u32>;
@group(0) @binding(1) var<storage, read_write> results: array<u32>;

@compute @workgroup_size(${WORKGROUP_SIZE})
fn main(@builtin(workgroup_id) workgroupId: vec3u, @builtin(num_workgroups) numWorkgroups: vec3u,
        @builtin(local_invocation_index) lane: u32) {
  let i = linearWorkgroupIndex(workgroupId, numWorkgroups) * ${WORKGROUP_SIZE}u + lane;
  if (i >= arrayLength(&results)) { return; }
  results[i] = ${call};
}
`,
  };
}

export async function runSuite(ctx: GpuContext, suite: ConformanceSuite): Promise<ConformanceResult> {
  const { twin } = suite;
  const arity = twin.args.length;
  const maxCases = Math.min(MAX_BATCH_CASES, Math.floor(maxWordsPerBinding(ctx.limits) / arity));
  const tables = twin.tables === 'sm90' ? [await sm90TablesBuffer(ctx)] : [];
  const examples: ConformanceMismatch[] = [];
  let cases = 0;
  let mismatches = 0;
  let gpuMs = 0;
  let cpuMs = 0;
  for (const batch of suite.batches(maxCases)) {
    const count = batch.length / arity;
    const started = performance.now();
    const input = await createStorageBuffer(ctx, batch, `${suite.label} cases`);
    const output = await createZeroedStorageBuffer(ctx, count, `${suite.label} results`);
    let gpu: Uint32Array;
    try {
      await runCompute(ctx, { shader: twinShader(twin), bindings: [input, output, ...tables], workgroups: Math.ceil(count / WORKGROUP_SIZE) });
      gpu = await readWords(ctx, output);
    } finally {
      input.destroy();
      output.destroy();
    }
    gpuMs += performance.now() - started;

    const cpuStarted = performance.now();
    const args: number[] = new Array(arity);
    for (let i = 0; i < count; i++) {
      for (let j = 0; j < arity; j++) args[j] = batch[i * arity + j];
      const cpu = twin.cpu(...args) >>> 0;
      if (gpu[i] === cpu) continue;
      mismatches++;
      if (examples.length < KEPT_EXAMPLES) examples.push({ args: [...args], gpu: gpu[i], cpu });
    }
    cpuMs += performance.now() - cpuStarted;
    cases += count;
  }
  return { label: suite.label, twin: twin.name, coverage: suite.coverage, cases, mismatches, examples, gpuMs, cpuMs };
}

/** Runs the suites in order (conformanceSuites(level) gives a level's); `onResult` sees each as it finishes. */
export async function runConformance(
  ctx: GpuContext,
  suites: readonly ConformanceSuite[],
  onResult: (result: ConformanceResult) => void = () => {},
): Promise<ConformanceResult[]> {
  const results: ConformanceResult[] = [];
  for (const suite of suites) {
    const result = await runSuite(ctx, suite);
    onResult(result);
    results.push(result);
  }
  return results;
}
