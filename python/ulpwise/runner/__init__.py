"""Runs real kernels (torch eager, torch.compile/Inductor, NCCL) on ulpwise golden inputs.

Only the GPU machine's packages are used: torch (with its bundled Triton), safetensors,
ml_dtypes. Each run writes a candidate safetensors file with the golden's output names and a
provenance record, so `ulpwise diff` / `explain` and conformance/emulate can read it.
"""
