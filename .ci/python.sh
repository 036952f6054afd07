#!/usr/bin/env bash
# The Python package (python/): installed with pip the way the README says, then its tests,
# which drive the ulpwise CLI built by `npm test` (dist/). CI reaches Debian's packages only:
# torch 1.13 (bf16, no float8 dtypes), no safetensors; the fp8 and torch >= 2.1 tests run on
# the GPU machine (python/tests/test_fp8.py says so when it skips).
set -euo pipefail
cd "$(dirname "$0")/.."
source .ci/apt.sh

packages=(python3-numpy python3-pytest python3-torch python3-venv python3-setuptools python3-pip)
missing="$(apt_missing "${packages[@]}")"
if [ -n "$missing" ]; then
  # shellcheck disable=SC2086 # a space-separated list of package names
  apt_install $missing
fi

[ -f dist/src/cli/main.js ] || npm run build
venv="$(mktemp -d)/venv"
trap 'rm -rf "$(dirname "$venv")"' EXIT
# Debian's python is externally managed (PEP 668): a venv that sees the system's torch and pytest.
/usr/bin/python3 -m venv --system-site-packages "$venv"
"$venv/bin/pip" install --quiet --no-build-isolation --no-deps ./python
# From outside python/, so the installed package is what the tests import.
export ULPWISE_CLI="$PWD/dist/src/cli/main.js"
(cd "$(dirname "$venv")" && "$venv/bin/python" -m pytest -p no:cacheprovider -rs -q "$OLDPWD/python/tests")
