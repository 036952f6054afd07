import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { getPreset, listPresets } from '../../src/contracts/presets.js';
import type { Contract, ContractInput, RankOrder, ScaleLayout, Shape, SumOfSquaresTree } from '../../src/contracts/schema.js';
import { CONTRACT_VOCABULARY } from '../../src/contracts/vocabulary.js';
import { ContractError, parseContract } from '../../src/contracts/validate.js';
import { compareTensors } from '../../src/diff/compare.js';
import { everySite } from '../../src/diff/dimensions.js';
import { runCpuEngine } from '../../src/engines/cpu/engine.js';
import type { CaseInputs } from '../../src/engines/io.js';
import type { AdapterKind, GpuContext } from '../../src/engines/webgpu/device.js';
import { STAGE_TWINS } from '../../src/engines/stages.js';
import { runWebGpuEngine } from '../../src/engines/webgpu/engine.js';
import { executeCase } from '../../src/engines/webgpu/execute.js';
import { ENGINE_STAGES, engineShaderDir } from '../../src/engines/webgpu/pipeline.js';
import { encodeParams, engineWgslPrelude, MAX_CHUNK_BYTES, PARAM_FIELDS, planCase, sumOfSquaresThreads } from '../../src/engines/webgpu/plan.js';
import { releaseCase, uploadCase } from '../../src/engines/webgpu/upload.js';
import { caseId } from '../../src/fixtures/caseSpec.js';
import { buildCase } from '../../src/fixtures/golden.js';
import { Xoshiro128StarStar } from '../../src/fixtures/prng.js';
import { defaultSuite } from '../../src/fixtures/suite.js';
import { bf16FromF32Bits } from '../../src/numerics/bf16.js';
import { bitsFromF32 } from '../../src/numerics/f32.js';
import type { Tensor } from '../../src/numerics/tensor.js';
import { caseOf } from '../engines/caseBuilder.js';
import { NAN_SHAPE, nanContract, nanExpected, nanInputs } from '../engines/nanCase.js';
import { SOFTWARE_ADAPTERS, suiteDevice } from './software-adapters.js';

// WebGPU vs CPU engine, bit for bit (NaN payloads and signs included: both engines follow the
// soft-float's NaN rule, src/numerics/f32ops.ts), on both software adapters: every case of the
// default golden suite (every preset), then targeted contracts that move one dimension at a
// time, on adversarial inputs (NaN, Inf, subnormals, overflow), on odd shapes, and split into
// many row chunks.

/** Every output the CPU engine gives, in its order, with the same bits (every code, NaN or not:
 *  compareTensors' NaN class is diff's rule for candidates, not the engines'); failures name the
 *  elements. */
function expectSameOutputs(expected: Map<string, Tensor>, actual: Map<string, Tensor>): void {
  expect([...actual.keys()]).toEqual([...expected.keys()]);
  const problems: string[] = [];
  const hex = (v: number): string => `0x${v.toString(16)}`;
  for (const [name, e] of expected) {
    const a = actual.get(name)!;
    expect(a.dtype, name).toBe(e.dtype);
    expect(a.shape, name).toEqual(e.shape);
    const differing: number[] = [];
    for (let i = 0; i < e.data.length; i++) if (a.data[i] !== e.data[i]) differing.push(i);
    if (differing.length === 0) continue;
    const shown = differing.slice(0, 4).map((i) => `[${i}] cpu ${hex(e.data[i])} webgpu ${hex(a.data[i])}`);
    const nanClass = e.dtype === 'I32' ? '' : ` (${compareTensors(e, a).nanMismatches} a NaN against a number)`;
    problems.push(`${name}: ${differing.length}/${e.data.length} differ${nanClass}: ${shown.join(', ')}`);
  }
  expect(problems).toEqual([]);
}

async function expectEnginesAgree(ctx: GpuContext, contract: Contract, shape: Shape, inputs: CaseInputs): Promise<void> {
  expectSameOutputs(runCpuEngine(contract, shape, inputs), await runWebGpuEngine(ctx, contract, shape, inputs));
}

type Patch = { readonly [key: string]: unknown };

/** The contract with some fields replaced (nested objects merged, anything else replaced, a
 *  union member of another kind replaced whole). */
function withChanges(contract: Contract, patch: Patch): Contract {
  return parseContract(merged(contract, patch));
}

/** `change` over `base`: nested objects merged, anything else replaced. */
function merged(base: unknown, change: unknown): unknown {
  const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (!isObject(base) || !isObject(change)) return change;
  // A union member of another kind replaces the old one (contracts are strict objects).
  if ('kind' in change && change.kind !== base.kind) return change;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(change)) out[k] = merged(base[k], v);
  return out;
}

/**
 * Seeded inputs. 'adversarial' rows cycle through value kinds: ordinary values, finite values of
 * any exponent (sums overflow, squares overflow), near-subnormal values, and any bit pattern at
 * all (NaN payloads of both signs, infinities, -0). 'ordinary' rows are all of the first kind.
 * Weights: near 1 with a full f32 mantissa; adversarial ones have special values mixed in.
 */
function seededInputs(contract: Contract, shape: Shape, seed: number, kind: 'adversarial' | 'ordinary' = 'adversarial'): CaseInputs {
  const rng = Xoshiro128StarStar.fromSeed(seed);
  const { ranks, tokens, hidden } = shape;
  const element = (row: number): number => {
    switch (kind === 'ordinary' ? 0 : row % 4) {
      case 0:
        return bf16FromF32Bits(bitsFromF32(rng.nextNormal() * 2 ** rng.nextInt(-4, 4)), 'rne');
      case 1:
        return (rng.nextBelow(2) << 15) | (rng.nextInt(1, 254) << 7) | rng.nextBelow(128);
      case 2:
        return (rng.nextBelow(2) << 15) | (rng.nextInt(0, 3) << 7) | rng.nextBelow(128);
      default:
        return rng.nextBelow(0x10000);
    }
  };
  const tensor = (): Tensor => {
    const data = new Uint16Array(tokens * hidden);
    for (let i = 0; i < data.length; i++) data[i] = element(Math.floor(i / hidden));
    return { dtype: 'BF16', shape: [tokens, hidden], data };
  };
  const weightBits = Array.from({ length: hidden }, (_, h) => {
    if (kind === 'adversarial' && h % 17 === 5) return rng.pick([0, 0x80000000, 0x00000010, 0x00800000, 0x7f7fffff, 0x3f808000, 0x3f818000]);
    return (0x3f000000 + rng.nextBelow(0x01000000)) >>> 0; // [0.5, 2) with a full mantissa
  });
  const weight: Tensor =
    contract.norm.weight.dtype === 'bf16'
      ? { dtype: 'BF16', shape: [hidden], data: Uint16Array.from(weightBits, (b) => bf16FromF32Bits(b, 'rne')) }
      : { dtype: 'F32', shape: [hidden], data: Uint32Array.from(weightBits) };
  return {
    rankInputs: Array.from({ length: ranks }, tensor),
    residual: contract.residual ? tensor() : null,
    weight,
  };
}

const QUANT = getPreset('aiter-1stage-quant').contract;
const VLLM = getPreset('vllm-group-quant').contract;
const RING = getPreset('nccl-ring').contract;
const TREES = withChanges(QUANT, { allReduce: { roundResult: 'none' } });
const ORDERS = withChanges(QUANT, { allReduce: { accumulate: 'bf16' } });
const TREE_CASE = { shape: { ranks: 4, tokens: 64, hidden: 384 }, inputs: 'ordinary' } as const;
/** 12000 elements: two LL channels of 2048 and 9952 elements (ncclChannels.ts). */
const NCCL_CASE = { shape: { ranks: 4, tokens: 6, hidden: 2000 }, inputs: 'ordinary' } as const;
function withOrder(base: Contract, order: ContractInput['allReduce']['order']): Contract {
  return parseContract({ ...base, allReduce: { ...base.allReduce, order } });
}
/** Plan trees run lanes then one serial combine per row: fewer rows keep software adapters quick. */
const PLAN_CASE = { shape: { ranks: 2, tokens: 24, hidden: 384 }, inputs: 'ordinary' } as const;

/** One dimension at a time, from a base preset; each runs at SHAPE unless it names its own. */
const TARGETED: readonly { name: string; contract: Contract; shape?: Shape; inputs?: 'ordinary' }[] = [
  // Rank orders on ordinary rows, accumulating in bf16 (each hop rounds) or in f32 without the
  // final bf16 round trip: otherwise most order differences round away.
  { name: 'own-first (per-rank outputs)', contract: withChanges(ORDERS, { allReduce: { order: { kind: 'own-first' } } }), inputs: 'ordinary' },
  { name: 'own-first, f32 accumulate', contract: withChanges(TREES, { allReduce: { order: { kind: 'own-first' } } }), inputs: 'ordinary' },
  { name: 'rotated, 8-element packs', contract: withChanges(ORDERS, { allReduce: { order: { kind: 'rotated', packElems: 8 } } }), inputs: 'ordinary' },
  {
    name: 'rotated, fewer packs than ranks',
    contract: withChanges(ORDERS, { allReduce: { order: { kind: 'rotated', packElems: 4096 } } }),
    inputs: 'ordinary',
  },
  {
    name: 'ring with a permutation',
    contract: withChanges(RING, { allReduce: { order: { kind: 'ring', ring: [2, 0, 3, 1], chunkAlignElems: 8 } } }),
    inputs: 'ordinary',
  },
  {
    name: 'ring, 100-element alignment',
    contract: withChanges(RING, { allReduce: { order: { kind: 'ring', ring: [3, 1, 0, 2], chunkAlignElems: 100 } } }),
    inputs: 'ordinary',
  },
  { name: 'ring on adversarial rows', contract: withChanges(RING, { allReduce: { order: { kind: 'ring', ring: [1, 3, 2, 0] } } }) },
  // NCCL over channels: segments per channel, loop and chunk (src/engines/layout/ncclChannels.ts).
  {
    name: 'nccl-ring, LL, 2 channels of different rings, 16 KiB buffers (several loops, ragged tail)',
    contract: withOrder(RING, {
      kind: 'nccl-ring',
      protocol: 'll',
      channels: 2,
      rings: [
        [0, 1, 2, 3],
        [0, 2, 3, 1],
      ],
      buffSize: 1 << 14,
    }),
    ...NCCL_CASE,
  },
  {
    name: 'nccl-ring, Simple, 3 of 4 channels',
    contract: withOrder(RING, {
      kind: 'nccl-ring',
      protocol: 'simple',
      channels: 3,
      rings: [
        [0, 1, 2, 3],
        [0, 3, 1, 2],
        [0, 2, 1, 3],
        [0, 1, 3, 2],
      ],
    }),
    shape: { ranks: 4, tokens: 12, hidden: 2048 },
    inputs: 'ordinary',
  },
  {
    name: 'nccl-tree, LL128, 2 chains',
    contract: withOrder(RING, {
      kind: 'nccl-tree',
      protocol: 'll128',
      channels: 2,
      chains: [
        [3, 2, 1, 0],
        [1, 0, 3, 2],
      ],
    }),
    shape: { ranks: 4, tokens: 12, hidden: 2048 },
    inputs: 'ordinary',
  },
  { name: 'truncate rounding', contract: withChanges(QUANT, { bf16Rounding: everySite('truncate') }) },
  { name: 'truncate rounding, bf16 accumulate', contract: withChanges(RING, { bf16Rounding: everySite('truncate') }) },
  { name: 'bf16 accumulate, natural order', contract: withChanges(QUANT, { allReduce: { accumulate: 'bf16' } }) },
  { name: 'AR sum not rounded', contract: withChanges(QUANT, { allReduce: { roundResult: 'none' } }) },
  { name: 'no residual', contract: withChanges(QUANT, { residual: null }) },
  { name: 'bf16 residual add', contract: withChanges(QUANT, { residual: { add: 'bf16' }, norm: { input: 'bf16' } }) },
  // Tree variants run on 64 ordinary rows of a full-mantissa f32 x (the AR sum unrounded): with
  // bf16 x, squares carry 16 bits and most orders add them exactly; with f32 x, about one row in
  // ten gets a different rstd when two lanes of one warp are paired differently.
  { name: 'butterfly', contract: TREES, ...TREE_CASE },
  { name: 'butterfly with fma', contract: withChanges(TREES, { norm: { sumOfSquares: { perThread: 'fma-chain' } } }), ...TREE_CASE },
  {
    name: 'butterfly, 4 per thread, warp 64',
    contract: withChanges(TREES, { norm: { sumOfSquares: { tree: { kind: 'butterfly', perThread: 4, warpSize: 64 } } } }),
    ...TREE_CASE,
  },
  {
    name: 'butterfly, 1 per thread',
    contract: withChanges(TREES, { norm: { sumOfSquares: { tree: { kind: 'butterfly', perThread: 1, warpSize: 32 } } } }),
    ...TREE_CASE,
  },
  { name: 'sequential', contract: withChanges(TREES, { norm: { sumOfSquares: { tree: { kind: 'sequential' } } } }), ...TREE_CASE },
  // Inductor's variance, fma(sumsq, fround(1/H), eps), and compiled HF Llama's split norm input:
  // the squares of the f32 sum, the stored bf16 sum normalized (the AR sum unrounded so that the
  // two differ). NORM_DIMENSION_NEIGHBOURS checks the CPU bits move with each.
  // (eps 0.1: with 1e-6, far below the mean square's ULP on these rows, the fused add rarely moves a bit.)
  { name: 'variance reciprocal-fma', contract: withChanges(TREES, { norm: { variance: 'reciprocal-fma', eps: 0.1 } }), ...TREE_CASE },
  { name: 'norm input f32 squares, bf16 normalize', contract: withChanges(TREES, { norm: { input: 'f32-squares-bf16-normalize' } }), ...TREE_CASE },
  {
    name: 'sequential with fma',
    contract: withChanges(TREES, { norm: { sumOfSquares: { tree: { kind: 'sequential' }, perThread: 'fma-chain' } } }),
    ...TREE_CASE,
  },
  {
    name: 'cub vllm block (tokens < 256)',
    contract: withChanges(TREES, { norm: { sumOfSquares: { tree: { kind: 'cub', blockSize: 'vllm', warpSize: 32 } } } }),
    ...TREE_CASE,
  },
  {
    name: 'cub vllm block (tokens >= 256)',
    contract: withChanges(TREES, { norm: { sumOfSquares: { tree: { kind: 'cub', blockSize: 'vllm', warpSize: 32 } } } }),
    shape: { ranks: 2, tokens: 260, hidden: 512 },
    inputs: 'ordinary',
  },
  {
    name: 'cub block 100, fma',
    contract: withChanges(TREES, { norm: { sumOfSquares: { tree: { kind: 'cub', blockSize: 100, warpSize: 32 }, perThread: 'fma-chain' } } }),
    ...TREE_CASE,
  },
  { name: 'cub block 1', contract: withChanges(TREES, { norm: { sumOfSquares: { tree: { kind: 'cub', blockSize: 1, warpSize: 32 } } } }), ...TREE_CASE },
  {
    name: 'cub block 1000 > hidden, warp 64',
    contract: withChanges(TREES, { norm: { sumOfSquares: { tree: { kind: 'cub', blockSize: 1000, warpSize: 64 } } } }),
    ...TREE_CASE,
  },
  { name: 'cub, bf16 norm input (vllm)', contract: VLLM },
  { name: 'x-w-rstd multiply order', contract: withChanges(QUANT, { norm: { multiplyOrder: 'x-w-rstd' } }) },
  { name: 'intermediate rounding, x-w-rstd', contract: withChanges(VLLM, { norm: { multiplyOrder: 'x-w-rstd' } }) },
  { name: 'f32 weight', contract: withChanges(QUANT, { norm: { weight: { dtype: 'f32', castToBf16: false } } }) },
  { name: 'f32 weight cast to bf16', contract: withChanges(QUANT, { norm: { weight: { dtype: 'f32', castToBf16: true } } }) },
  { name: 'eps 1e-5', contract: withChanges(QUANT, { norm: { eps: 1e-5 } }) },
  { name: 'e4m3fn satfinite, no side output', contract: withChanges(QUANT, { quant: { format: 'e4m3fn', saturation: 'satfinite', bf16SideOutput: false } }) },
  { name: 'e4m3fn overflow', contract: withChanges(QUANT, { quant: { format: 'e4m3fn' } }) },
  { name: 'e5m2 overflow', contract: withChanges(QUANT, { quant: { format: 'e5m2' } }) },
  { name: 'e5m2 satfinite', contract: withChanges(QUANT, { quant: { format: 'e5m2', saturation: 'satfinite' } }) },
  { name: 'e5m2fnuz overflow, reciprocal quantize', contract: withChanges(QUANT, { quant: { format: 'e5m2fnuz', quantize: 'reciprocal' } }) },
  { name: 'amax floor, reciprocal scale, clamp 224', contract: withChanges(QUANT, { quant: { amaxFloor: 1e-10, scale: 'reciprocal', clamp: 224 } }) },
  {
    name: 'scale floor, zero amax not 1',
    contract: withChanges(QUANT, { quant: { scaleFloor: { value: 1e-10, stage: 'before-ue8m0' }, zeroAmaxScaleOne: false } }),
  },
  { name: 'no floor, zero amax not 1 (0/0 scales)', contract: withChanges(QUANT, { quant: { zeroAmaxScaleOne: false } }) },
  { name: 'ue8m0 ceil, column-major', contract: withChanges(VLLM, { quant: { ue8m0: 'ceil', scaleLayout: { kind: 'column-major', tokenAlign: 1 } } }) },
  { name: 'ue8m0 floor', contract: withChanges(VLLM, { quant: { ue8m0: 'floor' } }) },
  { name: 'ue8m0 rne, bf16 side output', contract: withChanges(VLLM, { quant: { ue8m0: 'rne', bf16SideOutput: true } }) },
  { name: 'quant input bf16, group 64', contract: withChanges(QUANT, { quant: { input: 'bf16', groupSize: 64 } }) },
  { name: 'group 3 (codes straddle groups)', contract: withChanges(QUANT, { quant: { groupSize: 3 } }) },
  { name: 'group 1', contract: withChanges(VLLM, { quant: { groupSize: 1, scaleLayout: { kind: 'column-major', tokenAlign: 1 } } }) },
  {
    name: 'odd hidden 7, sequential',
    contract: withChanges(QUANT, { norm: { sumOfSquares: { tree: { kind: 'sequential' } } }, quant: { groupSize: 7 } }),
    shape: { ranks: 3, tokens: 5, hidden: 7 },
  },
  {
    name: 'odd hidden 15, butterfly 5 per thread',
    contract: withChanges(QUANT, { norm: { sumOfSquares: { tree: { kind: 'butterfly', perThread: 5, warpSize: 32 } } }, quant: { groupSize: 5 } }),
    shape: { ranks: 5, tokens: 3, hidden: 15 },
  },
  { name: 'one rank, one token', contract: withChanges(VLLM, { quant: { groupSize: 32 } }), shape: { ranks: 1, tokens: 1, hidden: 96 } },
  // Schema v2: each downcast site rounds on its own (one site truncates, the others round to
  // nearest even), on adversarial rows where half the values sit on or near a bf16 tie.
  { name: 'site allReduceHop truncates', contract: withChanges(RING, { bf16Rounding: { allReduceHop: 'truncate' } }) },
  { name: 'site allReduceResult truncates', contract: withChanges(QUANT, { bf16Rounding: { allReduceResult: 'truncate' } }) },
  {
    name: 'site residualAdd truncates',
    contract: withChanges(QUANT, { residual: { add: 'bf16' }, norm: { input: 'bf16' }, bf16Rounding: { residualAdd: 'truncate' } }),
  },
  { name: 'site residualOut truncates (bf16 norm input)', contract: withChanges(VLLM, { bf16Rounding: { residualOut: 'truncate' } }) },
  { name: 'site normIntermediate truncates', contract: withChanges(VLLM, { bf16Rounding: { normIntermediate: 'truncate' } }) },
  { name: 'site normOut truncates (quant input bf16)', contract: withChanges(QUANT, { bf16Rounding: { normOut: 'truncate' }, quant: { input: 'bf16' } }) },
  { name: 'variance reciprocal-multiply', contract: withChanges(QUANT, { norm: { variance: 'reciprocal-multiply' } }), ...TREE_CASE },
  { name: 'Gemma offset f32, bf16 weight', contract: withChanges(QUANT, { norm: { weight: { offset: 'f32' } } }) },
  { name: 'Gemma offset bf16, f32 weight', contract: withChanges(QUANT, { norm: { weight: { dtype: 'f32', castToBf16: false, offset: 'bf16' } } }) },
  { name: 'divisor 224, clamp 224, e4m3fn', contract: withChanges(VLLM, { quant: { format: 'e4m3fn', divisor: 224, clamp: 224 } }) },
  { name: 'static scale', contract: withChanges(QUANT, { quant: { staticScale: 0.0123, zeroAmaxScaleOne: false } }) },
  {
    name: 'amax floor and scale floor before ue8m0',
    contract: withChanges(VLLM, { quant: { amaxFloor: 1e-10, scaleFloor: { value: 1e-6, stage: 'before-ue8m0' }, ue8m0: 'ceil' } }),
  },
  { name: 'scale floor after ue8m0', contract: withChanges(VLLM, { quant: { scaleFloor: { value: 1 / (448 * 512), stage: 'after-ue8m0' }, ue8m0: 'ceil' } }) },
  { name: 'per-token groups', contract: withChanges(QUANT, { quant: { groupSize: 'token' } }) },
  { name: 'column-major, token alignment 16', contract: withChanges(VLLM, { quant: { scaleLayout: { kind: 'column-major', tokenAlign: 16 } } }) },
  {
    name: 'packed ue8m0, token alignment 4',
    contract: withChanges(VLLM, { quant: { ue8m0: 'ceil', scaleLayout: { kind: 'packed-ue8m0', tokenAlign: 4 } } }),
    shape: { ranks: 2, tokens: 6, hidden: 640 },
  },
  // Trees and per-thread patterns from the layout module's ReductionPlan (the WGSL interprets the
  // same plan as the CPU), on the tree variants' f32 rows.
  {
    name: 'plan: dpp-wave64, 64 x 6 contiguous',
    contract: withChanges(TREES, { norm: { sumOfSquares: { tree: { kind: 'dpp-wave64', blockSize: 64, perThread: 6, layout: 'contiguous' } } } }),
    ...PLAN_CASE,
  },
  {
    name: 'plan: dpp-wave64, 128 x 8 interleaved (padding lanes)',
    contract: withChanges(TREES, { norm: { sumOfSquares: { tree: { kind: 'dpp-wave64', blockSize: 128, perThread: 8, layout: 'interleaved' } } } }),
    ...PLAN_CASE,
  },
  {
    name: 'plan: smem-halving, 64 x 2',
    contract: withChanges(TREES, { norm: { sumOfSquares: { tree: { kind: 'smem-halving', blockSize: 64, perThread: 2 } } } }),
    ...PLAN_CASE,
  },
  // threadReduce 'tree' (the default) adds rounded squares: perThread 'chain' (a schema rule; the
  // aiter base contract contracts its squares, 'fma-chain').
  {
    name: 'plan: triton-sum 512, 4 warps of 32',
    contract: withChanges(TREES, { norm: { sumOfSquares: { perThread: 'chain', tree: { kind: 'triton-sum', block: 512, numWarps: 4, warpSize: 32 } } } }),
    ...PLAN_CASE,
  },
  {
    name: 'plan: triton-sum 512, 2 warps of 64, 2 per thread',
    contract: withChanges(TREES, {
      norm: { sumOfSquares: { perThread: 'chain', tree: { kind: 'triton-sum', block: 512, numWarps: 2, warpSize: 64, sizePerThread: 2 } } },
    }),
    ...PLAN_CASE,
  },
  {
    name: 'plan: triton-sum, chain of 4 registers, fma',
    contract: withChanges(TREES, {
      norm: {
        sumOfSquares: { perThread: 'fma-chain', tree: { kind: 'triton-sum', block: 512, numWarps: 1, warpSize: 32, sizePerThread: 4, threadReduce: 'chain' } },
      },
    }),
    ...PLAN_CASE,
  },
  // The trees of the captured real kernels (SPECS.md T1-T3): torch's Reduce.cuh (tokens pick the
  // block), F.rms_norm's block (32, 4), Inductor's one-pass (a masked rep) and looped reductions.
  {
    name: 'plan: torch-reduce, block (32, 16)',
    contract: withChanges(TREES, { norm: { sumOfSquares: { perThread: 'chain', tree: { kind: 'torch-reduce' } } } }),
    ...PLAN_CASE,
  },
  {
    name: 'plan: torch-reduce, block (256, 2): shared memory 128, 64, 32',
    contract: withChanges(TREES, { norm: { sumOfSquares: { perThread: 'chain', tree: { kind: 'torch-reduce' } } } }),
    shape: { ranks: 1, tokens: 2, hidden: 1024 },
    inputs: 'ordinary',
  },
  {
    name: 'plan: torch-rms-norm (96 vectors over 128 threads)',
    contract: withChanges(TREES, { norm: { sumOfSquares: { perThread: 'fma-chain', tree: { kind: 'torch-rms-norm' } } } }),
    ...PLAN_CASE,
  },
  {
    name: 'plan: inductor-sum one pass, R0_BLOCK 512 over 384 (rep 1 masked, uncontracted)',
    contract: withChanges(TREES, {
      norm: { sumOfSquares: { perThread: 'fma-chain', tree: { kind: 'inductor-sum', rBlock: 512, sizePerThread: 2, numWarps: 4 } } },
    }),
    ...PLAN_CASE,
  },
  {
    name: 'plan: inductor-sum looped, R0_BLOCK 256 over 384',
    contract: withChanges(TREES, {
      norm: { sumOfSquares: { perThread: 'fma-chain', tree: { kind: 'inductor-sum', rBlock: 256, sizePerThread: 2, numWarps: 4 } } },
    }),
    ...PLAN_CASE,
  },
  {
    name: 'plan: cluster, 132 SMs',
    contract: withChanges(TREES, { norm: { sumOfSquares: { tree: { kind: 'cluster', smCount: 132, perThread: 8, maxClusterSize: 8 } } } }),
    ...PLAN_CASE,
  },
  {
    name: 'plan: cub vectorWidth 4',
    contract: withChanges(TREES, { norm: { sumOfSquares: { tree: { kind: 'cub', blockSize: 64, warpSize: 32, vectorWidth: 4 } } } }),
    ...PLAN_CASE,
  },
  {
    name: 'plan: cub vectorWidth 8, pair',
    contract: withChanges(TREES, { norm: { sumOfSquares: { perThread: 'pair', tree: { kind: 'cub', blockSize: 'vllm', warpSize: 32, vectorWidth: 8 } } } }),
    ...PLAN_CASE,
  },
  {
    name: 'plan: butterfly, pair-fma',
    contract: withChanges(TREES, { norm: { sumOfSquares: { perThread: 'pair-fma', tree: { kind: 'butterfly', perThread: 8, warpSize: 32 } } } }),
    ...PLAN_CASE,
  },
  {
    name: 'plan: sequential, pair',
    contract: withChanges(TREES, { norm: { sumOfSquares: { perThread: 'pair', tree: { kind: 'sequential' } } } }),
    ...PLAN_CASE,
  },
  // f32Subnormals 'flush' on adversarial rows (a quarter of them near the subnormal range).
  { name: 'flush subnormals', contract: withChanges(QUANT, { f32Subnormals: 'flush' }) },
  { name: 'flush subnormals, vllm, reciprocal quantize', contract: withChanges(VLLM, { f32Subnormals: 'flush', quant: { quantize: 'reciprocal' } }) },
  {
    name: 'flush subnormals, plan tree (dpp-wave64), fma',
    contract: withChanges(QUANT, {
      f32Subnormals: 'flush',
      norm: { sumOfSquares: { perThread: 'fma-chain', tree: { kind: 'dpp-wave64', blockSize: 64, perThread: 6 } } },
    }),
  },
];
const SHAPE: Shape = { ranks: 4, tokens: 8, hidden: 384 };

/** The device with its storage bindings cut to `bytes`, so cases run in many row chunks. */
function withBindingLimit(ctx: GpuContext, bytes: number): GpuContext {
  return { ...ctx, limits: { ...ctx.limits, maxStorageBufferBindingSize: bytes } };
}

/** Compatibility-mode-like limits for the plan tests. */
const LIMITS = {
  maxComputeInvocationsPerWorkgroup: 128,
  maxComputeWorkgroupSizeX: 128,
  maxComputeWorkgroupStorageSize: 16384,
  maxComputeWorkgroupsPerDimension: 65535,
  maxStorageBufferBindingSize: 128 * 2 ** 20,
  maxBufferSize: 256 * 2 ** 20,
  maxStorageBuffersPerShaderStage: 4,
  minStorageBufferOffsetAlignment: 256,
};

describe('stage registry and plan (no GPU)', () => {
  it('runs the stages of the registry (src/engines/stages.ts), in its order, from the same WGSL files', () => {
    expect(ENGINE_STAGES.map((s) => [s.name, s.file])).toEqual(STAGE_TWINS.map((t) => [t.name, t.wgsl.file]));
  });

  it.each(ENGINE_STAGES.map((s) => [s.name, s] as const))('%s: the WGSL entry point and its bindings exist', (_name, stage) => {
    const wgsl = readFileSync(join(engineShaderDir(), stage.file), 'utf8');
    expect(wgsl).toMatch(new RegExp(`@compute @workgroup_size\\(WORKGROUP_SIZE\\)\\s*fn ${stage.name}\\(`));
    stage.bindings.forEach((role, i) => expect(wgsl).toMatch(new RegExp(`@group\\(0\\) @binding\\(${i + 1}\\) var<storage, [a-z_]+> ${role}: array<u32>;`)));
  });

  it('plans every value of the contract vocabulary, or refuses it naming its path (issue 11 item 2)', () => {
    // Union members need values for the fields without a default; typed over the schema's union,
    // and checked against the vocabulary below, so a kind the schema gains is listed here.
    const members: { readonly [path: string]: Record<string, Patch> } = {
      'allReduce.order': {
        natural: { kind: 'natural' },
        rotated: { kind: 'rotated', packElems: 8 },
        'own-first': { kind: 'own-first' },
        ring: { kind: 'ring', chunkAlignElems: 8 },
        'nccl-ring': { kind: 'nccl-ring', protocol: 'simple', channels: 1, rings: [[0, 1]], buffSize: 'default' },
        'nccl-tree': { kind: 'nccl-tree', protocol: 'simple', channels: 1, chains: [[1, 0]] },
      } satisfies Record<RankOrder['kind'], Patch>,
      'norm.sumOfSquares.tree': {
        sequential: { kind: 'sequential' },
        butterfly: { kind: 'butterfly', perThread: 8, warpSize: 32 },
        cub: { kind: 'cub', blockSize: 64, warpSize: 32, vectorWidth: 1 },
        'dpp-wave64': { kind: 'dpp-wave64', blockSize: 64, perThread: 8 },
        'smem-halving': { kind: 'smem-halving', blockSize: 64, perThread: 2 },
        'triton-sum': { kind: 'triton-sum', block: 512, numWarps: 4, warpSize: 32 },
        cluster: { kind: 'cluster', smCount: 132, perThread: 8, maxClusterSize: 8 },
        'torch-reduce': { kind: 'torch-reduce', warpShuffle: 'decreasing' },
        'torch-rms-norm': { kind: 'torch-rms-norm' },
        'inductor-sum': { kind: 'inductor-sum', rBlock: 512, sizePerThread: 4, numWarps: 4 },
      } satisfies Record<SumOfSquaresTree['kind'], Patch>,
      'quant.scaleLayout': {
        'row-major': { kind: 'row-major' },
        'column-major': { kind: 'column-major', tokenAlign: 4 },
        'packed-ue8m0': { kind: 'packed-ue8m0', tokenAlign: 4 },
      } satisfies Record<ScaleLayout['kind'], Patch>,
    };
    // What a value needs beside it to make a valid contract (the schema's cross-field rules).
    const alongside: { readonly [pathAndValue: string]: Patch } = {
      'allReduce.accumulate=bf16': { allReduce: { roundResult: 'bf16' } },
      'residual.add=f32': { norm: { input: 'f32' } },
      'norm.input=f32': { residual: { add: 'f32' } },
      'norm.input=f32-squares-bf16-normalize': { residual: { add: 'f32' } },
      'norm.sumOfSquares.perThread=pair': { norm: { sumOfSquares: { tree: members['norm.sumOfSquares.tree'].butterfly } } },
      'norm.sumOfSquares.perThread=pair-fma': { norm: { sumOfSquares: { tree: members['norm.sumOfSquares.tree'].butterfly } } },
      'norm.weight.dtype=f32': { norm: { weight: { castToBf16: false } } },
      'norm.weight.castToBf16=true': { norm: { weight: { dtype: 'f32' } } },
      'quant.scaleLayout=packed-ue8m0': { quant: { ue8m0: 'ceil' } },
      // vLLM floors the amax (scaleFloor null): a stage needs a floor value beside it.
      'quant.scaleFloor.stage=before-ue8m0': { quant: { scaleFloor: { value: 1e-10 } } },
      'quant.scaleFloor.stage=after-ue8m0': { quant: { ue8m0: 'ceil', scaleFloor: { value: 1e-10 } } },
    };
    const patchAt = (path: string, value: unknown): Patch => {
      const member = /^(.*)\[(.*)\]\.(\w+)$/.exec(path);
      if (member) {
        const [, unionPath, kind, field] = member;
        return patchAt(unionPath, { ...members[unionPath][kind], [field]: value });
      }
      return path.split('.').reduceRight<unknown>((inner, key) => ({ [key]: inner }), value) as Patch;
    };
    const variants: [string, Patch][] = [
      ...CONTRACT_VOCABULARY.unions.flatMap((u) => u.kinds.map((kind): [string, Patch] => [`${u.path}=${kind}`, patchAt(u.path, members[u.path][kind])])),
      ...CONTRACT_VOCABULARY.leaves.flatMap((leaf) =>
        leaf.values.filter((v) => v !== null && typeof v !== 'number').map((v): [string, Patch] => [`${leaf.path}=${String(v)}`, patchAt(leaf.path, v)]),
      ),
      ...CONTRACT_VOCABULARY.nullableSections.map((section): [string, Patch] => [`${section}=null`, patchAt(section, null)]),
    ];
    for (const u of CONTRACT_VOCABULARY.unions) expect(Object.keys(members[u.path]), u.path).toEqual([...u.kinds]);
    const shape = { ranks: 2, tokens: 4, hidden: 512 };
    const refused: string[] = [];
    // A plain chain per thread fits every tree (vLLM's own pair-fma needs even runs per thread,
    // which cub with vectorWidth 1 and Triton's tl.sum do not give); the pair patterns bring
    // their butterfly along.
    const base = withChanges(VLLM, { norm: { sumOfSquares: { perThread: 'chain' } } });
    for (const [name, patch] of variants) {
      const contract = withChanges(base, merged(alongside[name] ?? {}, patch) as Patch);
      try {
        encodeParams(planCase(contract, shape, seededInputs(contract, shape, 1), LIMITS).baseParams);
      } catch (error) {
        expect(error, name).toBeInstanceOf(ContractError);
        expect(String(error), name).toMatch(/webgpu engine: [a-zA-Z.]+ .* is not implemented in the WGSL yet/);
        refused.push(name);
      }
    }
    expect(variants.length).toBeGreaterThan(60);
    // Nothing is refused: the sm_90 hardware-op slots, the last refusals, run in WGSL (test/webgpu/hardwareOps.test.ts).
    expect(refused).toEqual([]);
  });

  it('the targeted norm-dimension contracts move CPU bits against their neighbour value (their WebGPU cases are not vacuous)', () => {
    const differing = (name: string, neighbour: Patch): number => {
      const target = TARGETED.find((t) => t.name === name)!;
      const shape = target.shape ?? SHAPE;
      const inputs = seededInputs(target.contract, shape, 7, target.inputs);
      const a = runCpuEngine(target.contract, shape, inputs);
      const b = runCpuEngine(withChanges(target.contract, neighbour), shape, inputs);
      return [...a].reduce((n, [name, t]) => n + t.data.filter((v, i) => v !== b.get(name)!.data[i]).length, 0);
    };
    expect(differing('variance reciprocal-fma', { norm: { variance: 'reciprocal-multiply' } })).toBeGreaterThan(0);
    expect(differing('norm input f32 squares, bf16 normalize', { norm: { input: 'f32' } })).toBeGreaterThan(0);
  });

  it('generates the Params struct from PARAM_FIELDS, in order', () => {
    const struct = /struct Params \{([^}]*)\}/.exec(engineWgslPrelude())![1];
    expect(
      struct
        .split(',')
        .map((f) => f.trim().split(':')[0])
        .filter((f) => f !== ''),
    ).toEqual([...PARAM_FIELDS]);
    expect(() => encodeParams({ ...planCase(QUANT, SHAPE, seededInputs(QUANT, SHAPE, 1), LIMITS).baseParams, ranks: -1 })).toThrow(
      'param ranks: -1 is not a u32',
    );
  });

  it('lays out the tree threads as sumOfSquares.ts does', () => {
    const shape = { ranks: 2, tokens: 4, hidden: 7168 };
    expect(sumOfSquaresThreads(QUANT, shape)).toMatchObject({ logicalThreads: 896, warps: 28, warpSize: 32, perThread: 8 });
    expect(sumOfSquaresThreads(VLLM, shape)).toMatchObject({ logicalThreads: 1024, warps: 32, cubBlock: 1024 });
    expect(sumOfSquaresThreads(VLLM, { ...shape, tokens: 256 })).toMatchObject({ logicalThreads: 256, warps: 8, cubBlock: 256 });
    const cub100 = withChanges(VLLM, { norm: { sumOfSquares: { tree: { kind: 'cub', blockSize: 100, warpSize: 64 } } } });
    expect(sumOfSquaresThreads(cub100, shape)).toMatchObject({ logicalThreads: 128, warps: 2, cubBlock: 100 });
  });

  it('chunks rows to the storage binding limit and packs ranks in the rotation base order', () => {
    const shape = { ranks: 4, tokens: 10, hidden: 384 };
    const ring = TARGETED.find((t) => t.name === 'ring with a permutation')!.contract;
    // A row of packed rank inputs is 4 * 192 words; 3 rows fit in 10 KiB.
    const plan = planCase(ring, shape, seededInputs(ring, shape, 1), { ...LIMITS, maxStorageBufferBindingSize: 10 * 1024 });
    expect(plan.chunks).toEqual([
      { first: 0, count: 3 },
      { first: 3, count: 3 },
      { first: 6, count: 3 },
      { first: 9, count: 1 },
    ]);
    expect(plan.slotRanks).toEqual([2, 0, 3, 1]);
    expect(plan.outputRanks).toEqual([0]);
    const ownFirst = TARGETED[0].contract;
    expect(planCase(ownFirst, shape, seededInputs(ownFirst, shape, 1), LIMITS).outputRanks).toEqual([0, 1, 2, 3]);
    // maxRowsPerChunk caps the rows, then chunks start on multiples of CHUNK_ROW_ALIGNMENT (4).
    expect(planCase(ring, shape, seededInputs(ring, shape, 1), LIMITS, { maxRowsPerChunk: 6 }).chunks).toEqual([
      { first: 0, count: 4 },
      { first: 4, count: 4 },
      { first: 8, count: 2 },
    ]);
    expect(() => planCase(ring, shape, seededInputs(ring, shape, 1), LIMITS, { maxRowsPerChunk: 0 })).toThrow(
      'maxRowsPerChunk must be a positive integer, got 0',
    );
  });

  it('caps chunks at MAX_CHUNK_BYTES per buffer even where the device binds more', () => {
    // One rank, no residual: the f32 scratch row (H words, 1 MiB) is the largest per-row buffer.
    const contract = withChanges(QUANT, { residual: null });
    const shape = { ranks: 1, tokens: 130, hidden: 2 ** 18 };
    const plan = planCase(contract, shape, seededInputs(contract, shape, 1, 'ordinary'), {
      ...LIMITS,
      maxStorageBufferBindingSize: 2 ** 31,
      maxBufferSize: 2 ** 32,
    });
    expect(MAX_CHUNK_BYTES / 2 ** 20).toBe(128);
    expect(plan.chunks).toEqual([
      { first: 0, count: 128 },
      { first: 128, count: 2 },
    ]);
  });

  it('refuses a hidden size past the contract limits (H must stay an exact f32)', () => {
    const shape = { ranks: 1, tokens: 1, hidden: 2 ** 24 + 128 };
    const inputs: CaseInputs = {
      rankInputs: [{ dtype: 'BF16', shape: [1, shape.hidden], data: new Uint16Array(shape.hidden) }],
      residual: { dtype: 'BF16', shape: [1, shape.hidden], data: new Uint16Array(shape.hidden) },
      weight: { dtype: 'BF16', shape: [shape.hidden], data: new Uint16Array(shape.hidden) },
    };
    expect(() => planCase(QUANT, shape, inputs, LIMITS)).toThrow(/^invalid shape: hidden: Too big: expected number to be <=262144$/);
  });
});

describe.each(SOFTWARE_ADAPTERS)('WebGPU engine vs CPU engine on %s', (kind: AdapterKind) => {
  const device = suiteDevice(kind);

  describe('default golden suite (every preset)', () => {
    it.for(defaultSuite().map((spec) => [caseId(spec), spec] as const))('%s', async ([, spec], { skip }) => {
      const ctx = device(skip);
      const built = buildCase(spec);
      await expectEnginesAgree(ctx, built.contract, built.shape, built.inputs);
    });
  });

  it('covers every preset', () => {
    expect(new Set(defaultSuite().map((s) => s.preset))).toEqual(new Set(listPresets().map((p) => p.name)));
  });

  describe('targeted contracts on adversarial inputs', () => {
    it.for(TARGETED.map((t) => [t.name, t] as const))('%s', async ([, target], { skip }) => {
      const ctx = device(skip);
      const shape = target.shape ?? SHAPE;
      await expectEnginesAgree(ctx, target.contract, shape, seededInputs(target.contract, shape, 7, target.inputs));
    });
  });

  describe('hand-derived bits (the cases of test/engines/dimensions.test.ts)', () => {
    it('f32Subnormals: the AR sum of two 2^-130 is bf16 0x0010 kept, 0x0000 flushed; 1 + 1 = 2 either way', async ({ skip }) => {
      const ctx = device(skip);
      const inputs = caseOf(
        [
          [2 ** -130, 1, 1, 1],
          [2 ** -130, 1, 1, 1],
        ],
        [0, 0, 0, 0],
        [1, 1, 1, 1],
      );
      const shape = { ranks: 2, tokens: 1, hidden: 4 };
      for (const [subnormals, first] of [
        ['keep', 0x0010],
        ['flush', 0x0000],
      ] as const) {
        const outputs = await runWebGpuEngine(ctx, withChanges(getPreset('unfused').contract, { f32Subnormals: subnormals }), shape, inputs);
        expect(Array.from(outputs.get('out.residual')!.data), subnormals).toEqual([first, 0x4000, 0x4000, 0x4000]);
      }
    });

    it('bf16Rounding.residualOut truncates the tie 1 + 3*2^-8 to 0x3F81 while every other site rounds to nearest even (0x3F82)', async ({ skip }) => {
      const ctx = device(skip);
      const base = withChanges(getPreset('aiter-1stage').contract, { norm: { sumOfSquares: { perThread: 'chain', tree: { kind: 'sequential' } } } });
      const inputs = caseOf(
        [
          [1, 1],
          [0, 1],
        ],
        [3 * 2 ** -8, 0],
        [1, 1],
      );
      const shape = { ranks: 2, tokens: 1, hidden: 2 };
      const truncating = withChanges(base, { bf16Rounding: { residualOut: 'truncate' } });
      expect((await runWebGpuEngine(ctx, truncating, shape, inputs)).get('out.residual')!.data[0]).toBe(0x3f81);
      expect((await runWebGpuEngine(ctx, base, shape, inputs)).get('out.residual')!.data[0]).toBe(0x3f82);
    });

    it.for(['keep', 'flush'] as const)(
      'NaN bits (%s): all-zero group 0/0, Inf * 0 in the norm, Inf - Inf in the all-reduce, NaN inputs of either sign (test/engines/nanCase.ts)',
      async (subnormals, { skip }) => {
        const ctx = device(skip);
        const contract = nanContract(subnormals);
        const gpu = await runWebGpuEngine(ctx, contract, NAN_SHAPE, nanInputs());
        for (const [name, want] of nanExpected()) expect(Array.from(gpu.get(name)!.data), name).toEqual(want);
        expectSameOutputs(runCpuEngine(contract, NAN_SHAPE, nanInputs()), gpu);
        // The sm_90 slots return 0x7fffffff for every NaN (gpu/MEASUREMENTS.md): both engines carry it on.
        const sm90 = withChanges(contract, { hardwareOps: { rsqrt: 'sm90', reciprocal: 'sm90', divide: 'sm90-div-full' } });
        await expectEnginesAgree(ctx, sm90, NAN_SHAPE, nanInputs());
      },
    );
  });

  describe('special-value generators', () => {
    it.for(['special', 'subnormals', 'cancellation', 'fp8-saturation', 'zero-groups'])('%s (10 rows: every kind of special row)', async (inputs, { skip }) => {
      const ctx = device(skip);
      for (const preset of ['aiter-1stage-quant', 'vllm-group-quant', 'nccl-ring']) {
        const built = buildCase({ preset, ranks: 4, tokens: 10, hidden: 512, group: null, inputs, seed: 11 });
        await expectEnginesAgree(ctx, built.contract, built.shape, built.inputs);
      }
    });

    it('subnormals with f32Subnormals flush (SwiftShader flushes in hardware; the soft-float must not care)', async ({ skip }) => {
      const ctx = device(skip);
      for (const preset of ['aiter-1stage-quant', 'vllm-group-quant']) {
        const built = buildCase({ preset, ranks: 4, tokens: 10, hidden: 512, group: null, inputs: 'subnormals', seed: 11 });
        const flushing = withChanges(built.contract, { f32Subnormals: 'flush' });
        const cpu = runCpuEngine(flushing, built.shape, built.inputs);
        expectSameOutputs(cpu, await runWebGpuEngine(ctx, flushing, built.shape, built.inputs));
        // The flush must reach the outputs on these inputs, or this case tests nothing.
        const kept = runCpuEngine(withChanges(built.contract, { f32Subnormals: 'keep' }), built.shape, built.inputs);
        expect(
          [...cpu.keys()].some((name) => compareTensors(kept.get(name)!, cpu.get(name)!, 1).differing > 0),
          preset,
        ).toBe(true);
      }
    });
  });

  describe('row chunks (storage binding cut to a few rows)', () => {
    const chunked = [
      'own-first (per-rank outputs)',
      'rotated, 8-element packs',
      'ring, 100-element alignment',
      'ue8m0 ceil, column-major',
      'group 3 (codes straddle groups)',
      'odd hidden 15, butterfly 5 per thread',
    ];
    it.for(chunked)('%s', async (name, { skip }) => {
      const ctx = device(skip);
      const target = TARGETED.find((t) => t.name === name)!;
      const shape = { ...(target.shape ?? SHAPE), tokens: 11 };
      const inputs = seededInputs(target.contract, shape, 13);
      // Three rows of packed rank inputs per binding: chunks of 3, 3, 3, 2 rows.
      const small = withBindingLimit(ctx, 4 * 3 * shape.ranks * Math.ceil(shape.hidden / 2));
      expect(planCase(target.contract, shape, inputs, small.limits).chunks.length).toBe(4);
      expectSameOutputs(runCpuEngine(target.contract, shape, inputs), await runWebGpuEngine(small, target.contract, shape, inputs));
    });
  });

  it('nccl-ring in row chunks: the segments ride after the slots of every chunk and are indexed by the global element', async ({ skip }) => {
    const ctx = device(skip);
    const target = TARGETED.find((t) => t.name.startsWith('nccl-ring, LL, 2 channels'))!;
    const shape = target.shape!;
    const inputs = seededInputs(target.contract, shape, 13);
    const orderWords = planCase(target.contract, shape, inputs, ctx.limits).rankOrderWords.length;
    expect(orderWords).toBeGreaterThan(0);
    // Two rows of packed rank inputs, plus the segments, per binding: chunks of 2, 2 and 2 rows.
    const small = withBindingLimit(ctx, 4 * (2 * shape.ranks * Math.ceil(shape.hidden / 2) + orderWords));
    expect(planCase(target.contract, shape, inputs, small.limits).chunks.length).toBe(3);
    expectSameOutputs(runCpuEngine(target.contract, shape, inputs), await runWebGpuEngine(small, target.contract, shape, inputs));
  });

  describe('mapped readback (outputs are views of whole-case mappable buffers)', () => {
    const mappedTargets = [
      'own-first (per-rank outputs)',
      'ue8m0 ceil, column-major',
      'group 3 (codes straddle groups)',
      'odd hidden 15, butterfly 5 per thread',
    ];
    it.for(mappedTargets)('%s, in chunks of 4, 4 and 3 rows', async (name, { skip }) => {
      const ctx = device(skip);
      const target = TARGETED.find((t) => t.name === name)!;
      const shape = { ...(target.shape ?? SHAPE), tokens: 11 };
      const inputs = seededInputs(target.contract, shape, 17);
      // Five rows fit a binding: chunks are cut to 4 rows, so each starts on a word of every output.
      const small = withBindingLimit(ctx, 4 * 5 * shape.ranks * Math.ceil(shape.hidden / 2));
      const uploaded = await uploadCase(small, target.contract, shape, inputs, { readback: 'mapped' });
      try {
        expect(uploaded.chunks.map((c) => c.range.count)).toEqual([4, 4, 3]);
        const execution = await executeCase(uploaded);
        expectSameOutputs(runCpuEngine(target.contract, shape, inputs), execution.outputs);
        execution.release();
      } finally {
        releaseCase(uploaded);
      }
    });

    it('holds the case until release(), then runs it again with the same bits; refuses into and unaligned chunks', async ({ skip }) => {
      const ctx = device(skip);
      const built = buildCase({ preset: 'aiter-1stage-quant', ranks: 8, tokens: 8, hidden: 1024, group: null, inputs: 'random', seed: 5 });
      const expected = runCpuEngine(built.contract, built.shape, built.inputs);
      const uploaded = await uploadCase(ctx, built.contract, built.shape, built.inputs, { readback: 'mapped', maxRowsPerChunk: 4 });
      try {
        expect(uploaded.chunks.length).toBe(2);
        const first = await executeCase(uploaded);
        expectSameOutputs(expected, first.outputs);
        await expect(executeCase(uploaded)).rejects.toThrow('mapped outputs from an earlier execution are still held; call');
        await expect(executeCase(uploaded, { into: first.outputs })).rejects.toThrow("'into' needs 'copy' readback");
        const norm = first.outputs.get('out.norm')!.data;
        expect(norm.length).toBe(8 * 1024);
        first.release();
        first.release();
        // Unmapping detaches the views: nothing reads a buffer the GPU may be writing.
        expect(norm.length).toBe(0);
        const second = await executeCase(uploaded);
        expectSameOutputs(expected, second.outputs);
        second.release();
      } finally {
        releaseCase(uploaded);
      }
      const odd = TARGETED.find((t) => t.name === 'odd hidden 15, butterfly 5 per thread')!;
      const oddShape = { ...(odd.shape ?? SHAPE), tokens: 11 };
      const threeRows = withBindingLimit(ctx, 4 * 3 * oddShape.ranks * Math.ceil(oddShape.hidden / 2));
      await expect(uploadCase(threeRows, odd.contract, oddShape, seededInputs(odd.contract, oddShape, 17), { readback: 'mapped' })).rejects.toThrow(
        'mapped readback: the chunk at row 3 starts at element 45, not a multiple of 4',
      );
    });
  });

  it('gives each chunk its own output set within the budget, alternates two or reuses one past it, with the same bits in both readbacks', async ({ skip }) => {
    const ctx = device(skip);
    const built = buildCase({ preset: 'aiter-1stage-quant', ranks: 8, tokens: 8, hidden: 1024, group: null, inputs: 'random', seed: 5 });
    const expected = runCpuEngine(built.contract, built.shape, built.inputs);
    const setBytes = async (): Promise<number> => {
      const one = await uploadCase(ctx, built.contract, built.shape, built.inputs, { maxRowsPerChunk: 2, outputSetBudgetBytes: 0 });
      releaseCase(one);
      return Object.values(one.outputs).reduce((n, buffer) => n + buffer.size, 0);
    };
    const oneSet = await setBytes();
    for (const readback of ['copy', 'mapped'] as const) {
      for (const [outputSetBudgetBytes, sets] of [
        [undefined, 4],
        [oneSet, 2],
        [0, 1],
      ] as const) {
        const uploaded = await uploadCase(ctx, built.contract, built.shape, built.inputs, { maxRowsPerChunk: 2, readback, outputSetBudgetBytes });
        try {
          expect(uploaded.chunks.length).toBe(4);
          const used = uploaded.chunks.map((chunk) => chunk.outputs[0]);
          expect(new Set(used).size).toBe(sets);
          expect(used[0]).toBe(uploaded.outputs);
          const execution = await executeCase(uploaded);
          expectSameOutputs(expected, execution.outputs);
          execution.release();
        } finally {
          releaseCase(uploaded);
        }
      }
    }
    await expect(uploadCase(ctx, built.contract, built.shape, built.inputs, { outputSetBudgetBytes: -1 })).rejects.toThrow(
      'outputSetBudgetBytes must be a non-negative integer, got -1',
    );
  });

  it("makes no mappable buffer with 'none' readback, and executeCase refuses such a case", async ({ skip }) => {
    const ctx = device(skip);
    const built = buildCase({ preset: 'aiter-1stage-quant', ranks: 8, tokens: 8, hidden: 1024, group: null, inputs: 'random', seed: 5 });
    const uploaded = await uploadCase(ctx, built.contract, built.shape, built.inputs, { maxRowsPerChunk: 4, readback: 'none' });
    try {
      expect(uploaded.chunks.flatMap((chunk) => chunk.readbacks.flat())).toEqual([]);
      expect(uploaded.owned.filter((buffer) => buffer.usage & GPUBufferUsage.MAP_READ)).toEqual([]);
      await expect(executeCase(uploaded)).rejects.toThrow(
        "executeCase: the case was uploaded with 'none' readback and has no buffers to read its outputs from",
      );
    } finally {
      releaseCase(uploaded);
    }
  });

  it('gives the same outputs when an uploaded case is executed again, into earlier outputs, in one-row chunks, and with its stages timed', async ({ skip }) => {
    const ctx = device(skip);
    const built = buildCase({ preset: 'aiter-1stage-quant', ranks: 8, tokens: 4, hidden: 1024, group: null, inputs: 'random', seed: 3 });
    const expected = runCpuEngine(built.contract, built.shape, built.inputs);
    for (const maxRowsPerChunk of [undefined, 1]) {
      const uploaded = await uploadCase(ctx, built.contract, built.shape, built.inputs, { maxRowsPerChunk });
      try {
        expect(uploaded.chunks.length).toBe(maxRowsPerChunk === 1 ? 4 : 1);
        const first = (await executeCase(uploaded)).outputs;
        expectSameOutputs(expected, first);
        // Written into the first run's arrays: the same arrays come back, with the same bits.
        const scratched = new Map([...first].map(([name, t]) => [name, { ...t, data: t.data.fill(0x5a) } as Tensor]));
        const into = (await executeCase(uploaded, { into: scratched })).outputs;
        expect(into.get('out.q')!.data).toBe(first.get('out.q')!.data);
        expectSameOutputs(expected, into);
        await expect(executeCase(uploaded, { into: new Map() })).rejects.toThrow("'into' holds no output 'out.residual' of this case");
        const timed = await executeCase(uploaded, { timeStages: true });
        expectSameOutputs(expected, timed.outputs);
        expect([...timed.stageMs.keys()]).toEqual(['allReduce', 'sumOfSquares', 'normalize', 'groupScale', 'quantize', 'readback']);
        expect((await executeCase(uploaded, { computeOnly: true })).outputs.size).toBe(0);
        // The GPU timeline: one pass per chunk, in order, where the adapter has timestamps.
        if (ctx.device.features.has('timestamp-query')) {
          const traced = await executeCase(uploaded, { gpuTimeline: true });
          expectSameOutputs(expected, traced.outputs);
          const passes = traced.gpuPasses!;
          expect(passes.length).toBe(uploaded.chunks.length);
          passes.forEach((pass, i) => {
            expect(pass.end).toBeGreaterThanOrEqual(pass.begin);
            if (i > 0) expect(pass.begin).toBeGreaterThanOrEqual(passes[i - 1].end);
          });
        } else {
          await expect(executeCase(uploaded, { gpuTimeline: true })).rejects.toThrow("gpuTimeline needs the device feature 'timestamp-query'");
        }
        expectSameOutputs(expected, (await executeCase(uploaded)).outputs);
      } finally {
        releaseCase(uploaded);
      }
    }
  });
});
