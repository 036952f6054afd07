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

source .ci/apt.sh
missing="$(apt_missing "${packages[@]}")"
if [ -n "$missing" ]; then
  echo "notebooks: installing $missing"
  apt_install "${packages[@]}"
fi

npm run notebooks

if [ -n "$(git status --porcelain -- notebooks/html)" ]; then
  git status --short -- notebooks/html >&2
  echo "notebooks: notebooks/html/ is out of date with the code; run 'npm run notebooks' and commit notebooks/html/" >&2
  exit 1
fi
