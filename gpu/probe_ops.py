"""Second device pass: intermediate f32 values of the real kernels, compared on the GPU machine
with the emulations of conformance/emulate, on many seeded rows (outputs in bf16 rarely show a
one-ULP change of a sum of squares; the f32 intermediates always do).

    PYTHONPATH=conformance/emulate:python python3 gpu/probe_ops.py OUT.json [INDUCTOR_CACHE_DIR]

For each alternative it reports how many values differ, so the report shows which choices the
data pins down:
  torch.rsqrt            vs rsqrt.approx.f32 (non-ftz) and .ftz, on the period [1, 4), every
                         positive subnormal and seeded values
  x.pow(2).mean(-1)      vs the Reduce.cuh tree with sum * RN(1/H) / sum / H / a sequential sum
  torch._fused_rms_norm  rstd vs compute_stats with FMA / without FMA / increasing warp offsets
  compiled chains        outputs vs the Inductor emulation for each autotune candidate
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

import approx
import inductor
import torch_eager
from f32 import F32

SHAPES = [(4, 2048), (16, 2048), (4, 4096), (16, 4096), (4, 7168), (16, 7168)]
LAUNCHES = 48
EPS = 1e-6


def bits(t: torch.Tensor) -> np.ndarray:
    t = t.detach().cpu().contiguous()
    if t.dtype == torch.bfloat16:
        return t.view(torch.int16).numpy().view(np.uint16)
    if t.dtype == torch.float8_e4m3fn:
        return t.view(torch.uint8).numpy()
    return t.numpy().view(np.uint32)


def rsqrt_check(report: dict) -> None:
    period = (np.uint32(0x3F800000) + np.arange(1 << 24, dtype=np.uint32)).view(F32)
    sub = np.arange(1, 1 << 23, dtype=np.uint32).view(F32)
    got_p = bits(torch.rsqrt(torch.from_numpy(period.copy()).cuda()))
    got_s = bits(torch.rsqrt(torch.from_numpy(sub.copy()).cuda()))
    want_p = approx.rsqrt_period_table()
    # non-ftz on subnormals: normalize by 2^24 (an exact power of 4) and scale the result by 2^12
    scaled = (sub.astype(np.float64) * 2.0**24).astype(F32)
    want_s = (approx.rsqrt_approx(scaled).view(np.uint32).astype(np.int64) + (12 << 23)).astype(np.uint32)
    report["torch.rsqrt"] = {
        "period_vs_rsqrt.approx.f32": int((got_p != want_p).sum()),
        "subnormals_vs_rsqrt.approx.f32": int((got_s != want_s).sum()),
        "subnormals_vs_rsqrt.approx.ftz.f32 (+Inf)": int((got_s != 0x7F800000).sum()),
    }


def eager_checks(report: dict) -> None:
    gen = torch.Generator(device="cuda").manual_seed(1234)
    out = {}
    for m, h in SHAPES:
        c = {"mean factor": 0, "mean divide": 0, "mean sequential": 0, "values": 0,
             "rstd fma": 0, "rstd no-fma": 0, "rstd warp-increasing": 0, "rstd correctly-rounded-rsqrt": 0, "rows": 0}
        for _ in range(LAUNCHES):
            xf = (torch.randn(m, h, device="cuda", generator=gen) * torch.rand(m, 1, device="cuda", generator=gen) * 4)
            var = bits(xf.pow(2).mean(dim=-1, keepdim=True)).reshape(m)
            sq = (xf.cpu().numpy().astype(F32) ** 2).astype(F32)
            c["mean factor"] += int((torch_eager.mean_lastdim(sq).view(np.uint32) != var).sum())
            c["mean divide"] += int((torch_eager.mean_lastdim(sq, "divide").view(np.uint32) != var).sum())
            seq = (np.cumsum(sq, axis=1, dtype=F32)[:, -1] * (F32(1) / F32(h))).astype(F32)
            c["mean sequential"] += int((seq.view(np.uint32) != var).sum())
            c["values"] += m
            xb = xf.to(torch.bfloat16)
            w = torch.ones(h, device="cuda", dtype=torch.bfloat16)
            _, rstd = torch.ops.aten._fused_rms_norm(xb, [h], w, EPS)
            rstd = bits(rstd).reshape(m)
            hb = xb.float().cpu().numpy().astype(F32)
            for name, kw in (("rstd fma", {}), ("rstd no-fma", {"fma": False})):
                ms = (torch_eager.fused_rms_norm_sumsq(hb, **kw) / F32(h)).astype(F32)
                c[name] += int((approx.rsqrt_approx((ms + F32(EPS)).astype(F32)).view(np.uint32) != rstd).sum())
            ms = (torch_eager.fused_rms_norm_sumsq(hb) / F32(h)).astype(F32)
            cr = (1.0 / np.sqrt((ms + F32(EPS)).astype(F32).astype(np.float64))).astype(F32)
            c["rstd correctly-rounded-rsqrt"] += int((cr.view(np.uint32) != rstd).sum())
            c["rows"] += m
        out[f"m{m}_h{h}"] = c
        print("eager", m, h, c, flush=True)
    report["eager"] = out


def compiled_checks(report: dict) -> None:
    from ulpwise.runner import kernels as runner_kernels

    fns = runner_kernels.compiled_kernels()
    emus = {"compiled-vllm-native": inductor.vllm_native, "compiled-hf-llama": inductor.hf_llama,
            "compiled-vllm-native-quant": inductor.vllm_native_quant}
    gen = torch.Generator(device="cuda").manual_seed(99)
    out = {}
    for m, h in SHAPES:
        for name, fn in fns.items():
            counts = {cfg: 0 for cfg in inductor.candidates(h)}
            elements = 0
            for _ in range(LAUNCHES // 4):
                x = (torch.randn(m, h, device="cuda", generator=gen) * 2).to(torch.bfloat16)
                r = (torch.randn(m, h, device="cuda", generator=gen) * 2).to(torch.bfloat16)
                w = (torch.rand(h, device="cuda", generator=gen) + 0.5).to(torch.bfloat16)
                real = {k: bits(v) for k, v in fn(x, r, w, EPS).items()}
                args = (bits(x).reshape(m, h), bits(r).reshape(m, h), bits(w), EPS)
                for cfg in counts:
                    emu = emus[name](*args, cfg)
                    for k, v in real.items():
                        e = np.asarray(emu[k]).reshape(v.shape)
                        if k == "out.scale":
                            e = e.view(np.uint32)
                        counts[cfg] += int((v != e).sum())
                elements += sum(v.size for v in real.values())
            out[f"{name}_m{m}_h{h}"] = {"differ_by_config": counts, "elements": elements}
            print("compiled", name, m, h, counts, elements, flush=True)
    report["compiled"] = out


def main() -> int:
    report: dict = {"torch": torch.__version__, "gpu": torch.cuda.get_device_name(0)}
    rsqrt_check(report)
    eager_checks(report)
    compiled_checks(report)
    if len(sys.argv) > 2:  # the autotuner's choices, kept beside each generated kernel
        report["best_configs"] = {p.name: json.loads(p.read_text()) for p in Path(sys.argv[2]).rglob("*.best_config")}
    Path(sys.argv[1]).write_text(json.dumps(report, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
