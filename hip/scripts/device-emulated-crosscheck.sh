#!/usr/bin/env bash
# Emulated-mode crosscheck on one GPU, from the repository root, with no Node on the machine:
# builds the harness and the kernels (make nvidia targets), runs every kernel on each suite
# directory given (default: golden; a suite written by hip/scripts/dimension-suite.mjs too) and
# checks every candidate with the Python oracle. Writes $OUT/device.log (default out/device).
#
#   npm run build && node hip/scripts/dimension-suite.mjs hipdim     # here
#   bash hip/scripts/device-emulated-crosscheck.sh golden hipdim     # there
set -uo pipefail
OUT=${OUT:-out/device}
mkdir -p "$OUT"
export CUDA_MODULE_LOADING=EAGER NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
suites=("$@")
[ "${#suites[@]}" -gt 0 ] || suites=(golden)
WORK=$(mktemp -d)
{
  date -u; nvidia-smi --query-gpu=name,driver_version --format=csv,noheader; nvcc --version | tail -1
  time make -C hip -j"$(nproc)" build/nvidia/ulpwise-harness build/nvidia/libulpwise_kernels.so > "$WORK/build.log" 2>&1 || { tail -40 "$WORK/build.log"; exit 1; }
  H=hip/build/nvidia/ulpwise-harness
  for suite in "${suites[@]}"; do
    for k in aiter-1stage aiter-2stage unfused; do
      d=$WORK/$(basename "$suite")/$k; mkdir -p "$d"
      timeout 120 $H run-suite --suite "$suite" --out "$d" --kernel $k --mode emulated > "$d/run-suite.jsonl"; rc=$?
      echo "== $suite $k: exit $rc; ok $(grep -c '"status":"ok"' "$d/run-suite.jsonl") skipped $(grep -c '"status":"skipped"' "$d/run-suite.jsonl") failed $(grep -c '"status":"failed"' "$d/run-suite.jsonl")"
      grep '"status":"failed"' "$d/run-suite.jsonl" | head -5 | cut -c1-400
      python3 hip/scripts/compare_candidates.py "$suite" "$d" | grep -v '^bit-exact' | cut -c1-400 | head -20
    done
  done
} 2>&1 | tee "$OUT/device.log"
rm -rf "$WORK"
