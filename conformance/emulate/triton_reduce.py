"""Triton's `tl.sum` over one axis of a blocked layout, as the NVIDIA backend lowers it
(triton-lang/triton lib/Conversion/TritonGPUToLLVM/ReduceOpToLLVM.cpp): each thread first
combines the elements it holds, in register order; then lanes are combined with butterfly
shuffles (shfl.sync.bfly, xor offsets from half the lanes down to 1); then warps, through
shared memory, with the same butterfly over the warp count.

A blocked layout along the reduced axis of length R with sizePerThread s, threadsPerWarp t
and warpsPerCTA w places element e at register (e // (s*t*w)) * s + e % s of lane
(e // s) % t of warp (e // (s*t)) % w.
"""

from __future__ import annotations

import numpy as np

from f32 import F32


def butterfly(v: np.ndarray) -> np.ndarray:
    """v: [..., n] lane values; xor shuffles n/2, .., 1; returns lane 0's (= every lane's) sum."""
    n = v.shape[-1]
    idx = np.arange(n)
    off = n // 2
    while off >= 1:
        v = (v + v[..., idx ^ off]).astype(F32)
        off //= 2
    return v[..., 0]


def tl_sum(x: np.ndarray, size_per_thread: int, threads: int, warps: int, within_thread: str = "sequential") -> np.ndarray:
    """Sum of x [m, R] over its last axis with the given layout along that axis."""
    m, r = x.shape
    tile = size_per_thread * threads * warps
    reps = max(1, r // tile)
    if r % tile != 0 and r > tile:
        raise NotImplementedError(f"R={r} is not a multiple of the layout tile {tile}")
    if r < tile:
        raise NotImplementedError(f"R={r} smaller than the layout tile {tile} (broadcast lanes)")
    # [m, rep, warp, lane, j] -> registers of each (warp, lane) in order (rep, j)
    v = x.reshape(m, reps, warps, threads, size_per_thread)
    regs = v.transpose(0, 2, 3, 1, 4).reshape(m, warps, threads, reps * size_per_thread)
    if within_thread == "sequential":
        acc = regs[..., 0]
        for k in range(1, regs.shape[-1]):
            acc = (acc + regs[..., k]).astype(F32)
    else:  # pairwise tree over the registers
        acc = regs
        while acc.shape[-1] > 1:
            half = acc.shape[-1] // 2
            acc = (acc[..., :half] + acc[..., half:2 * half]).astype(F32)
        acc = acc[..., 0]
    lanes = butterfly(acc)  # [m, warps]
    return butterfly(lanes)  # [m]: one warp needs no cross-warp step (n = 1)
