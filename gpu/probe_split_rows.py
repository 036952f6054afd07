"""Which order torch's Reduce.cuh combines a row that setReduceConfig splits over warps.

When values_per_thread >= min(block_height * 16, 256), a row is read by block_width x
block_height threads (input_mult[BLOCK_Y]). ReduceOp::run() then calls block_x_reduce before
block_y_reduce (bvillasen/pytorch@1718974f aten/src/ATen/native/cuda/Reduce.cuh:419-424): each
warp row is reduced along x first, and the rows' results are halved along y. The other order
(y first, per column, then x) is what ulpwise's torch-reduce plan computed before. This probe
runs `x.pow(2).sum(-1)` and `x.pow(2).mean(-1)` on the GPU for shapes whose rows split over
warps and counts, per shape, the rows each order reproduces bit for bit. Both orders are
transcribed here from the source with numpy float32 steps (each IEEE, nearest-even).

    python3 gpu/probe_split_rows.py OUT.json
"""

from __future__ import annotations

import json
import sys

import numpy as np
import torch

F32 = np.float32
VEC = 4
WARP = 32
# (tokens, hidden): rows split over warps, never over CTAs (values per thread < 256 after the split).
SHAPES = [(1, 16384), (2, 8192), (4, 16384), (8, 16384), (16, 8192), (16, 12288), (2, 7168), (16, 7168)]
ROWS_PER_SHAPE = 64  # launches of the shape, each with fresh seeded rows


def last_pow2(n: int) -> int:
    p = 1
    while p * 2 <= n:
        p *= 2
    return p


def config(m: int, h: int) -> tuple[int, int, bool]:
    """setReduceConfig's block for a contiguous f32 [m, h] reduced over h (Reduce.cuh:1033-1223)."""
    dim0 = h // VEC
    dim0_pow2 = last_pow2(dim0) if dim0 < 512 else 512
    dim1_pow2 = last_pow2(m) if m < 512 else 512
    bh = min(dim1_pow2, 512 // min(dim0_pow2, WARP))
    bw = min(dim0_pow2, 512 // bh)
    split = -(-h // bw) >= min(bh * 16, 256)
    return bw, bh, split


def halve(values: list[np.ndarray], stop: int) -> list[np.ndarray]:
    """Index i < offset adds i + offset, offset = len/2 .. stop (shared-memory halving)."""
    values = list(values)
    offset = len(values) // 2
    while offset >= stop:
        for i in range(offset):
            values[i] = (values[i] + values[i + offset]).astype(F32)
        offset //= 2
    return values


def block_x(row: list[np.ndarray]) -> np.ndarray:
    """block_x_reduce on CUDA: halving while wider than a warp, then shfl_down offsets 16..1."""
    if len(row) > WARP:
        row = halve(row, WARP)[:WARP]
    return halve(row, 1)[0]


def sums(x: np.ndarray, x_first: bool) -> np.ndarray:
    m, h = x.shape
    bw, bh, split = config(m, h)
    threads = bw * bh if split else bw
    vectors = x.reshape(m, h // VEC, VEC)

    def thread(t: int) -> np.ndarray:
        acc = [np.zeros(m, F32) for _ in range(VEC)]
        for v in range(t, h // VEC, threads):
            for i in range(VEC):
                acc[i] = (acc[i] + vectors[:, v, i]).astype(F32)
        total = acc[0]
        for i in range(1, VEC):
            total = (total + acc[i]).astype(F32)
        return total

    grid = [[thread(xx + yy * bw) for xx in range(bw)] for yy in range(bh if split else 1)]
    if x_first:
        return halve([block_x(row) for row in grid], 1)[0]
    columns = [halve([grid[yy][xx] for yy in range(len(grid))], 1)[0] for xx in range(bw)]
    return block_x(columns)


def main() -> None:
    out_path = sys.argv[1]
    rng = np.random.default_rng(2611)
    report = {"device": torch.cuda.get_device_name(), "torch": torch.__version__, "shapes": []}
    for m, h in SHAPES:
        bw, bh, split = config(m, h)
        counts = {"sum x-first": 0, "sum y-first": 0, "mean x-first": 0, "mean y-first": 0, "rows": 0}
        for _ in range(max(1, ROWS_PER_SHAPE // m)):
            x = rng.standard_normal((m, h)).astype(F32) * F32(2.0) ** rng.integers(-8, 8, size=(m, 1)).astype(F32)
            sq = (x * x).astype(F32)
            gpu = torch.from_numpy(x).cuda()
            got_sum = gpu.pow(2).sum(-1).cpu().numpy()
            got_mean = gpu.pow(2).mean(-1).cpu().numpy()
            factor = F32(F32(m) / F32(m * h))  # MeanOps: sum * (num_outputs / numel), ReduceMomentKernel.cu
            for name, first in (("x-first", True), ("y-first", False)):
                s = sums(sq, first)
                counts[f"sum {name}"] += int(np.count_nonzero(s.view(np.uint32) == got_sum.view(np.uint32)))
                counts[f"mean {name}"] += int(np.count_nonzero((s * factor).astype(F32).view(np.uint32) == got_mean.view(np.uint32)))
            counts["rows"] += m
        entry = {"tokens": m, "hidden": h, "blockWidth": bw, "blockHeight": bh, "rowOverWarps": split, **counts}
        report["shapes"].append(entry)
        print(json.dumps(entry), flush=True)
    with open(out_path, "w") as f:
        json.dump(report, f, indent=1)


if __name__ == "__main__":
    main()
