import type { Contract, Shape } from '../../contracts/schema.js';
import type { CaseInputs } from '../io.js';
import { withErrorScopes, type GpuContext } from './device.js';
import type { ItemRange } from './limits.js';
import { emittedRoles, outputOffsetBytes, outputWords, type OutputRole } from './outputs.js';
import { ENGINE_STAGES, stagePipelines, type BufferRole, type EngineStage } from './pipeline.js';
import { sm90TablesBuffer } from './hardwareTables.js';
import { StagedWrites } from './staging.js';
import {
  bf16Words,
  CHUNK_ROW_ALIGNMENT,
  SCALES_BUFFER_WORDS_PER_GROUP,
  encodeParams,
  paramsFor,
  planCase,
  SM90_TABLES_BINDING,
  type EnginePlan,
  type PlanOptions,
} from './plan.js';

// Uploading a case: the plan, the compiled stage pipelines, every buffer (inputs packed as the
// tensors hold them, scratch, outputs, the mappable readback buffers) and the bind groups, made
// once so that executeCase (execute.ts) can run the case many times.

/** What a stage reads and writes, per chunk; scratch is shared by all chunks, outputs by the
 *  chunks and output ranks of one output set (outputSetCount). */
type StageBuffers = Readonly<Record<BufferRole, GPUBuffer>>;

/** The output buffers one chunk and output rank write. */
export type OutputBuffers = Pick<StageBuffers, OutputRole>;

/**
 * The most bytes of output buffers a case keeps on the device beyond its first set. Each chunk
 * and output rank writes its own set while they fit, so that no pass waits on an earlier
 * readback copy: a pass that rewrote a buffer an earlier copy reads would need a barrier from
 * the transfer stage, and a Vulkan pipeline barrier waits for every earlier command of its
 * source stages (every earlier copy, not only that buffer's), so the copies would run between
 * the passes (on an H100, 5.8 ms of the N=8, M=8192 case's GPU timeline, bench/RESULTS.md)
 * rather than beside later chunks' compute. Past the budget, sets are reused in turn.
 */
export const OUTPUT_SET_BUDGET_BYTES = 1024 * 2 ** 20;

/** How many output sets a case of `workItems` chunk x output-rank passes gets, each of `setBytes`. */
export function outputSetCount(workItems: number, setBytes: number, budgetBytes: number): number {
  return Math.max(1, Math.min(workItems, 1 + Math.floor(budgetBytes / setBytes)));
}

/** An output copied back after a chunk's stages, per output rank, into a mappable buffer: the
 *  chunk's own ('copy' readback) or the whole case's, at the chunk's offset ('mapped'). */
export interface Readback {
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
 * arrays; mapped readback ran it in 18-44 ms (bench/RESULTS.md). 'none': no mappable buffers
 * (executeCase refuses the case); the caller copies what it needs out of ChunkWork.outputs
 * itself (src/diff/gpuFitted.ts reads the scales and the few rows a compare finds differing,
 * where a chunk's mappable buffers for every output would be host memory made for nothing).
 */
export type ReadbackMode = 'copy' | 'mapped' | 'none';

/** A chunk's input buffers: the packed rank slots (and an NCCL order's segments), the residual rows. */
interface ChunkInputs {
  readonly rankSlots: GPUBuffer;
  readonly residual: GPUBuffer;
}

/**
 * Input buffers kept across uploads of one case's inputs (explain fits a contract per search
 * round to the same case): an upload whose plan lays the inputs out as the kept ones are (the
 * same chunks, rank slots, rank order words and residual) uses them instead of writing the
 * inputs again. It keeps the last layout uploaded; release() destroys what it keeps.
 */
export class InputBufferCache {
  private kept: { readonly inputs: CaseInputs; readonly layout: string; readonly chunks: readonly ChunkInputs[] } | null = null;

  /** The kept buffers of these inputs laid out as `plan` lays them out, or null. */
  find(inputs: CaseInputs, plan: EnginePlan): readonly ChunkInputs[] | null {
    return this.kept !== null && this.kept.inputs === inputs && this.kept.layout === inputLayout(plan) ? this.kept.chunks : null;
  }

  /** Keeps these buffers (written with `inputs` as `plan` lays them out) in place of any kept before. */
  keep(inputs: CaseInputs, plan: EnginePlan, chunks: readonly ChunkInputs[]): void {
    this.release();
    this.kept = { inputs, layout: inputLayout(plan), chunks };
  }

  release(): void {
    destroyInputs(this.kept?.chunks ?? []);
    this.kept = null;
  }

  /** The input buffers of `plan`: the kept ones when they fit it, else made, written through the
   *  device's staging buffers and kept (in place of any kept before). */
  async buffersFor(ctx: GpuContext, plan: EnginePlan, inputs: CaseInputs): Promise<readonly ChunkInputs[]> {
    const found = this.find(inputs, plan);
    if (found) return found;
    const inputUsage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST;
    const { chunks, writes } = await withErrorScopes(ctx.device, 'making the input buffers', () =>
      planInputs(plan, inputs, (label, words) => ctx.device.createBuffer({ label, size: Math.max(1, words) * 4, usage: inputUsage })),
    );
    try {
      await writeInputs(ctx, writes);
    } catch (error) {
      destroyInputs(chunks);
      throw error;
    }
    this.keep(inputs, plan, chunks);
    return chunks;
  }

  /** Uploads the inputs as `contract` lays them out (the input buffers alone: no pipelines,
   *  outputs or parameters), for a later uploadCase of a contract that lays them out alike. */
  async upload(ctx: GpuContext, contract: Contract, shape: Shape, inputs: CaseInputs, options: PlanOptions = {}): Promise<void> {
    await this.buffersFor(ctx, planCase(contract, shape, inputs, ctx.limits, options), inputs);
  }
}

/** A write of input data into an input buffer. */
interface InputWrite {
  readonly target: GPUBuffer;
  readonly offsetBytes: number;
  readonly data: ArrayBufferView;
}

/** Each chunk's input buffers, made by `create`, and the writes that fill them: the packed rank
 *  slots, then an NCCL order's segments (allReduce.wgsl rankOrderWord: the stage keeps to four
 *  storage bindings); the residual rows where the contract adds a residual. */
function planInputs(
  plan: EnginePlan,
  inputs: CaseInputs,
  create: (label: string, words: number) => GPUBuffer,
): { chunks: ChunkInputs[]; writes: InputWrite[] } {
  const { hidden } = plan.shape;
  const residualInput = plan.contract.residual ? inputs.residual : null;
  const writes: InputWrite[] = [];
  const chunks = plan.chunks.map((range): ChunkInputs => {
    const first = range.first * hidden;
    const elements = range.count * hidden;
    const slotWords = bf16Words(elements);
    const slotsWords = plan.slotRanks.length * slotWords;
    const chunk = {
      rankSlots: create(`rank slots rows ${range.first}+${range.count}`, slotsWords + plan.rankOrderWords.length),
      residual: create(`residual rows ${range.first}+${range.count}`, residualInput ? slotWords : 1),
    };
    plan.slotRanks.forEach((rank, slot) => {
      const data = inputs.rankInputs[rank].data.subarray(first, first + elements);
      writes.push({ target: chunk.rankSlots, offsetBytes: slot * slotWords * 4, data });
    });
    if (plan.rankOrderWords.length > 0) writes.push({ target: chunk.rankSlots, offsetBytes: slotsWords * 4, data: plan.rankOrderWords });
    if (residualInput) writes.push({ target: chunk.residual, offsetBytes: 0, data: residualInput.data.subarray(first, first + elements) });
    return chunk;
  });
  return { chunks, writes };
}

/** The writes, through the device's staging buffers (staging.ts). */
async function writeInputs(ctx: GpuContext, writes: readonly InputWrite[]): Promise<void> {
  const staged = new StagedWrites(ctx, 'uploading the inputs');
  for (const { target, offsetBytes, data } of writes) await staged.write(target, offsetBytes, data);
  await staged.flush();
}

function destroyInputs(chunks: readonly ChunkInputs[]): void {
  for (const chunk of chunks) {
    chunk.rankSlots.destroy();
    chunk.residual.destroy();
  }
}

/** What decides the contents of a plan's input buffers, besides the inputs themselves. */
function inputLayout(plan: EnginePlan): string {
  return JSON.stringify([plan.slotRanks, plan.chunks, [...plan.rankOrderWords], plan.contract.residual !== null]);
}

export interface UploadOptions extends PlanOptions {
  /** 'copy' unless given. */
  readonly readback?: ReadbackMode;
  /** Bytes of output sets beyond the first (OUTPUT_SET_BUDGET_BYTES unless given; 0: every chunk
   *  and output rank reuses one set, as before output sets). */
  readonly outputSetBudgetBytes?: number;
  /** Where the input buffers are kept for later uploads of the same inputs, and taken from
   *  (InputBufferCache); the cache, not the case, owns them. */
  readonly inputCache?: InputBufferCache;
}

export interface ChunkWork {
  readonly range: ItemRange;
  /** Per output rank: one bind group per active stage (they differ in the Params uniform). */
  readonly bindGroups: readonly (readonly GPUBindGroup[])[];
  /** Per output rank: the outputs to read back (none with 'none' readback). */
  readonly readbacks: readonly (readonly Readback[])[];
  /** Per output rank: the output buffers its stages write and its readbacks copy from. */
  readonly outputs: readonly OutputBuffers[];
}

export interface UploadedCase {
  readonly ctx: GpuContext;
  readonly plan: EnginePlan;
  readonly stages: readonly EngineStage[];
  readonly pipelines: readonly GPUComputePipeline[];
  readonly chunks: readonly ChunkWork[];
  /** The first chunk and output rank's output buffers (ChunkWork.outputs has every chunk's). */
  readonly outputs: OutputBuffers;
  /** What one stage leaves for the next, read back only by stage probes (stageProbe.ts). */
  readonly scratch: Pick<StageBuffers, 'x' | 'rstd'>;
  readonly readback: ReadbackMode;
  /** 'mapped' readback: per output rank, the whole-case mappable buffer of each output. */
  readonly caseStaging: readonly ReadonlyMap<OutputRole, GPUBuffer>[];
  /** Every buffer made for the case, destroyed by releaseCase. */
  readonly owned: readonly GPUBuffer[];
}

/** Creates the buffers, uploads the inputs (packed as the tensors hold them) and the parameters. */
export async function uploadCase(ctx: GpuContext, contract: Contract, shape: Shape, inputs: CaseInputs, options: UploadOptions = {}): Promise<UploadedCase> {
  const plan = planCase(contract, shape, inputs, ctx.limits, options);
  const outputSetBudgetBytes = options.outputSetBudgetBytes ?? OUTPUT_SET_BUDGET_BYTES;
  if (!Number.isSafeInteger(outputSetBudgetBytes) || outputSetBudgetBytes < 0) {
    throw new RangeError(`outputSetBudgetBytes must be a non-negative integer, got ${outputSetBudgetBytes}`);
  }
  const readback = options.readback ?? 'copy';
  if (readback === 'mapped') checkMappedReadback(plan, ctx.limits.maxBufferSize);
  const { hidden } = plan.shape;
  const stages = ENGINE_STAGES.filter((stage) => !stage.quantOnly || plan.emits.quant);
  const pipelineOf = await stagePipelines(ctx, plan.pipelineConstants, plan.readsSm90Tables);
  const pipelines = stages.map((stage) => pipelineOf.get(stage)!);
  const maxRows = Math.max(...plan.chunks.map((c) => c.count));
  const maxElements = maxRows * hidden;
  const { logicalThreads } = plan.baseParams;
  // The device's tables (uploaded on its first sm_90 case, then shared), never the case's own.
  const sm90Tables = plan.readsSm90Tables ? await sm90TablesBuffer(ctx) : null;

  // With a cache, the inputs are its buffers (written now unless it holds them already); without
  // one, the case's own, written after the case's buffers are made. Both through the device's
  // staging buffers.
  const cachedInputs = options.inputCache ? await options.inputCache.buffersFor(ctx, plan, inputs) : null;
  let writes: readonly InputWrite[] = [];
  const uploading = withErrorScopes(ctx.device, 'uploading a case', (): UploadedCase => {
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
    const reduction = upload('reduction plan', plan.reductionWords.length, GPUBufferUsage.STORAGE, (mapped) =>
      new Uint32Array(mapped).set(plan.reductionWords),
    );
    const shared = {
      weight: weightBuffer,
      reduction,
      x: make('x', maxElements, storageOut),
      partials: make('partials', maxRows * logicalThreads, GPUBufferUsage.STORAGE),
      rstd: make('rstd', maxRows, storageOut),
    };
    const outputWordsOf: Readonly<Record<OutputRole, number>> = {
      residualOut: plan.emits.residual ? bf16Words(maxElements) : 1,
      normOut: bf16Words(maxElements),
      scales: SCALES_BUFFER_WORDS_PER_GROUP * maxRows * plan.groups,
      q: plan.emits.quant ? Math.ceil(maxElements / 4) : 1,
    };
    const setBytes = 4 * Object.values(outputWordsOf).reduce((a, b) => a + b, 0);
    const outputSets = Array.from({ length: outputSetCount(plan.chunks.length * plan.outputRanks.length, setBytes, outputSetBudgetBytes) }, (_, set) => {
      const buffers = Object.entries(outputWordsOf).map(([role, words]) => [role, make(`${role} set ${set}`, words, storageOut)] as const);
      return Object.fromEntries(buffers) as Record<OutputRole, GPUBuffer>;
    });

    const emitted = emittedRoles(plan);
    const caseStaging =
      readback === 'mapped'
        ? plan.outputRanks.map(
            (outputRank) =>
              new Map(
                emitted.map(
                  (role) =>
                    [
                      role,
                      make(
                        `${role} readback rank ${outputRank}`,
                        outputWords(plan, role, plan.shape.tokens),
                        GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
                      ),
                    ] as const,
                ),
              ),
          )
        : [];

    let inputBuffers = cachedInputs;
    if (inputBuffers === null) {
      const own = planInputs(plan, inputs, (label, words) => make(label, words, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST));
      inputBuffers = own.chunks;
      writes = own.writes;
    }
    const chunks = plan.chunks.map((range, chunkIndex): ChunkWork => {
      const { rankSlots, residual } = inputBuffers[chunkIndex];
      const outputs = plan.outputRanks.map((_, rankIndex) => outputSets[(chunkIndex * plan.outputRanks.length + rankIndex) % outputSets.length]);
      const bindGroups = plan.outputRanks.map((outputRank, rankIndex) => {
        const buffers: StageBuffers = { ...shared, ...outputs[rankIndex], rankSlots, residual };
        const words = encodeParams(paramsFor(plan, range, outputRank));
        const params = upload(`params rows ${range.first}+${range.count} rank ${outputRank}`, words.length, GPUBufferUsage.UNIFORM, (mapped) =>
          new Uint32Array(mapped).set(words),
        );
        return stages.map((stage, i) =>
          ctx.device.createBindGroup({
            label: `${stage.name} rows ${range.first}+${range.count} rank ${outputRank}`,
            layout: pipelines[i].getBindGroupLayout(0),
            entries: [
              { binding: 0, resource: { buffer: params } },
              ...stage.bindings.map((role, b) => ({ binding: b + 1, resource: { buffer: buffers[role] } })),
              ...(sm90Tables && stage.readsSm90Tables ? [{ binding: SM90_TABLES_BINDING, resource: { buffer: sm90Tables } }] : []),
            ],
          }),
        );
      });
      const readbacks = plan.outputRanks.map((outputRank, rankIndex) =>
        (readback === 'none' ? [] : emitted).map((role): Readback => {
          const words = outputWords(plan, role, range.count);
          if (readback === 'mapped')
            return { role, words, staging: caseStaging[rankIndex].get(role)!, offsetBytes: outputOffsetBytes(plan, role, range.first) };
          const staging = make(
            `${role} readback rows ${range.first}+${range.count} rank ${outputRank}`,
            words,
            GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
          );
          return { role, words, staging, offsetBytes: 0 };
        }),
      );
      return { range, bindGroups, readbacks, outputs };
    });
    return { ctx, plan, stages, pipelines, chunks, outputs: outputSets[0], scratch: shared, readback, caseStaging, owned };
  });
  const uploaded = await uploading;
  try {
    await writeInputs(ctx, writes);
  } catch (error) {
    releaseCase(uploaded);
    throw error;
  }
  return uploaded;
}

export function releaseCase(uploaded: UploadedCase): void {
  for (const buffer of uploaded.owned) buffer.destroy();
}

/** 'mapped' readback needs each output in one buffer, and each chunk's part of it on a word. */
function checkMappedReadback(plan: EnginePlan, maxBufferSize: number): void {
  const { tokens, hidden } = plan.shape;
  for (const role of emittedRoles(plan)) {
    const bytes = 4 * outputWords(plan, role, tokens);
    if (bytes > maxBufferSize) {
      throw new RangeError(
        `mapped readback: output '${role}' of ${tokens}x${hidden} needs ${bytes} bytes in one buffer, over the device's maxBufferSize of ${maxBufferSize}; ` +
          `use 'copy' readback`,
      );
    }
  }
  const misaligned = plan.chunks.find((chunk) => (chunk.first * hidden) % 4 !== 0);
  if (misaligned) {
    throw new RangeError(
      `mapped readback: the chunk at row ${misaligned.first} starts at element ${misaligned.first * hidden}, not a multiple of 4 (the fp8 output's word); ` +
        `use 'copy' readback or chunks of whole multiples of ${CHUNK_ROW_ALIGNMENT} rows`,
    );
  }
}
