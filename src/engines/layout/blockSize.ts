import type { Contract, Shape, SumOfSquaresTree } from '../../contracts/schema.js';
import { ContractError } from '../../contracts/validate.js';

// Launch geometry that a library derives from the problem size at run time, not from the
// contract alone: vLLM's cub block size and FlashInfer's thread-block cluster.

type CubTree = Extract<SumOfSquaresTree, { kind: 'cub' }>;
type ClusterTree = Extract<SumOfSquaresTree, { kind: 'cluster' }>;

/** vLLM fused_add_rms_norm's block: min(H, tokens < 256 ? 1024 : 256) threads, the same for the
 *  width-8 vector kernel, whose threads stride over vectors (vllm-project/vllm@0112cf23
 *  csrc/layernorm_kernels.cu fused_add_rms_norm; rms_norm there launches min(H, 1024): give it as
 *  a number). */
export function cubBlockSize(tree: CubTree, hidden: number, tokens: number): number {
  if (tree.blockSize !== 'vllm') return tree.blockSize;
  return Math.min(hidden, tokens < 256 ? 1024 : 256);
}

export interface ClusterGeometry {
  /** Blocks per token. */
  readonly clusterSize: number;
  readonly threadsPerBlock: number;
}

/** FlashInfer's allreduce_fusion_kernel_launcher (flashinfer-ai/flashinfer@fb28d724
 *  include/flashinfer/comm/trtllm_allreduce_fusion.cuh:1683-1810), step for step. */
export function clusterGeometry(tree: ClusterTree, contract: Contract, shape: Shape): ClusterGeometry {
  const threadsPerToken = shape.hidden / tree.perThread;
  // :1691-1702: one cluster per token (one-shot) or per ceil(tokens / ranks) (two-shot).
  const clusterCount = tree.launch === 'oneshot' ? shape.tokens : Math.ceil(shape.tokens / shape.ranks);
  // :1711-1719: the largest cluster (at most 8) that divides the threads, then blocks of >= 128.
  let clusterSize = Math.min(8, tree.maxClusterSize);
  while (threadsPerToken % clusterSize !== 0 && clusterSize > 1) clusterSize = Math.floor(clusterSize / 2);
  let threadsPerBlock = threadsPerToken / clusterSize;
  while (threadsPerBlock < 128 && clusterSize >= 2) {
    threadsPerBlock *= 2;
    clusterSize = Math.floor(clusterSize / 2);
  }
  // :1739-1745 adjust_for_sm_count: fewer, larger blocks while the clusters outnumber the SMs
  // and the registers allow a block twice as large.
  while (clusterCount * clusterSize > tree.smCount && clusterSize > 1 && threadsPerBlock <= tree.maxThreadsPerBlock / 2) {
    threadsPerBlock *= 2;
    clusterSize = Math.floor(clusterSize / 2);
  }
  // :1798-1805: per-token-group FP8 keeps whole quant groups in each block.
  const group = contract.quant?.groupSize;
  if (typeof group === 'number') {
    while (clusterSize > 1 && (threadsPerBlock * tree.perThread) % group !== 0) {
      threadsPerBlock *= 2;
      clusterSize = Math.floor(clusterSize / 2);
    }
    if ((threadsPerBlock * tree.perThread) % group !== 0) {
      throw new ContractError(`norm.sumOfSquares.tree: the launcher cannot keep quant groups of ${group} whole in blocks of ${threadsPerBlock} threads`);
    }
  }
  // :1789-1815: the launcher refuses a geometry that does not cover the token or passes 1024.
  if (threadsPerBlock * clusterSize !== threadsPerToken || threadsPerBlock > 1024) {
    throw new ContractError(
      `norm.sumOfSquares.tree: the cluster launcher has no geometry for hidden ${shape.hidden} (${clusterSize} blocks of ${threadsPerBlock} threads)`,
    );
  }
  return { clusterSize, threadsPerBlock };
}

/** The largest power of two <= n, at least 1 (Reduce.cuh last_pow2). */
function lastPow2(n: number): number {
  let p = 1;
  while (p * 2 <= n) p *= 2;
  return p;
}

export interface TorchReduceConfig {
  /** Threads along the row (block.x). */
  readonly blockWidth: number;
  /** block.y: rows of the block, each owning one output, or warps sharing the row. */
  readonly blockHeight: number;
  /** The row is split over the block's warps too (input_mult[BLOCK_Y]): block_y_reduce runs. */
  readonly rowOverWarps: boolean;
}

/** Elements per vector load of input_vectorized_thread_reduce_impl: vt0 = input_vec_size = 4 (the
 *  gpu_reduce_kernel defaults behind mean's MeanOps). */
export const TORCH_REDUCE_VECTOR = 4;

/** setReduceConfig (torch 2.11.0 Reduce.cuh, SPECS.md T1; the rule read at cyyever/pytorch@0660972b
 *  aten/src/ATen/native/cuda/Reduce.cuh setReduceConfig) for a contiguous f32 [tokens, hidden]
 *  reduced over its last dim on CUDA: dim0 = H / 4 ("vectorize along input", H > 128), dim1 = M;
 *  set_block_dimension with MAX_NUM_THREADS 512 and 32-lane warps; the input split over block.x
 *  (step_input = bw); over the warps too when values_per_thread = div_up(H, bw) >=
 *  min(bh * 16, 256) (step_input = bw * bh). A row still holding >= 256 values per thread may be
 *  split over CTAs, by a rule that reads the device's SM count: refused, not modelled. */
export function torchReduceConfig(hidden: number, tokens: number): TorchReduceConfig {
  const maxThreads = 512;
  const warpSize = 32;
  const dim0 = Math.floor(hidden / TORCH_REDUCE_VECTOR);
  const dim0Pow2 = dim0 < maxThreads ? lastPow2(dim0) : maxThreads;
  const dim1Pow2 = tokens < maxThreads ? lastPow2(tokens) : maxThreads;
  const firstWidth = Math.min(dim0Pow2, warpSize);
  const blockHeight = Math.min(dim1Pow2, maxThreads / firstWidth);
  const blockWidth = Math.min(dim0Pow2, maxThreads / blockHeight);
  const rowOverWarps = Math.ceil(hidden / blockWidth) >= Math.min(blockHeight * 16, 256);
  const valuesPerThread = Math.ceil(hidden / (rowOverWarps ? blockWidth * blockHeight : blockWidth));
  if (rowOverWarps && valuesPerThread >= 256) {
    throw new ContractError(
      `norm.sumOfSquares.tree: torch-reduce over ${tokens} tokens x ${hidden} hidden leaves ${valuesPerThread} values per thread, where ` +
        "setReduceConfig may split each row over CTAs by the device's SM count (not modelled)",
    );
  }
  return { blockWidth, blockHeight, rowOverWarps };
}
