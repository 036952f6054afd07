#!/usr/bin/env bash
# explain on TP 8 x M x 7168 with quant on a lent NVIDIA GPU (issue 16: under 1 s at M = 8192),
# the fit run and compared on the GPU (--engine webgpu's path), against the CPU engine's explain
# at M = 64, 256, 1024 (the reports must be the same JSON; the script fails otherwise). Run from
# the repository root with dist/ built (`npm run build`) and .device/ (prelude.sh: Node, the
# Vulkan loader, NVIDIA's ICD). Logs and a JSON summary go to $OUT. About 2-4 minutes.
# usage: bash bench/explain-gpu.sh
set -euo pipefail
source .device/prelude.sh
{
  date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  nproc
  node --version
  timeout 500 node dist/bench/explain-gpu.js --adapter vulkan --tokens 64,1024,8192 --cpu-tokens 64,256,1024 --iterations 3 --json "$OUT/explain-gpu.json"
} 2>&1 | tee "$OUT/explain-gpu.log"
