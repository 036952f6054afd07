#!/usr/bin/env bash
# Everything on one 2-GPU machine (nvidia-h200-x2), in one lease: build, the single-GPU part on
# GPU 0 (device-single-gpu.sh), then the peer part on both GPUs (device-peer.sh).
#   bash hip/scripts/device-h200x2.sh      (from the repository root; $OUT as the device tool sets it)
set -uo pipefail
OUT=${OUT:-out/device}
mkdir -p "$OUT"
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
{
  echo "===== machine ($(date -u +%FT%TZ))"
  nvidia-smi --query-gpu=index,name,memory.total,driver_version --format=csv
  nvcc --version | tail -2
  # NCCL: system-wide, else the one PyTorch ships (nvidia-nccl-cu13).
  nccl_args=()
  if [ ! -f /usr/include/nccl.h ]; then
    pydir=$(python3 -c 'import nvidia.nccl, os; print(os.path.dirname(nvidia.nccl.__file__))' 2>/dev/null || true)
    header=$(find / -name nccl.h -not -path '/proc/*' 2>/dev/null | head -1)
    library=$(find / \( -name 'libnccl.so' -o -name 'libnccl.so.2' \) -not -path '/proc/*' 2>/dev/null | head -1)
    [ -n "$pydir" ] && [ -f "$pydir/include/nccl.h" ] && header=$pydir/include/nccl.h && library=$(ls "$pydir"/lib/libnccl.so* | head -1)
    echo "NCCL header: $header, library: $library"
    [ -n "$header" ] && [ -n "$library" ] && nccl_args=(NCCL_INCLUDE="$(dirname "$header")" NCCL_LIBRARY="$library")
  fi
  echo "===== make nvidia"
  time make -C hip -j"$(nproc)" nvidia WERROR= "${nccl_args[@]}" 2>&1 | grep -v '^nvcc '
} 2>&1 | tee "$OUT/build.log"
bash hip/scripts/device-single-gpu.sh
bash hip/scripts/device-peer.sh
ls -la "$OUT"
