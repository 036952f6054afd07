import type { Contract, Shape, SumOfSquaresTree } from '../../contracts/schema.js';
import { clusterGeometry, cubBlockSize } from './blockSize.js';

// The sum of squares of one row as data: which elements each lane (a thread, or one register of
// a thread) accumulates, in order, with the contract's per-thread pattern, then the combine
// steps slot[dst] = fround(slot[a] + slot[b]) in order. f32 addition is commutative exactly, so
// only which pairs are added, and in what nesting, matters: every tree below is written from its
// real source as such a list, and both engines interpret the same plan. Lanes with no elements
// (padding threads) hold +0; adding +0 to a partial sum of squares (never -0, never subnormal
// under a flush) leaves it unchanged, so padding never changes bits.

/** An element index that reads as +0 (a masked load past H). */
export const PADDING_ELEMENT = 0xffffffff;

export interface ReductionPlan {
  /** Lanes, padding lanes included; each lane's partial is one slot. */
  readonly slots: number;
  /** Lane l accumulates elements[laneStart[l] .. laneStart[l + 1]) in this order. */
  readonly laneStart: Uint32Array;
  /** Element indices within the row, or PADDING_ELEMENT. */
  readonly elements: Uint32Array;
  /** Elements per run (a vector or pack): a lane's list is whole runs. */
  readonly runLength: number;
  /** Each run is summed from 0 with the per-thread pattern and then added to the lane's sum
   *  (aiter packReduce, vLLM sum_squares); otherwise the pattern runs over the lane's whole list. */
  readonly nestedRuns: boolean;
  /** Combine steps as flattened triples (dst, a, b): slot[dst] = fround(slot[a] + slot[b]). */
  readonly steps: Uint32Array;
  /** The slot holding the row's sum of squares after the last step. */
  readonly result: number;
}

class PlanBuilder {
  private readonly lanes: number[][] = [];
  private readonly steps: number[] = [];

  lane(elements: number[]): number {
    this.lanes.push(elements);
    return this.lanes.length - 1;
  }

  /** A padding lane: +0. */
  empty(): number {
    return this.lane([]);
  }

  combine(dst: number, a: number, b: number): void {
    this.steps.push(dst, a, b);
  }

  build(result: number, runLength: number, nestedRuns: boolean): ReductionPlan {
    const laneStart = new Uint32Array(this.lanes.length + 1);
    for (let l = 0; l < this.lanes.length; l++) laneStart[l + 1] = laneStart[l] + this.lanes[l].length;
    return {
      slots: this.lanes.length,
      laneStart,
      elements: Uint32Array.from(this.lanes.flat()),
      runLength,
      nestedRuns,
      steps: Uint32Array.from(this.steps),
      result,
    };
  }
}

function range(from: number, count: number): number[] {
  return Array.from({ length: count }, (_, i) => from + i);
}

function nextPow2(n: number): number {
  return n <= 1 ? 1 : 2 ** Math.ceil(Math.log2(n));
}

/** Lane 0 of an XOR butterfly with strides n/2 .. 1 (n a power of two): at stride s, lane i < s
 *  adds lane i + s. A shared-memory halving tree (s[t] += s[t + stride], stride n/2 .. 1) is the
 *  same list. */
function butterflyToFirst(b: PlanBuilder, slots: readonly number[]): number {
  for (let s = slots.length >> 1; s >= 1; s >>= 1) for (let i = 0; i < s; i++) b.combine(slots[i], slots[i], slots[i + s]);
  return slots[0];
}

/** The balanced adjacent pairwise tree: at width w = 1, 2, 4, .., slot i (a multiple of 2w)
 *  adds slot i + w; an odd one is carried to the next level. It is lane 0 of cub's shuffle-down
 *  warp reduce (offsets 1, 2, 4, ..), lane 63 of aiter's DPP wave reduce, and Triton's in-thread
 *  treeReduce with arity 2. */
function pairwiseToFirst(b: PlanBuilder, slots: readonly number[]): number {
  for (let w = 1; w < slots.length; w <<= 1) for (let i = 0; i + w < slots.length; i += 2 * w) b.combine(slots[i], slots[i], slots[i + w]);
  return slots[0];
}

/** Padding lanes up to a multiple of `width`. */
function padTo(b: PlanBuilder, lanes: number[], width: number): number[] {
  const padded = [...lanes];
  while (padded.length % width !== 0) padded.push(b.empty());
  return padded;
}

/** aiter's and FlashInfer's block reduce of thread lanes: threads padded with zeros to whole
 *  warps, an XOR butterfly 16..1 (or 32..1) within each warp, lane 0 of each warp to shared memory,
 *  then a butterfly over next_pow2(warps) partials (ROCm/aiter@e4048607 custom_all_reduce.cuh
 *  :1599-1621 with warpReduce :1085-1096; flashinfer-ai/flashinfer@fb28d724
 *  trtllm_allreduce_fusion.cuh:424-459, whose second butterfly runs over 32 lanes, the ones past
 *  the warps +0: the same sums). */
function blockButterfly(b: PlanBuilder, threads: readonly number[], warpSize: number): number {
  const padded = padTo(b, [...threads], warpSize);
  const warpSums: number[] = [];
  for (let w = 0; w < padded.length / warpSize; w++) warpSums.push(butterflyToFirst(b, padded.slice(w * warpSize, (w + 1) * warpSize)));
  return butterflyToFirst(b, padTo(b, warpSums, nextPow2(warpSums.length)));
}

/** Lane l's contiguous elements [l*perThread, (l+1)*perThread). */
function contiguousLane(l: number, perThread: number): number[] {
  return range(l * perThread, perThread);
}

function sequentialPlan(hidden: number): ReductionPlan {
  const b = new PlanBuilder();
  return b.build(b.lane(range(0, hidden)), 1, false);
}

/** tailWarp 'drop' (aiter ar_fusion_epilogue_block_reduce, ROCm/aiter@e4048607
 *  custom_all_reduce.cuh:1606, 1617): the block has exactly H/perThread threads and only the
 *  floor(threads/warpSize) whole warps' sums are read, so the threads of a partial last warp
 *  are not lanes of the plan; with no whole warp the sum is the +0 of one empty lane. */
function butterflyPlan(tree: Extract<SumOfSquaresTree, { kind: 'butterfly' }>, hidden: number, nested: boolean): ReductionPlan {
  const b = new PlanBuilder();
  const threads = hidden / tree.perThread;
  const counted = tree.tailWarp === 'drop' ? threads - (threads % tree.warpSize) : threads;
  if (counted === 0) return b.build(b.empty(), tree.perThread, nested);
  const lanes = range(0, counted).map((t) => b.lane(contiguousLane(t, tree.perThread)));
  return b.build(blockButterfly(b, lanes, tree.warpSize), tree.perThread, nested);
}

/** vLLM rms_norm / fused_add_rms_norm with cub::BlockReduce WARP_REDUCTIONS: thread t takes
 *  vectors t, t+B, ..; each warp's lane 0 gets the shuffle-down tree; thread 0 adds the warp
 *  aggregates 1..W-1 to warp 0's in order (NVIDIA/cccl@004ad198 cub/warp/specializations/
 *  warp_reduce_shfl.cuh, cub/block/specializations/block_reduce_warp_reductions.cuh). */
function cubPlan(tree: Extract<SumOfSquaresTree, { kind: 'cub' }>, shape: Shape, nested: boolean): ReductionPlan {
  const b = new PlanBuilder();
  const block = cubBlockSize(tree, shape.hidden, shape.tokens);
  const vectors = shape.hidden / tree.vectorWidth;
  const threads = range(0, block).map((t) => {
    const elements: number[] = [];
    for (let v = t; v < vectors; v += block) elements.push(...range(v * tree.vectorWidth, tree.vectorWidth));
    return b.lane(elements);
  });
  const padded = padTo(b, threads, tree.warpSize);
  const warpSums: number[] = [];
  for (let w = 0; w < padded.length / tree.warpSize; w++) warpSums.push(pairwiseToFirst(b, padded.slice(w * tree.warpSize, (w + 1) * tree.warpSize)));
  for (let w = 1; w < warpSums.length; w++) b.combine(warpSums[0], warpSums[0], warpSums[w]);
  return b.build(warpSums[0], tree.vectorWidth, nested);
}

/** aiter add_rmsnorm_quant's threads (ROCm/aiter@e4048607 rmsnorm_quant_kernels.cu:74) and
 *  block_reduce (hip_reduce.h:256-318, :394-443): the DPP steps of one wave leave lane 63 with
 *  the pairwise tree of its 64 lanes; the same steps over the wave partials continue that tree. */
function dppWave64Plan(tree: Extract<SumOfSquaresTree, { kind: 'dpp-wave64' }>, hidden: number, nested: boolean): ReductionPlan {
  const b = new PlanBuilder();
  // A thread loads 16-byte chunks of bf16 (8 elements) when its run is a multiple of 16 bytes,
  // else 8-byte chunks (rq.cu:38-41); interleaved, chunk i of thread t starts at
  // (t%64)*chunk + (t/64)*64*perThread + i*64*chunk (rq.cu:74, aiter_opus_plus.h:690-714).
  const chunk = (2 * tree.perThread) % 16 === 0 ? 8 : 4;
  const elementsOf = (t: number): number[] => {
    if (tree.layout === 'contiguous' || tree.perThread <= chunk) return contiguousLane(t, tree.perThread);
    const base = (t % 64) * chunk + Math.floor(t / 64) * 64 * tree.perThread;
    return range(0, tree.perThread / chunk).flatMap((i) => range(base + i * 64 * chunk, chunk));
  };
  // Elements past H load as 0 (buffer out-of-bounds reads, rq.cu:57-62).
  const threads = range(0, tree.blockSize).map((t) => b.lane(elementsOf(t).map((e) => (e < hidden ? e : PADDING_ELEMENT))));
  const waveSums: number[] = [];
  for (let w = 0; w < tree.blockSize / 64; w++) waveSums.push(pairwiseToFirst(b, threads.slice(w * 64, (w + 1) * 64)));
  return b.build(pairwiseToFirst(b, waveSums), tree.perThread, nested);
}

/** aiter local_device_load_rmsnorm (ROCm/aiter@e4048607 custom_all_reduce.cuh:1446-1494): packs
 *  t, t+B, .. summed pack by pack (packReduce :999-1008), then smemReduceSum (:1343-1370). */
function smemHalvingPlan(tree: Extract<SumOfSquaresTree, { kind: 'smem-halving' }>, hidden: number): ReductionPlan {
  const b = new PlanBuilder();
  const packs = hidden / tree.perThread;
  const threads = range(0, tree.blockSize).map((t) => {
    const elements: number[] = [];
    for (let p = t; p < packs; p += tree.blockSize) elements.push(...contiguousLane(p, tree.perThread));
    return b.lane(elements);
  });
  return b.build(butterflyToFirst(b, threads), tree.perThread, true);
}

/** Triton's tl.sum of a 1-D blocked tensor (schema.ts triton-sum names the sources). */
function tritonSumPlan(tree: Extract<SumOfSquaresTree, { kind: 'triton-sum' }>, hidden: number): ReductionPlan {
  const b = new PlanBuilder();
  const threadCount = tree.warpSize * tree.numWarps;
  const tile = tree.sizePerThread * threadCount;
  const reps = tree.block / tile;
  const registersOf = (t: number): number[] =>
    range(0, reps)
      .flatMap((r) => range(r * tile + t * tree.sizePerThread, tree.sizePerThread))
      .map((e) => (e < hidden ? e : PADDING_ELEMENT));
  // Within a thread: one lane per register and the pairwise tree, or one lane in register order.
  const threads = range(0, threadCount).map((t) => {
    if (tree.threadReduce === 'chain') return b.lane(registersOf(t));
    return pairwiseToFirst(
      b,
      registersOf(t).map((e) => b.lane([e])),
    );
  });
  const warpSums: number[] = [];
  for (let w = 0; w < tree.numWarps; w++) {
    const lanes = threads.slice(w * tree.warpSize, (w + 1) * tree.warpSize);
    warpSums.push(tree.warpSize === 32 ? butterflyToFirst(b, lanes) : amdDppWarpReduce(b, lanes));
  }
  return b.build(butterflyToFirst(b, warpSums), 1, false);
}

/** Triton's AMD warpReduce over 64 lanes: within each 16-lane row, row_shr 8, 4, 2, 1 leave lane
 *  15 with the butterfly of the row read from its end; row_bcast:15 (rows 1 and 3) adds row 0
 *  to row 1 and row 2 to row 3; row_bcast:31 adds lane 31 to lane 63. */
function amdDppWarpReduce(b: PlanBuilder, lanes: readonly number[]): number {
  const rows = range(0, 4).map((r) => butterflyToFirst(b, lanes.slice(r * 16, (r + 1) * 16).reverse()));
  b.combine(rows[1], rows[1], rows[0]);
  b.combine(rows[3], rows[3], rows[2]);
  b.combine(rows[3], rows[3], rows[1]);
  return rows[3];
}

/** FlashInfer's cluster (schema.ts cluster names the sources): each block's butterfly, then thread
 *  0's `acc = 0; acc += partial of block i` for i = 0, 1, .. (:1284-1300). */
function clusterPlan(tree: Extract<SumOfSquaresTree, { kind: 'cluster' }>, contract: Contract, shape: Shape, nested: boolean): ReductionPlan {
  const b = new PlanBuilder();
  const { clusterSize, threadsPerBlock } = clusterGeometry(tree, contract, shape);
  const blockSums = range(0, clusterSize).map((block) => {
    const threads = range(0, threadsPerBlock).map((t) => b.lane(contiguousLane(block * threadsPerBlock + t, tree.perThread)));
    return blockButterfly(b, threads, 32);
  });
  const acc = b.empty();
  for (const partial of blockSums) b.combine(acc, acc, partial);
  return b.build(acc, tree.perThread, nested);
}

/** Plans recently built, by what they depend on (explain scores hundreds of hypotheses that
 *  share a few sums of squares); the oldest is dropped past the limit. Plans are never mutated. */
const RECENT_PLANS = new Map<string, ReductionPlan>();
const RECENT_PLAN_LIMIT = 512;

/** The row's sum-of-squares plan for a contract on a shape (tokens and ranks matter where a
 *  launcher picks the geometry from them). */
export function reductionPlan(contract: Contract, shape: Shape): ReductionPlan {
  const { sumOfSquares } = contract.norm;
  const key = JSON.stringify([sumOfSquares, shape, sumOfSquares.tree.kind === 'cluster' ? contract : null]);
  let plan = RECENT_PLANS.get(key);
  if (!plan) {
    plan = buildReductionPlan(contract, shape);
    RECENT_PLANS.set(key, plan);
    if (RECENT_PLANS.size > RECENT_PLAN_LIMIT) RECENT_PLANS.delete(RECENT_PLANS.keys().next().value!);
  }
  return plan;
}

function buildReductionPlan(contract: Contract, shape: Shape): ReductionPlan {
  const { perThread, tree } = contract.norm.sumOfSquares;
  // vLLM's pair patterns sum each vector from 0 (sum_squares), then add it to the thread's sum.
  const pairs = perThread === 'pair' || perThread === 'pair-fma';
  switch (tree.kind) {
    case 'sequential':
      return pairs ? { ...sequentialPlan(shape.hidden), runLength: shape.hidden, nestedRuns: true } : sequentialPlan(shape.hidden);
    case 'butterfly':
      return butterflyPlan(tree, shape.hidden, pairs);
    case 'cub':
      return cubPlan(tree, shape, pairs);
    case 'dpp-wave64':
      return dppWave64Plan(tree, shape.hidden, pairs);
    case 'smem-halving':
      return smemHalvingPlan(tree, shape.hidden);
    case 'triton-sum':
      return tritonSumPlan(tree, shape.hidden);
    case 'cluster':
      return clusterPlan(tree, contract, shape, pairs);
  }
}
