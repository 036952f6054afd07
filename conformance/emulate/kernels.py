"""Bit-exact emulations of the captured real kernels (conformance/SPECS.md gives each one's
arithmetic in words; this is the same, executable). Each takes the case inputs as raw arrays
(bf16 as uint16 [M, H], weight bf16 [H]) and eps, and returns the outputs as raw arrays under
the golden's names: out.residual / out.norm (uint16 bf16), out.q (uint8 e4m3fn),
out.scale (float32)."""

from __future__ import annotations

from typing import Callable, Dict

import numpy as np

import inductor
import torch_eager
from approx import rsqrt_approx
from f32 import F32, bf16_to_f32, f32_to_bf16, f32_to_e4m3fn, round_bf16

Arrays = Dict[str, np.ndarray]
Emulation = Callable[[np.ndarray, np.ndarray, np.ndarray, float], Arrays]

FP8_MAX = F32(448.0)
GROUP = 128


def _rstd(variance: np.ndarray, eps: float) -> np.ndarray:
    # variance + eps: the Python float eps is cast to f32 before the f32 add (TensorIterator
    # with a CPU scalar; Inductor's constant is the same f32); then rsqrt.approx.f32.
    return rsqrt_approx((variance + F32(eps)).astype(F32))


def torch_f_rms_norm(x: np.ndarray, res: np.ndarray, w: np.ndarray, eps: float) -> Arrays:
    hidden = f32_to_bf16(bf16_to_f32(res) + bf16_to_f32(x))
    hf = bf16_to_f32(hidden)
    h = x.shape[1]
    # compute_stats<T, rms_norm>: the f32 sum of squares, then sigma2 / float(N) (IEEE div.rn)
    mean_sq = (torch_eager.fused_rms_norm_sumsq(hf) / F32(h)).astype(F32)
    rstd = _rstd(mean_sq, eps)[:, None]
    # vectorized_layer_norm_kernel_impl L283: gamma * (rstd * x), then the bf16 store
    out = (bf16_to_f32(w)[None, :] * (rstd * hf).astype(F32)).astype(F32)
    return {"out.residual": hidden, "out.norm": f32_to_bf16(out)}


def _native_norm(xf: np.ndarray, w: np.ndarray, eps: float) -> np.ndarray:
    """variance = mean(x*x); bf16(x * rsqrt(variance + eps)) * w, the product rounded to bf16."""
    sq = (xf * xf).astype(F32)
    variance = torch_eager.mean_lastdim(sq)
    rstd = _rstd(variance, eps)[:, None]
    normed = round_bf16((xf * rstd).astype(F32))
    return f32_to_bf16((normed * bf16_to_f32(w)[None, :]).astype(F32))


def vllm_native(x: np.ndarray, res: np.ndarray, w: np.ndarray, eps: float) -> Arrays:
    xf = (bf16_to_f32(x) + bf16_to_f32(res)).astype(F32)
    return {"out.residual": f32_to_bf16(xf), "out.norm": _native_norm(xf, w, eps)}


def hf_llama(x: np.ndarray, res: np.ndarray, w: np.ndarray, eps: float) -> Arrays:
    hidden = f32_to_bf16(bf16_to_f32(res) + bf16_to_f32(x))
    return {"out.residual": hidden, "out.norm": _native_norm(bf16_to_f32(hidden), w, eps)}


def quant_group_eager(norm_bf16: np.ndarray) -> Arrays:
    """QuantFP8._quantize_group_native in eager CUDA: absmax of each group (exact); the scale is
    absmax * fround(1/448), since true division by a CPU scalar is a multiply by the f32
    reciprocal (BinaryDivTrueKernel.cu); clamp below at f32(1/(448*512)); x / scale is a
    tensor-tensor true division (IEEE); clamp to +-448; RNE cast to e4m3fn."""
    m, h = norm_bf16.shape
    xf = bf16_to_f32(norm_bf16).reshape(m, h // GROUP, GROUP)
    absmax = np.max(np.abs(xf), axis=-1, keepdims=True).astype(F32)
    scale = (absmax * (F32(1.0) / FP8_MAX)).astype(F32)
    scale = np.maximum(scale, F32(1.0 / (448.0 * 512.0))).astype(F32)
    q = np.clip((xf / scale).astype(F32), -FP8_MAX, FP8_MAX)
    return {"out.q": f32_to_e4m3fn(q).reshape(m, h), "out.scale": scale.reshape(m, h // GROUP)}


def vllm_native_quant(x: np.ndarray, res: np.ndarray, w: np.ndarray, eps: float) -> Arrays:
    out = vllm_native(x, res, w, eps)
    out.update(quant_group_eager(out["out.norm"]))
    return out


CONFIG_CANDIDATES = {
    "compiled-vllm-native": inductor.candidates,
    "compiled-hf-llama": inductor.candidates,
    "compiled-vllm-native-quant": inductor.candidates,
}

EMULATIONS: Dict[str, Emulation] = {
    "torch-f-rms-norm": torch_f_rms_norm,
    "vllm-native": vllm_native,
    "hf-llama": hf_llama,
    "vllm-native-quant": vllm_native_quant,
    "compiled-vllm-native": inductor.vllm_native,
    "compiled-hf-llama": inductor.hf_llama,
    "compiled-vllm-native-quant": inductor.vllm_native_quant,
}
