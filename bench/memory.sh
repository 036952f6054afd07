#!/usr/bin/env bash
# Peak RSS (GNU time's "Maximum resident set size") of gen, invariance and explain at N=8,
# M=1024, H=7168 (aiter-1stage-quant@gfx942), beside the bytes of the case's inputs and outputs
# (the golden file: every rank input, residual, weight and every output), issue 16's "no command
# holds more than twice the bytes of its inputs and outputs". explain's candidate is the golden
# itself (same inputs and outputs again). Usage: bash bench/memory.sh [EXPLAIN_TIMEOUT_S]
set -uo pipefail
cd "$(dirname "$0")/.."
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
peak() { /usr/bin/time -v "$@" 2>"$work/time" >/dev/null; local rc=$?; grep -E "Maximum resident|Elapsed" "$work/time" | sed 's/^\s*//' | tr '\n' ' '; echo "exit $rc"; }
cli=dist/src/cli/main.js
echo "gen:        $(peak node $cli gen --preset aiter-1stage-quant@gfx942 --ranks 8 --tokens 1024 --hidden 7168 --seed 1 --out "$work/case")"
golden=$(ls "$work"/case/*.safetensors)
echo "case bytes (inputs + outputs): $(stat -c %s "$golden")"
echo "invariance: $(peak node $cli invariance --preset aiter-1stage-quant@gfx942 --hidden 7168 --tokens 1024 --ranks 8 --rows 0,511,1023 --seed 1)"
echo "explain:    $(peak timeout "${1:-600}" node $cli explain "$golden" --inputs "$golden")"
