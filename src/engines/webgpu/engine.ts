import type { Contract, Shape } from '../../contracts/schema.js';
import { FP8_DTYPE, type Tensor } from '../../numerics/tensor.js';
import type { Engine } from '../engine.js';
import { outputName, scaleTensor, scaleWords, storeScale, type CaseInputs, type ScaleLayout } from '../io.js';
import { closeDevice, describeAdapter, openDevice, withErrorScopes, type AdapterChoice, type GpuContext } from './device.js';
import { splitWorkgroups } from './dispatch.js';
import type { ItemRange } from './limits.js';
import { ENGINE_STAGES, stagePipelines, stageWorkgroups, type BufferRole, type EngineStage } from './pipeline.js';
import { bf16Words, CHUNK_ROW_ALIGNMENT, encodeParams, paramsFor, planCase, type EnginePlan, type PlanOptions } from './plan.js';

// The WebGPU engine: the CPU engine's pipeline (engine.ts), stage by stage in WGSL, with every
// f32 step done by the integer soft-float, so its output bits equal the CPU engine's on any
// adapter. A case is uploaded once (uploadCase), then executed (executeCase: dispatches and
// readback), so the two can be timed apart; run() does both.

/** What a stage reads and writes, per chunk; scratch and outputs are shared by all chunks. */
type StageBuffers = Readonly<Record<BufferRole, GPUBuffer>>;

type OutputRole = 'residualOut' | 'normOut' | 'scales' | 'q';

/** An output copied back after a chunk's stages, per output rank, into a mappable buffer: the
 *  chunk's own ('copy' readback) or the whole case's, at the chunk's offset ('mapped'). */
interface Readback {
  readonly role: OutputRole;
  readonly words: number;
  readonly staging: GPUBuffer;
  readonly offsetBytes: number;
}

/**
 * How outputs reach the host. 'copy': each chunk's outputs are copied out of its mappable
 * buffers into host arrays as soon as that chunk is done, while the GPU works on later chunks;
 * the arrays are the caller's to keep. 'mapped': each output is one mappable buffer for the
 * whole case and the tensors are views of it, with no host copy (the scales alone are copied,
 * to put them in their layout); the views are valid until Execution.release(), and the case
 * cannot run again before that. On an H100 (Firecracker VM) the host copy of the N=8,
 * M=8192, H=7168 case's 294 MB took 26-51 ms of the 46-65 ms the case took with reused
 * arrays; mapped readback ran it in 18-44 ms (bench/RESULTS.md).
 */
export type ReadbackMode = 'copy' | 'mapped';

export interface UploadOptions extends PlanOptions {
  /** 'copy' unless given. */
  readonly readback?: ReadbackMode;
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
  readonly outputs: Pick<StageBuffers, OutputRole>;
  readonly readback: ReadbackMode;
  /** 'mapped' readback: per output rank, the whole-case mappable buffer of each output. */
  readonly caseStaging: readonly ReadonlyMap<OutputRole, GPUBuffer>[];
  /** Every buffer made for the case, destroyed by releaseCase. */
  readonly owned: readonly GPUBuffer[];
}

export interface ExecuteOptions {
  /** Submit each stage alone and wait for it, to time the stages (slower than a normal run). */
  readonly timeStages?: boolean;
  /** Run every stage of every chunk, wait for the GPU and read nothing back (no outputs): the
   *  compute alone, as a normal run submits it. */
  readonly computeOnly?: boolean;
  /** Time each chunk's compute pass on the GPU (timestamp queries; the device must have the
   *  'timestamp-query' feature, which openDevice asks for where the adapter has it). Ignored
   *  with timeStages. */
  readonly gpuTimeline?: boolean;
  /** A previous execution's outputs of the same case, overwritten in place: a sweep that
   *  reruns a case skips allocating (and faulting in) fresh output arrays. 'copy' readback only. */
  readonly into?: Map<string, Tensor>;
}

export interface Execution {
  readonly outputs: Map<string, Tensor>;
  /** With timeStages: wall milliseconds per stage, summed over chunks and output ranks, and
   *  'readback' (copies to mappable buffers, mapping, and the copy into the output tensors). */
  readonly stageMs: ReadonlyMap<string, number>;
  /** Where the wall time went, in milliseconds: encoding and submitting the work; waiting
   *  for the GPU and for mapped buffers; host work on the outputs (copies out of mapped
   *  buffers, the scales' layout, making views). */
  readonly phaseMs: {
    readonly submit: number;
    readonly wait: number;
    /** 'mapped' readback, which waits for the queue before it maps: of `wait`, the part until
     *  the GPU had finished (the rest is mapping). */
    readonly gpu?: number;
    readonly host: number;
  };
  /** With gpuTimeline: each chunk's compute pass (per output rank, in submission order), in GPU
   *  milliseconds from the first pass's start. The gaps between passes hold the readback copies. */
  readonly gpuPasses?: readonly { readonly begin: number; readonly end: number }[];
  /** 'mapped' readback: unmaps the outputs (their views become empty) so the case can run
   *  again. Does nothing for 'copy' readback, or when called again. */
  release(): void;
}

interface HostOutputs {
  readonly outputs: Map<string, Tensor>;
  /** Milliseconds spent on the host placing outputs, not waiting for them. */
  readonly hostMs: number;
  /** Milliseconds until the queue was idle, where the readback waited for that first. */
  readonly gpuMs?: number;
}

/** Creates the buffers, uploads the inputs (packed as the tensors hold them) and the parameters. */
export async function uploadCase(ctx: GpuContext, contract: Contract, shape: Shape, inputs: CaseInputs, options: UploadOptions = {}): Promise<UploadedCase> {
  const plan = planCase(contract, shape, inputs, ctx.limits, options);
  const readback = options.readback ?? 'copy';
  if (readback === 'mapped') checkMappedReadback(plan, ctx.limits.maxBufferSize);
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

    const emitted = emittedRoles(plan);
    const caseStaging = readback === 'mapped'
      ? plan.outputRanks.map((outputRank) => new Map(emitted.map((role) => [role, make(`${role} readback rank ${outputRank}`, outputWords(plan, role, plan.shape.tokens), GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST)] as const)))
      : [];

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
      const readbacks = plan.outputRanks.map((outputRank, rankIndex) =>
        emitted.map((role): Readback => {
          const words = outputWords(plan, role, range.count);
          if (readback === 'mapped') return { role, words, staging: caseStaging[rankIndex].get(role)!, offsetBytes: outputOffsetBytes(plan, role, range.first) };
          const staging = make(`${role} readback rows ${range.first}+${range.count} rank ${outputRank}`, words, GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST);
          return { role, words, staging, offsetBytes: 0 };
        }),
      );
      return { range, bindGroups, readbacks };
    });
    return { ctx, plan, stages, pipelines, chunks, outputs: shared, readback, caseStaging, owned };
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
  const executionStarted = performance.now();
  if (uploaded.readback === 'mapped') {
    if (options.into) throw new RangeError("executeCase: 'into' needs 'copy' readback; 'mapped' readback returns views of its own buffers");
    if (uploaded.caseStaging.some((byRole) => [...byRole.values()].some((b) => b.mapState !== 'unmapped'))) {
      throw new Error("executeCase: this case's mapped outputs from an earlier execution are still held; call that execution's release() first");
    }
  }

  // Stages timed alone are passes of their own: no timeline then.
  const timeline = options.gpuTimeline && !options.timeStages ? gpuTimelineQueries(device, uploaded.chunks.length * plan.outputRanks.length) : null;
  let passIndex = 0;
  // One command buffer: the chunk's stages (those in `which`), then, with `copies`, its copies to
  // the mappable buffers, queued behind the dispatches since every chunk and output rank reuses
  // the output buffers.
  const submitChunk = (chunk: ChunkWork, rankIndex: number, which: readonly number[], copies: boolean): void => {
    const encoder = device.createCommandEncoder({ label: `rows ${chunk.range.first}+${chunk.range.count} rank index ${rankIndex}` });
    if (which.length > 0) {
      const timestampWrites = timeline ? { querySet: timeline.querySet, beginningOfPassWriteIndex: 2 * passIndex, endOfPassWriteIndex: 2 * passIndex + 1 } : undefined;
      passIndex++;
      const pass = encoder.beginComputePass(timestampWrites ? { timestampWrites } : {});
      for (const i of which) {
        pass.setPipeline(pipelines[i]);
        pass.setBindGroup(0, chunk.bindGroups[rankIndex][i]);
        pass.dispatchWorkgroups(...splitWorkgroups(stageWorkgroups(stages[i], chunk.range.count, hidden, plan.groups), maxPerDimension));
      }
      pass.end();
    }
    if (copies) {
      for (const { role, words, staging, offsetBytes } of chunk.readbacks[rankIndex]) encoder.copyBufferToBuffer(uploaded.outputs[role], 0, staging, offsetBytes, words * 4);
    }
    device.queue.submit([encoder.finish()]);
  };

  if (options.timeStages) {
    for (const chunk of uploaded.chunks) {
      for (const rankIndex of chunk.bindGroups.keys()) {
        for (const [i, stage] of stages.entries()) {
          const started = performance.now();
          await withErrorScopes(device, `stage ${stage.name} rows ${chunk.range.first}+${chunk.range.count}`, () => submitChunk(chunk, rankIndex, [i], false));
          await device.queue.onSubmittedWorkDone();
          stageMs.set(stage.name, (stageMs.get(stage.name) ?? 0) + performance.now() - started);
        }
        await withErrorScopes(device, `reading back rows ${chunk.range.first}+${chunk.range.count}`, () => submitChunk(chunk, rankIndex, [], true));
      }
    }
  } else {
    // Every submission inside one error scope, so none waits for another's check: the GPU starts
    // on the first chunk while later ones are encoded.
    const allStages = stages.map((_, i) => i);
    await withErrorScopes(device, 'running the case', () => {
      for (const chunk of uploaded.chunks) for (const rankIndex of chunk.bindGroups.keys()) submitChunk(chunk, rankIndex, allStages, !options.computeOnly);
      timeline?.resolve();
    });
  }

  const submitted = performance.now();
  const finish = async ({ outputs, hostMs, gpuMs }: HostOutputs, release: () => void): Promise<Execution> => {
    const submit = submitted - executionStarted;
    const wait = performance.now() - submitted - hostMs;
    const gpuPasses = timeline ? await timeline.read() : undefined;
    return { outputs, stageMs, phaseMs: { submit, wait, ...(gpuMs === undefined ? {} : { gpu: gpuMs }), host: hostMs }, ...(gpuPasses ? { gpuPasses } : {}), release };
  };
  if (options.computeOnly) {
    await device.queue.onSubmittedWorkDone();
    return await finish({ outputs: new Map(), hostMs: 0 }, () => {});
  }
  if (uploaded.readback === 'mapped') {
    const mappedOutputs = await mapOutputs(uploaded);
    if (options.timeStages) stageMs.set('readback', performance.now() - submitted);
    return await finish(mappedOutputs, () => {
      for (const byRole of uploaded.caseStaging) for (const staging of byRole.values()) if (staging.mapState === 'mapped') staging.unmap();
    });
  }
  // Chunks are read back in order while the GPU still works on later ones.
  const copiedOutputs = await readOutputs(uploaded, options.into);
  if (options.timeStages) stageMs.set('readback', performance.now() - submitted);
  return await finish(copiedOutputs, () => {});
}

/** Timestamp queries at each pass's start and end, resolved after the last pass and read back. */
function gpuTimelineQueries(device: GPUDevice, passes: number): { querySet: GPUQuerySet; resolve(): void; read(): Promise<{ begin: number; end: number }[]> } {
  if (!device.features.has('timestamp-query')) throw new RangeError("executeCase: gpuTimeline needs the device feature 'timestamp-query', which this adapter lacks");
  const count = 2 * passes;
  const querySet = device.createQuerySet({ label: 'pass timestamps', type: 'timestamp', count });
  const resolved = device.createBuffer({ label: 'pass timestamps resolved', size: count * 8, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  const staging = device.createBuffer({ label: 'pass timestamps readback', size: count * 8, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  return {
    querySet,
    resolve() {
      const encoder = device.createCommandEncoder({ label: 'resolve pass timestamps' });
      encoder.resolveQuerySet(querySet, 0, count, resolved, 0);
      encoder.copyBufferToBuffer(resolved, 0, staging, 0, count * 8);
      device.queue.submit([encoder.finish()]);
    },
    async read() {
      try {
        await staging.mapAsync(GPUMapMode.READ);
        const ns = new BigUint64Array(staging.getMappedRange());
        const origin = ns[0];
        const ms = (i: number): number => Number(ns[i] - origin) / 1e6;
        return Array.from({ length: passes }, (_, p) => ({ begin: ms(2 * p), end: ms(2 * p + 1) }));
      } finally {
        for (const object of [querySet, resolved, staging]) object.destroy();
      }
    },
  };
}

/** Maps each chunk's readbacks in turn and places its packed outputs into whole tensors, named
 *  and ordered as the CPU engine's (into `into`'s arrays when given). */
async function readOutputs(uploaded: UploadedCase, into: Map<string, Tensor> | undefined): Promise<HostOutputs> {
  const { plan } = uploaded;
  const { tokens, hidden } = plan.shape;
  const quant = plan.contract.quant;
  const groups = plan.groups;
  const elements = (emitted: boolean): number => (emitted ? tokens * hidden : 0);
  const perRank = plan.outputRanks.map((outputRank): RankOutputData => {
    const rank = plan.outputRanks.length > 1 ? outputRank : null;
    return {
      residualOut: outputData(into, outputName('residual', rank), Uint16Array, elements(plan.emits.residual)),
      normOut: outputData(into, outputName('norm', rank), Uint16Array, elements(plan.emits.norm)),
      q: outputData(into, outputName('q', rank), Uint8Array, elements(plan.emits.quant)),
      scales: outputData(into, outputName('scale', rank), Uint32Array, quant ? scaleWords(quant.scaleLayout, tokens, groups) : 0),
    };
  });
  // Every map is requested at once: each resolves when its chunk's copy is done, so map
  // round trips overlap the GPU work and each other instead of queueing one behind another.
  const mapped = uploaded.chunks.map((chunk) => chunk.readbacks.map((readbacks) => readbacks.map(({ staging }) => staging.mapAsync(GPUMapMode.READ))));
  // A rejected map is awaited below; the others must not surface as unhandled rejections.
  for (const promise of mapped.flat(2)) promise.catch(() => {});
  let hostMs = 0;
  for (const [chunkIndex, chunk] of uploaded.chunks.entries()) {
    const first = chunk.range.first * hidden;
    const count = chunk.range.count * hidden;
    for (const [rankIndex, readbacks] of chunk.readbacks.entries()) {
      const out = perRank[rankIndex];
      for (const [readbackIndex, { role, staging }] of readbacks.entries()) {
        await mapped[chunkIndex][rankIndex][readbackIndex];
        const hostStarted = performance.now();
        try {
          const range = staging.getMappedRange();
          if (role === 'residualOut' || role === 'normOut') out[role].set(new Uint16Array(range, 0, count), first);
          else if (role === 'q') out.q.set(new Uint8Array(range, 0, count), first);
          else placeScales(out.scales, new Uint32Array(range), chunk.range, groups, tokens, quant?.scaleLayout ?? ROW_MAJOR);
        } finally {
          staging.unmap();
          hostMs += performance.now() - hostStarted;
        }
      }
    }
  }
  return { outputs: outputTensors(plan, perRank), hostMs };
}

/** 'mapped' readback: maps each whole-case output buffer once the queue is idle (every chunk's
 *  copy into it done: nothing to overlap, and the wait splits into GPU and mapping); the tensors
 *  are views of the mapped ranges, except the scales, put in their layout. */
async function mapOutputs(uploaded: UploadedCase): Promise<HostOutputs> {
  const { plan } = uploaded;
  const { tokens, hidden } = plan.shape;
  const elements = tokens * hidden;
  const waitStarted = performance.now();
  await uploaded.ctx.device.queue.onSubmittedWorkDone();
  const gpuMs = performance.now() - waitStarted;
  // Promise.all observes every map, so a rejected one cannot go unhandled.
  await Promise.all(uploaded.caseStaging.flatMap((byRole) => [...byRole.values()].map((staging) => staging.mapAsync(GPUMapMode.READ))));
  const hostStarted = performance.now();
  const perRank = uploaded.caseStaging.map((byRole): RankOutputData => {
    // An output the contract does not emit has no buffer: an empty array, as 'copy' readback gives.
    const mapped = (role: OutputRole): ArrayBuffer => byRole.get(role)?.getMappedRange() ?? new ArrayBuffer(0);
    const bf16 = (role: 'residualOut' | 'normOut'): Uint16Array => new Uint16Array(mapped(role), 0, byRole.has(role) ? elements : 0);
    const layout = plan.contract.quant?.scaleLayout;
    const scales = new Uint32Array(layout ? scaleWords(layout, tokens, plan.groups) : 0);
    if (byRole.has('scales')) placeScales(scales, new Uint32Array(mapped('scales')), { first: 0, count: tokens }, plan.groups, tokens, plan.contract.quant?.scaleLayout ?? ROW_MAJOR);
    return {
      residualOut: bf16('residualOut'),
      normOut: bf16('normOut'),
      q: new Uint8Array(mapped('q'), 0, byRole.has('q') ? elements : 0),
      scales,
    };
  });
  const outputs = outputTensors(plan, perRank);
  return { outputs, hostMs: performance.now() - hostStarted, gpuMs };
}

interface RankOutputData {
  readonly residualOut: Uint16Array;
  readonly normOut: Uint16Array;
  readonly q: Uint8Array;
  readonly scales: Uint32Array;
}

/** The outputs as tensors, named and ordered as the CPU engine's. */
function outputTensors(plan: EnginePlan, perRank: readonly RankOutputData[]): Map<string, Tensor> {
  const { tokens, hidden } = plan.shape;
  const quant = plan.contract.quant;
  const outputs = new Map<string, Tensor>();
  for (const [rankIndex, outputRank] of plan.outputRanks.entries()) {
    const rank = plan.outputRanks.length > 1 ? outputRank : null;
    const out = perRank[rankIndex];
    if (plan.emits.residual) outputs.set(outputName('residual', rank), { dtype: 'BF16', shape: [tokens, hidden], data: out.residualOut });
    if (plan.emits.norm) outputs.set(outputName('norm', rank), { dtype: 'BF16', shape: [tokens, hidden], data: out.normOut });
    if (quant) {
      outputs.set(outputName('q', rank), { dtype: FP8_DTYPE[quant.format], shape: [tokens, hidden], data: out.q });
      outputs.set(outputName('scale', rank), scaleTensor(quant.scaleLayout, tokens, plan.groups, out.scales));
    }
  }
  return outputs;
}

/** The outputs the case reads back, in readback order. */
function emittedRoles(plan: EnginePlan): OutputRole[] {
  return [
    ...(plan.emits.residual ? (['residualOut'] as const) : []),
    ...(plan.emits.norm ? (['normOut'] as const) : []),
    ...(plan.emits.quant ? (['q', 'scales'] as const) : []),
  ];
}

/** Words `rows` rows of an output take, packed: bf16 two per word, fp8 four, scale pairs two each. */
function outputWords(plan: EnginePlan, role: OutputRole, rows: number): number {
  const elements = rows * plan.shape.hidden;
  switch (role) {
    case 'residualOut':
    case 'normOut':
      return bf16Words(elements);
    case 'q':
      return Math.ceil(elements / 4);
    case 'scales':
      return 2 * rows * plan.groups;
  }
}

/** Where row `firstRow` starts in a whole-case output buffer (a word boundary: see checkMappedReadback). */
function outputOffsetBytes(plan: EnginePlan, role: OutputRole, firstRow: number): number {
  const first = firstRow * plan.shape.hidden;
  switch (role) {
    case 'residualOut':
    case 'normOut':
      return 2 * first;
    case 'q':
      return first;
    case 'scales':
      return 8 * firstRow * plan.groups;
  }
}

/** 'mapped' readback needs each output in one buffer, and each chunk's part of it on a word. */
function checkMappedReadback(plan: EnginePlan, maxBufferSize: number): void {
  const { tokens, hidden } = plan.shape;
  for (const role of emittedRoles(plan)) {
    const bytes = 4 * outputWords(plan, role, tokens);
    if (bytes > maxBufferSize) {
      throw new RangeError(`mapped readback: output '${role}' of ${tokens}x${hidden} needs ${bytes} bytes in one buffer, over the device's maxBufferSize of ${maxBufferSize}; use 'copy' readback`);
    }
  }
  const misaligned = plan.chunks.find((chunk) => (chunk.first * hidden) % 4 !== 0);
  if (misaligned) {
    throw new RangeError(`mapped readback: the chunk at row ${misaligned.first} starts at element ${misaligned.first * hidden}, not a multiple of 4 (the fp8 output's word); use 'copy' readback or chunks of whole multiples of ${CHUNK_ROW_ALIGNMENT} rows`);
  }
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

const ROW_MAJOR: ScaleLayout = { kind: 'row-major' };

/** A chunk's [scale, reciprocal] pairs (row-major within the chunk) into the scale tensor's layout. */
function placeScales(scales: Uint32Array, pairs: Uint32Array, range: ItemRange, groups: number, tokens: number, layout: ScaleLayout): void {
  for (let row = 0; row < range.count; row++) {
    const m = range.first + row;
    for (let g = 0; g < groups; g++) storeScale(scales, layout, m, g, tokens, groups, pairs[2 * (row * groups + g)]);
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
