#!/usr/bin/env bash
# The single-GPU part of the device runs (an H100 or H200; GPU 0 of a bigger machine), from the
# repository root:
#   build (make nvidia), bits_device_check, the sqrt self-check, every kernel in emulated mode
#   on the committed suite (golden/, all TP sizes) with the Python oracle as a second check,
#   the hardware-rsqrt build on the aiter-1stage kernel (for `ulpwise diff --rstd infer`), and
#   the bandwidth benchmark (emulated N=8, M=8192, H=7168).
# Expects a built hip/ (make -C hip nvidia). Writes under $OUT (default out/device): single.log
# and one candidates-emulated-*.tar.xz per kernel, for `ulpwise crosscheck --candidates`.
set -uo pipefail
OUT=${OUT:-out/device}
mkdir -p "$OUT"
export CUDA_MODULE_LOADING=EAGER NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
H=hip/build/nvidia/ulpwise-harness
WORK=$(mktemp -d)
step() { printf '\n===== %s (%s)\n' "$*" "$(date -u +%H:%M:%S)"; }
{
  [ -n "${SKIP_BITS:-}" ] || {
  step "bits_device_check"
  # Exhaustive over every f32 pattern; if that outlasts its share of the run, a strided pass.
  time timeout 150 hip/build/nvidia/bits_device_check
  rc=$?; echo "exit $rc"
  [ "$rc" = 124 ] && time hip/build/nvidia/bits_device_check --stride 61
  }
  step "selfcheck: integer sqrt vs sqrt.rn over every non-negative f32"
  time $H selfcheck
  for kernel in aiter-1stage aiter-2stage unfused; do
    step "run-suite $kernel emulated"
    mkdir -p "$WORK/$kernel"
    time timeout 60 $H run-suite --suite golden --out "$WORK/$kernel" --kernel "$kernel" --mode emulated > "$WORK/$kernel.jsonl"
    echo "exit $?"
    grep -c '"status":"ok"' "$WORK/$kernel.jsonl" | sed 's/^/ok: /'
    grep -c '"status":"skipped"' "$WORK/$kernel.jsonl" | sed 's/^/skipped: /'
    grep '"status":"failed"' "$WORK/$kernel.jsonl"
    cp "$WORK/$kernel.jsonl" "$WORK/$kernel/run-suite.jsonl"
    step "python oracle $kernel"
    python3 hip/scripts/compare_candidates.py golden "$WORK/$kernel" | grep -v '^bit-exact'
  done
  step "hardware rsqrt build: aiter-1stage"
  mkdir -p "$WORK/hwrsqrt"
  timeout 60 $H run-suite --lib hip/build/nvidia/libulpwise_kernels_hwrsqrt.so --suite golden --out "$WORK/hwrsqrt" --kernel aiter-1stage > "$WORK/hwrsqrt/run-suite.jsonl"
  python3 hip/scripts/compare_candidates.py golden "$WORK/hwrsqrt" | tail -25
  step "bench-bandwidth"
  # ULPWISE_PREFETCH_ROWS: how far ahead the 1-stage kernel prefetches rows into L2 (default 1).
  for rows in 1 0 2; do
    echo "--- ULPWISE_PREFETCH_ROWS=$rows"
    ULPWISE_PREFETCH_ROWS=$rows timeout 60 $H bench-bandwidth --golden golden/aiter-1stage.gfx950__tp8_m1_h7168_random_s1.safetensors --kernel aiter-1stage --ranks 8 --tokens 8192 --hidden 7168
  done
  timeout 60 $H bench-bandwidth --golden golden/aiter-1stage-quant.gfx950__tp8_m4_h7168_random_s6.safetensors --kernel aiter-1stage --ranks 8 --tokens 8192 --hidden 7168
  step "pack"
  for d in aiter-1stage aiter-2stage unfused hwrsqrt; do tar -C "$WORK" -cJf "$OUT/candidates-emulated-$d.tar.xz" "$d"; done
} 2>&1 | tee "$OUT/single.log"
rm -rf "$WORK"
