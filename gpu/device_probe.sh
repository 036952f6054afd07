#!/usr/bin/env bash
# Second device call: gpu/probe_ops.py (intermediate f32 values of the real kernels against the
# emulations, on seeded rows). Run from the folder holding gpu/, python/, conformance/emulate and
# src/numerics/hardware/data; writes $OUT/probes.json and $OUT/probe.log.
set -uo pipefail
: "${OUT:?set OUT to the results folder}"
export PYTHONUNBUFFERED=1 TORCHINDUCTOR_CACHE_DIR=$(mktemp -d) TRITON_CACHE_DIR=$(mktemp -d)
PYTHONPATH="$(pwd)/conformance/emulate:$(pwd)/python" timeout 500 python3 gpu/probe_ops.py "$OUT/probes.json" "$TORCHINDUCTOR_CACHE_DIR" 2>&1 | tee "$OUT/probe.log" | grep -v "^V1\|^I1" | tail -60
