import { describe, expect, test } from 'vitest';
import { getPreset } from '../../src/contracts/presets.js';
import type { ContractInput, PerThreadPattern, Shape } from '../../src/contracts/schema.js';
import { checkContractForShape, parseContract } from '../../src/contracts/validate.js';
import { planSumOfSquares } from '../../src/engines/cpu/sumOfSquares.js';
import { clusterGeometry, torchReduceConfig } from '../../src/engines/layout/blockSize.js';
import { reductionPlan, type ReductionPlan } from '../../src/engines/layout/reduction.js';
import { Xoshiro128StarStar } from '../../src/fixtures/prng.js';
import { bitsFromF32, f32FromBits, fmaF32 } from '../../src/numerics/f32.js';
import { IEEE_F32 } from '../../src/numerics/f32ops.js';
import {
  aiterBlockReduce,
  aiterSmemHalving,
  aiterThreadSquares,
  cubBlockReduce,
  flashinferBlockReduce,
  flashinferCluster,
  inductorSumSquares,
  torchReduceCuh,
  torchRmsNormSumSquares,
  tritonSum,
  vllmThreadPartial,
} from './transcribedTrees.js';

// Every tree of the schema against a lane-by-lane transcription of its real source
// (transcribedTrees.ts), on seeded rows with full f32 mantissas and on edge rows; then each
// plan with two combine steps (or two elements) swapped must disagree somewhere.

type Tree = ContractInput['norm']['sumOfSquares']['tree'];

function contractWith(tree: Tree, perThread: PerThreadPattern, quantGroup: number | null = null) {
  const base = getPreset(quantGroup === null ? 'aiter-1stage' : 'aiter-1stage-quant').contract;
  return parseContract({
    ...base,
    norm: { ...base.norm, sumOfSquares: { perThread, tree } },
    quant: base.quant && quantGroup !== null ? { ...base.quant, groupSize: quantGroup } : null,
  });
}

function planFor(tree: Tree, perThread: PerThreadPattern, shape: Shape): ReductionPlan {
  return reductionPlan(contractWith(tree, perThread), shape);
}

/** f32 values with full mantissas over a few binades, either sign. */
function randomRow(hidden: number, seed: number): Float32Array {
  const rng = Xoshiro128StarStar.fromSeed(seed);
  const row = new Float32Array(hidden);
  for (let h = 0; h < hidden; h++) {
    const sign = rng.nextUint32() & 0x80000000;
    const exponent = 120 + (rng.nextUint32() % 12);
    row[h] = f32FromBits((sign | (exponent << 23) | (rng.nextUint32() & 0x7fffff)) >>> 0);
  }
  return row;
}

/** Rows where the tree shows: a 2^12 among ones (2^24 + 1 ties away), subnormals, zeros, NaN,
 *  Inf, squares that overflow, -0. */
function edgeRows(hidden: number): Float32Array[] {
  const ones = new Float32Array(hidden).fill(1);
  ones[0] = 2 ** 12;
  const spread = new Float32Array(hidden).fill(1);
  for (let h = 0; h < hidden; h += 37) spread[h] = 2 ** 12;
  const subnormal = new Float32Array(hidden).fill(2 ** -140);
  subnormal[hidden >> 1] = 2 ** -63;
  const special = randomRow(hidden, 99);
  special[3] = Number.NaN;
  const infinite = randomRow(hidden, 98);
  infinite[hidden - 1] = Infinity;
  const overflow = randomRow(hidden, 97);
  overflow[5] = 2 ** 70;
  const negativeZero = new Float32Array(hidden).fill(-0);
  return [ones, spread, subnormal, special, infinite, overflow, negativeZero, new Float32Array(hidden)];
}

function sameF32(a: number, b: number): boolean {
  return (Number.isNaN(a) && Number.isNaN(b)) || bitsFromF32(a) === bitsFromF32(b);
}

/** The plan with two combine steps of its deepest level that has two swapped in their second
 *  operands (a different pairing of the same partial sums, where they are largest), or, without
 *  such steps, its first and last elements swapped. */
function perturbed(plan: ReductionPlan): ReductionPlan {
  const depth = new Map<number, number>();
  const stepDepths: number[] = [];
  for (let s = 0; s < plan.steps.length; s += 3) {
    const d = Math.max(depth.get(plan.steps[s + 1]) ?? 0, depth.get(plan.steps[s + 2]) ?? 0) + 1;
    depth.set(plan.steps[s], d);
    stepDepths.push(d);
  }
  const level = Math.max(0, ...stepDepths.filter((d) => stepDepths.filter((e) => e === d).length >= 2));
  const [i, j] = stepDepths.flatMap((d, k) => (d === level ? [k] : []));
  if (j !== undefined) {
    const steps = Uint32Array.from(plan.steps);
    [steps[3 * i + 2], steps[3 * j + 2]] = [steps[3 * j + 2], steps[3 * i + 2]];
    return { ...plan, steps };
  }
  const elements = Uint32Array.from(plan.elements);
  [elements[0], elements[elements.length - 1]] = [elements[elements.length - 1], elements[0]];
  return { ...plan, elements };
}

interface TreeCase {
  readonly name: string;
  readonly tree: Tree;
  readonly perThread: PerThreadPattern;
  readonly shape: Shape;
  readonly transcription: (row: Float32Array) => number;
}

const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
const fma = fmaF32;

const CASES: readonly TreeCase[] = [
  {
    name: 'sequential',
    tree: { kind: 'sequential' },
    perThread: 'chain',
    shape: { ranks: 1, tokens: 1, hidden: 512 },
    transcription: (row) => row.reduce((acc, v) => Math.fround(acc + Math.fround(v * v)), 0),
  },
  {
    name: 'butterfly 8 x 32 (aiter 1-stage), H 2880: a partial last warp',
    tree: { kind: 'butterfly', perThread: 8, warpSize: 32 },
    perThread: 'chain',
    shape: { ranks: 1, tokens: 1, hidden: 2880 },
    transcription: (row) =>
      flashinferBlockReduce(
        range(360).map((t) =>
          aiterThreadSquares(
            row,
            range(8).map((k) => t * 8 + k),
          ),
        ),
      ),
  },
  {
    name: 'dpp-wave64 256 x 8 contiguous, H 1920 (threads past H load 0)',
    tree: { kind: 'dpp-wave64', blockSize: 256, perThread: 8 },
    perThread: 'chain',
    shape: { ranks: 1, tokens: 1, hidden: 1920 },
    transcription: (row) =>
      aiterBlockReduce(
        range(256).map((t) =>
          aiterThreadSquares(
            row,
            range(8).map((k) => t * 8 + k),
          ),
        ),
      ),
  },
  {
    name: 'dpp-wave64 256 x 16 interleaved (16-byte chunks)',
    tree: { kind: 'dpp-wave64', blockSize: 256, perThread: 16, layout: 'interleaved' },
    perThread: 'chain',
    shape: { ranks: 1, tokens: 1, hidden: 4096 },
    // rq.cu:74 row_offset = tid%64*8 + tid/64*64*16; load_vector_nbytes chunk i at + i*64*8.
    transcription: (row) =>
      aiterBlockReduce(
        range(256).map((t) =>
          aiterThreadSquares(
            row,
            range(16).map((j) => (t % 64) * 8 + Math.floor(t / 64) * 1024 + Math.floor(j / 8) * 512 + (j % 8)),
          ),
        ),
      ),
  },
  {
    name: 'dpp-wave64 256 x 12 interleaved (8-byte chunks)',
    tree: { kind: 'dpp-wave64', blockSize: 256, perThread: 12, layout: 'interleaved' },
    perThread: 'chain',
    shape: { ranks: 1, tokens: 1, hidden: 3072 },
    transcription: (row) =>
      aiterBlockReduce(
        range(256).map((t) =>
          aiterThreadSquares(
            row,
            range(12).map((j) => (t % 64) * 4 + Math.floor(t / 64) * 768 + Math.floor(j / 4) * 256 + (j % 4)),
          ),
        ),
      ),
  },
  {
    name: 'dpp-wave64 1024 x 8',
    tree: { kind: 'dpp-wave64', blockSize: 1024, perThread: 8 },
    perThread: 'chain',
    shape: { ranks: 1, tokens: 1, hidden: 8192 },
    transcription: (row) =>
      aiterBlockReduce(
        range(1024).map((t) =>
          aiterThreadSquares(
            row,
            range(8).map((k) => t * 8 + k),
          ),
        ),
      ),
  },
  {
    name: 'smem-halving 512 x 8, two packs per thread (H 7168)',
    tree: { kind: 'smem-halving', blockSize: 512, perThread: 8 },
    perThread: 'chain',
    shape: { ranks: 1, tokens: 1, hidden: 7168 },
    transcription: (row) => aiterSmemHalving(row, 512, 8),
  },
  {
    name: 'smem-halving 256 x 8',
    tree: { kind: 'smem-halving', blockSize: 256, perThread: 8 },
    perThread: 'chain',
    shape: { ranks: 1, tokens: 1, hidden: 2048 },
    transcription: (row) => aiterSmemHalving(row, 256, 8),
  },
  {
    name: 'cub vllm block (1024 below 256 tokens), scalar',
    tree: { kind: 'cub', blockSize: 'vllm', warpSize: 32, vectorWidth: 1 },
    perThread: 'chain',
    shape: { ranks: 1, tokens: 8, hidden: 2048 },
    transcription: (row) =>
      cubBlockReduce(
        range(1024).map((t) => vllmThreadPartial(row, t, 1024, 1, 'flat', fma)),
        32,
      ),
  },
  {
    name: 'cub vllm block 256 (300 tokens), width-8 vectors, nested pairs (fused_add_rms_norm)',
    tree: { kind: 'cub', blockSize: 'vllm', warpSize: 32, vectorWidth: 8 },
    perThread: 'pair',
    shape: { ranks: 1, tokens: 300, hidden: 7168 },
    transcription: (row) =>
      cubBlockReduce(
        range(256).map((t) => vllmThreadPartial(row, t, 256, 8, 'pairs', fma)),
        32,
      ),
  },
  {
    name: 'cub block 256, width-8 vectors, nested contracted pairs (nvcc sm_90)',
    tree: { kind: 'cub', blockSize: 256, warpSize: 32, vectorWidth: 8 },
    perThread: 'pair-fma',
    shape: { ranks: 1, tokens: 300, hidden: 7168 },
    transcription: (row) =>
      cubBlockReduce(
        range(256).map((t) => vllmThreadPartial(row, t, 256, 8, 'pairs-fma', fma)),
        32,
      ),
  },
  {
    name: 'cub block 896, width-8 vectors, flat chain (rms_norm)',
    tree: { kind: 'cub', blockSize: 896, warpSize: 32, vectorWidth: 8 },
    perThread: 'chain',
    shape: { ranks: 1, tokens: 1, hidden: 7168 },
    transcription: (row) =>
      cubBlockReduce(
        range(896).map((t) => vllmThreadPartial(row, t, 896, 8, 'flat', fma)),
        32,
      ),
  },
  {
    name: 'cluster one-shot, H 4096, 10 tokens, 132 SMs: 4 blocks of 128, contracted',
    tree: { kind: 'cluster', smCount: 132 },
    perThread: 'fma-chain',
    shape: { ranks: 4, tokens: 10, hidden: 4096 },
    transcription: (row) => flashinferCluster(row, 4, 128, 8, fma, true),
  },
  {
    name: 'cluster one-shot, H 4096, 40 tokens: 2 blocks of 256',
    tree: { kind: 'cluster', smCount: 132 },
    perThread: 'chain',
    shape: { ranks: 4, tokens: 40, hidden: 4096 },
    transcription: (row) => flashinferCluster(row, 2, 256, 8, fma, false),
  },
  {
    name: 'cluster H 2880 (partial last warp), 2 blocks of 180',
    tree: { kind: 'cluster', smCount: 132 },
    perThread: 'chain',
    shape: { ranks: 2, tokens: 4, hidden: 2880 },
    transcription: (row) => flashinferCluster(row, 2, 180, 8, fma, false),
  },
  {
    name: 'triton-sum BLOCK 2048, 8 per thread, 4 warps of 32, tree, H 2000 masked',
    tree: { kind: 'triton-sum', block: 2048, numWarps: 4, warpSize: 32, sizePerThread: 8 },
    perThread: 'chain',
    shape: { ranks: 1, tokens: 1, hidden: 2000 },
    transcription: (row) => tritonSum(row, 2048, 8, 32, 4, 'tree'),
  },
  {
    name: 'triton-sum BLOCK 1024, wave64 DPP, 4 warps, 2 per thread, tree, H 1000',
    tree: { kind: 'triton-sum', block: 1024, numWarps: 4, warpSize: 64, sizePerThread: 2 },
    perThread: 'chain',
    shape: { ranks: 1, tokens: 1, hidden: 1000 },
    transcription: (row) => tritonSum(row, 1024, 2, 64, 4, 'tree'),
  },
  {
    name: 'triton-sum BLOCK 4096, 1 per thread, 8 warps of 32, chain (older Triton)',
    tree: { kind: 'triton-sum', block: 4096, numWarps: 8, warpSize: 32, sizePerThread: 1, threadReduce: 'chain' },
    perThread: 'chain',
    shape: { ranks: 1, tokens: 1, hidden: 4096 },
    transcription: (row) => tritonSum(row, 4096, 1, 32, 8, 'chain'),
  },
  // torch eager mean(-1): blocks hand-derived from setReduceConfig (dim0 = H/4, dim1 = M, 512
  // threads: bw = min(pow2(dim0), 32), bh = min(pow2(M), 512/bw), bw = min(pow2(dim0), 512/bh);
  // the row over warps when div_up(H, bw) >= min(bh*16, 256)).
  {
    name: 'torch-reduce M 4, H 2048: block (128, 4), shared memory 64, 32 then shfl_down 16..1',
    tree: { kind: 'torch-reduce' },
    perThread: 'chain',
    shape: { ranks: 1, tokens: 4, hidden: 2048 },
    transcription: (row) => torchReduceCuh(row, 128, 4, false, 'decreasing'),
  },
  {
    name: 'torch-reduce M 16, H 7168: block (32, 16), 224 values per thread (no split)',
    tree: { kind: 'torch-reduce' },
    perThread: 'chain',
    shape: { ranks: 1, tokens: 16, hidden: 7168 },
    transcription: (row) => torchReduceCuh(row, 32, 16, false, 'decreasing'),
  },
  {
    name: 'torch-reduce M 4, H 1000: block (128, 4), threads with one or two vectors',
    tree: { kind: 'torch-reduce' },
    perThread: 'chain',
    shape: { ranks: 1, tokens: 4, hidden: 1000 },
    transcription: (row) => torchReduceCuh(row, 128, 4, false, 'decreasing'),
  },
  {
    name: 'torch-reduce M 2, H 16384: block (256, 2), 64 >= 32 values: the row split over both warps rows',
    tree: { kind: 'torch-reduce' },
    perThread: 'chain',
    shape: { ranks: 1, tokens: 2, hidden: 16384 },
    transcription: (row) => torchReduceCuh(row, 256, 2, true, 'decreasing'),
  },
  {
    name: 'torch-reduce increasing offsets (ROCm / fbcode order), M 4, H 2048',
    tree: { kind: 'torch-reduce', warpShuffle: 'increasing' },
    perThread: 'chain',
    shape: { ranks: 1, tokens: 4, hidden: 2048 },
    transcription: (row) => torchReduceCuh(row, 128, 4, false, 'increasing'),
  },
  {
    name: 'torch-reduce increasing offsets, M 1, H 8192: block (512, 1), split over one row of warps',
    tree: { kind: 'torch-reduce', warpShuffle: 'increasing' },
    perThread: 'chain',
    shape: { ranks: 1, tokens: 1, hidden: 8192 },
    transcription: (row) => torchReduceCuh(row, 512, 1, true, 'increasing'),
  },
  {
    name: 'torch-rms-norm H 2048 (F.rms_norm, block (32, 4), fma)',
    tree: { kind: 'torch-rms-norm' },
    perThread: 'fma-chain',
    shape: { ranks: 1, tokens: 1, hidden: 2048 },
    transcription: (row) => torchRmsNormSumSquares(row, fma),
  },
  {
    name: 'torch-rms-norm H 7168',
    tree: { kind: 'torch-rms-norm' },
    perThread: 'fma-chain',
    shape: { ranks: 1, tokens: 1, hidden: 7168 },
    transcription: (row) => torchRmsNormSumSquares(row, fma),
  },
  {
    name: 'torch-rms-norm H 1000 (250 vectors over 128 threads)',
    tree: { kind: 'torch-rms-norm' },
    perThread: 'fma-chain',
    shape: { ranks: 1, tokens: 1, hidden: 1000 },
    transcription: (row) => torchRmsNormSumSquares(row, fma),
  },
  {
    name: 'inductor-sum 2x2048 (H 2048: 8 per thread, 8 warps), contracted',
    tree: { kind: 'inductor-sum', rBlock: 2048, sizePerThread: 8, numWarps: 8 },
    perThread: 'fma-chain',
    shape: { ranks: 1, tokens: 1, hidden: 2048 },
    transcription: (row) => inductorSumSquares(row, 2048, 8, 8, true, fma),
  },
  {
    name: 'inductor-sum 1x4096 (H 4096, 16 warps), contracted',
    tree: { kind: 'inductor-sum', rBlock: 4096, sizePerThread: 8, numWarps: 16 },
    perThread: 'fma-chain',
    shape: { ranks: 1, tokens: 1, hidden: 4096 },
    transcription: (row) => inductorSumSquares(row, 4096, 8, 16, true, fma),
  },
  {
    name: 'inductor-sum 1x8192 over H 7168: rep 0 contracted, the masked rep 1 not',
    tree: { kind: 'inductor-sum', rBlock: 8192, sizePerThread: 8, numWarps: 16 },
    perThread: 'fma-chain',
    shape: { ranks: 1, tokens: 1, hidden: 7168 },
    transcription: (row) => inductorSumSquares(row, 8192, 8, 16, true, fma),
  },
  {
    name: 'inductor-sum 1x8192 over H 8192: both reps inside the row, one contracted chain of 16',
    tree: { kind: 'inductor-sum', rBlock: 8192, sizePerThread: 8, numWarps: 16 },
    perThread: 'fma-chain',
    shape: { ranks: 1, tokens: 1, hidden: 8192 },
    transcription: (row) => inductorSumSquares(row, 8192, 8, 16, true, fma),
  },
  {
    name: 'inductor-sum 1x8192 over H 7168, uncontracted (chain)',
    tree: { kind: 'inductor-sum', rBlock: 8192, sizePerThread: 8, numWarps: 16 },
    perThread: 'chain',
    shape: { ranks: 1, tokens: 1, hidden: 7168 },
    transcription: (row) => inductorSumSquares(row, 8192, 8, 16, false, fma),
  },
  {
    name: 'inductor-sum looped 1x2048 over H 7168 (4 per thread, 4 iterations, the last half masked)',
    tree: { kind: 'inductor-sum', rBlock: 2048, sizePerThread: 4, numWarps: 16 },
    perThread: 'fma-chain',
    shape: { ranks: 1, tokens: 1, hidden: 7168 },
    transcription: (row) => inductorSumSquares(row, 2048, 4, 16, true, fma),
  },
  {
    name: 'inductor-sum looped 1x2048 over H 4096',
    tree: { kind: 'inductor-sum', rBlock: 2048, sizePerThread: 4, numWarps: 16 },
    perThread: 'fma-chain',
    shape: { ranks: 1, tokens: 1, hidden: 4096 },
    transcription: (row) => inductorSumSquares(row, 2048, 4, 16, true, fma),
  },
  {
    name: 'inductor-sum one pass, rep 0 crossing H 3000: its shared select hoisted, contracted',
    tree: { kind: 'inductor-sum', rBlock: 4096, sizePerThread: 8, numWarps: 16 },
    perThread: 'fma-chain',
    shape: { ranks: 1, tokens: 1, hidden: 3000 },
    transcription: (row) => inductorSumSquares(row, 4096, 8, 16, true, fma),
  },
  {
    name: 'inductor-sum one warp, 1 per thread, R0_BLOCK 64 over H 40: two predicates, nothing contracted',
    tree: { kind: 'inductor-sum', rBlock: 64, sizePerThread: 1, numWarps: 1 },
    perThread: 'fma-chain',
    shape: { ranks: 1, tokens: 1, hidden: 40 },
    transcription: (row) => inductorSumSquares(row, 64, 1, 1, true, fma),
  },
];

describe('every tree equals the transcription of its real source', () => {
  test.each(CASES.map((c) => [c.name, c] as const))('%s', (_name, c) => {
    const plan = planFor(c.tree, c.perThread, c.shape);
    const rows = [...range(24).map((s) => randomRow(c.shape.hidden, 1000 + s)), ...edgeRows(c.shape.hidden)];
    for (const row of rows) {
      const engine = planSumOfSquares(plan, c.perThread, IEEE_F32, row);
      const expected = c.transcription(row);
      if (!sameF32(engine, expected))
        expect.fail(`engine ${engine} (0x${bitsFromF32(engine).toString(16)}) vs transcription ${expected} (0x${bitsFromF32(expected).toString(16)})`);
    }
  });

  test.each(CASES.map((c) => [c.name, c] as const))('planted fault is caught: %s', (_name, c) => {
    const plan = perturbed(planFor(c.tree, c.perThread, c.shape));
    const rows = range(64).map((s) => randomRow(c.shape.hidden, 2000 + s));
    expect(rows.some((row) => !sameF32(planSumOfSquares(plan, c.perThread, IEEE_F32, row), c.transcription(row)))).toBe(true);
  });
});

describe('FlashInfer cluster geometry (hand-derived from the launcher, flashinfer-ai/flashinfer@fb28d724 trtllm_allreduce_fusion.cuh:1691-1815)', () => {
  const cluster = (tokens: number, extra: Partial<Extract<Tree, { kind: 'cluster' }>> = {}, ranks = 4, group: number | null = null) => {
    const tree = { kind: 'cluster' as const, smCount: 132, ...extra };
    const contract = contractWith(tree, 'chain', group);
    const parsedTree = contract.norm.sumOfSquares.tree;
    if (parsedTree.kind !== 'cluster') throw new Error('not a cluster tree');
    return clusterGeometry(parsedTree, contract, { ranks, tokens, hidden: 4096 });
  };
  // H 4096: 512 threads per token; 8 blocks of 64 -> below 128 -> 4 blocks of 128.
  test('one-shot: 4 x 128 up to 33 tokens, 2 x 256 up to 66, 1 x 512 beyond (132 SMs)', () => {
    expect(cluster(33)).toEqual({ clusterSize: 4, threadsPerBlock: 128 });
    expect(cluster(34)).toEqual({ clusterSize: 2, threadsPerBlock: 256 });
    expect(cluster(66)).toEqual({ clusterSize: 2, threadsPerBlock: 256 });
    expect(cluster(67)).toEqual({ clusterSize: 1, threadsPerBlock: 512 });
  });
  test('two-shot counts ceil(tokens / ranks) clusters', () => {
    expect(cluster(132, { launch: 'twoshot' })).toEqual({ clusterSize: 4, threadsPerBlock: 128 });
    expect(cluster(133, { launch: 'twoshot' })).toEqual({ clusterSize: 2, threadsPerBlock: 256 });
  });
  test('registers: a block may only double while it stays within half of maxThreadsPerBlock', () => {
    expect(cluster(67, { maxThreadsPerBlock: 512 })).toEqual({ clusterSize: 1, threadsPerBlock: 512 });
    expect(cluster(67, { maxThreadsPerBlock: 511 })).toEqual({ clusterSize: 2, threadsPerBlock: 256 });
  });
  test('per-token-group quant keeps whole groups in a block (128 x 8 = 1024 elements per block)', () => {
    expect(cluster(1, {}, 4, 1024)).toEqual({ clusterSize: 4, threadsPerBlock: 128 });
    expect(cluster(1, {}, 4, 2048)).toEqual({ clusterSize: 2, threadsPerBlock: 256 });
    expect(cluster(1, {}, 4, 4096)).toEqual({ clusterSize: 1, threadsPerBlock: 512 });
  });
});

describe('torch-reduce geometry (hand-derived from setReduceConfig, torch 2.11.0 Reduce.cuh)', () => {
  // dim0 = H/4, dim1 = M; bw = min(pow2(dim0) capped at 512, 32); bh = min(pow2(M), 512/bw);
  // bw = min(pow2(dim0), 512/bh); the row over warps when div_up(H, bw) >= min(bh*16, 256).
  test('the captured shapes keep one warp row per output', () => {
    expect(torchReduceConfig(2048, 4)).toEqual({ blockWidth: 128, blockHeight: 4, rowOverWarps: false }); // 16 < 64 values
    expect(torchReduceConfig(2048, 16)).toEqual({ blockWidth: 32, blockHeight: 16, rowOverWarps: false }); // 64 < 256
    expect(torchReduceConfig(7168, 4)).toEqual({ blockWidth: 128, blockHeight: 4, rowOverWarps: false }); // 56 < 64
    expect(torchReduceConfig(7168, 16)).toEqual({ blockWidth: 32, blockHeight: 16, rowOverWarps: false }); // 224 < 256
  });
  test('more values per thread split the row over the warps', () => {
    expect(torchReduceConfig(8192, 4)).toEqual({ blockWidth: 128, blockHeight: 4, rowOverWarps: true }); // 64 >= 64
    expect(torchReduceConfig(8192, 1)).toEqual({ blockWidth: 512, blockHeight: 1, rowOverWarps: true }); // 16 >= 16
    expect(torchReduceConfig(16384, 2)).toEqual({ blockWidth: 256, blockHeight: 2, rowOverWarps: true }); // 64 >= 32
    expect(torchReduceConfig(4096, 1000)).toEqual({ blockWidth: 32, blockHeight: 16, rowOverWarps: false }); // 128 < 256
  });
  test('a row that may go over CTAs (>= 256 values per thread after the warp split) is refused in one line', () => {
    expect(torchReduceConfig(65536, 2).rowOverWarps).toBe(true); // 65536 / 512 = 128 values
    expect(() => torchReduceConfig(131072, 2)).toThrow(
      /^norm\.sumOfSquares\.tree: torch-reduce over 2 tokens x 131072 hidden leaves 256 values per thread[^\n]*$/,
    );
  });
  const fits = (tree: Tree, shape: Shape): string => {
    try {
      checkContractForShape(contractWith(tree, 'chain'), shape);
      return 'fits';
    } catch (e) {
      return (e as Error).message;
    }
  };
  test('shape rules: the vectorized paths and whole layout tiles', () => {
    expect(fits({ kind: 'torch-reduce' }, { ranks: 1, tokens: 4, hidden: 128 })).toMatch(/tree: hidden 128 is not modelled/);
    expect(fits({ kind: 'torch-reduce' }, { ranks: 1, tokens: 4, hidden: 1002 })).toMatch(/tree: hidden 1002 is not modelled/);
    expect(fits({ kind: 'torch-reduce' }, { ranks: 1, tokens: 4, hidden: 132 })).toBe('fits');
    expect(fits({ kind: 'torch-rms-norm' }, { ranks: 1, tokens: 4, hidden: 1002 })).toMatch(/tree: hidden 1002 is not a multiple of 4/);
    expect(fits({ kind: 'inductor-sum', rBlock: 1024, sizePerThread: 8, numWarps: 8 }, { ranks: 1, tokens: 1, hidden: 1024 })).toMatch(
      /tree\.rBlock: 1024 is not a multiple of the layout tile 2048/,
    );
    expect(fits({ kind: 'inductor-sum', rBlock: 2048, sizePerThread: 8, numWarps: 8 }, { ranks: 1, tokens: 1, hidden: 2044 })).toMatch(
      /tree\.sizePerThread: 8 does not divide hidden 2044/,
    );
    expect(fits({ kind: 'inductor-sum', rBlock: 1024, sizePerThread: 8, numWarps: 4 }, { ranks: 1, tokens: 1, hidden: 2044 })).toBe('fits');
    expect(fits({ kind: 'inductor-sum', rBlock: 3072, sizePerThread: 3, numWarps: 1 }, { ranks: 1, tokens: 1, hidden: 2048 })).toMatch(
      /tree\.rBlock: 3072 is not a power of two[^]*tree\.sizePerThread: 3 is not a power of two/,
    );
  });
});
