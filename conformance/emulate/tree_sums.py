"""Row sums of squares of the capture inputs by the emulated trees, for the TypeScript test
test/engines/conformanceTrees.test.ts (the layout module's plans must give the same bits).

    python3 conformance/emulate/tree_sums.py > conformance/tree-sums.json

For each input golden (conformance/inputs, N = 1): x = rank0.input, r = residual (bf16), and
  xf = f32(x) + f32(r)            (vllm-native's f32 residual sum; Inductor's for both chains)
  h  = bf16(f32(r) + f32(x))      (hf-llama's and F.rms_norm's bf16 residual sum)
the sums (f32 bits, one per row) of
  T1 (torch_eager.reduce_cuh_sum_lastdim) over RN(xf*xf) and over RN(h*h),
  T2 (torch_eager.fused_rms_norm_sumsq) over h,
  T3 (inductor.sum_of_squares) over xf, for every autotune candidate of the shape.
Every one of these emulations is part of a kernel that check.py finds bit-exact on the captures.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

import inductor
import torch_eager
from f32 import F32, bf16_to_f32, f32_to_bf16, read_safetensors

ROOT = Path(__file__).resolve().parents[1]


def bits(v: np.ndarray) -> list[int]:
    return [int(b) for b in np.asarray(v, dtype=F32).view(np.uint32)]


def main() -> int:
    out = []
    for path in sorted((ROOT / "inputs").glob("*.safetensors")):
        inputs, _ = read_safetensors(path)
        x, r = inputs["rank0.input"], inputs["residual"]
        m, h = x.shape
        xf = (bf16_to_f32(x) + bf16_to_f32(r)).astype(F32)
        hb = bf16_to_f32(f32_to_bf16(bf16_to_f32(r) + bf16_to_f32(x)))
        sums = {
            "torch-reduce:xf": bits(torch_eager.reduce_cuh_sum_lastdim((xf * xf).astype(F32))),
            "torch-reduce:h": bits(torch_eager.reduce_cuh_sum_lastdim((hb * hb).astype(F32))),
            "torch-rms-norm:h": bits(torch_eager.fused_rms_norm_sumsq(hb)),
        }
        for config in inductor.candidates(h):
            sums[f"inductor-sum:{config}:xf"] = bits(inductor.sum_of_squares(xf, config))
        out.append({"golden": path.name, "tokens": m, "hidden": h, "sums": sums})
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
