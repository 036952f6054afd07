#!/usr/bin/env bash
# CI's fuzz step: the committed corpus must be what fuzz/corpus.ts builds, each reader must give
# each corpus file its listed verdict (test/fixtures/corpus.test.ts runs that part), and a seeded
# run of FUZZ_COUNT (default 100,000) mutated files must find nothing: no reader accepting a file
# the oracle calls malformed, no crash, no disagreement. The C++ reader runs under
# AddressSanitizer and UndefinedBehaviorSanitizer (g++; Debian's hipcc clang has no libFuzzer).
set -euo pipefail
cd "$(dirname "$0")/.."
count="${FUZZ_COUNT:-100000}"
seed="${FUZZ_SEED:-1}"

npm run build >/dev/null
node dist/fuzz/writeCorpus.js >/dev/null
git diff --exit-code -- fuzz/corpus || { echo "fuzz/corpus differs from what fuzz/corpus.ts builds: run node dist/fuzz/writeCorpus.js and commit" >&2; exit 1; }

mkdir -p hip/build/host
g++ -std=c++17 -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
  hip/harness/safetensors_check.cpp hip/harness/safetensors.cpp -o hip/build/host/safetensors_check_asan
echo "fuzz: seed $seed, $count files, $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ)"
/usr/bin/time -v node dist/fuzz/run.js --seed "$seed" --count "$count" --checker hip/build/host/safetensors_check_asan \
  --findings "${FUZZ_FINDINGS:-hip/build/fuzz-findings}" 2> >(grep -E 'Maximum resident|Elapsed' >&2)
