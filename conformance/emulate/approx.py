"""sm_90 approximate instructions for the emulations, from the committed measurement
(src/numerics/hardware/data/*.diff.i8.gz: hardware minus correctly rounded, in f32 ULP, over
one period of the input; gpu/MEASUREMENTS.md). Only what the kernels here feed them is
handled: positive normal inputs (rsqrt, rcp) and finite normal operands (div.full); anything
else raises, so an emulation never silently leaves the measured range."""

from __future__ import annotations

import gzip
from functools import lru_cache
from pathlib import Path

import numpy as np

from f32 import F32

DATA = Path(__file__).resolve().parents[2] / "src" / "numerics" / "hardware" / "data"


def _cr_rsqrt_period() -> np.ndarray:
    """Correctly rounded 1/sqrt(x) for x = 1 + i*2^-23 .. (the 2^24 inputs of [1, 4))."""
    xb = (np.uint32(0x3F800000) + np.arange(1 << 24, dtype=np.uint32)).astype(np.uint32)
    x = xb.view(F32).astype(np.float64)
    est = 1.0 / np.sqrt(x)
    y = est.astype(F32)
    yb = y.view(np.uint32)
    # midpoints either side of y; the f64 estimate is within 2^-52 relative of the exact value
    up = (yb + 1).view(F32).astype(np.float64)
    down = (yb - 1).view(F32).astype(np.float64)
    yv = y.astype(np.float64)
    mid = np.where(est >= yv, (yv + up) / 2, (yv + down) / 2)
    risky = np.nonzero(np.abs(est - mid) <= est * 2.0 ** -45)[0]
    for i in risky:  # exact integer test, as in gpu/approx_measure.cu
        xbits = int(xb[i])
        for cand in (int(yb[i]), int(yb[i]) - 1, int(yb[i]) + 1):
            if _nearest_rsqrt(xbits, cand):
                yb[i] = cand
                break
        else:
            raise AssertionError(f"no correctly rounded rsqrt for {xbits:#x}")
    return yb


def _nearest_rsqrt(xbits: int, ybits: int) -> bool:
    mx = (xbits & 0x7FFFFF) | 0x800000
    ex = ((xbits >> 23) & 0xFF) - 150
    my = (ybits & 0x7FFFFF) | 0x800000
    ey = ((ybits >> 23) & 0xFF) - 150
    e = 2 * (ey - 1) + ex
    if e > 0:
        return False
    one = 1 << (-e)
    return (2 * my - 1) ** 2 * mx < one < (2 * my + 1) ** 2 * mx


@lru_cache(maxsize=None)
def rsqrt_period_table() -> np.ndarray:
    diffs = np.frombuffer(gzip.decompress((DATA / "sm90-rsqrt-approx-f32.diff.i8.gz").read_bytes()), dtype=np.int8)
    return (_cr_rsqrt_period().astype(np.int64) + diffs).astype(np.uint32)


@lru_cache(maxsize=None)
def rcp_period_table() -> np.ndarray:
    diffs = np.frombuffer(gzip.decompress((DATA / "sm90-rcp-approx-f32.diff.i8.gz").read_bytes()), dtype=np.int8)
    xb = (np.uint32(0x3F800000) + np.arange(1 << 23, dtype=np.uint32)).astype(np.uint32)
    # 1/x for x in [1, 2): numpy's f32 division is correctly rounded
    cr = (F32(1.0) / xb.view(F32)).view(np.uint32)
    return (cr.astype(np.int64) + diffs).astype(np.uint32)


def rsqrt_approx(x: np.ndarray) -> np.ndarray:
    """rsqrt.approx.f32 on positive normal f32 inputs (the variance + eps of an RMSNorm)."""
    xb = np.asarray(x, dtype=F32).view(np.uint32)
    bexp = (xb >> 23).astype(np.int64)
    if np.any((bexp == 0) | (bexp >= 255) | ((xb >> 31) != 0)):
        raise ValueError("rsqrt_approx: input outside the positive normal range")
    e = bexp - 127
    k = np.floor_divide(e, 2)
    idx = (xb & 0x7FFFFF).astype(np.int64) | ((e - 2 * k) << 23)
    t = rsqrt_period_table()[idx].astype(np.int64)
    return (t - k * 0x800000).astype(np.uint32).view(F32)


def rcp_approx(x: np.ndarray) -> np.ndarray:
    """rcp.approx.f32 on normal f32 inputs whose reciprocal is normal."""
    xb = np.asarray(x, dtype=F32).view(np.uint32)
    sign = xb & np.uint32(0x80000000)
    bexp = ((xb >> 23) & 0xFF).astype(np.int64)
    if np.any((bexp == 0) | (bexp >= 254)):
        raise ValueError("rcp_approx: input outside the range handled here")
    t = rcp_period_table()[(xb & 0x7FFFFF).astype(np.int64)].astype(np.int64)
    yexp = (t >> 23) - (bexp - 127)
    return (sign | ((yexp << 23) | (t & 0x7FFFFF)).astype(np.uint32)).view(F32)


def rcp_approx_ftz(x: np.ndarray) -> np.ndarray:
    """MUFU.RCP / rcp.approx.ftz.f32 on normal inputs with a normal reciprocal (same table)."""
    return rcp_approx(x)


def div_full(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """div.full.f32 (src/numerics/hardware/sm90Div.ts gives the SASS): for a normal divisor with
    2^-126 <= |b| <= 2^126 it is one FMUL, a * MUFU.RCP(b), rounded to nearest (subnormal
    results kept). Divisors outside that range raise here (the 1/4 and 2^24 pre-scalings are
    only in the TypeScript emulation, which the GPU checked on every class of input)."""
    bm = np.abs(np.asarray(b, dtype=F32))
    if np.any((bm < F32(2.0**-126)) | (bm > F32(2.0**126)) | ~np.isfinite(bm)):
        raise ValueError("div_full: divisor outside [2^-126, 2^126]")
    return (np.asarray(a, dtype=F32) * rcp_approx_ftz(b)).astype(F32)
