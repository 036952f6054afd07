#!/usr/bin/env bash
# One device call: measure sm_90's approximate ops, dump what nvcc and Triton emit, and capture
# the real kernels on conformance/inputs. Run from the folder that holds gpu/, python/ and
# conformance/ (the repository root, or the .real copy the device tool carries); results go to
# $OUT (at most 8 files: measure.npz, summary + logs, captures.tgz, dumps.tgz).
set -uo pipefail
ROOT=$(pwd)
: "${OUT:?set OUT to the results folder}"
export PYTHONUNBUFFERED=1
W=$(mktemp -d)
mkdir -p "$W/meas" "$W/dump" "$W/cap"
{
  nvidia-smi --query-gpu=name,driver_version,clocks.max.sm --format=csv
  nvcc --version | tail -2
  python3 -c 'import torch, triton; print("torch", torch.__version__, "cuda", torch.version.cuda, "triton", triton.__version__, "nccl", torch.cuda.nccl.version())'
} > "$OUT/env.txt" 2>&1

echo "== approx measure"
nvcc -O2 -arch=sm_90 -o "$W/approx_measure" gpu/approx_measure.cu && \
  nvcc -O2 -arch=sm_90 -ptx -o "$W/dump/approx_measure.ptx" gpu/approx_measure.cu && \
  cuobjdump -sass "$W/approx_measure" > "$W/dump/approx_measure.sass" && \
  (time timeout 150 "$W/approx_measure" "$W/meas") 2>&1 | tail -5
cp "$W/meas/summary.txt" "$OUT/summary.txt" 2>/dev/null
timeout 120 python3 gpu/pack_approx.py "$W/meas" "$OUT/measure.npz"

echo "== triton spellings"
timeout 120 python3 gpu/triton_spellings.py "$W/dump" && cuobjdump -sass "$W/dump/triton_spellings.cubin" > "$W/dump/triton_spellings.sass"

echo "== captures"
export TORCHINDUCTOR_CACHE_DIR="$W/inductor" TRITON_CACHE_DIR="$W/triton"
(time TORCH_LOGS=output_code PYTHONPATH="$ROOT/python" timeout 330 python3 -m ulpwise.runner.capture \
   --goldens conformance/inputs --out "$W/cap" --probe-trees) > "$W/dump/capture.log" 2>&1
tail -20 "$W/dump/capture.log"
for c in $(find "$W/triton" -name '*.cubin' 2>/dev/null); do cuobjdump -sass "$c" > "$c.sass" 2>&1; done
mkdir -p "$W/dump/inductor" "$W/dump/triton"
find "$W/inductor" -name '*.py' -exec cp {} "$W/dump/inductor/" \; 2>/dev/null
for d in "$W"/triton/*/; do n=$(basename "$d"); mkdir -p "$W/dump/triton/$n"; cp "$d"/*.ttgir "$d"/*.ptx "$d"/*.sass "$d"/*.json "$W/dump/triton/$n/" 2>/dev/null; done
# torch's own headers (Reduce.cuh and friends) are read on this machine, under
# $(python3 -c 'import torch, os; print(os.path.dirname(torch.__file__))')/include, and not copied
# back: third-party source stays out of the repository (conformance/SPECS.md cites their lines).
tar -C "$W" -czf "$OUT/captures.tgz" cap
tar -C "$W" -czf "$OUT/dumps.tgz" dump
ls -la "$OUT"
