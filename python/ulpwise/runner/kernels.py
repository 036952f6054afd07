"""The real kernels the runner calls, written as the libraries' native paths write them.

Each function takes the N = 1 case inputs (x = the all-reduce result as bf16 [M, H], residual
bf16 [M, H], weight bf16 [H]) and returns the outputs under the golden's names. The torch ops
are the libraries' own (F.rms_norm, pow, mean, rsqrt, ...); only the order in which the native
Python paths call them is restated here, with the source line it follows.
"""

from __future__ import annotations

from typing import Callable, Dict

import torch
import torch.nn.functional as F

Outputs = Dict[str, torch.Tensor]
Kernel = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, float], Outputs]

# vLLM's per-group FP8 constants on CUDA (e4m3fn): get_fp8_min_max() gives +-448 and
# _FP8_MIN_SCALING_FACTOR = 1 / (448 * 512)
# (vllm-project/vllm@014af6b5 vllm/model_executor/layers/quantization/input_quant_fp8.py L19-20).
FP8_MAX = 448.0
FP8_MIN_SCALING_FACTOR = 1.0 / (FP8_MAX * 512.0)
GROUP_SIZE = 128


def vllm_rms_norm_native(x: torch.Tensor, residual: torch.Tensor, weight: torch.Tensor, eps: float) -> Outputs:
    """vLLM RMSNorm.forward_native with a residual
    (vllm-project/vllm@00cba797 vllm/model_executor/layers/layernorm.py, RMSNorm.forward_native):
    the residual is added in f32 and stored as bf16, the norm reads the unrounded f32 sum,
    variance = x.pow(2).mean(-1), x * rsqrt(variance + eps) cast to bf16, then times the weight."""
    orig_dtype = x.dtype
    xf = x.to(torch.float32)
    xf = xf + residual.to(torch.float32)
    residual_out = xf.to(orig_dtype)
    variance = xf.pow(2).mean(dim=-1, keepdim=True)
    normed = xf * torch.rsqrt(variance + eps)
    normed = normed.to(orig_dtype)
    normed = normed * weight
    return {"out.residual": residual_out, "out.norm": normed}


def hf_llama_rms_norm(x: torch.Tensor, residual: torch.Tensor, weight: torch.Tensor, eps: float) -> Outputs:
    """Hugging Face Llama: the decoder layer adds the residual in the model dtype
    (`hidden_states = residual + hidden_states`), then LlamaRMSNorm.forward
    (huggingface/transformers src/transformers/models/llama/modeling_llama.py): f32 cast,
    pow(2).mean(-1), x * rsqrt(variance + eps), cast back, weight * x."""
    hidden = residual + x
    input_dtype = hidden.dtype
    hs = hidden.to(torch.float32)
    variance = hs.pow(2).mean(-1, keepdim=True)
    hs = hs * torch.rsqrt(variance + eps)
    return {"out.residual": hidden, "out.norm": weight * hs.to(input_dtype)}


def torch_f_rms_norm(x: torch.Tensor, residual: torch.Tensor, weight: torch.Tensor, eps: float) -> Outputs:
    """torch.nn.functional.rms_norm on the bf16 residual sum (its own fused CUDA kernel)."""
    hidden = residual + x
    return {"out.residual": hidden, "out.norm": F.rms_norm(hidden, (hidden.shape[-1],), weight, eps)}


def vllm_quantize_group_native(x: torch.Tensor) -> Outputs:
    """vLLM QuantFP8._quantize_group_native, dynamic per-token-group, no UE8M0, row-major scales
    (vllm-project/vllm@014af6b5 input_quant_fp8.py L161-195): absmax of each group of the bf16
    input, scale = absmax.float() / 448 clamped below at 1/(448*512), x / scale clamped to +-448,
    cast to float8_e4m3fn."""
    hidden_dim = x.shape[-1]
    num_groups = hidden_dim // GROUP_SIZE
    grouped = x.view(-1, num_groups, GROUP_SIZE)
    absmax = grouped.abs().max(dim=-1, keepdim=True)[0].float()
    scales = (absmax / FP8_MAX).clamp(min=FP8_MIN_SCALING_FACTOR)
    scaled = grouped / scales
    codes = scaled.clamp(-FP8_MAX, FP8_MAX).to(torch.float8_e4m3fn)
    return {
        "out.q": codes.view(x.shape),
        "out.scale": scales.squeeze(-1).reshape(x.shape[:-1] + (num_groups,)),
    }


def vllm_rms_norm_quant_native(x: torch.Tensor, residual: torch.Tensor, weight: torch.Tensor, eps: float) -> Outputs:
    """vLLM's native RMSNorm followed by its native group quant of the bf16 norm output."""
    out = vllm_rms_norm_native(x, residual, weight, eps)
    out.update(vllm_quantize_group_native(out["out.norm"]))
    return out


EAGER: Dict[str, Kernel] = {
    "torch-f-rms-norm": torch_f_rms_norm,
    "vllm-native": vllm_rms_norm_native,
    "hf-llama": hf_llama_rms_norm,
    "vllm-native-quant": vllm_rms_norm_quant_native,
}

DESCRIPTIONS: Dict[str, str] = {
    "torch-f-rms-norm": "torch eager: bf16 residual add, F.rms_norm (aten fused RMSNorm CUDA kernel)",
    "vllm-native": "torch eager: vLLM RMSNorm.forward_native with residual (f32 add, pow/mean/rsqrt)",
    "hf-llama": "torch eager: Hugging Face LlamaDecoderLayer residual add + LlamaRMSNorm",
    "vllm-native-quant": "torch eager: vLLM forward_native + QuantFP8._quantize_group_native (G=128, e4m3fn)",
}


def compiled_kernels() -> Dict[str, Kernel]:
    """The same native chains under torch.compile (Inductor's generated Triton), which is what
    vLLM's compiled default runs for its native ops."""
    out: Dict[str, Kernel] = {}
    for name in ("vllm-native", "hf-llama", "vllm-native-quant"):
        out["compiled-" + name] = torch.compile(EAGER[name], fullgraph=True, dynamic=False)
        DESCRIPTIONS["compiled-" + name] = "torch.compile (Inductor/Triton): " + DESCRIPTIONS[name].split(": ", 1)[1]
    return out
