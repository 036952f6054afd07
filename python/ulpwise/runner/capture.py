"""Capture real-kernel outputs on ulpwise golden inputs (N = 1 cases).

    python3 -m ulpwise.runner.capture --goldens DIR --out DIR [--probe-trees]

For every golden DIR/*.safetensors with one rank (rank0.input, residual, weight) it runs each
kernel of ulpwise.runner.kernels on the GPU, twice (the two runs must agree bit for bit), and
writes OUT/<kernel>__<golden>.safetensors holding the outputs under the golden's names, with
metadata `ulpwise.capture` (kernel, description, golden file and SHA-256). OUT/provenance.json
records the GPU, driver, CUDA, torch, Triton and NCCL versions, the environment and the CUDA
kernels each real kernel launched (torch.profiler). With --probe-trees it also records, for the
eager `mean(-1)` over [M, H] f32 at the golden's shape, the size of the reduction subtree that
joins leaves i and j (x_i = 2^40, x_j = -2^40, every other leaf 1: the mean times H counts the
leaves outside that subtree), which pins down the reduction tree independently of the source.

With one GPU the all-reduce is not run: x is the golden's rank-0 input (the case has N = 1),
so the captures test the residual add, norm and quant only.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Dict, List, NoReturn

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from . import kernels


def fail(message: str) -> NoReturn:
    print(f"capture: {message}", file=sys.stderr)
    sys.exit(2)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_golden(path: Path) -> tuple[Dict[str, torch.Tensor], Dict[str, str]]:
    tensors: Dict[str, torch.Tensor] = {}
    with safe_open(str(path), "pt") as f:
        metadata = f.metadata() or {}
        for name in f.keys():
            tensors[name] = f.get_tensor(name)
    for name in ("rank0.input", "residual", "weight"):
        if name not in tensors:
            fail(f"{path}: tensor '{name}' is missing (the runner takes N = 1 goldens with a residual)")
    if "rank1.input" in tensors:
        fail(f"{path}: has more than one rank; the single-GPU runner takes N = 1 goldens")
    if "ulpwise.contract" not in metadata:
        fail(f"{path}: metadata has no 'ulpwise.contract'; not an ulpwise golden")
    return tensors, metadata


def provenance() -> Dict[str, object]:
    def run(cmd: List[str]) -> str:
        try:
            return subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout.strip()
        except (OSError, subprocess.TimeoutExpired) as e:
            return f"unavailable: {e}"

    import triton  # bundled with torch

    props = torch.cuda.get_device_properties(0)
    nccl = torch.cuda.nccl.version() if hasattr(torch.cuda, "nccl") else None
    keep = ("CUDA", "NCCL", "TORCH", "TRITON", "NVIDIA", "PYTORCH")
    return {
        "gpu": props.name,
        "compute_capability": f"{props.major}.{props.minor}",
        "sm_count": props.multi_processor_count,
        "driver": run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"]),
        "cuda_runtime": torch.version.cuda,
        "torch": torch.__version__,
        "triton": triton.__version__,
        "nccl": ".".join(str(v) for v in nccl) if isinstance(nccl, tuple) else str(nccl),
        "python": platform.python_version(),
        "cudnn": torch.backends.cudnn.version(),
        "allow_tf32_matmul": torch.backends.cuda.matmul.allow_tf32,
        "env": {k: v for k, v in sorted(os.environ.items()) if k.startswith(keep)},
    }


def kernel_names(fn, args) -> List[str]:
    """CUDA kernels one call launches, with their grid and block (torch.profiler)."""
    from torch.profiler import ProfilerActivity, profile

    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        fn(*args)
        torch.cuda.synchronize()
    names = []
    for evt in prof.events():
        if evt.device_type == torch.autograd.DeviceType.CUDA:
            names.append(evt.name)
    return names


def probe_mean_tree(m: int, h: int, seed: int, random_pairs: int) -> Dict[str, List[int]]:
    """For pairs (i, j): H - mean(-1)*H of a row with 2^40 at i, -2^40 at j, 1 elsewhere, i.e.
    the number of leaves under the lowest common node of i and j in the reduction tree. Rows are
    launched M at a time so the reduction config is the capture's."""
    big = float(2**40)
    gen = torch.Generator().manual_seed(seed)
    pairs = [(0, j) for j in range(1, h)]
    rnd = torch.randint(0, h, (random_pairs, 2), generator=gen).tolist()
    pairs += [(a, b) for a, b in rnd if a != b]
    sizes: List[int] = []
    for start in range(0, len(pairs), m):
        chunk = pairs[start:start + m]
        t = torch.ones(m, h, dtype=torch.float32)
        for r, (a, b) in enumerate(chunk):
            t[r, a] = big
            t[r, b] = -big
        mean = t.cuda().mean(dim=-1).cpu()
        for r in range(len(chunk)):
            count = round(float(mean[r]) * h)
            sizes.append(h - count)
    return {"i": [p[0] for p in pairs], "j": [p[1] for p in pairs], "lca_leaves": sizes}


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--goldens", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--probe-trees", action="store_true")
    parser.add_argument("--no-compile", action="store_true", help="skip the torch.compile kernels")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        fail("no CUDA device: the runner measures real GPU kernels (use --help for what it does)")
    goldens = sorted(args.goldens.glob("*.safetensors"))
    if not goldens:
        fail(f"{args.goldens}: no .safetensors goldens")
    args.out.mkdir(parents=True, exist_ok=True)

    table = dict(kernels.EAGER)
    if not args.no_compile:
        table.update(kernels.compiled_kernels())
    prov = provenance()
    record: Dict[str, object] = {"provenance": prov, "captures": [], "kernels": {}}
    probes: Dict[str, object] = {}
    for gpath in goldens:
        tensors, metadata = load_golden(gpath)
        contract = json.loads(metadata["ulpwise.contract"])
        eps = float(contract["norm"]["eps"])
        x = tensors["rank0.input"].cuda()
        residual = tensors["residual"].cuda()
        weight = tensors["weight"].cuda()
        if weight.dtype != torch.bfloat16:
            fail(f"{gpath}: weight is {weight.dtype}; the native chains here take a bf16 weight")
        for name, fn in table.items():
            first = fn(x, residual, weight, eps)
            second = fn(x, residual, weight, eps)
            torch.cuda.synchronize()
            for key in first:
                a, b = first[key], second[key]
                if a.dtype == torch.float8_e4m3fn:
                    a, b = a.view(torch.uint8), b.view(torch.uint8)
                if not torch.equal(a.view(torch.uint8), b.view(torch.uint8)):
                    fail(f"{name} on {gpath.name}: two runs differ in {key}")
            out_name = f"{name}__{gpath.stem}.safetensors"
            meta = {
                "ulpwise.capture": json.dumps({
                    "kernel": name,
                    "description": kernels.DESCRIPTIONS[name],
                    "golden": gpath.name,
                    "golden_sha256": sha256_of(gpath),
                    "eps": eps,
                }, sort_keys=True),
            }
            cpu = {k: v.detach().contiguous().cpu() for k, v in first.items()}
            fd, tmp = tempfile.mkstemp(dir=args.out, suffix=".tmp")
            os.close(fd)
            save_file(cpu, tmp, metadata=meta)
            os.replace(tmp, args.out / out_name)
            key = f"{name}@m{x.shape[0]}h{x.shape[1]}"
            if key not in record["kernels"]:
                record["kernels"][key] = kernel_names(fn, (x, residual, weight, eps))
            record["captures"].append({"file": out_name, "kernel": name, "golden": gpath.name})
            print(f"captured {out_name}", flush=True)
        if args.probe_trees:
            m, h = x.shape
            probes[f"mean_m{m}_h{h}"] = probe_mean_tree(m, h, seed=h + m, random_pairs=4096)
            print(f"probed mean tree m{m} h{h}", flush=True)
        # written after every golden, so a run cut short still leaves a coherent record
        (args.out / "provenance.json").write_text(json.dumps(record, indent=1, sort_keys=True))
        if probes:
            (args.out / "probes.json").write_text(json.dumps(probes, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
