#!/usr/bin/env bash
# The CPU engine against a bit-exact numpy emulation of the same contract, on the same inputs,
# in one run (issue 16), under bench/aiter-1stage-quant-emulated.json: aiter-1stage-quant@gfx942
# with what emulate.py transcribes (RNE downcasts, subnormals kept, ieee rsqrt, chained squares): `ulpwise gen` writes the case (inputs and the engine's outputs), then
# dist/bench/cpu.js times the engine on one thread and on every core (bits compared) and bench/emulate.py times numpy and compares its bits with
# the engine's outputs. Usage: bash bench/cpu-vs-numpy.sh [M ...]   (default 128 1024)
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build >/dev/null
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
[ "$#" -gt 0 ] || set -- 128 1024
for tokens in "$@"; do
  node dist/src/cli/main.js gen --contract bench/aiter-1stage-quant-emulated.json --ranks 8 --tokens "$tokens" --hidden 7168 --seed 1 --out "$work/m$tokens" >/dev/null
  node dist/bench/cpu.js --repeat 3 --contract bench/aiter-1stage-quant-emulated.json "$tokens"
  python3 bench/emulate.py "$work/m$tokens"/*.safetensors --repeat 3
done
