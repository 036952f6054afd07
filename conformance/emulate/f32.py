"""Exact f32 / bf16 / fp8 arithmetic on numpy arrays, for the kernel emulations.

numpy's float32 + - * / are IEEE binary32 operations, correctly rounded to nearest-even with
subnormals kept: that is what a CUDA/Triton kernel's FADD/FMUL do (no FTZ in these kernels).
What numpy lacks is a single-rounding f32 fma (FFMA) and the format conversions; they are
written here on integer bit patterns.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Dict, Tuple

import numpy as np

F32 = np.float32


def f32_bits(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=F32).view(np.uint32)


def f32_from_bits(b: np.ndarray) -> np.ndarray:
    return np.asarray(b, dtype=np.uint32).view(F32)


def fma_f32(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """round_f32(a * b + c) with one rounding (FFMA), for finite f32 operands.

    a*b is exact in float64 (24 + 24 bits); s = a*b + c in float64 with its exact error e
    (TwoSum). Rounding s to f32 gives the right answer unless s sits exactly on an f32 rounding
    midpoint (a double, 25 significant bits) with e != 0, in which case the sign of e decides.
    """
    a64 = np.asarray(a, dtype=F32).astype(np.float64)
    b64 = np.asarray(b, dtype=F32).astype(np.float64)
    c64 = np.asarray(c, dtype=F32).astype(np.float64)
    p = a64 * b64
    s = p + c64
    bb = s - p
    e = (p - (s - bb)) + (c64 - bb)
    r = s.astype(F32)
    r64 = r.astype(np.float64)
    # is s an f32 midpoint? then r64 != s and the neighbour on the other side is equally near
    with np.errstate(over="ignore", invalid="ignore"):
        other = np.where(r64 < s, np.nextafter(r, F32(np.inf)), np.nextafter(r, F32(-np.inf))).astype(np.float64)
        midpoint = (r64 != s) & (np.abs(other - s) == np.abs(r64 - s))
    fix = midpoint & (e != 0)
    if np.any(fix):
        # the exact value lies beyond the midpoint in e's direction: pick the f32 on that side
        up = e > 0
        lo = np.minimum(r64, other)
        hi = np.maximum(r64, other)
        chosen = np.where(up, hi, lo).astype(F32)
        r = np.where(fix, chosen, r)
    return r.astype(F32)


def bf16_to_f32(b: np.ndarray) -> np.ndarray:
    return (np.asarray(b, dtype=np.uint16).astype(np.uint32) << 16).view(F32)


def f32_to_bf16(x: np.ndarray) -> np.ndarray:
    """Round to nearest-even (NaN kept quiet), as torch's and Triton's casts do."""
    u = np.asarray(x, dtype=F32).view(np.uint32).astype(np.uint64)
    nan = (u & 0x7FFFFFFF) > 0x7F800000
    rounded = (u + 0x7FFF + ((u >> 16) & 1)) >> 16
    out = np.where(nan, (u >> 16) | 0x40, rounded)
    return out.astype(np.uint16)


def round_bf16(x: np.ndarray) -> np.ndarray:
    return bf16_to_f32(f32_to_bf16(x))


def _e4m3fn_values() -> np.ndarray:
    vals = np.zeros(256, dtype=np.float64)
    for code in range(256):
        sign = -1.0 if code & 0x80 else 1.0
        exp = (code >> 3) & 0xF
        man = code & 0x7
        if exp == 0xF and man == 0x7:
            vals[code] = np.nan
        elif exp == 0:
            vals[code] = sign * man * 2.0 ** -9
        else:
            vals[code] = sign * (1 + man / 8) * 2.0 ** (exp - 7)
    return vals


E4M3FN_VALUES = _e4m3fn_values()


def f32_to_e4m3fn(x: np.ndarray) -> np.ndarray:
    """Nearest-even to e4m3fn, saturating at 448 (inputs here are already clamped to +-448)."""
    x64 = np.asarray(x, dtype=F32).astype(np.float64)
    mag = np.abs(x64)
    pos = E4M3FN_VALUES[:127]  # codes 0..126 ascending, 0 .. 448
    idx = np.searchsorted(pos, mag, side="left")  # pos[idx-1] < mag <= pos[idx]
    idx = np.clip(idx, 1, 126)
    lo_code = idx - 1
    hi_code = idx
    exact = pos[np.clip(idx, 0, 126)] == mag
    dlo = mag - pos[lo_code]
    dhi = pos[hi_code] - mag
    pick_hi = (dhi < dlo) | ((dhi == dlo) & (hi_code % 2 == 0))
    code = np.where(exact, hi_code, np.where(pick_hi, hi_code, lo_code))
    code = np.where(mag == 0, 0, code)
    code = np.where(mag >= 448, 126, code)
    sign = (np.signbit(x64)).astype(np.int64) << 7
    return (code | sign).astype(np.uint8)


def read_safetensors(path: Path) -> Tuple[Dict[str, np.ndarray], Dict[str, str]]:
    """Raw arrays (bf16 as uint16, fp8 as uint8, f32 as float32) and the metadata."""
    data = path.read_bytes()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    meta = header.pop("__metadata__", {}) or {}
    base = 8 + n
    kinds = {"BF16": np.uint16, "F32": np.float32, "F16": np.uint16, "U8": np.uint8,
             "F8_E4M3": np.uint8, "F8_E4M3FNUZ": np.uint8, "F8_E5M2": np.uint8, "F8_E5M2FNUZ": np.uint8}
    out: Dict[str, np.ndarray] = {}
    for name, info in header.items():
        start, end = info["data_offsets"]
        arr = np.frombuffer(data[base + start: base + end], dtype=kinds[info["dtype"]])
        out[name] = arr.reshape(info["shape"]).copy()
    return out, meta
