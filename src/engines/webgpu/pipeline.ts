import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../../packageRoot.js';
import { hardwareWgslSource, softfloatWgslSource } from '../../softfloat/wgslSource.js';
import { LINEAR_WORKGROUP_INDEX_WGSL, computePipeline, type ComputeShader } from './dispatch.js';
import type { GpuContext } from './device.js';
import { engineWgslPrelude, WORKGROUP_SIZE, type PipelineConstants } from './plan.js';

// The engine's stages as the GPU runs them: each WGSL entry point of shaders/engine/, the
// buffers it binds and how many invocations it needs. Stages run in this order for each chunk of
// rows and each output rank. Which CPU function each one is the twin of is the registry's
// (src/engines/stages.ts, below both engines; test/webgpu/stages.test.ts runs the pairs).

/** The buffers a stage binds; binding 0 is always the Params uniform. */
export type BufferRole = 'rankSlots' | 'residual' | 'residualOut' | 'x' | 'partials' | 'rstd' | 'reduction' | 'weight' | 'normOut' | 'scales' | 'q';

/** What one invocation (or workgroup) covers: four elements, a token row, a quant group. */
export type StageGrid = 'element-quads' | 'rows' | 'groups';

export interface EngineStage {
  /** The WGSL entry point. */
  readonly name: 'allReduce' | 'sumOfSquares' | 'normalize' | 'groupScale' | 'quantize';
  /** Under shaders/engine/. */
  readonly file: string;
  /** Buffers for bindings 1, 2, ... in order. */
  readonly bindings: readonly BufferRole[];
  readonly grid: StageGrid;
  /** Runs only when the contract quantizes. */
  readonly quantOnly: boolean;
  /** Computes a hardware-op slot, so it binds the sm_90 tables at SM90_TABLES_BINDING when the
   *  contract has an sm_90 slot. */
  readonly readsSm90Tables: boolean;
}

export const ENGINE_STAGES: readonly EngineStage[] = [
  {
    name: 'allReduce',
    file: 'allReduce.wgsl',
    bindings: ['rankSlots', 'residual', 'residualOut', 'x'],
    grid: 'element-quads',
    quantOnly: false,
    readsSm90Tables: false,
  },
  {
    name: 'sumOfSquares',
    file: 'sumOfSquares.wgsl',
    bindings: ['x', 'partials', 'rstd', 'reduction'],
    grid: 'rows',
    quantOnly: false,
    readsSm90Tables: true,
  },
  {
    name: 'normalize',
    file: 'normalize.wgsl',
    bindings: ['weight', 'rstd', 'x', 'normOut'],
    grid: 'element-quads',
    quantOnly: false,
    readsSm90Tables: false,
  },
  {
    name: 'groupScale',
    file: 'quant.wgsl',
    bindings: ['x', 'normOut', 'scales'],
    grid: 'groups',
    quantOnly: true,
    readsSm90Tables: true,
  },
  {
    name: 'quantize',
    file: 'quant.wgsl',
    bindings: ['x', 'normOut', 'scales', 'q'],
    grid: 'element-quads',
    quantOnly: true,
    readsSm90Tables: true,
  },
];

export function engineShaderDir(): string {
  return join(PACKAGE_ROOT, 'shaders', 'engine');
}

/**
 * Where the hardware-op slots (shaders/engine/hardwareOps.wgsl) find the sm_90 tables: bound at
 * SM90_TABLES_BINDING when the contract has an sm_90 slot, else a private word never read, so
 * that a contract without one binds no extra storage buffer.
 */
function sm90TablesDeclaration(readsSm90Tables: boolean): string {
  return readsSm90Tables
    ? '@group(0) @binding(SM90_TABLES_BINDING) var<storage, read> sm90Tables: array<u32>;'
    : "// No hardware-op slot is sm_90's: the slots never read this.\nvar<private> sm90Tables: array<u32, 1>;";
}

const sources = new Map<string, string>();

/** The whole module for a stage: soft-float library, sm_90 hardware ops, generated prelude,
 *  common.wgsl, the tables' declaration, the hardware-op slots, the stage file. */
export function stageShader(stage: EngineStage, constants: PipelineConstants, readsSm90Tables: boolean): ComputeShader {
  const key = `${stage.file}|${readsSm90Tables}`;
  let code = sources.get(key);
  if (code === undefined) {
    const read = (file: string): string => `// ---- shaders/engine/${file}\n${readFileSync(join(engineShaderDir(), file), 'utf8')}`;
    const parts = [softfloatWgslSource(), hardwareWgslSource(), engineWgslPrelude(), LINEAR_WORKGROUP_INDEX_WGSL, read('common.wgsl')];
    code = [...parts, sm90TablesDeclaration(readsSm90Tables), read('hardwareOps.wgsl'), read(stage.file)].join('\n');
    sources.set(key, code);
  }
  return { label: `engine ${stage.name}`, code, entryPoint: stage.name, constants };
}

/** Every stage's pipeline for these constants, compiled once per device (dispatch.ts caches them). */
export async function stagePipelines(ctx: GpuContext, constants: PipelineConstants, readsSm90Tables: boolean): Promise<Map<EngineStage, GPUComputePipeline>> {
  const built = await Promise.all(
    ENGINE_STAGES.map(async (stage) => [stage, await computePipeline(ctx, stageShader(stage, constants, readsSm90Tables))] as const),
  );
  return new Map(built);
}

/** Workgroups a stage needs for a chunk of `rows` rows. */
export function stageWorkgroups(stage: EngineStage, rows: number, hidden: number, groups: number): number {
  switch (stage.grid) {
    case 'element-quads':
      return Math.ceil(Math.ceil((rows * hidden) / 4) / WORKGROUP_SIZE);
    case 'rows':
      return rows;
    case 'groups':
      return Math.ceil((rows * groups) / WORKGROUP_SIZE);
  }
}
