#!/usr/bin/env bash
# Emulated-mode crosscheck on one GPU, from the repository root, with no Node on the machine:
# builds the harness and the kernels (make nvidia targets), runs every kernel on each suite
# directory given (default: golden; a suite written by hip/scripts/dimension-suite.mjs too) and
# checks every candidate with the Python oracle. Writes $OUT/device.log (default out/device).
# The cases of aiter's smem-halving tree (local_device_load_rmsnorm: the goldens of
# aiter-2stage@gfx942/@gfx950 and the suite's hipdim-*halving* cases) must all run on aiter-2stage
# and be bit-exact: one skipped, failed or differing is reported as such and the script exits 1.
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
      python3 hip/scripts/compare_candidates.py "$suite" "$d" > "$d/compare.log"; compared=$?
      grep -v '^bit-exact' "$d/compare.log" | cut -c1-400 | head -20
      if [ "$k" = aiter-2stage ]; then
        # The smem-halving cases: every one run (none skipped or failed) and none differing.
        halving='"file":"(aiter-2stage\.gfx9|hipdim-(aiter2-)?halving)'
        cases=$(grep -cE "$halving" "$d/run-suite.jsonl"); ran=$(grep -E "$halving" "$d/run-suite.jsonl" | grep -c '"status":"ok"')
        differ=$(grep -cE '^MISMATCH aiter-2stage (aiter-2stage\.gfx9|hipdim-(aiter2-)?halving)' "$d/compare.log")
        echo "== $suite smem-halving (aiter local_device_load_rmsnorm): $ran of $cases cases ran on aiter-2stage; $differ candidates differ; oracle exit $compared"
        if [ "$ran" -ne "$cases" ] || [ "$differ" -ne 0 ]; then
          grep -E "$halving" "$d/run-suite.jsonl" | grep -v '"status":"ok"' | head -5 | cut -c1-400
          echo "smem-halving: $suite not all bit-exact" >> "$WORK/problems"
        fi
      fi
    done
  done
} 2>&1 | tee "$OUT/device.log"
status=0
[ -s "$WORK/problems" ] && { cat "$WORK/problems"; status=1; }
rm -rf "$WORK"
exit "$status"
