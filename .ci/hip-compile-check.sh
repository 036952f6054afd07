#!/usr/bin/env bash
# Compile-checks hip/ for AMD (Debian's hipcc 5.2, clang 15: gfx90a and gfx940) and for NVIDIA
# (nvcc, sm_90), and the host tools of the contract parser and row math (g++). No GPU is needed
# or used: this proves the sources build on both vendors:
# the bits.h device checks, the kernels (libulpwise_kernels.so and its hardware-rsqrt twin),
# and the harness (ulpwise-harness). The NCCL variant (libulpwise_kernels_nccl.so) is built only
# where NCCL's headers are installed (the GPU machines); Debian main has none.
#
# AMD: installs Debian's `hipcc` when missing (with make and g++; ~80 MB download, ~15 s).
# NVIDIA: Debian main has no CUDA, so nvcc must already be there (PATH, $CUDA_HOME/bin or
# /usr/local/cuda/bin). Without it the NVIDIA build is skipped with a message, unless
# CI=true or ULPWISE_REQUIRE_NVCC=1, where a missing nvcc is a failure.
set -euo pipefail

cd "$(dirname "$0")/.."

log() { printf 'hip-compile-check: %s\n' "$*"; }
die() { printf 'hip-compile-check: error: %s\n' "$*" >&2; exit 1; }

source .ci/apt.sh

missing=()
command -v make >/dev/null || missing+=(make)
command -v g++ >/dev/null || command -v c++ >/dev/null || missing+=(g++)
command -v hipcc >/dev/null || missing+=(hipcc)
if [ "${#missing[@]}" -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  apt_install "${missing[@]}" || die "could not install ${missing[*]}"
fi

nvcc_path=""
for candidate in "$(command -v nvcc || true)" "${CUDA_HOME:+$CUDA_HOME/bin/nvcc}" /usr/local/cuda/bin/nvcc; do
  if [ -n "$candidate" ] && [ -x "$candidate" ]; then nvcc_path="$candidate"; break; fi
done

started=$SECONDS
# The host-only tools of the contract parser and the row math (test/hip/contract.test.ts and
# rowMath.test.ts run them).
make -C hip -B contract-check row-math-check
log "host tools (contract_check, row_math_check) built in $((SECONDS - started)) s"

log "$(HIP_PLATFORM=amd hipcc --version 2>/dev/null | grep -E 'HIP version|clang version' | paste -sd ',' -)"
started=$SECONDS
make -C hip -B -j"$(nproc)" amd
for artifact in ulpwise-harness libulpwise_kernels.so libulpwise_kernels_hwrsqrt.so; do
  [ -x "hip/build/amd/$artifact" ] || die "AMD build did not produce hip/build/amd/$artifact"
done
log "AMD build (gfx90a gfx940: bits checks, kernels, harness) passed in $((SECONDS - started)) s"

if [ -z "$nvcc_path" ]; then
  message="nvcc not found (PATH, \$CUDA_HOME/bin, /usr/local/cuda/bin). Debian main ships no CUDA; \
install the CUDA toolkit (>= 11.8 for sm_90) and put nvcc on PATH."
  if [ "${CI:-}" = "true" ] || [ "${ULPWISE_REQUIRE_NVCC:-}" = "1" ]; then die "$message"; fi
  log "SKIPPED the NVIDIA build: $message"
  exit 0
fi
log "$("$nvcc_path" --version | grep -E '^Cuda compilation tools')"
started=$SECONDS
make -C hip -B -j"$(nproc)" nvidia NVCC="$nvcc_path"
for artifact in ulpwise-harness libulpwise_kernels.so libulpwise_kernels_hwrsqrt.so; do
  [ -x "hip/build/nvidia/$artifact" ] || die "NVIDIA build did not produce hip/build/nvidia/$artifact"
done
# The harness must load the kernel library through the C ABI without a GPU (info needs none).
hip/build/nvidia/ulpwise-harness info >/dev/null || die "hip/build/nvidia/ulpwise-harness info could not load libulpwise_kernels.so"
log "NVIDIA build (sm_90: bits checks, kernels, harness, the sm_90 slot probe) passed in $((SECONDS - started)) s"
# The sm_90 hardware-op slots' SASS (MUFU.RSQ, MUFU.RCP, div.full's sequence), where a cuobjdump
# beside nvcc can read its cubins (the CUDA toolkit's; Debian ships none that reads CUDA 13's).
cuobjdump_path="$(dirname "$nvcc_path")/cuobjdump"
if [ -x "$cuobjdump_path" ]; then
  make -C hip sass-check NVCC="$nvcc_path" CUOBJDUMP="$cuobjdump_path"
else
  log "SKIPPED the sm_90 slot SASS check: no cuobjdump beside $nvcc_path (the probe compiled; make -C hip sass-check reads it)"
fi
