import { GpuOperationError, withErrorScopes, type GpuContext } from './device.js';

export interface ComputeShader {
  /** Names the shader in error messages and GPU object labels. */
  readonly label: string;
  readonly code: string;
  readonly entryPoint: string;
  /** Values of the module's `override` declarations, fixed when the pipeline is built (the
   *  compiler folds them: a mode that every call passes costs nothing at run time). */
  readonly constants?: Readonly<Record<string, number>>;
}

export interface ComputeDispatch {
  readonly shader: ComputeShader;
  /** Bound in order as @group(0) @binding(0), @binding(1), ...: storage or uniform buffers. */
  readonly bindings: readonly GPUBuffer[];
  /** Total workgroups; spread over y and z when x alone would exceed the device limit. */
  readonly workgroups: number;
}

/**
 * WGSL for the linear index of a workgroup in a dispatch that splitWorkgroups spread over
 * two or three dimensions. Shaders run by runCompute index their work with it (and bound
 * the index, since the grid may hold a few more workgroups than asked for).
 */
export const LINEAR_WORKGROUP_INDEX_WGSL = `
fn linearWorkgroupIndex(workgroupId: vec3u, numWorkgroups: vec3u) -> u32 {
  return workgroupId.x + numWorkgroups.x * (workgroupId.y + numWorkgroups.y * workgroupId.z);
}
`;

/** A WGSL module that failed to compile, with the compiler's messages and source lines. */
export class WgslCompileError extends Error {
  override readonly name = 'WgslCompileError';
  readonly messages: readonly string[];

  constructor(label: string, messages: readonly string[]) {
    super(`WGSL '${label}' does not compile:\n${messages.join('\n')}`);
    this.messages = messages;
  }
}

/**
 * [x, y, z] with x * y * z >= total and each at most maxPerDimension, keeping the surplus
 * small (below y * z workgroups).
 */
export function splitWorkgroups(total: number, maxPerDimension: number): [number, number, number] {
  if (!Number.isSafeInteger(total) || total < 1) {
    throw new RangeError(`workgroup count must be a positive integer, got ${total}`);
  }
  if (!Number.isSafeInteger(maxPerDimension) || maxPerDimension < 1) {
    throw new RangeError(`maxPerDimension must be a positive integer, got ${maxPerDimension}`);
  }
  const z = Math.ceil(total / (maxPerDimension * maxPerDimension));
  if (z > maxPerDimension) {
    throw new RangeError(`${total} workgroups exceed ${maxPerDimension}^3, the most one dispatch can hold`);
  }
  const perSlice = Math.ceil(total / z);
  const y = Math.ceil(perSlice / maxPerDimension);
  const x = Math.ceil(perSlice / y);
  return [x, y, z];
}

const pipelineCache = new WeakMap<GPUDevice, Map<string, Promise<GPUComputePipeline>>>();

/** The compiled pipeline for a shader, built once per device and shared by later dispatches. */
export function computePipeline(ctx: GpuContext, shader: ComputeShader): Promise<GPUComputePipeline> {
  let pipelines = pipelineCache.get(ctx.device);
  if (pipelines === undefined) {
    pipelines = new Map();
    pipelineCache.set(ctx.device, pipelines);
  }
  const constants = Object.entries(shader.constants ?? {})
    .map(([name, value]) => `${name}=${value}`)
    .join(',');
  const key = `${shader.entryPoint}\u0000${constants}\u0000${shader.code}`;
  let pipeline = pipelines.get(key);
  if (pipeline === undefined) {
    const cache = pipelines;
    pipeline = buildPipeline(ctx.device, shader);
    // A failed build is not cached: the error is reported to every waiter, then forgotten.
    pipeline.catch(() => cache.delete(key));
    cache.set(key, pipeline);
  }
  return pipeline;
}

async function buildPipeline(device: GPUDevice, shader: ComputeShader): Promise<GPUComputePipeline> {
  const module = await compileModule(device, shader);
  return withErrorScopes(device, `creating pipeline '${shader.label}' (entry point ${shader.entryPoint})`, () =>
    device.createComputePipeline({
      label: shader.label,
      layout: 'auto',
      compute: { module, entryPoint: shader.entryPoint, ...(shader.constants ? { constants: { ...shader.constants } } : {}) },
    }),
  );
}

async function compileModule(device: GPUDevice, shader: ComputeShader): Promise<GPUShaderModule> {
  const made: { module?: GPUShaderModule } = {};
  try {
    return await withErrorScopes(device, `compiling '${shader.label}'`, () => {
      made.module = device.createShaderModule({ label: shader.label, code: shader.code });
      return made.module;
    });
  } catch (error) {
    // The scope holds Dawn's text; the compilation info gives each error with its source line.
    if (made.module !== undefined && error instanceof GpuOperationError) {
      const errors = await compileErrors(made.module, shader.code);
      if (errors.length > 0) throw new WgslCompileError(shader.label, errors);
    }
    throw error;
  }
}

async function compileErrors(module: GPUShaderModule, code: string): Promise<string[]> {
  const info = await module.getCompilationInfo();
  const lines = code.split('\n');
  return info.messages
    .filter((m) => m.type === 'error')
    .map((m) => {
      const line = m.lineNum > 0 ? lines[m.lineNum - 1] : undefined;
      const source = line === undefined ? '' : `\n    ${line}\n    ${' '.repeat(Math.max(0, m.linePos - 1))}^`;
      return `  ${m.lineNum}:${m.linePos} error: ${m.message}${source}`;
    });
}

/** Compiles (or reuses) the shader and submits one dispatch; resolves once it is queued. */
export async function runCompute(ctx: GpuContext, dispatch: ComputeDispatch): Promise<void> {
  const { device } = ctx;
  const pipeline = await computePipeline(ctx, dispatch.shader);
  const [x, y, z] = splitWorkgroups(dispatch.workgroups, ctx.limits.maxComputeWorkgroupsPerDimension);
  const label = dispatch.shader.label;
  await withErrorScopes(device, `dispatching '${label}' (${x}x${y}x${z} workgroups)`, () => {
    const bindGroup = device.createBindGroup({
      label,
      layout: pipeline.getBindGroupLayout(0),
      entries: dispatch.bindings.map((buffer, binding) => ({ binding, resource: { buffer } })),
    });
    const encoder = device.createCommandEncoder({ label });
    const pass = encoder.beginComputePass({ label });
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    pass.end();
    device.queue.submit([encoder.finish()]);
  });
}
