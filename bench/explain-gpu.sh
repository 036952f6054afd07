#!/usr/bin/env bash
# explain on TP 8 x M x 7168 with quant on a lent NVIDIA GPU (issue 16: under 1 s at M = 8192),
# the fit run and compared on the GPU (--engine webgpu's path), against the CPU engine's explain
# at M = 64 and 1024 (the reports must be the same JSON; the script fails otherwise). Run from
# the repository root with dist/ built (`npm run build`) and .device/ (prelude.sh: Node, the
# Vulkan loader, NVIDIA's ICD); carry [".device", "dist"].
# BASE_DIST: another build's dist/ (an older commit's `npm run build`, e.g. fb7fd58's at
# .device/base/dist): its explain on the GPU (explainCandidateOnGpu) is timed in the same
# process, alternated run by run with this build's (explain-gpu.js --base), its reports checked
# equal to this build's, and the fit's data movement (upload and candidate rows,
# explain-upload.js) timed beside this build's. Without it,
# this build alone. Logs, a JSON summary and a 1 ms-sampled CPU profile of one M = 8192 explain
# go to $OUT. About 2 minutes with BASE_DIST (1 without).
# A base build with its own package root (its shaders and sm_90 tables, not this tree's), made
# here before the run (about 3 MB):
#   rm -rf .device/base && mkdir -p .device/base/src/numerics/hardware && t=$(mktemp -d) &&
#   git archive fb7fd58 | tar -x -C "$t" && ln -s "$PWD/node_modules" "$t/node_modules" &&
#   (cd "$t" && npx tsc -p tsconfig.json) && cp -r "$t/package.json" "$t/shaders" "$t/dist" .device/base/ &&
#   cp -r "$t/src/numerics/hardware/data" .device/base/src/numerics/hardware/ && rm -rf "$t"
# usage: [BASE_DIST=DIR] bash bench/explain-gpu.sh
set -uo pipefail
source .device/prelude.sh
OUT=${OUT:-out/device}
mkdir -p "$OUT"
base=()
[ -n "${BASE_DIST:-}" ] && base=(--base "$BASE_DIST")
status=0
{
  date -u
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
  nproc
  uptime
  node --version
  timeout 300 node dist/bench/explain-gpu.js --adapter vulkan --tokens 1024,8192 --cpu-tokens 64,1024 --iterations 5 "${base[@]}" \
    --json "$OUT/explain-gpu.json" || status=1
  if [ -n "${BASE_DIST:-}" ]; then
    timeout 120 node dist/bench/explain-upload.js --adapter vulkan --tokens 8192 --iterations 5 "${base[@]}" || status=1
  fi
  timeout 120 node --cpu-prof --cpu-prof-interval 1000 --cpu-prof-dir "$OUT/profile" dist/bench/explain-gpu.js --adapter vulkan --tokens 8192 \
    --cpu-tokens '' --iterations 1 || status=1
  uptime
  date -u
  echo "explain-gpu.sh: exit status $status"
  exit "$status"
} 2>&1 | tee "$OUT/explain-gpu.log"
