#!/usr/bin/env bash
# CI's fuzz step: the committed corpus must be what fuzz/corpus.ts builds, each reader must give
# each corpus file its listed verdict (test/fixtures/corpus.test.ts runs that part), and a seeded
# run of FUZZ_COUNT (default 100,000) mutated files must find nothing: no reader accepting a file
# the oracle calls malformed, no crash, no disagreement. The C++ reader runs under
# AddressSanitizer and UndefinedBehaviorSanitizer (g++); then libFuzzer runs over it (clang).
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

# libFuzzer over the C++ reader (fuzz/safetensors_fuzz.cpp), with ASan and UBSan, for a bounded
# time, seeded from the committed corpus and fuzz/regressions (inputs it once failed on, each
# replayed first): clang with libFuzzer comes with Debian's hipcc (clang-15,
# installed by .ci/hip-compile-check.sh). Without it the step says so; under CI it is required.
clang=$(command -v clang++-15 || command -v clang++ || true)
seconds="${FUZZ_SECONDS:-30}"
if [ -n "$clang" ] && printf 'extern "C" int LLVMFuzzerTestOneInput(const unsigned char*, unsigned long){return 0;}\n' \
    | "$clang" -x c++ -fsanitize=fuzzer - -o hip/build/host/libfuzzer_probe 2>/dev/null; then
  "$clang" -std=c++17 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer \
    fuzz/safetensors_fuzz.cpp hip/harness/safetensors.cpp -o hip/build/host/safetensors_libfuzzer
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  mkdir -p hip/build/fuzz-artifacts
  echo "libfuzzer: $seconds s over the C++ reader ($("$clang" --version | head -n 1))"
  hip/build/host/safetensors_libfuzzer -max_total_time="$seconds" -rss_limit_mb=256 -timeout=5 -print_final_stats=1 \
    -artifact_prefix=hip/build/fuzz-artifacts/ "$work" fuzz/corpus fuzz/regressions 2>&1 | grep -E '^(stat::number_of_executed_units|stat::peak_rss_mb|Done|==[0-9]+==|SUMMARY)'
elif [ "${CI:-}" = true ]; then
  echo "libfuzzer: no clang with -fsanitize=fuzzer (clang-15 comes with Debian's hipcc)" >&2
  exit 1
else
  echo "libfuzzer: skipped, no clang with -fsanitize=fuzzer here"
fi
