#!/usr/bin/env bash
# The 1-stage kernel's code variants (ULPWISE_BW_VARIANT, kernels/fused_allreduce_norm.h) on one
# GPU in one go, from the repository root, with no Node on the machine (python3 with torch and
# safetensors for the second check):
#   1. build the harness, the kernels and the fast-path check (make nvidia targets);
#   2. fast_paths_device_check: the exact fast paths against the integer code they replace, on
#      every f32 pattern (sqrt, cvt) or every pattern against three partners (ftz add);
#   3. per variant: aiter-1stage in emulated mode on the committed suite (golden/), every
#      candidate checked bit for bit by hip/scripts/compare_candidates.py, and which instance ran;
#      then aiter-2stage and unfused once (they share the all-reduce code that changed);
#   4. bench-bandwidth (emulated N=8, M=8192, H=7168) of every variant, plain and with the quant
#      epilogue, on the same inputs (the harness compares every variant's outputs byte for byte
#      with the generic one's), then the prefetch distance (ULPWISE_PREFETCH_ROWS 0 and 2) on the
#      last variant. Each line gives the share of device-to-device copy bandwidth.
# About 3-5 minutes on one H100 or H200 with the build. Writes $OUT/bandwidth.log (default
# out/device) and the candidates as $OUT/candidates-variants.tar.xz; exits 1 if any candidate
# differs from its golden, any variant's outputs differ from generic's, or the fast-path check
# fails.
#
#   bash hip/scripts/device-bandwidth.sh                      # every variant
#   VARIANTS=generic,pinned-cvt bash hip/scripts/device-bandwidth.sh
set -uo pipefail
OUT=${OUT:-out/device}
mkdir -p "$OUT"
export CUDA_MODULE_LOADING=EAGER NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
VARIANTS=${VARIANTS:-generic,pinned,pinned-ftz,pinned-sqrt,pinned-cvt,pinned-bulk}
PLAIN=golden/aiter-1stage.gfx950__tp8_m1_h7168_random_s1.safetensors
QUANT=golden/aiter-1stage-quant.gfx950__tp8_m4_h7168_random_s6.safetensors
H=hip/build/nvidia/ulpwise-harness
WORK=$(mktemp -d)
step() { printf '\n===== %s (%s)\n' "$*" "$(date -u +%H:%M:%S)"; }
problem() { echo "PROBLEM: $*"; echo "$*" >> "$WORK/problems"; }
# Runs a bench-bandwidth command line, prints its output and keeps its JSON lines for the summary.
bench() {
  local log=$WORK/bench.out
  "$@" > "$log" 2>&1
  local rc=$?
  cat "$log"
  grep '^{"bench"' "$log" >> "$WORK/bench.jsonl"
  return "$rc"
}
{
  date -u; nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,clocks.max.mem --format=csv,noheader; nvcc --version | tail -1
  step "build"
  time make -C hip -j"$(nproc)" build/nvidia/ulpwise-harness build/nvidia/libulpwise_kernels.so build/nvidia/fast_paths_device_check \
    > "$WORK/build.log" 2>&1 || { tail -40 "$WORK/build.log"; problem "build failed"; exit 1; }

  step "fast_paths_device_check"
  time timeout 120 hip/build/nvidia/fast_paths_device_check || problem "fast_paths_device_check failed"

  for v in ${VARIANTS//,/ }; do
    step "crosscheck aiter-1stage, ULPWISE_BW_VARIANT=$v"
    d=$WORK/$v; mkdir -p "$d"
    ULPWISE_BW_VARIANT=$v timeout 120 $H run-suite --suite golden --out "$d" --kernel aiter-1stage --mode emulated > "$d/run-suite.jsonl" 2> "$d/stderr.log"
    rc=$?
    echo "run-suite exit $rc; ok $(grep -c '"status":"ok"' "$d/run-suite.jsonl") skipped $(grep -c '"status":"skipped"' "$d/run-suite.jsonl")" \
      "failed $(grep -c '"status":"failed"' "$d/run-suite.jsonl")"
    grep '"status":"failed"' "$d/run-suite.jsonl" | head -5 | cut -c1-400
    echo "instances:"; grep 'ULPWISE_BW_VARIANT' "$d/stderr.log" | sort | uniq -c
    grep -v 'ULPWISE_BW_VARIANT' "$d/stderr.log" | head -5
    [ "$rc" = 0 ] || problem "run-suite $v exit $rc"
    python3 hip/scripts/compare_candidates.py golden "$d" > "$d/compare.log"; compared=$?
    grep -v '^bit-exact' "$d/compare.log" | cut -c1-400 | head -20
    [ "$compared" = 0 ] || problem "compare_candidates $v exit $compared"
  done

  # The other kernels share the all-reduce and residual code (row_math.h allReduceEach): once each.
  for k in aiter-2stage unfused; do
    step "crosscheck $k (shared all-reduce code)"
    d=$WORK/$k; mkdir -p "$d"
    timeout 120 $H run-suite --suite golden --out "$d" --kernel "$k" --mode emulated > "$d/run-suite.jsonl"
    rc=$?
    echo "run-suite exit $rc; ok $(grep -c '"status":"ok"' "$d/run-suite.jsonl") skipped $(grep -c '"status":"skipped"' "$d/run-suite.jsonl")" \
      "failed $(grep -c '"status":"failed"' "$d/run-suite.jsonl")"
    [ "$rc" = 0 ] || problem "run-suite $k exit $rc"
    python3 hip/scripts/compare_candidates.py golden "$d" > "$d/compare.log"; compared=$?
    grep -v '^bit-exact' "$d/compare.log" | cut -c1-400 | head -20
    [ "$compared" = 0 ] || problem "compare_candidates $k exit $compared"
  done

  for golden in "$PLAIN" "$QUANT"; do
    step "bench-bandwidth $(basename "$golden"), variants $VARIANTS"
    bench timeout 240 $H bench-bandwidth --golden "$golden" --kernel aiter-1stage --ranks 8 --tokens 8192 --hidden 7168 --variants "$VARIANTS"
    rc=$?
    [ "$rc" = 0 ] || problem "bench-bandwidth $(basename "$golden") exit $rc"
  done
  last=${VARIANTS##*,}
  for rows in 0 2; do
    for golden in "$PLAIN" "$QUANT"; do
      step "bench-bandwidth $(basename "$golden"), $last, ULPWISE_PREFETCH_ROWS=$rows"
      bench env ULPWISE_PREFETCH_ROWS=$rows timeout 120 $H bench-bandwidth --golden "$golden" --kernel aiter-1stage --ranks 8 --tokens 8192 --hidden 7168 \
        --variants "$last"
      rc=$?
      [ "$rc" = 0 ] || problem "bench-bandwidth $(basename "$golden") prefetch $rows exit $rc"
    done
  done

  step "summary"
  python3 - "$WORK/bench.jsonl" << 'EOF'
import json, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
print(f"{'contract':<8} {'variant':<12} {'prefetch':>8} {'ms':>7} {'GB/s':>8} {'copy GB/s':>9} {'share':>6}  outputs")
for r in rows:
    kind = "quant" if r["bytes"] > 1_300_000_000 else "plain"
    same = "same as the run's first" if r["bitsMatchFirst"] else "DIFFER"
    print(f"{kind:<8} {r['variant']:<12} {r['prefetchRows']:>8} {r['soloMs']:7.3f} {r['kernelGBs']:8.1f} {r['copyGBs']:9.1f} "
          f"{100 * r['ratio']:5.1f}%  {same}")
EOF
  tar -C "$WORK" -cJf "$OUT/candidates-variants.tar.xz" $(cd "$WORK" && ls -d */ 2> /dev/null)
  if [ -s "$WORK/problems" ]; then echo "PROBLEMS:"; cat "$WORK/problems"; else echo "all variants bit-exact on golden/, outputs identical across variants"; fi
} 2>&1 | tee "$OUT/bandwidth.log"
status=0
[ -s "$WORK/problems" ] && status=1
rm -rf "$WORK"
exit "$status"
