import type { Contract, Shape } from '../../contracts/schema.js';
import { FP8_DTYPE, type Tensor } from '../../numerics/tensor.js';
import type { Engine } from '../engine.js';
import { outputName, scaleIndex, scaleShape, type CaseInputs, type ScaleLayout } from '../io.js';
import { closeDevice, describeAdapter, openDevice, withErrorScopes, type AdapterChoice, type GpuContext } from './device.js';
import { splitWorkgroups } from './dispatch.js';
import type { ItemRange } from './limits.js';
import { ENGINE_STAGES, stagePipelines, stageWorkgroups, type BufferRole, type EngineStage } from './pipeline.js';
import { bf16Words, encodeParams, paramsFor, planCase, type EnginePlan, type PlanOptions } from './plan.js';

// The WebGPU engine: the CPU engine's pipeline (engine.ts), stage by stage in WGSL, with every
// f32 step done by the integer soft-float, so its output bits equal the CPU engine's on any
// adapter. A case is uploaded once (uploadCase), then executed (executeCase: dispatches and
// readback), so the two can be timed apart; run() does both.

/** What a stage reads and writes, per chunk; scratch and outputs are shared by all chunks. */
type StageBuffers = Readonly<Record<BufferRole, GPUBuffer>>;

/** An output copied back after a chunk's stages, per output rank, into its own mappable buffer. */
interface Readback {
  readonly role: 'residualOut' | 'normOut' | 'scales' | 'q';
  readonly words: number;
  readonly staging: GPUBuffer;
}

interface ChunkWork {
  readonly range: ItemRange;
  /** Per output rank: one bind group per active stage (they differ in the Params uniform). */
  readonly bindGroups: readonly (readonly GPUBindGroup[])[];
  /** Per output rank: the outputs to read back. */
  readonly readbacks: readonly (readonly Readback[])[];
}

export interface UploadedCase {
  readonly ctx: GpuContext;
  readonly plan: EnginePlan;
  readonly stages: readonly EngineStage[];
  readonly pipelines: readonly GPUComputePipeline[];
  readonly chunks: readonly ChunkWork[];
  readonly outputs: Pick<StageBuffers, 'residualOut' | 'normOut' | 'scales' | 'q'>;
  /** Every buffer made for the case, destroyed by releaseCase. */
  readonly owned: readonly GPUBuffer[];
}

export interface ExecuteOptions {
  /** Submit each stage alone and wait for it, to time the stages (slower than a normal run). */
  readonly timeStages?: boolean;
  /** A previous execution's outputs of the same case, overwritten in place: a sweep that
   *  reruns a case skips allocating (and faulting in) fresh output arrays. */
  readonly into?: Map<string, Tensor>;
}

export interface Execution {
  readonly outputs: Map<string, Tensor>;
  /** With timeStages: wall milliseconds per stage, summed over chunks and output ranks, and
   *  'readback' (copies to mappable buffers, mapping, and the copy into the output tensors). */
  readonly stageMs: ReadonlyMap<string, number>;
}

/** Creates the buffers, uploads the inputs (packed as the tensors hold them) and the parameters. */
export async function uploadCase(ctx: GpuContext, contract: Contract, shape: Shape, inputs: CaseInputs, options: PlanOptions = {}): Promise<UploadedCase> {
  const plan = planCase(contract, shape, inputs, ctx.limits, options);
  const { hidden } = plan.shape;
  const stages = ENGINE_STAGES.filter((stage) => !stage.quantOnly || plan.emits.quant);
  const pipelineOf = await stagePipelines(ctx);
  const pipelines = stages.map((stage) => pipelineOf.get(stage)!);
  const maxRows = Math.max(...plan.chunks.map((c) => c.count));
  const maxElements = maxRows * hidden;
  const { logicalThreads } = plan.baseParams;

  return withErrorScopes(ctx.device, 'uploading a case', () => {
    // GPUBufferUsage is a global only once openDevice has loaded Dawn.
    const storageOut = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC;
    const owned: GPUBuffer[] = [];
    const make = (label: string, words: number, usage: number): GPUBuffer => {
      const buffer = ctx.device.createBuffer({ label, size: Math.max(1, words) * 4, usage });
      owned.push(buffer);
      return buffer;
    };
    const upload = (label: string, words: number, usage: number, fill: (mapped: ArrayBuffer) => void): GPUBuffer => {
      const buffer = ctx.device.createBuffer({ label, size: Math.max(1, words) * 4, usage, mappedAtCreation: true });
      owned.push(buffer);
      fill(buffer.getMappedRange());
      buffer.unmap();
      return buffer;
    };

    const weight = inputs.weight;
    const weightBuffer = upload('weight', Math.ceil(weight.data.byteLength / 4), GPUBufferUsage.STORAGE, (mapped) => {
      new Uint8Array(mapped).set(new Uint8Array(weight.data.buffer, weight.data.byteOffset, weight.data.byteLength));
    });
    const shared = {
      weight: weightBuffer,
      x: make('x', maxElements, GPUBufferUsage.STORAGE),
      partials: make('partials', maxRows * logicalThreads, GPUBufferUsage.STORAGE),
      rstd: make('rstd', maxRows, GPUBufferUsage.STORAGE),
      residualOut: make('residualOut', plan.emits.residual ? bf16Words(maxElements) : 1, storageOut),
      normOut: make('normOut', bf16Words(maxElements), storageOut),
      scales: make('scales', 2 * maxRows * plan.groups, storageOut),
      q: make('q', plan.emits.quant ? Math.ceil(maxElements / 4) : 1, storageOut),
    };

    const chunks = plan.chunks.map((range): ChunkWork => {
      const first = range.first * hidden;
      const elements = range.count * hidden;
      const slotWords = bf16Words(elements);
      const rankSlots = upload(`rank slots rows ${range.first}+${range.count}`, plan.slotRanks.length * slotWords, GPUBufferUsage.STORAGE, (mapped) => {
        const halves = new Uint16Array(mapped);
        plan.slotRanks.forEach((rank, slot) => {
          halves.set((inputs.rankInputs[rank].data as Uint16Array).subarray(first, first + elements), slot * slotWords * 2);
        });
      });
      const residualInput = contract.residual ? inputs.residual : null;
      const residual = upload(`residual rows ${range.first}+${range.count}`, residualInput ? slotWords : 1, GPUBufferUsage.STORAGE, (mapped) => {
        if (residualInput) new Uint16Array(mapped).set((residualInput.data as Uint16Array).subarray(first, first + elements));
      });
      const buffers: StageBuffers = { ...shared, rankSlots, residual };
      const bindGroups = plan.outputRanks.map((outputRank) => {
        const words = encodeParams(paramsFor(plan, range, outputRank));
        const params = upload(`params rows ${range.first}+${range.count} rank ${outputRank}`, words.length, GPUBufferUsage.UNIFORM, (mapped) => new Uint32Array(mapped).set(words));
        return stages.map((stage, i) =>
          ctx.device.createBindGroup({
            label: `${stage.name} rows ${range.first}+${range.count} rank ${outputRank}`,
            layout: pipelines[i].getBindGroupLayout(0),
            entries: [
              { binding: 0, resource: { buffer: params } },
              ...stage.bindings.map((role, b) => ({ binding: b + 1, resource: { buffer: buffers[role] } })),
            ],
          }),
        );
      });
      const copies: { role: Readback['role']; words: number }[] = [];
      if (plan.emits.residual) copies.push({ role: 'residualOut', words: slotWords });
      if (plan.emits.norm) copies.push({ role: 'normOut', words: slotWords });
      if (plan.emits.quant) copies.push({ role: 'q', words: Math.ceil(elements / 4) }, { role: 'scales', words: 2 * range.count * plan.groups });
      const readbacks = plan.outputRanks.map((outputRank) =>
        copies.map(({ role, words }) => ({
          role,
          words,
          staging: make(`${role} readback rows ${range.first}+${range.count} rank ${outputRank}`, words, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST),
        })),
      );
      return { range, bindGroups, readbacks };
    });
    return { ctx, plan, stages, pipelines, chunks, outputs: shared, owned };
  });
}

export function releaseCase(uploaded: UploadedCase): void {
  for (const buffer of uploaded.owned) buffer.destroy();
}

/** Runs every stage on every chunk and output rank, then reads the outputs back. */
export async function executeCase(uploaded: UploadedCase, options: ExecuteOptions = {}): Promise<Execution> {
  const { ctx, plan, stages, pipelines } = uploaded;
  const { device } = ctx;
  const { hidden } = plan.shape;
  const maxPerDimension = ctx.limits.maxComputeWorkgroupsPerDimension;
  const stageMs = new Map<string, number>();

  for (const chunk of uploaded.chunks) {
    for (const [rankIndex, bindGroups] of chunk.bindGroups.entries()) {
      const encodeStages = (encoder: GPUCommandEncoder, which: readonly number[]): void => {
        const pass = encoder.beginComputePass();
        for (const i of which) {
          pass.setPipeline(pipelines[i]);
          pass.setBindGroup(0, bindGroups[i]);
          pass.dispatchWorkgroups(...splitWorkgroups(stageWorkgroups(stages[i], chunk.range.count, hidden, plan.groups), maxPerDimension));
        }
        pass.end();
      };
      if (options.timeStages) {
        for (const [i, stage] of stages.entries()) {
          const started = performance.now();
          await withErrorScopes(device, `stage ${stage.name}`, () => {
            const encoder = device.createCommandEncoder();
            encodeStages(encoder, [i]);
            device.queue.submit([encoder.finish()]);
          });
          await device.queue.onSubmittedWorkDone();
          stageMs.set(stage.name, (stageMs.get(stage.name) ?? 0) + performance.now() - started);
        }
      }
      await withErrorScopes(device, `running rows ${chunk.range.first}+${chunk.range.count}`, () => {
        const encoder = device.createCommandEncoder();
        if (!options.timeStages) encodeStages(encoder, stages.map((_, i) => i));
        // Copies queue behind the dispatches, so the next output rank may reuse the buffers.
        for (const { role, words, staging } of chunk.readbacks[rankIndex]) encoder.copyBufferToBuffer(uploaded.outputs[role], 0, staging, 0, words * 4);
        device.queue.submit([encoder.finish()]);
      });
    }
  }

  // Chunks are read back in order while the GPU still works on later ones.
  const started = performance.now();
  const outputs = await readOutputs(uploaded, options.into);
  if (options.timeStages) stageMs.set('readback', performance.now() - started);
  return { outputs, stageMs };
}

/** Maps each chunk's readbacks in turn and places its packed outputs into whole tensors, named
 *  and ordered as the CPU engine's (into `into`'s arrays when given). */
async function readOutputs(uploaded: UploadedCase, into: Map<string, Tensor> | undefined): Promise<Map<string, Tensor>> {
  const { plan } = uploaded;
  const { tokens, hidden } = plan.shape;
  const quant = plan.contract.quant;
  const groups = plan.groups;
  const elements = (emitted: boolean): number => (emitted ? tokens * hidden : 0);
  const perRank = plan.outputRanks.map((outputRank) => {
    const rank = plan.outputRanks.length > 1 ? outputRank : null;
    return {
      residualOut: outputData(into, outputName('residual', rank), Uint16Array, elements(plan.emits.residual)),
      normOut: outputData(into, outputName('norm', rank), Uint16Array, elements(plan.emits.norm)),
      q: outputData(into, outputName('q', rank), Uint8Array, elements(plan.emits.quant)),
      scales: outputData(into, outputName('scale', rank), Uint32Array, tokens * groups),
    };
  });
  // Every map is requested at once: each resolves when its chunk's copy is done, so map
  // round trips overlap the GPU work and each other instead of queueing one behind another.
  const mapped = uploaded.chunks.map((chunk) => chunk.readbacks.map((readbacks) => readbacks.map(({ staging }) => staging.mapAsync(GPUMapMode.READ))));
  // A rejected map is awaited below; the others must not surface as unhandled rejections.
  for (const promise of mapped.flat(2)) promise.catch(() => {});
  for (const [chunkIndex, chunk] of uploaded.chunks.entries()) {
    const first = chunk.range.first * hidden;
    const count = chunk.range.count * hidden;
    for (const [rankIndex, readbacks] of chunk.readbacks.entries()) {
      const out = perRank[rankIndex];
      for (const [readbackIndex, { role, staging }] of readbacks.entries()) {
        await mapped[chunkIndex][rankIndex][readbackIndex];
        try {
          const range = staging.getMappedRange();
          if (role === 'residualOut' || role === 'normOut') out[role].set(new Uint16Array(range, 0, count), first);
          else if (role === 'q') out.q.set(new Uint8Array(range, 0, count), first);
          else placeScales(out.scales, new Uint32Array(range), chunk.range, groups, tokens, quant?.scaleLayout ?? 'row-major');
        } finally {
          staging.unmap();
        }
      }
    }
  }
  const outputs = new Map<string, Tensor>();
  for (const [rankIndex, outputRank] of plan.outputRanks.entries()) {
    const rank = plan.outputRanks.length > 1 ? outputRank : null;
    const out = perRank[rankIndex];
    if (plan.emits.residual) outputs.set(outputName('residual', rank), { dtype: 'BF16', shape: [tokens, hidden], data: out.residualOut });
    if (plan.emits.norm) outputs.set(outputName('norm', rank), { dtype: 'BF16', shape: [tokens, hidden], data: out.normOut });
    if (quant) {
      outputs.set(outputName('q', rank), { dtype: FP8_DTYPE[quant.format], shape: [tokens, hidden], data: out.q });
      outputs.set(outputName('scale', rank), { dtype: 'F32', shape: scaleShape(quant.scaleLayout, tokens, groups), data: out.scales });
    }
  }
  return outputs;
}

/** A fresh output array, or the one `into` holds under that name (checked for type and length). */
function outputData<T extends Uint8Array | Uint16Array | Uint32Array>(
  into: Map<string, Tensor> | undefined,
  name: string,
  make: new (length: number) => T,
  length: number,
): T {
  if (into === undefined || length === 0) return new make(length);
  const data = into.get(name)?.data;
  if (!(data instanceof make) || data.length !== length) throw new RangeError(`executeCase: 'into' holds no output '${name}' of this case`);
  return data;
}

/** A chunk's [scale, reciprocal] pairs (row-major within the chunk) into the scale tensor's layout. */
function placeScales(scales: Uint32Array, pairs: Uint32Array, range: ItemRange, groups: number, tokens: number, layout: ScaleLayout): void {
  for (let row = 0; row < range.count; row++) {
    const m = range.first + row;
    for (let g = 0; g < groups; g++) scales[scaleIndex(layout, m, g, tokens, groups)] = pairs[2 * (row * groups + g)];
  }
}

/** Uploads, executes and releases one case. */
export async function runWebGpuEngine(ctx: GpuContext, contract: Contract, shape: Shape, inputs: CaseInputs): Promise<Map<string, Tensor>> {
  const uploaded = await uploadCase(ctx, contract, shape, inputs);
  try {
    return (await executeCase(uploaded)).outputs;
  } finally {
    releaseCase(uploaded);
  }
}

export interface WebGpuEngine extends Engine {
  readonly ctx: GpuContext;
}

/** The engine on a device the caller opened (close() leaves the device to the caller). */
export function webGpuEngineOn(ctx: GpuContext): WebGpuEngine {
  return {
    ctx,
    description: `webgpu (${describeAdapter(ctx.adapter)})`,
    run: (contract, shape, inputs) => runWebGpuEngine(ctx, contract, shape, inputs),
    close: async () => {},
  };
}

/** Opens the adapter asked for (NoAdapterError says what to install) and owns its device. */
export async function openWebGpuEngine(choice: AdapterChoice = 'auto'): Promise<WebGpuEngine> {
  const ctx = await openDevice(choice);
  return { ...webGpuEngineOn(ctx), close: () => closeDevice(ctx) };
}
