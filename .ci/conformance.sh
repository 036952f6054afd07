#!/usr/bin/env bash
# The conformance suite's CPU side: installs python3-numpy (Debian) for conformance/emulate,
# and compile-checks the GPU measurement programs in gpu/ (nvcc for sm_90 when nvcc is there,
# Debian hipcc for the AMD twin). No GPU is used. The emulation tests themselves run inside
# `npm test` (test/conformance/emulate.test.ts), which needs python3 with numpy.
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/apt.sh
log() { printf 'conformance: %s\n' "$*"; }
python3 -c 'import numpy' 2>/dev/null || { log "apt-get install python3-numpy"; apt_install python3 python3-numpy; }
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
if command -v hipcc >/dev/null; then
  HIP_PLATFORM=amd hipcc -x hip -std=c++17 -O2 --offload-arch=gfx90a --offload-arch=gfx940 \
    -fno-gpu-flush-denormals-to-zero -Wall -Wextra -Werror -c gpu/approx_measure_amd.hip -o "$out/amd.o"
  log "gpu/approx_measure_amd.hip compiles for gfx90a, gfx940"
fi
nvcc_path=$(command -v nvcc || true)
[ -z "$nvcc_path" ] && [ -x /usr/local/cuda/bin/nvcc ] && nvcc_path=/usr/local/cuda/bin/nvcc
if [ -n "$nvcc_path" ]; then
  "$nvcc_path" -O2 -arch=sm_90 -o "$out/approx_measure" gpu/approx_measure.cu
  log "gpu/approx_measure.cu compiles for sm_90"
elif [ "${CI:-}" = true ]; then
  log "error: nvcc not found (CI=true)"; exit 1
fi
