import type { Contract, Shape, SumOfSquaresTree } from '../../contracts/schema.js';
import { clusterGeometry, cubBlockSize, TORCH_REDUCE_VECTOR, torchReduceConfig } from './blockSize.js';

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

/** Lane 0 after a warp's shfl_down with offsets 1, 2, .., n/2 (lane i adds lane i + offset): the
 *  balanced adjacent pairwise tree. */
const shuffleDownIncreasing = pairwiseToFirst;
/** Lane 0 after shfl_down with offsets n/2, .., 1: lane i < offset adds lane i + offset, the
 *  halving tree (what lane 0 of an XOR butterfly computes too). */
const shuffleDownDecreasing = butterflyToFirst;

/** torch eager's last-dim reduction (schema.ts torch-reduce names the Reduce.cuh lines). */
function torchReducePlan(tree: Extract<SumOfSquaresTree, { kind: 'torch-reduce' }>, shape: Shape): ReductionPlan {
  const b = new PlanBuilder();
  const { blockWidth, blockHeight, rowOverWarps } = torchReduceConfig(shape.hidden, shape.tokens);
  const rowThreads = rowOverWarps ? blockWidth * blockHeight : blockWidth;
  const vectors = shape.hidden / TORCH_REDUCE_VECTOR;
  // Thread (x, y) starts at vector input_idx = x + y*bw (y = 0 unless the row is split over warps)
  // and strides by step_input; value_list[i] takes element 4v + i of each vector v.
  const threadAt = (first: number): number => {
    const accumulators = range(0, TORCH_REDUCE_VECTOR).map((i) => {
      const elements: number[] = [];
      for (let v = first; v < vectors; v += rowThreads) elements.push(v * TORCH_REDUCE_VECTOR + i);
      return b.lane(elements);
    });
    for (const acc of accumulators.slice(1)) b.combine(accumulators[0], accumulators[0], acc);
    return accumulators[0];
  };
  // ReduceOp::run() calls block_x_reduce, then block_y_reduce (bvillasen/pytorch@1718974f
  // aten/src/ATen/native/cuda/Reduce.cuh:419-424): each block row y is reduced along x first.
  const blockRows = range(0, rowOverWarps ? blockHeight : 1).map((y) => {
    const columns = range(0, blockWidth).map((x) => threadAt(x + y * blockWidth));
    // block_x_reduce: shared memory halves the row down to one warp, then the warp's shuffles.
    for (let offset = blockWidth / 2; offset >= 32; offset >>= 1) for (let x = 0; x < offset; x++) b.combine(columns[x], columns[x], columns[x + offset]);
    const warp = columns.slice(0, 32);
    return tree.warpShuffle === 'decreasing' ? shuffleDownDecreasing(b, warp) : shuffleDownIncreasing(b, warp);
  });
  // block_y_reduce (Reduce.cuh:673-690): row y < offset adds row y + offset, offset = bh/2 .. 1.
  return b.build(butterflyToFirst(b, blockRows), 1, false);
}

/** The threads of torch's vectorized_layer_norm_kernel: block (32, 4), vec_size 4. */
const TORCH_RMS_NORM_WARPS = 4;
const TORCH_RMS_NORM_VECTOR = 4;

/** torch's fused RMSNorm statistics (schema.ts torch-rms-norm names the layer_norm_kernel.cu
 *  lines): each thread's vectors in order, the warp's shfl_down 16..1, then the upper half of the
 *  warps onto the lower half (2, 1): lane 0 of each is the halving tree. */
function torchRmsNormPlan(shape: Shape): ReductionPlan {
  const b = new PlanBuilder();
  const threadCount = 32 * TORCH_RMS_NORM_WARPS;
  const vectors = shape.hidden / TORCH_RMS_NORM_VECTOR;
  const threads = range(0, threadCount).map((thrx) => {
    const elements: number[] = [];
    for (let v = thrx; v < vectors; v += threadCount) elements.push(...range(v * TORCH_RMS_NORM_VECTOR, TORCH_RMS_NORM_VECTOR));
    return b.lane(elements);
  });
  const warpSums = range(0, TORCH_RMS_NORM_WARPS).map((w) => shuffleDownDecreasing(b, threads.slice(w * 32, (w + 1) * 32)));
  return b.build(butterflyToFirst(b, warpSums), 1, false);
}

/** Inductor's reduction of x*x (schema.ts inductor-sum). Each lane's list is accumulated with the
 *  contract's per-thread pattern from 0 ('fma-chain': fma(x, x, acc), whose first step is RN(x*x)),
 *  so the contracted one-pass chain `fma(x0, x0, RN(x1*x1)), fma(x2, x2, ..)` is the lane
 *  [x1, x0, x2, ..], and a register LLVM could not contract is a lane of its own added by a step. */
function inductorSumPlan(tree: Extract<SumOfSquaresTree, { kind: 'inductor-sum' }>, hidden: number): ReductionPlan {
  const b = new PlanBuilder();
  const threadCount = 32 * tree.numWarps;
  const tile = tree.sizePerThread * threadCount;
  const reps = tree.rBlock / tile;
  // Register j = r*s + k of thread t sits at r*tile + t*s + k of each R0_BLOCK chunk.
  const positionOf = (t: number, j: number): number => Math.floor(j / tree.sizePerThread) * tile + t * tree.sizePerThread + (j % tree.sizePerThread);
  const registers = reps * tree.sizePerThread;
  const threads = range(0, threadCount).map((t) => {
    if (tree.rBlock < hidden) {
      // Looped: one accumulator per register across the iterations, then tl.sum's in-order adds.
      const accumulators = range(0, registers).map((j) => {
        const elements: number[] = [];
        for (let base = 0; base + positionOf(t, j) < hidden; base += tree.rBlock) elements.push(base + positionOf(t, j));
        return b.lane(elements);
      });
      for (const acc of accumulators.slice(1)) b.combine(accumulators[0], accumulators[0], acc);
      return accumulators[0];
    }
    // One pass: each register is where(mask, x*x, 0). The registers of rep 0 share one predicate
    // (the row mask is constant over a thread's sizePerThread run), and so do all the registers
    // whose row mask LLVM proves true for every thread (left with the x mask only): LLVM turns an
    // add of two selects of one predicate into a select of the add, so those adds see the bare
    // products and contract. That group is rep 0 and every later rep wholly inside the row, a
    // prefix; a later rep crossing H keeps its own select before each add (a lone register too).
    const insideReps = range(0, reps).filter((r) => (r + 1) * tile <= hidden).length;
    const grouped = Math.min(registers, Math.max(1, insideReps) * tree.sizePerThread);
    const element = (j: number): number => (positionOf(t, j) < hidden ? positionOf(t, j) : PADDING_ELEMENT);
    // r0 + r1 contracts r0's product (LLVM fuses the first operand that is a multiply), the rest of
    // the group continues that fma chain; every later register is a rounded square added in order.
    const head = grouped >= 2 ? [b.lane([element(1), element(0), ...range(2, grouped - 2).map(element)])] : [];
    const firstSeparate = head.length > 0 ? grouped : 0;
    const lanes = [...head, ...range(firstSeparate, registers - firstSeparate).map((j) => b.lane([element(j)]))];
    for (const lane of lanes.slice(1)) b.combine(lanes[0], lanes[0], lane);
    return lanes[0];
  });
  const warpSums = range(0, tree.numWarps).map((w) => butterflyToFirst(b, threads.slice(w * 32, (w + 1) * 32)));
  return b.build(butterflyToFirst(b, warpSums), 1, false);
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
    case 'torch-reduce':
      return torchReducePlan(tree, shape);
    case 'torch-rms-norm':
      return torchRmsNormPlan(shape);
    case 'inductor-sum':
      return inductorSumPlan(tree, shape.hidden);
  }
}
