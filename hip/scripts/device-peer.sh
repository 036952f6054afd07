#!/usr/bin/env bash
# The multi-GPU part of the device runs (2 or more GPUs of one host), from the repository root:
#   every kernel in peer mode on the committed suite (cases with more ranks than GPUs are
#   skipped and say so), the unfused chain on NCCL's all-reduce with NCCL_DEBUG=INFO (the ring
#   NCCL chose), and the latency benchmark of the fused 1-stage kernel against NCCL + the
#   separate norm kernel. Expects a built hip/ (with libulpwise_kernels_nccl.so).
# Writes under $OUT (default out/device): peer.log, candidates-peer.tar.xz.
set -uo pipefail
OUT=${OUT:-out/device}
mkdir -p "$OUT"
export CUDA_MODULE_LOADING=EAGER NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
H=hip/build/nvidia/ulpwise-harness
NCCL_LIB=hip/build/nvidia/libulpwise_kernels_nccl.so
WORK=$(mktemp -d)
step() { printf '\n===== %s (%s)\n' "$*" "$(date -u +%H:%M:%S)"; }
{
  step "GPUs and links"
  nvidia-smi topo -m
  mkdir -p "$WORK/peer"
  for kernel in aiter-1stage aiter-2stage unfused unfused-nccl; do
    step "run-suite $kernel peer"
    lib=hip/build/nvidia/libulpwise_kernels.so
    [ "$kernel" = unfused-nccl ] && lib=$NCCL_LIB
    if [ "$kernel" = unfused-nccl ]; then
      NCCL_DEBUG=INFO NCCL_DEBUG_SUBSYS=INIT,GRAPH,TUNING NCCL_DEBUG_FILE="$WORK/nccl-debug.txt" \
        timeout 90 $H run-suite --lib "$lib" --suite golden --out "$WORK/peer" --kernel "$kernel" --mode peer > "$WORK/$kernel.jsonl"
      echo "exit $?"
      echo "--- NCCL_DEBUG=INFO: version, rings and trees NCCL built (deduplicated):"
      sed 's/^[^ ]* //' "$WORK/nccl-debug.txt" | grep -E "NCCL version|Channel [0-9]+/[0-9]+ :|Ring [0-9]+ :|Tree [0-9]+ :|Pattern|nRanks|P2P|via|Connected" | awk '!seen[$0]++' | head -40
    else
      timeout 60 $H run-suite --lib "$lib" --suite golden --out "$WORK/peer" --kernel "$kernel" --mode peer > "$WORK/$kernel.jsonl"
      echo "exit $?"
    fi
    grep -c '"status":"ok"' "$WORK/$kernel.jsonl" | sed 's/^/ok: /'
    grep -c '"status":"skipped"' "$WORK/$kernel.jsonl" | sed 's/^/skipped: /'
    grep '"status":"failed"' "$WORK/$kernel.jsonl"
    grep '"status":"skipped"' "$WORK/$kernel.jsonl" | grep -v "GPU(s) are visible" | head -40
    cat "$WORK/$kernel.jsonl" >> "$WORK/peer/run-suite.jsonl"
  done
  step "python oracle (peer)"
  python3 hip/scripts/compare_candidates.py golden "$WORK/peer" | grep -v '^bit-exact'
  step "bench-latency: fused 1-stage vs NCCL all-reduce + separate norm kernel"
  timeout 120 $H bench-latency --lib "$NCCL_LIB" --mode peer --ranks 2 --tokens 1,4,16,128 --hidden 4096,7168 \
    --fused-kernel aiter-1stage --fused-golden golden/aiter-1stage.gfx950__tp2_m2_h2880_random_s4.safetensors \
    --unfused-kernel unfused-nccl --unfused-golden golden/vllm-unfused__tp2_m2_h2880_random_s4.safetensors
  step "pack"
  tar -C "$WORK" -cJf "$OUT/candidates-peer.tar.xz" peer
} 2>&1 | tee "$OUT/peer.log"
rm -rf "$WORK"
