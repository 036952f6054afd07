#!/usr/bin/env bash
# The WebGPU bench on a lent NVIDIA machine (the device tool), through NVIDIA's Vulkan driver.
# Carry [".device", "dist"]: .device is /work/shared/device/pack.sh's (Node, the Vulkan loader's
# Debian packages, node_modules; its prelude.sh sets VK_DRIVER_FILES); dist is `npm run build`
# from here. Logs and JSON reports go to $OUT. About 3 minutes on an H100.
# usage: bash bench/device-webgpu.sh
set -euo pipefail
source .device/prelude.sh
{
  date -u
  nvidia-smi --query-gpu=name,driver_version,clocks.max.sm,memory.total --format=csv
  node --version
  # N=8, H=7168, aiter-1stage-quant (bench/aiter-1stage-quant-emulated.json), issue 16: every M checked bit for bit
  # against the CPU engine (and the default golden suite first); per M the table gives 'compute ms' (every dispatch,
  # nothing read back: outputs stay on the GPU, as a PyTorch emulation's do) and 'mapped ms' (outputs read back into
  # mappable memory), and the GPU timeline line the time in and between the chunk passes.
  node dist/bench/webgpu.js --adapter vulkan --tokens 128,1024,8192 --cpu-tokens 128,1024,8192 --iterations 15 --json "$OUT/n8.json"
  # The same M=8192 case with one output set reused by every chunk (the readback copies then wait between passes, as
  # before output sets): the copy overlap measured in the same run.
  node dist/bench/webgpu.js --adapter vulkan --tokens 8192 --cpu-tokens '' --iterations 15 --no-suite-check --output-set-budget-mib 0 --json "$OUT/n8-one-set.json"
} 2>&1 | tee "$OUT/bench.log"
