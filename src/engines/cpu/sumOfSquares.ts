import type { SumOfSquaresTree } from '../../contracts/schema.js';
import { fmaF32 } from '../../numerics/f32.js';
import { ContractError } from '../../contracts/validate.js';

// Sums of squares follow the reduction tree of the modelled kernel, step for step: thread
// partials first, then the cross-lane and cross-warp combination in the kernel's order.
// Values are f32 held in JS numbers; every operation is rounded by Math.fround or a Float32Array
// store (correctly rounded for + and * on f32 operands) or by fmaF32.

function squareAccumulate(acc: number, v: number, fma: boolean): number {
  return fma ? fmaF32(v, v, acc) : Math.fround(acc + Math.fround(v * v));
}

function nextPow2(n: number): number {
  return n <= 1 ? 1 : 2 ** Math.ceil(Math.log2(n));
}

/** XOR butterfly over `lanes` values: at each stride, lane i becomes lane[i] + lane[i ^ stride]. */
function xorButterfly(lanes: Float32Array): number {
  const width = lanes.length;
  const next = new Float32Array(width);
  const current = Float32Array.from(lanes);
  for (let stride = width >> 1; stride >= 1; stride >>= 1) {
    for (let i = 0; i < width; i++) next[i] = current[i] + current[i ^ stride];
    current.set(next);
  }
  return current[0];
}

/** cub WarpReduce (shuffle-down): lane i adds lane i+offset for offsets 1, 2, 4, ...; lane 0's value. */
function shuffleDownReduce(lanes: Float32Array): number {
  const width = lanes.length;
  const current = Float32Array.from(lanes);
  for (let offset = 1; offset < width; offset <<= 1) {
    for (let i = 0; i + offset < width; i++) current[i] = current[i] + current[i + offset];
  }
  return current[0];
}

export function cubBlockSize(tree: Extract<SumOfSquaresTree, { kind: 'cub' }>, hidden: number, tokens: number): number {
  if (tree.blockSize !== 'vllm') return tree.blockSize;
  return Math.min(hidden, tokens < 256 ? 1024 : 256);
}

/** Sum of squares of one row (f32 values) as the tree dictates. */
export function sumOfSquares(row: Float32Array, tree: SumOfSquaresTree, fma: boolean, tokens: number): number {
  const hidden = row.length;
  switch (tree.kind) {
    case 'sequential': {
      let acc = 0;
      for (let h = 0; h < hidden; h++) acc = squareAccumulate(acc, row[h], fma);
      return acc;
    }
    case 'butterfly': {
      const threads = hidden / tree.perThread;
      const paddedThreads = Math.ceil(threads / tree.warpSize) * tree.warpSize;
      const partials = new Float32Array(paddedThreads);
      for (let t = 0; t < threads; t++) {
        let acc = 0;
        for (let k = 0; k < tree.perThread; k++) acc = squareAccumulate(acc, row[t * tree.perThread + k], fma);
        partials[t] = acc;
      }
      const warps = paddedThreads / tree.warpSize;
      const warpSums = new Float32Array(nextPow2(warps));
      for (let w = 0; w < warps; w++) warpSums[w] = xorButterfly(partials.subarray(w * tree.warpSize, (w + 1) * tree.warpSize));
      return xorButterfly(warpSums);
    }
    case 'cub': {
      const block = cubBlockSize(tree, hidden, tokens);
      const paddedThreads = Math.ceil(block / tree.warpSize) * tree.warpSize;
      const partials = new Float32Array(paddedThreads);
      for (let t = 0; t < block; t++) {
        let acc = 0;
        for (let h = t; h < hidden; h += block) acc = squareAccumulate(acc, row[h], fma);
        partials[t] = acc;
      }
      const warps = paddedThreads / tree.warpSize;
      let total = 0;
      for (let w = 0; w < warps; w++) {
        const aggregate = shuffleDownReduce(partials.subarray(w * tree.warpSize, (w + 1) * tree.warpSize));
        total = w === 0 ? aggregate : Math.fround(total + aggregate);
      }
      return total;
    }
    default:
      throw new ContractError(`cpu engine: norm.sumOfSquares.tree.kind '${tree.kind}' is not implemented yet`);
  }
}
