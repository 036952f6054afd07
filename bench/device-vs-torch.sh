#!/usr/bin/env bash
# Issue 16's first target on a lent NVIDIA machine: the WebGPU simulator against a bit-exact
# PyTorch emulation of the same contract, on the same inputs and the same GPU, in one run.
#   1. `ulpwise gen` writes the case with the CPU engine (the reference bits);
#   2. dist/bench/webgpu-case.js checks the WebGPU engine's bits against it, then times it
#      (compute only; mapped readback);
#   3. bench/emulate.py --backend torch-cuda checks torch's bits against it, then times it
#      (outputs left on the GPU; copied into pinned host memory).
# Carry [".device", "dist"] (`npm run build` here first), begin with `source .device/prelude.sh`.
# usage: [BASE_DIST=DIR] bash bench/device-vs-torch.sh [TOKENS ...]     (default 8192; N=8, H=7168)
# BASE_DIST: another build's dist/ (an older commit's `npm run build`, with bench/webgpu-case.js):
# its WebGPU engine is timed on the same case right after this build's, for a same-run ratio.
# Writes $OUT/vs-torch.log and one JSON line per engine and size.
set -uo pipefail
OUT=${OUT:-out/device}
mkdir -p "$OUT"
sizes=("$@")
[ "${#sizes[@]}" -gt 0 ] || sizes=(8192)
work=$(mktemp -d)
status=0
{
  date -u
  nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv,noheader
  for tokens in "${sizes[@]}"; do
    echo "== N=8 M=$tokens H=7168, contract bench/aiter-1stage-quant-emulated.json"
    start=$(date +%s)
    node dist/src/cli/main.js gen --contract bench/aiter-1stage-quant-emulated.json --ranks 8 --tokens "$tokens" --hidden 7168 --seed 1 \
      --out "$work/m$tokens" > /dev/null || { echo "gen failed"; status=1; continue; }
    echo "gen (CPU engine): $(($(date +%s) - start)) s"
    case=$(ls "$work/m$tokens"/*.safetensors)
    node dist/bench/webgpu-case.js "$case" --adapter vulkan --iterations 15 --json "$OUT/webgpu-m$tokens.json" || status=1
    if [ -n "${BASE_DIST:-}" ]; then
      echo "-- base build $BASE_DIST"
      node "$BASE_DIST/bench/webgpu-case.js" "$case" --adapter vulkan --iterations 15 --json "$OUT/webgpu-base-m$tokens.json" || status=1
    fi
    python3 bench/emulate.py "$case" --backend torch-cuda --repeat 15 | tee "$OUT/torch-m$tokens.json" || status=1
    rm -rf "$work/m$tokens"
  done
} 2>&1 | tee "$OUT/vs-torch.log"
rm -rf "$work"
exit "$status"
