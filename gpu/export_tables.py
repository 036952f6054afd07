"""Turns the device's measure.npz (gpu/pack_approx.py) into the files the repository commits.

    python3 gpu/export_tables.py measure.npz [FULL_SETS_DIR]

Writes (atomically):
  src/numerics/hardware/data/sm90-rsqrt-approx-f32.diff.i8.gz   2^24 int8: hardware - correctly rounded, x in [1, 4)
  src/numerics/hardware/data/sm90-rcp-approx-f32.diff.i8.gz     2^23 int8, x in [1, 2)
                                                                (both as blocked gzip: blocked_gz)
  test/numerics/hardware-data/sm90-unary-spots.u32.gz           2^16 rows: input, rsqrt, rsqrt.ftz, rcp, rcp.ftz
  test/numerics/hardware-data/sm90-div-full.u32.gz              rows a, b, div.full, div.full.ftz: the first
                                                                2^14 pairs of each seeded set, then the edge pairs
and prints what the sweep found. It refuses a measurement whose ftz and non-ftz tables differ
on the period, whose reference failed the exact check, or whose tables have exceptions.
"""

from __future__ import annotations

import gzip
import os
import sys
import zlib
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def gz(data: bytes) -> bytes:
    return gzip.compress(data, compresslevel=9, mtime=0)


TABLE_BLOCK = 1 << 14  # entries per gzip member of a period table


def blocked_gz(data: bytes) -> bytes:
    """gzip members of TABLE_BLOCK bytes each, concatenated (any gunzip reads the whole), each
    naming its own compressed length in a 'BC' extra subfield as BGZF does (SAM/BAM format
    specification, section 4.1), so that src/numerics/hardware/sm90.ts inflates only the blocks
    it reads."""
    out = bytearray()
    for start in range(0, len(data), TABLE_BLOCK):
        block = data[start : start + TABLE_BLOCK]
        packer = zlib.compressobj(9, zlib.DEFLATED, -15)
        deflated = packer.compress(block) + packer.flush()
        member_size = 10 + 2 + 6 + len(deflated) + 8  # header, XLEN, the BC subfield, data, trailer
        header = b"\x1f\x8b\x08\x04" + b"\x00\x00\x00\x00" + b"\x02\xff" + (6).to_bytes(2, "little")
        out += header + b"BC" + (2).to_bytes(2, "little") + (member_size - 1).to_bytes(2, "little")
        out += deflated + zlib.crc32(block).to_bytes(4, "little") + len(block).to_bytes(4, "little")
    return bytes(out)


def mix32(x: np.ndarray) -> np.ndarray:
    x = x.astype(np.uint64)
    x ^= x >> np.uint64(16)
    x = (x * np.uint64(0x7FEB352D)) & np.uint64(0xFFFFFFFF)
    x ^= x >> np.uint64(15)
    x = (x * np.uint64(0x846CA68B)) & np.uint64(0xFFFFFFFF)
    x ^= x >> np.uint64(16)
    return x.astype(np.uint32)


def div_pairs(set_id: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """gpu/approx_measure.cu div_pair for indices 0..n-1."""
    i = np.arange(n, dtype=np.uint64)
    salt = np.uint64((0x9E3779B9 * (set_id + 1)) & 0xFFFFFFFF)
    ra = mix32((i * np.uint64(2) + salt) & np.uint64(0xFFFFFFFF))
    rb = mix32((i * np.uint64(2) + np.uint64(1) + salt) & np.uint64(0xFFFFFFFF))
    if set_id == 0:
        return ra, rb
    if set_id == 1:
        fa = (ra & np.uint32(0x807FFFFF)) | ((np.uint32(104) + (ra >> np.uint32(23)) % np.uint32(47)) << np.uint32(23))
        fb = (rb & np.uint32(0x807FFFFF)) | ((np.uint32(104) + (rb >> np.uint32(23)) % np.uint32(47)) << np.uint32(23))
        return fa.astype(np.uint32), fb.astype(np.uint32)
    fa = (ra & np.uint32(0x807FFFFF)) | ((np.uint32(1) + (ra >> np.uint32(23)) % np.uint32(254)) << np.uint32(23))
    fb = (rb & np.uint32(0x807FFFFF)) | ((np.uint32(252) + (rb >> np.uint32(23)) % np.uint32(3)) << np.uint32(23))
    return fa.astype(np.uint32), fb.astype(np.uint32)


def hw_of(z, name: str, ref: np.ndarray) -> np.ndarray:
    d = z[f"{name}/diff"].astype(np.int64)
    hw = ref.astype(np.int64) + d
    exc = z[f"{name}/exc_index"]
    hw[exc] = z[f"{name}/exc_hw"]
    return hw.astype(np.uint32)


def main() -> int:
    z = np.load(sys.argv[1])
    for op in ("rsqrt.approx", "rcp.approx"):
        plain, ftz = f"{op}.f32/diff", f"{op}.ftz.f32/diff"
        if not np.array_equal(z[plain], z[ftz]):
            print(f"{op}: ftz and non-ftz tables differ on the period", file=sys.stderr)
            return 2
        if z[f"{op}.f32/exc_index"].size:
            print(f"{op}: table entries more than 127 ULP from the reference", file=sys.stderr)
            return 2
    data = ROOT / "src" / "numerics" / "hardware" / "data"
    write_atomic(data / "sm90-rsqrt-approx-f32.diff.i8.gz", blocked_gz(z["rsqrt.approx.f32/diff"].tobytes()))
    write_atomic(data / "sm90-rcp-approx-f32.diff.i8.gz", blocked_gz(z["rcp.approx.f32/diff"].tobytes()))
    vec = ROOT / "test" / "numerics" / "hardware-data"
    write_atomic(vec / "sm90-unary-spots.u32.gz", gz(z["unary.spots"].astype("<u4").tobytes()))
    rows = []
    per_set = 1 << 14
    for s in range(3):
        a, b = div_pairs(s, 1 << 22)
        # the device's reference is __fdiv_rn; rebuild it here as numpy's IEEE f32 division
        with np.errstate(all="ignore"):
            ref = (a.view(np.float32) / b.view(np.float32)).view(np.uint32)
        ref = np.where((ref & 0x7FFFFFFF) > 0x7F800000, np.uint32(0x7FFFFFFF), ref)  # NVIDIA's canonical NaN
        hw = hw_of(z, f"div.full.f32.set{s}", ref)
        hw_ftz = hw_of(z, f"div.full.ftz.f32.set{s}", ref)
        rows.append(np.stack([a[:per_set], b[:per_set], hw[:per_set], hw_ftz[:per_set]], axis=1))
        if len(sys.argv) > 2:  # the whole set, for checking an emulation outside the repository
            np.save(Path(sys.argv[2]) / f"div_set{s}.npy", np.stack([a, b, hw, hw_ftz], axis=1))
    edges = z["div.full.f32.edges"].reshape(-1, 4)
    edges_ftz = z["div.full.ftz.f32.edges"].reshape(-1, 4)
    rows.append(np.stack([edges[:, 0], edges[:, 1], edges[:, 2], edges_ftz[:, 2]], axis=1))
    write_atomic(vec / "sm90-div-full.u32.gz", gz(np.concatenate(rows).astype("<u4").tobytes()))
    for k in z.files:
        if k.endswith("/mismatch"):
            print(k, z[k].size // 3, "rule mismatches stored")
    return 0


if __name__ == "__main__":
    sys.exit(main())
