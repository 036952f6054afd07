#!/usr/bin/env bash
# Executes every notebook headless (Jupyter from Debian packages, the Deno kernel from the npm
# `deno` package) and fails on any failing cell; then fails if the committed HTML exports in
# notebooks/html/ differ from the ones just written (the README links them, so they must show
# what the code computes now: run `npm run notebooks` and commit notebooks/html/).
# Expects node_modules (npm ci) to be installed. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

# Jupyter's Python side, all from Debian: nbclient runs the kernel, nbconvert exports HTML.
packages=(jupyter-nbconvert python3-nbclient python3-nbformat jupyter-client)

sudo_if_needed=()
if [ "$(id -u)" -ne 0 ]; then sudo_if_needed=(sudo); fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
    missing+=("$p")
  fi
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "notebooks: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_if_needed[@]}" apt-get -o DPkg::Lock::Timeout=600 update -qq
  "${sudo_if_needed[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
fi

npm run notebooks

if [ -n "$(git status --porcelain -- notebooks/html)" ]; then
  git status --short -- notebooks/html >&2
  echo "notebooks: notebooks/html/ is out of date with the code; run 'npm run notebooks' and commit notebooks/html/" >&2
  exit 1
fi
