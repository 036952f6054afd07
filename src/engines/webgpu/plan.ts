import { Bf16RoundingSitesSchema, type Bf16RoundingSites, type Contract, type Shape } from '../../contracts/schema.js';
import { leafValues, unionKinds } from '../../contracts/vocabulary.js';
import { checkContractForShape } from '../../contracts/validate.js';
import { bitsFromF32 } from '../../numerics/f32.js';
import { FP8_TRAITS } from '../../numerics/fp8.js';
import { WGSL_CODES } from '../../softfloat/wgslCodes.js';
import { rankOrderLayout, ranksDiverge } from '../layout/rankOrder.js';
import { cubBlockSize } from '../layout/blockSize.js';
import { reductionPlan, type ReductionPlan } from '../layout/reduction.js';
import { checkCaseInputs, quantGroups, quantGroupSize, type CaseInputs } from '../io.js';
import { chunkItems, type ComputeLimits, type ItemRange } from './limits.js';

// What the host decides before any shader runs: the contract as u32 parameters (one uniform
// struct shared by every stage, its WGSL declaration generated from the same field list), the
// logical threads of the sum-of-squares tree, the order ranks are packed in, and the row chunks
// that keep every buffer inside one storage binding. No float arithmetic happens here: f32
// constants are the bits of the same Math.fround values the CPU engine uses.

/** Codes 0, 1, .. for the values the contract vocabulary lists at a path, typed as the contract's. */
function indexCodes<Name extends string>(values: readonly unknown[]): Readonly<Record<Name, number>> {
  return Object.fromEntries(values.map((value, index) => [String(value), index])) as Record<Name, number>;
}

type Quant = NonNullable<Contract['quant']>;

/** Codes for the contract's choices, emitted as WGSL constants by engineWgslPrelude(): each table
 *  is the contract vocabulary's list of values (src/contracts/vocabulary.ts, issue 11 item 2),
 *  so a value the schema gains has a code. */
export const ENGINE_CODES = {
  order: indexCodes<Contract['allReduce']['order']['kind']>(unionKinds('allReduce.order')),
  tree: indexCodes<Contract['norm']['sumOfSquares']['tree']['kind']>(unionKinds('norm.sumOfSquares.tree')),
  perThread: indexCodes<Contract['norm']['sumOfSquares']['perThread']>(leafValues('norm.sumOfSquares.perThread')),
  multiplyOrder: indexCodes<Contract['norm']['multiplyOrder']>(leafValues('norm.multiplyOrder')),
  variance: indexCodes<Contract['norm']['variance']>(leafValues('norm.variance')),
  weightOffset: indexCodes<Contract['norm']['weight']['offset']>(leafValues('norm.weight.offset')),
  scaleFloorStage: indexCodes<NonNullable<Quant['scaleFloor']>['stage'] | 'none'>(['none', ...leafValues('quant.scaleFloor.stage')]),
} as const;

/** The Params field that holds each downcast site's rounding (a code of WGSL_CODES.bf16Rounding). */
export const BF16_SITE_PARAMS = {
  allReduceHop: 'roundAllReduceHop',
  allReduceResult: 'roundAllReduceResult',
  residualAdd: 'roundResidualAdd',
  residualOut: 'roundResidualOut',
  normIntermediate: 'roundNormIntermediate',
  normOut: 'roundNormOut',
} as const satisfies Record<keyof Bf16RoundingSites, string>;

/** Where the stages that compute a hardware-op slot bind the device's sm_90 tables
 *  (hardwareTables.ts): past every stage's own bindings, so stages may add theirs. */
export const SM90_TABLES_BINDING = 15;

/** Words per quant group in the scales buffer, in three regions of the chunk: the scales (the only
 *  region read back), their reciprocals, and one f32_divisorReciprocal of each scale, which quantize
 *  divides by (shaders/engine/quant.wgsl quantizeValue). */
export const SCALES_BUFFER_WORDS_PER_GROUP = 3;

/** Invocations per workgroup: within every adapter's limit (compatibility mode guarantees 128). */
export const WORKGROUP_SIZE = 64;

/** Fields of the WGSL `Params` uniform, in order; every one is a u32. */
export const PARAM_FIELDS = [
  // Problem and chunk.
  'ranks',
  'hidden',
  'rows',
  'firstElement',
  'totalElements',
  'outputRank',
  'slotWords',
  // All-reduce and residual (engine.ts steps 1-3, rankOrder.ts).
  'orderKind',
  'packElems',
  'chunkAlignElems',
  'orderSegments',
  'accumulateBf16',
  'roundResultBf16',
  'hasResidual',
  'residualAddBf16',
  'normInputBf16',
  // The rounding of each f32 -> bf16 downcast site (BF16_SITE_PARAMS).
  'roundAllReduceHop',
  'roundAllReduceResult',
  'roundResidualAdd',
  'roundResidualOut',
  'roundNormIntermediate',
  'roundNormOut',
  // Sum of squares and rstd (sumOfSquares.ts, engine.ts step 4).
  'treeKind',
  'perThread',
  'warpSize',
  'logicalThreads',
  'warps',
  'cubBlock',
  'fma',
  'hiddenF32',
  'epsF32',
  'variance',
  // ... or by the layout module's ReductionPlan (reductionWords): its pattern and where its parts start.
  'treeFromPlan',
  'perThreadPattern',
  'planSlots',
  'planElements',
  'planSteps',
  'planStepCount',
  'planRunLength',
  'planNestedRuns',
  'planResult',
  // Weight multiply (engine.ts step 5, effectiveWeight).
  'weightBf16',
  'weightCastToBf16',
  'weightOffset',
  'multiplyOrder',
  'roundIntermediate',
  'normalizeInputBf16',
  // Per-group quant (quant.ts, engine.ts step 6).
  'groupSize',
  'groups',
  'fp8Format',
  'fp8Saturation',
  'divisorF32',
  'quantInputBf16',
  'hasStaticScale',
  'staticScaleF32',
  'hasAmaxFloor',
  'amaxFloorF32',
  'scaleFloorStage',
  'scaleFloorF32',
  'zeroAmaxScaleOne',
  'scaleReciprocal',
  'ue8m0',
  'ue8m0Mode',
  'quantizeReciprocal',
  'clamp',
  'clampF32',
  // The hardware-op slots (shaders/engine/hardwareOps.wgsl): 1 where the slot is sm_90's
  // measured instruction, 0 where it is correctly rounded ('ieee' and 'inferred').
  'rsqrtSm90',
  'reciprocalSm90',
  'divideSm90',
  // allReduce.negativeZeroInputs 'positive': a -0 rank input reads as +0 (allReduce.ts inputValue).
  'negativeZeroToPositive',
  // norm.epsAdd 'f64': variance + eps in f64 (sumOfSquares.ts varianceWithEps), eps as f64 halves.
  'epsAddF64',
  'epsF64Hi',
  'epsF64Lo',
] as const;
export type ParamName = (typeof PARAM_FIELDS)[number];
export type Params = Readonly<Record<ParamName, number>>;

/** The fields that change per chunk and output rank; planCase leaves them 0. */
type ChunkParam = 'rows' | 'firstElement' | 'outputRank' | 'slotWords';

export interface EnginePlan {
  readonly contract: Contract;
  readonly shape: Shape;
  /** Output ranks computed: [0] unless ranks diverge (own-first), then every rank. */
  readonly outputRanks: readonly number[];
  /** The rank whose input goes in each slot of the packed rank buffer: the rotation's base order. */
  readonly slotRanks: readonly number[];
  /** Row ranges small enough for one storage binding per buffer. */
  readonly chunks: readonly ItemRange[];
  readonly groups: number;
  readonly emits: { readonly residual: boolean; readonly norm: boolean; readonly quant: boolean };
  readonly baseParams: Params;
  readonly pipelineConstants: PipelineConstants;
  /** The sum of squares' ReductionPlan as the WGSL reads it (laneStart, elements, then the steps),
   *  when the tree runs from the plan; one zero word otherwise. */
  readonly reductionWords: Uint32Array;
  /** An NCCL order's segments (ends, then ranks in summation order), packed after the rank slots; empty for a rotation. */
  readonly rankOrderWords: Uint32Array;
  /** Whether a hardware-op slot is sm_90's, so the stages read the device's sm_90 tables. */
  readonly readsSm90Tables: boolean;
}

/**
 * WGSL `override` constants of every stage, fixed per pipeline rather than read from Params: the
 * subnormal mode is an argument of every soft-float operation, and as a constant the compiler
 * folds its checks away (on llvmpipe, N=8 H=7168 M=64 aiter-1stage-quant, reading it from the
 * uniform made the case's compute about 1.9x slower than before the mode existed, in two
 * alternated runs). A case compiles the stages once per mode; dispatch.ts caches them.
 */
export type PipelineConstants = {
  /** WGSL_CODES.f32Subnormals of the contract's f32Subnormals. */
  readonly ENGINE_F32_SUBNORMALS: number;
};

export interface PlanOptions {
  /** Cut chunks to at most this many rows (smaller chunks let readback overlap the next chunk's work). */
  readonly maxRowsPerChunk?: number;
}

/**
 * The most one chunk's largest buffer holds, whatever the device allows: on an H100, the
 * N=8, H=7168, M=8192 case ran 1.15-1.9x faster end to end in 1024-row chunks (117 MiB of rank
 * inputs) than in one 940 MiB chunk, as each chunk's readback overlaps the next chunks' work
 * (bench/RESULTS.md). Compatibility-mode devices bind 128 MiB anyway.
 */
export const MAX_CHUNK_BYTES = 128 * 2 ** 20;

/**
 * Chunks start at multiples of this many rows (when a chunk holds that many), so every chunk's
 * first element is a multiple of 4 and its packed bf16 and fp8 outputs start on a word of a
 * whole-case buffer, where mapped readback copies them (copyBufferToBuffer takes word offsets).
 */
export const CHUNK_ROW_ALIGNMENT = 4;

/** Ranks are packed into one buffer (compatibility mode allows few storage buffers per stage). */
export function planCase(contract: Contract, shapeInput: Shape, inputs: CaseInputs, limits: ComputeLimits, options: PlanOptions = {}): EnginePlan {
  const shape = checkContractForShape(contract, shapeInput);
  checkCaseInputs(contract, shape, inputs);
  const { ranks, tokens, hidden } = shape;
  const totalElements = tokens * hidden;
  // checkContractForShape bounds hidden by LIMITS.hidden (2^18, so H is an exact f32 and f32
  // division by H equals the CPU's division by the integer) and tokens x hidden by
  // MAX_CASE_ELEMENTS (2^31, so element indices fit a u32).

  const { maxRowsPerChunk } = options;
  if (maxRowsPerChunk !== undefined && (!Number.isSafeInteger(maxRowsPerChunk) || maxRowsPerChunk < 1)) {
    throw new RangeError(`maxRowsPerChunk must be a positive integer, got ${maxRowsPerChunk}`);
  }
  const order = contract.allReduce.order;
  const tree = contract.norm.sumOfSquares.tree;
  const quant = contract.quant;
  const orderLayout = rankOrderLayout(order, ranks, totalElements);
  const groups = quant ? quantGroups(quant, hidden) : 0;
  const reduction = treeFromPlan(contract) ? reductionPlan(contract, shape) : null;
  const { logicalThreads, warps, warpSize, perThread, cubBlock } = reduction
    ? { logicalThreads: reduction.slots, warps: 0, warpSize: 1, perThread: 0, cubBlock: 0 }
    : sumOfSquaresThreads(contract, shape);

  const baseParams: Params = {
    ranks,
    hidden,
    rows: 0,
    firstElement: 0,
    totalElements,
    outputRank: 0,
    slotWords: 0,
    orderKind: ENGINE_CODES.order[order.kind],
    packElems: order.kind === 'rotated' ? order.packElems : 1,
    chunkAlignElems: order.kind === 'ring' ? order.chunkAlignElems : 1,
    orderSegments: orderLayout.segments ? orderLayout.segments.ends.length : 0,
    accumulateBf16: flag(contract.allReduce.accumulate === 'bf16'),
    roundResultBf16: flag(contract.allReduce.roundResult === 'bf16'),
    hasResidual: flag(contract.residual !== null),
    residualAddBf16: flag(contract.residual?.add === 'bf16'),
    normInputBf16: flag(contract.norm.input === 'bf16'),
    ...bf16SiteParams(contract.bf16Rounding),
    treeKind: ENGINE_CODES.tree[tree.kind],
    perThread,
    warpSize,
    logicalThreads,
    warps,
    cubBlock,
    fma: flag(contract.norm.sumOfSquares.perThread === 'fma-chain'),
    hiddenF32: bitsFromF32(hidden),
    epsF32: bitsFromF32(contract.norm.eps),
    variance: ENGINE_CODES.variance[contract.norm.variance],
    ...planParams(reduction, contract),
    weightBf16: flag(contract.norm.weight.dtype === 'bf16'),
    weightCastToBf16: flag(contract.norm.weight.castToBf16),
    weightOffset: ENGINE_CODES.weightOffset[contract.norm.weight.offset],
    multiplyOrder: ENGINE_CODES.multiplyOrder[contract.norm.multiplyOrder],
    roundIntermediate: flag(contract.norm.roundIntermediate),
    normalizeInputBf16: flag(contract.norm.input === 'f32-squares-bf16-normalize'),
    groupSize: quant ? quantGroupSize(quant, hidden) : 1,
    groups,
    fp8Format: quant ? WGSL_CODES.fp8Format[quant.format] : 0,
    fp8Saturation: quant ? WGSL_CODES.fp8Saturation[quant.saturation] : 0,
    // The scale's divisor: the format's max unless the contract names another (quant.divisor).
    divisorF32: quant ? bitsFromF32(quant.divisor === 'format-max' ? FP8_TRAITS[quant.format].maxFinite : quant.divisor) : 0,
    quantInputBf16: flag(quant?.input === 'bf16'),
    hasStaticScale: flag(quant?.staticScale != null),
    staticScaleF32: quant?.staticScale != null ? bitsFromF32(quant.staticScale) : 0,
    hasAmaxFloor: flag(quant?.amaxFloor != null),
    amaxFloorF32: quant?.amaxFloor != null ? bitsFromF32(quant.amaxFloor) : 0,
    scaleFloorStage: ENGINE_CODES.scaleFloorStage[quant?.scaleFloor?.stage ?? 'none'],
    scaleFloorF32: quant?.scaleFloor ? bitsFromF32(quant.scaleFloor.value) : 0,
    zeroAmaxScaleOne: flag(quant?.zeroAmaxScaleOne === true),
    scaleReciprocal: flag(quant?.scale === 'reciprocal'),
    ue8m0: flag(quant !== null && quant.ue8m0 !== 'none'),
    ue8m0Mode: quant && quant.ue8m0 !== 'none' ? WGSL_CODES.e8m0Rounding[quant.ue8m0] : 0,
    quantizeReciprocal: flag(quant?.quantize === 'reciprocal'),
    clamp: flag(quant !== null && quant.clamp !== 'none'),
    clampF32: quant && quant.clamp !== 'none' ? bitsFromF32(quant.clamp) : 0,
    rsqrtSm90: flag(contract.hardwareOps.rsqrt === 'sm90'),
    reciprocalSm90: flag(contract.hardwareOps.reciprocal === 'sm90'),
    divideSm90: flag(contract.hardwareOps.divide === 'sm90-div-full'),
    negativeZeroToPositive: flag(contract.allReduce.negativeZeroInputs === 'positive'),
    epsAddF64: flag(contract.norm.epsAdd === 'f64'),
    ...f64Halves(contract.norm.eps),
  };

  // The largest per-row footprint of any buffer, in u32 words: packed rank inputs, the f32
  // scratch row, the tree's logical-thread partials, the scales buffer's words.
  const rankOrderWords = orderLayout.segments ? concatWords([orderLayout.segments.ends, orderLayout.segments.orders]) : new Uint32Array(0);
  const wordsPerRow = Math.max(ranks * Math.ceil(hidden / 2), hidden, logicalThreads, SCALES_BUFFER_WORDS_PER_GROUP * groups);
  return {
    contract,
    shape,
    outputRanks: ranksDiverge(order) ? Array.from({ length: ranks }, (_, r) => r) : [0],
    slotRanks: orderLayout.rotation ? orderLayout.rotation.base : Array.from({ length: ranks }, (_, r) => r),
    chunks: chunkItems(tokens, wordsPerRow, cappedLimits(limits, rankOrderWords.length), { maxItems: maxRowsPerChunk, alignment: CHUNK_ROW_ALIGNMENT }),
    groups,
    emits: { residual: contract.residual !== null, norm: !quant || quant.bf16SideOutput, quant: quant !== null },
    baseParams,
    pipelineConstants: { ENGINE_F32_SUBNORMALS: WGSL_CODES.f32Subnormals[contract.f32Subnormals] },
    reductionWords: reduction ? concatWords([reduction.laneStart, reduction.elements, reduction.steps]) : new Uint32Array(1),
    rankOrderWords,
    readsSm90Tables: baseParams.rsqrtSm90 + baseParams.reciprocalSm90 + baseParams.divideSm90 > 0,
  };
}

/** The binding size left for row data: capped, less the words every chunk's rank slots also carry. */
function cappedLimits(limits: ComputeLimits, fixedWords: number): ComputeLimits {
  return { ...limits, maxStorageBufferBindingSize: Math.min(limits.maxStorageBufferBindingSize, MAX_CHUNK_BYTES) - fixedWords * 4 };
}

function concatWords(parts: readonly Uint32Array[]): Uint32Array {
  const out = new Uint32Array(parts.reduce((n, part) => n + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** The f64 bit pattern of `value` as the two u32 words WGSL reads (it has no f64). */
function f64Halves(value: number): { epsF64Hi: number; epsF64Lo: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, value);
  return { epsF64Hi: view.getUint32(0), epsF64Lo: view.getUint32(4) };
}

function flag(value: boolean): number {
  return value ? 1 : 0;
}

interface TreeThreads {
  /** Logical threads whose partial sums the tree combines (padded to whole warps). */
  readonly logicalThreads: number;
  readonly warps: number;
  readonly warpSize: number;
  readonly perThread: number;
  readonly cubBlock: number;
}

/** The kernel's thread geometry for the row's sum of squares, as sumOfSquares.ts lays it out. */
export function sumOfSquaresThreads(contract: Contract, shape: Shape): TreeThreads {
  const tree = contract.norm.sumOfSquares.tree;
  switch (tree.kind) {
    case 'sequential':
      return { logicalThreads: 1, warps: 0, warpSize: 1, perThread: 0, cubBlock: 0 };
    case 'butterfly': {
      const threads = shape.hidden / tree.perThread;
      const padded = Math.ceil(threads / tree.warpSize) * tree.warpSize;
      return { logicalThreads: padded, warps: padded / tree.warpSize, warpSize: tree.warpSize, perThread: tree.perThread, cubBlock: 0 };
    }
    case 'cub': {
      const block = cubBlockSize(tree, shape.hidden, shape.tokens);
      const padded = Math.ceil(block / tree.warpSize) * tree.warpSize;
      return { logicalThreads: padded, warps: padded / tree.warpSize, warpSize: tree.warpSize, perThread: 0, cubBlock: block };
    }
    default:
      throw new RangeError(`sumOfSquaresThreads: tree '${tree.kind}' runs from its ReductionPlan`);
  }
}

function bf16SiteParams(sites: Bf16RoundingSites): Record<(typeof BF16_SITE_PARAMS)[keyof Bf16RoundingSites], number> {
  const entries = Bf16RoundingSitesSchema.keyof().options.map((site) => [BF16_SITE_PARAMS[site], WGSL_CODES.bf16Rounding[sites[site]]] as const);
  return Object.fromEntries(entries) as Record<(typeof BF16_SITE_PARAMS)[keyof Bf16RoundingSites], number>;
}

/**
 * Whether the sum of squares runs from the layout module's ReductionPlan. The three trees the
 * WGSL had before the plan existed (sequential, butterfly, scalar cub, each with a chain or fma
 * chain) keep their own code, which spreads warps over invocations: the plan's combine steps
 * run on one invocation per row. Both give the plan's bits: the engine test compares each with
 * the CPU engine, which interprets the plan for every tree.
 */
function treeFromPlan(contract: Contract): boolean {
  const { perThread, tree } = contract.norm.sumOfSquares;
  if (perThread !== 'chain' && perThread !== 'fma-chain') return true;
  if (tree.kind === 'cub') return tree.vectorWidth !== 1;
  // The butterfly's own WGSL pads the last warp; a dropped tail warp is the plan's.
  if (tree.kind === 'butterfly') return tree.tailWarp === 'drop';
  return tree.kind !== 'sequential';
}

type PlanParam =
  'treeFromPlan' | 'perThreadPattern' | 'planSlots' | 'planElements' | 'planSteps' | 'planStepCount' | 'planRunLength' | 'planNestedRuns' | 'planResult';

/** Where reductionWords' parts start, and the plan's shape. */
function planParams(reduction: ReductionPlan | null, contract: Contract): Record<PlanParam, number> {
  const perThreadPattern = ENGINE_CODES.perThread[contract.norm.sumOfSquares.perThread];
  if (!reduction)
    return {
      treeFromPlan: 0,
      perThreadPattern,
      planSlots: 0,
      planElements: 0,
      planSteps: 0,
      planStepCount: 0,
      planRunLength: 1,
      planNestedRuns: 0,
      planResult: 0,
    };
  return {
    treeFromPlan: 1,
    perThreadPattern,
    planSlots: reduction.slots,
    planElements: reduction.laneStart.length,
    planSteps: reduction.laneStart.length + reduction.elements.length,
    planStepCount: reduction.steps.length / 3,
    planRunLength: reduction.runLength,
    planNestedRuns: flag(reduction.nestedRuns),
    planResult: reduction.result,
  };
}

/** Words of one packed bf16 slot (a rank's rows of the chunk), two elements per word. */
export function bf16Words(elements: number): number {
  return Math.max(1, Math.ceil(elements / 2));
}

export function paramsFor(plan: EnginePlan, chunk: ItemRange, outputRank: number): Params {
  const elements = chunk.count * plan.shape.hidden;
  const perChunk: Record<ChunkParam, number> = {
    rows: chunk.count,
    firstElement: chunk.first * plan.shape.hidden,
    outputRank,
    slotWords: bf16Words(elements),
  };
  return { ...plan.baseParams, ...perChunk };
}

/** The uniform buffer's contents: PARAM_FIELDS in order, padded to 16 bytes. */
export function encodeParams(params: Params): Uint32Array {
  const words = new Uint32Array(Math.ceil(PARAM_FIELDS.length / 4) * 4);
  PARAM_FIELDS.forEach((name, i) => {
    const value = params[name];
    if (!Number.isInteger(value) || value < 0 || value > 0xffffffff) throw new RangeError(`param ${name}: ${value} is not a u32`);
    words[i] = value;
  });
  return words;
}

function wgslConstName(group: string, name: string): string {
  return `${group}_${name.replace(/-/g, '_')}`.toUpperCase();
}

/** The WGSL `Params` struct and the ENGINE_CODES constants, generated so host and shader agree. */
export function engineWgslPrelude(): string {
  const codes = Object.entries(ENGINE_CODES).flatMap(([group, table]) =>
    Object.entries(table).map(([name, code]) => `const ${wgslConstName(group, name)}: u32 = ${code}u;`),
  );
  return [
    '// Generated by src/engines/webgpu/plan.ts (PARAM_FIELDS, ENGINE_CODES). Do not edit.',
    `const WORKGROUP_SIZE: u32 = ${WORKGROUP_SIZE}u;`,
    `const SM90_TABLES_BINDING: u32 = ${SM90_TABLES_BINDING}u;`,
    '// PipelineConstants, set when each pipeline is built.',
    'override ENGINE_F32_SUBNORMALS: u32;',
    ...codes,
    'struct Params {',
    ...PARAM_FIELDS.map((name) => `  ${name}: u32,`),
    '}',
    '',
  ].join('\n');
}
