#!/usr/bin/env python3
"""A bit-exact emulation of one contract written as a kernel engineer would write it in numpy
(or torch), to time the oracle's engines against: f32 arrays, every rounding spelled out.

Contract: aiter fused 1-stage all-reduce + residual + RMSNorm (+ per-group FP8 quant), the
arithmetic of ROCm/aiter csrc/include/custom_all_reduce.cuh allreduce_fusion_kernel_1stage and
_1stage_per_group (PR 2586 round trip; the ulpwise `aiter-1stage` / `aiter-1stage-quant` presets):
  acc = x[0] + x[1] + ... + x[N-1] in f32; acc = bf16(acc) (RNE); x = acc + residual in f32;
  residual_out = bf16(x); sumsq: thread t sums squares of x[8t..8t+7] in order, threads padded
  with zeros to a multiple of 32, XOR butterfly per warp, then over next_pow2(warps);
  rstd = 1 / sqrt(sumsq / H + eps); y = (x * rstd) * w; norm = bf16(y);
  quant (G = 128, e4m3fnuz, max 240): scale = amax == 0 ? 1 : amax / 240; q = fp8(y / scale).

Usage: emulate.py CASE.safetensors [--backend numpy|torch-cpu|torch-cuda] [--repeat K]
Reads the inputs of a golden written by `ulpwise gen`, computes, compares every output's bits
with the golden's and prints one JSON line: timings (min/median/max ms) and mismatch counts.
The safetensors reader is a few lines of our own (Debian has no safetensors package).

The torch backends are the same contract written with torch ops on f32 tensors, as a kernel
engineer would check a kernel on the GPU: the inputs are moved to the device once, then each
timed call computes every output there (torch-cuda: CUDA events around the call, outputs left on
the GPU, as a fused kernel leaves them; "with readback" adds copying them into pinned host
memory). Two divisions are written tensor by tensor on purpose: torch turns a division by a
Python scalar into a multiply by its f32 reciprocal (pytorch@0f57f050
aten/src/ATen/native/cuda/BinaryDivTrueKernel.cu:36-48), which is not the contract's IEEE divide.
"""
import json
import statistics
import struct
import sys
import time

import warnings

import numpy as np

# Overflow and NaN inputs are part of the edge-case generators: numpy warns on each.
warnings.filterwarnings("ignore", category=RuntimeWarning)

DTYPES = {"BF16": np.uint16, "F32": np.uint32, "F8_E4M3FNUZ": np.uint8, "F8_E4M3FN": np.uint8}


def read_safetensors(path):
    with open(path, "rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(size))
        data = f.read()
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, info in header.items():
        begin, end = info["data_offsets"]
        tensors[name] = np.frombuffer(data[begin:end], dtype=DTYPES[info["dtype"]]).reshape(info["shape"])
    return tensors, meta


# ------------------------------------------------------------------------------------------
# numpy: f32 arithmetic on float32 arrays is IEEE single, correctly rounded per operation.

def bf16_rne_bits(f32):
    bits = f32.view(np.uint32)
    lsb = (bits >> 16) & 1
    rounded = ((bits + np.uint32(0x7FFF) + lsb) >> 16).astype(np.uint16)
    nan = (bits & 0x7FFFFFFF) > 0x7F800000
    return np.where(nan, ((bits >> 16) | 0x40).astype(np.uint16), rounded)


def bf16_to_f32(bits):
    return (bits.astype(np.uint32) << 16).view(np.float32)


def numpy_pad(a, extra):
    """a with `extra` zero columns appended on its last axis."""
    return np.concatenate([a, np.zeros(a.shape[:-1] + (extra,), a.dtype)], axis=-1)


def butterfly_sumsq(x, pad=numpy_pad, per_thread=8, warp=32):
    """aiter's sum of squares (numpy or torch arrays: `pad` appends zero columns)."""
    m, h = x.shape
    threads = h // per_thread
    sq = x.reshape(m, threads, per_thread)
    acc = sq[:, :, 0] * sq[:, :, 0]
    for k in range(1, per_thread):
        acc = acc + sq[:, :, k] * sq[:, :, k]
    padded = -(-threads // warp) * warp
    if padded != threads:
        acc = pad(acc, padded - threads)
    # Lane 0 of an XOR butterfly adds lane i + stride at each halving (addition commutes).
    lanes = acc.reshape(m, padded // warp, warp)
    while lanes.shape[2] > 1:
        half = lanes.shape[2] // 2
        lanes = lanes[:, :, :half] + lanes[:, :, half:]
    warps = lanes[:, :, 0]
    width = 1 << (warps.shape[1] - 1).bit_length()
    if width != warps.shape[1]:
        warps = pad(warps, width - warps.shape[1])
    while warps.shape[1] > 1:
        half = warps.shape[1] // 2
        warps = warps[:, :half] + warps[:, half:]
    return warps[:, 0]


def fp8_e4m3fnuz_overflow(y):
    """RNE to e4m3fnuz (bias 8, 3 mantissa bits, max 240); overflow and NaN give 0x80."""
    y64 = y.astype(np.float64)
    mag = np.abs(y64)
    _, exp = np.frexp(mag)  # mag = f * 2^exp, f in [0.5, 1)
    quantum_exp = np.maximum(exp - 1, -7) - 3
    quantum = np.ldexp(1.0, quantum_exp)
    rounded = np.rint(mag / quantum) * quantum  # exact: division by a power of two
    _, rexp = np.frexp(rounded)
    e = rexp - 1
    normal = rounded >= 2.0 ** -7
    mant = np.where(normal, rounded / np.ldexp(1.0, e) - 1.0, 0.0) * 8
    code = np.where(normal, ((e + 8) << 3) + mant.astype(np.int64), (rounded / 2.0 ** -10).astype(np.int64))
    code = np.where(rounded == 0, 0, code | np.where(y64 < 0, 0x80, 0))
    bad = np.isnan(y64) | (rounded > 240)
    return np.where(bad, 0x80, code).astype(np.uint8)


def emulate_numpy(t, hidden, ranks, eps, quant_group):
    acc = bf16_to_f32(t["rank0.input"])
    for r in range(1, ranks):
        acc = acc + bf16_to_f32(t[f"rank{r}.input"])
    acc = bf16_to_f32(bf16_rne_bits(acc))
    x = acc + bf16_to_f32(t["residual"])
    out = {"out.residual": bf16_rne_bits(x)}
    sumsq = butterfly_sumsq(x)
    variance = sumsq / np.float32(hidden) + np.float32(eps)
    rstd = np.float32(1) / np.sqrt(variance)
    w = t["weight"]
    w = bf16_to_f32(w) if w.dtype == np.uint16 else w.view(np.float32)
    y = (x * rstd[:, None]) * w[None, :]
    out["out.norm"] = bf16_rne_bits(y)
    if quant_group:
        m = y.shape[0]
        groups = y.reshape(m, hidden // quant_group, quant_group)
        # amax starts at 0 and fmaxf ignores NaN: an all-NaN group has amax 0 (scale 1).
        amax = np.fmax.reduce(np.abs(groups), axis=2, initial=np.float32(0))
        scale = np.where(amax == 0, np.float32(1), amax / np.float32(240)).astype(np.float32)
        q = groups / scale[:, :, None]
        out["out.q"] = fp8_e4m3fnuz_overflow(q.reshape(m, hidden))
        out["out.scale"] = scale.view(np.uint32)
    return out


# ------------------------------------------------------------------------------------------
# torch: the same contract with torch ops. CUDA float ops are IEEE single per operation (torch
# builds without fast-math), and float -> bfloat16 / float8 casts round to nearest even.

def torch_bf16_to_f32(torch, bits):
    return bits.view(torch.bfloat16).float()


def emulate_torch(torch, t, hidden, ranks, eps, quant_group):
    """t: name -> device tensor of the raw bits (int16 for bf16, int32 for f32)."""
    acc = torch_bf16_to_f32(torch, t["rank0.input"])
    for r in range(1, ranks):
        acc = acc + torch_bf16_to_f32(torch, t[f"rank{r}.input"])
    acc = acc.to(torch.bfloat16).float()
    x = acc + torch_bf16_to_f32(torch, t["residual"])
    out = {"out.residual": x.to(torch.bfloat16)}
    sumsq = butterfly_sumsq(x, lambda a, extra: torch.nn.functional.pad(a, (0, extra)))
    # Tensor by tensor: a Python scalar divisor would become a multiply by its reciprocal.
    variance = sumsq / torch.full_like(sumsq, hidden) + torch.full_like(sumsq, eps)
    rstd = torch.ones_like(variance) / torch.sqrt(variance)
    w = t["weight"]
    w = torch_bf16_to_f32(torch, w) if w.dtype == torch.int16 else w.view(torch.float32)
    y = (x * rstd[:, None]) * w[None, :]
    out["out.norm"] = y.to(torch.bfloat16)
    if quant_group:
        m = y.shape[0]
        groups = y.reshape(m, hidden // quant_group, quant_group)
        # fmaxf from 0 ignores NaN: an all-NaN group has amax 0 (scale 1).
        magnitude = groups.abs()
        amax = torch.where(torch.isnan(magnitude), torch.zeros_like(magnitude), magnitude).amax(dim=2)
        scale = torch.where(amax == 0, torch.ones_like(amax), amax / torch.full_like(amax, 240))
        q = (groups / scale[:, :, None]).reshape(m, hidden)
        # Overflow (|q| rounds past 240: from 248, the tie going to even 256) and NaN give the one
        # NaN code 0x80: e4m3fnuz has no infinity and no -0, so 0x80 is nothing else (a negative
        # value that rounds to zero is 0x00). The clamp leaves what rounds to 240 to the cast.
        overflow = torch.isnan(q) | (q.abs() >= 248)
        code = q.clamp(-240, 240).to(torch.float8_e4m3fnuz).view(torch.uint8)
        code = torch.where(code == 0x80, torch.zeros_like(code), code)
        out["out.q"] = torch.where(overflow, torch.full_like(code, 0x80), code)
        out["out.scale"] = scale
    return out


def time_torch(t, args, backend, repeat):
    import torch

    device = "cuda" if backend == "torch-cuda" else "cpu"
    signed = {np.uint16: torch.int16, np.uint32: torch.int32, np.uint8: torch.uint8}
    inputs = {}
    for name, array in t.items():
        if name.startswith("rank") or name in ("residual", "weight"):
            raw = torch.from_numpy(array.view({np.uint16: np.int16, np.uint32: np.int32}.get(array.dtype.type, array.dtype)).copy())
            assert raw.dtype == signed[array.dtype.type]
            inputs[name] = raw.to(device)

    def host_bits(tensor):
        raw = tensor.view({torch.bfloat16: torch.int16, torch.float32: torch.int32}.get(tensor.dtype, tensor.dtype)).cpu().numpy()
        return raw.view({np.int16: np.uint16, np.int32: np.uint32}.get(raw.dtype.type, raw.dtype))

    extra = {"device": torch.cuda.get_device_name() if device == "cuda" else "cpu", "torch": torch.__version__}
    emulate_torch(torch, inputs, *args)  # warm-up: kernels loaded, allocator primed
    times = []
    if device == "cuda":
        torch.cuda.synchronize()
        for _ in range(repeat):
            begin, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            begin.record()
            out = emulate_torch(torch, inputs, *args)
            end.record()
            end.synchronize()
            times.append(begin.elapsed_time(end))
        # The same with the outputs copied into pinned host memory, as a readback would.
        pinned = {name: torch.empty(tensor.shape, dtype=tensor.dtype, pin_memory=True) for name, tensor in out.items()}
        readback = []
        for _ in range(repeat):
            torch.cuda.synchronize()
            start = time.perf_counter()
            out = emulate_torch(torch, inputs, *args)
            for name, tensor in out.items():
                pinned[name].copy_(tensor, non_blocking=True)
            torch.cuda.synchronize()
            readback.append((time.perf_counter() - start) * 1000)
        extra["with readback ms"] = summary(readback)
    else:
        for _ in range(repeat):
            start = time.perf_counter()
            out = emulate_torch(torch, inputs, *args)
            times.append((time.perf_counter() - start) * 1000)
    return times, {name: host_bits(tensor) for name, tensor in out.items()}, extra


def count_mismatches(name, ours, golden):
    """Bits compared; NaN is compared as a class (the oracle's policy: payloads are not part of
    any kernel's contract, and numpy propagates them where the engines make the default NaN)."""
    ours = ours.reshape(-1)
    golden = golden.reshape(-1)
    differ = ours != golden
    if ours.dtype == np.uint16:
        differ &= ~(((ours & 0x7FFF) > 0x7F80) & ((golden & 0x7FFF) > 0x7F80))
    elif ours.dtype == np.uint32:
        differ &= ~(((ours & 0x7FFFFFFF) > 0x7F800000) & ((golden & 0x7FFFFFFF) > 0x7F800000))
    return int(np.count_nonzero(differ))


def main():
    path = sys.argv[1]
    backend = "numpy"
    repeat = 5
    args = sys.argv[2:]
    while args:
        flag = args.pop(0)
        if flag == "--backend":
            backend = args.pop(0)
        elif flag == "--repeat":
            repeat = int(args.pop(0))
        else:
            sys.exit(f"emulate.py: unknown flag {flag}")
    if backend not in ("numpy", "torch-cpu", "torch-cuda"):
        sys.exit(f"emulate.py: unknown backend {backend} (numpy, torch-cpu or torch-cuda)")
    if repeat < 1:
        sys.exit(f"emulate.py: --repeat must be at least 1, got {repeat}")
    t, meta = read_safetensors(path)
    case = json.loads(meta["ulpwise.case"])
    contract = json.loads(meta["ulpwise.contract"])
    quant = contract.get("quant")
    group = quant["groupSize"] if quant else 0
    args = (case["hidden"], case["ranks"], contract["norm"]["eps"], group)
    report = {"backend": backend, "case": path}
    if backend == "numpy":
        times = []
        for _ in range(repeat):
            start = time.perf_counter()
            out = emulate_numpy(t, *args)
            times.append((time.perf_counter() - start) * 1000)
    else:
        times, out, extra = time_torch(t, args, backend, repeat)
        report.update(extra)
    report["ms"] = summary(times)
    report["mismatches"] = {name: count_mismatches(name, out[name], t[name]) for name in out}
    print(json.dumps(report))
    if any(report["mismatches"].values()):
        sys.exit(1)


def summary(times):
    return {"min": min(times), "median": statistics.median(times), "max": max(times), "samples": len(times)}


if __name__ == "__main__":
    main()
