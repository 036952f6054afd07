"""Placeholder filled below."""
def vllm_native(*a): raise NotImplementedError
def hf_llama(*a): raise NotImplementedError
def vllm_native_quant(*a): raise NotImplementedError
