"""Packs approx_measure's raw output (OUTDIR of u32 arrays) into one compressed npz.

    python3 gpu/pack_approx.py MEASURE_DIR OUT.npz

Each hardware array is stored as its difference from the correctly rounded reference, in
int8 where |difference| <= 127 (as signed differences of the bit patterns: one unit is one f32
ULP for same-sign finite results), with the entries that do not fit listed beside it
(index and raw hardware bits). The references themselves are not stored: they are the
correctly rounded results, recomputed by whoever reads the file.
"""
import sys
from pathlib import Path

import numpy as np


def diff_pack(hw: np.ndarray, ref: np.ndarray):
    d = hw.astype(np.int64) - ref.astype(np.int64)
    small = np.abs(d) <= 127
    d8 = np.where(small, d, -128).astype(np.int8)
    exc = np.nonzero(~small)[0].astype(np.uint32)
    return d8, exc, hw[exc]


def main() -> int:
    src, dst = Path(sys.argv[1]), Path(sys.argv[2])
    arrays = {}
    for table in sorted(src.glob("*.table.u32")):
        op = table.name[: -len(".table.u32")]
        hw = np.fromfile(table, dtype=np.uint32)
        ref = np.fromfile(src / f"{op}.ref.u32", dtype=np.uint32)
        d8, exc, exc_hw = diff_pack(hw, ref)
        arrays[f"{op}/diff"] = d8
        arrays[f"{op}/exc_index"] = exc
        arrays[f"{op}/exc_hw"] = exc_hw
        arrays[f"{op}/mismatch"] = np.fromfile(src / f"{op}.mismatch.u32", dtype=np.uint32)
    for hwf in sorted(src.glob("div.*.hw.u32")):
        name = hwf.name[: -len(".hw.u32")]
        hw = np.fromfile(hwf, dtype=np.uint32)
        ref = np.fromfile(src / f"{name}.ref.u32", dtype=np.uint32)
        d8, exc, exc_hw = diff_pack(hw, ref)
        arrays[f"{name}/diff"] = d8
        arrays[f"{name}/exc_index"] = exc
        arrays[f"{name}/exc_hw"] = exc_hw
    arrays["unary.spots"] = np.fromfile(src / "unary.spots.u32", dtype=np.uint32)
    for edges in sorted(src.glob("div.*.edges.u32")):
        arrays[edges.name[: -len(".u32")]] = np.fromfile(edges, dtype=np.uint32)
    np.savez_compressed(dst, **arrays)
    for k, v in arrays.items():
        if k.endswith("exc_index"):
            print(k, "exceptions", v.size)
    print("wrote", dst, dst.stat().st_size, "bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
