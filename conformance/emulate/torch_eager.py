"""torch eager CUDA kernels, emulated step by step from the real source.

Reduce.cuh (the generic reduction behind `mean(-1)`) and layer_norm_kernel.cu (the fused
RMSNorm behind `F.rms_norm`) are transcribed as reduction trees over one row; every f32 step
is a numpy float32 operation (IEEE, nearest-even) or fma_f32 (one rounding), and rsqrt is the
measured sm_90 instruction (approx.py). Sources: the headers shipped in the torch 2.11 wheel
(captured beside the measurements, conformance/dumps) and pytorch/pytorch
aten/src/ATen/native/cuda/layer_norm_kernel.cu (cited per function).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from f32 import F32, fma_f32

WARP = 32


def last_pow2(n: int) -> int:
    """Reduce.cuh last_pow2: the largest power of two <= n (at least 1)."""
    p = 1
    while p * 2 <= n:
        p *= 2
    return p


@dataclass(frozen=True)
class ReduceConfig:
    block_width: int  # threads along the row (block.x), each reading 4-element vectors
    block_height: int  # rows per block (output split) or row split across warps (input split)
    input_split_y: bool
    ctas_per_output: int
    vec: int


def reduce_config_lastdim(m: int, h: int, sm_count: int = 132, max_threads_per_sm: int = 2048) -> ReduceConfig:
    """setReduceConfig (Reduce.cuh) for a contiguous f32 [m, h] reduced over the last dim:
    reduction on the fastest-striding dim, so dim0 = h (divided by the input vector size 4
    when h >= 128: "vectorize along input", Reduce.cuh L1100), dim1 = m; set_block_dimension with 512 threads;
    input split across block.x; across block.y (warps) only when values_per_thread >=
    min(block_height * 16, 256); across CTAs only when values_per_thread >= 256."""
    vec = 4 if h >= 128 else 1
    dim0 = h // vec
    dim1 = m
    max_threads = 512
    dim0_pow2 = last_pow2(dim0) if dim0 < max_threads else max_threads
    dim1_pow2 = last_pow2(dim1) if dim1 < max_threads else max_threads
    bw = min(dim0_pow2, WARP)
    bh = min(dim1_pow2, max_threads // bw)
    bw = min(dim0_pow2, max_threads // bh)
    step_input = bw
    values_per_thread = -(-h // step_input)
    split_y = values_per_thread >= min(bh * 16, 256)
    ctas = 1
    if split_y:
        step_input *= bh
        values_per_thread = -(-h // step_input)
        grid = -(-m // 1)
        target = sm_count * (max_threads_per_sm // (bw * bh))
        if values_per_thread >= 256 and grid <= target:
            c1 = -(-target // grid)
            c2 = -(-values_per_thread // 16)
            c3 = -(-values_per_thread // 256)
            ctas = max(min(c1, c2), c3)
    return ReduceConfig(bw, bh, split_y, ctas, vec)


def warp_shfl_down_tree(v: np.ndarray, width: int) -> np.ndarray:
    """Reduce.cuh block_x_reduce's warp stage on CUDA (torch 2.11 wheel header
    ATen/native/cuda/Reduce.cuh L656-668: "fix CUDA to have offset decreasing"; ROCm and fbcode
    keep 1, 2, 4, ..): for offset = width/2, .., 2, 1, value = combine(value,
    shfl_down(value, offset)); lane 0's result. v: [..., width]."""
    v = v.copy()
    off = width // 2
    while off >= 1:
        shifted = v.copy()
        shifted[..., : width - off] = v[..., off:width]
        v = (v + shifted).astype(F32)
        off //= 2
    return v[..., 0]


def reduce_cuh_sum_lastdim(x: np.ndarray) -> np.ndarray:
    """Sum over the last dim of f32 [m, h] as Reduce.cuh's vectorized thread reduce +
    block_x_reduce compute it (one block row per output, no block_y or global split)."""
    m, h = x.shape
    cfg = reduce_config_lastdim(m, h)
    if cfg.input_split_y or cfg.ctas_per_output != 1:
        raise NotImplementedError(f"Reduce.cuh config {cfg} (input split across warps/CTAs) is not emulated")
    bw, vec = cfg.block_width, cfg.vec
    if h % (bw * vec) != 0:
        raise NotImplementedError(f"h={h} not a multiple of block_width*vec={bw * vec}")
    # input_vectorized_thread_reduce_impl: thread t reads vectors t, t + bw, ..; lane i of each
    # vector goes to accumulator value_list[i] (ident 0 + first value is exact)
    v = x.reshape(m, h // (bw * vec), bw, vec)
    acc = np.zeros((m, bw, vec), dtype=F32)
    for k in range(v.shape[1]):
        acc = (acc + v[:, k]).astype(F32)
    thread = acc[..., 0]
    for i in range(1, vec):
        thread = (thread + acc[..., i]).astype(F32)
    # block_x_reduce: shared-memory halving while the width exceeds a warp, then the warp
    dim_x = bw
    if dim_x > WARP:
        off = dim_x // 2
        while off >= WARP:
            thread = thread.copy()
            thread[:, :off] = (thread[:, :off] + thread[:, off:2 * off]).astype(F32)
            off //= 2
        dim_x = WARP
    return warp_shfl_down_tree(thread[:, :dim_x], dim_x)


def mean_lastdim(x: np.ndarray, mode: str = "factor") -> np.ndarray:
    """torch.mean(-1) on CUDA: MeanOps projects sum * factor with
    factor = float(num_outputs) / numel (ReduceMomentKernel.cu mean_kernel_impl); mode 'divide'
    is the sum / h alternative, kept to let the captures decide."""
    m, h = x.shape
    s = reduce_cuh_sum_lastdim(x)
    if mode == "factor":
        factor = F32(F32(m) / F32(m * h))
        return (s * factor).astype(F32)
    return (s / F32(h)).astype(F32)


def fused_rms_norm_sumsq(x: np.ndarray, threads_x: int = 32, threads_y: int = 4, fma: bool = True) -> np.ndarray:
    """layer_norm_kernel.cu compute_stats<T, rms_norm=true> (L178-238): thread
    thrx = tx + ty*32 reads 4-element vectors thrx, thrx + 128, ..; each element
    sigma2 = sigma2 + val*val (contracted to one FFMA by nvcc's default -fmad=true); warp
    shfl_down with offsets 16, 8, 4, 2, 1; then warps merged through shared memory, the upper
    half onto the lower half (offset = blockDim.y/2 .. 1). Returns the row sums (before /N)."""
    m, h = x.shape
    numx = threads_x * threads_y
    vec = 4
    if h % (numx * vec) != 0:
        raise NotImplementedError(f"h={h} not a multiple of {numx * vec}")
    v = x.reshape(m, h // (numx * vec), numx, vec)
    acc = np.zeros((m, numx), dtype=F32)
    for k in range(v.shape[1]):
        for i in range(vec):
            e = v[:, k, :, i]
            acc = fma_f32(e, e, acc) if fma else (acc + (e * e).astype(F32)).astype(F32)
    lanes = acc.reshape(m, threads_y, threads_x)
    off = threads_x // 2
    while off > 0:
        lanes = lanes.copy()
        lanes[..., :off] = (lanes[..., :off] + lanes[..., off:2 * off]).astype(F32)
        off //= 2
    warps = lanes[..., 0]
    off = threads_y // 2
    while off > 0:
        warps = warps.copy()
        warps[:, :off] = (warps[:, :off] + warps[:, off:2 * off]).astype(F32)
        off //= 2
    return warps[:, 0]
