#!/usr/bin/env bash
# `npm run notebooks [-- NOTEBOOK.ipynb ...]`: builds the package, installs the Deno Jupyter
# kernelspec into a private directory (pointing at the deno binary from the npm `deno`
# package, not at any deno or kernelspec the user has), type-checks the chart helper, then
# executes every notebook headless and exports it to HTML (notebooks/run.py says where).
# Needs Jupyter's Python side: Debian packages jupyter-nbconvert python3-nbclient
# python3-nbformat jupyter-client (.ci/notebooks.sh installs them), or any python3 that can
# import nbclient and nbconvert, named by ULPWISE_NOTEBOOK_PYTHON.
set -euo pipefail
cd "$(dirname "$0")/.."

python=""
for candidate in ${ULPWISE_NOTEBOOK_PYTHON:-} /usr/bin/python3 python3; do
  if command -v "$candidate" >/dev/null && "$candidate" -c 'import nbclient, nbconvert, nbformat' 2>/dev/null; then
    python=$candidate
    break
  fi
done
if [ -z "$python" ]; then
  echo "notebooks: no python3 with nbclient and nbconvert; on Debian: apt-get install jupyter-nbconvert python3-nbclient python3-nbformat jupyter-client (or bash .ci/notebooks.sh)" >&2
  exit 1
fi

npm run --silent build

# Deno comes from the npm `deno` package, pinned here and installed into its own prefix rather
# than listed in package.json: the lockfile would have to name deno's per-platform packages,
# and a registry that lacks one of them (this project's mirror has only linux-x64) makes every
# `npm ci` fail. Installing it here touches only notebooks/.deno/.
deno_version=2.9.6
deno_prefix=notebooks/.deno
if [ ! -f "$deno_prefix/node_modules/deno/package.json" ] || \
   [ "$(node -p "require('./$deno_prefix/node_modules/deno/package.json').version")" != "$deno_version" ]; then
  npm install --silent --prefix "$deno_prefix" --no-save --no-package-lock --no-audit --no-fund "deno@$deno_version"
fi
# The npm package's own resolver: the binary it installed (or the platform package's copy).
deno=$(node -e 'process.stdout.write(require("./'"$deno_prefix"'/node_modules/deno/install_api.cjs").runInstall())')
# Captured, not piped to head: head's early exit could kill deno with SIGPIPE under pipefail.
deno_banner=$("$deno" --version)
echo "${deno_banner%%$'\n'*}"

kernels=$(mktemp -d)
trap 'rm -rf "$kernels"' EXIT
# deno writes the kernelspec under $XDG_DATA_HOME/jupyter/kernels/<name>; Jupyter is then
# pointed at that directory alone through JUPYTER_PATH, which it searches first.
XDG_DATA_HOME="$kernels" "$deno" jupyter --install --force --name deno --display Deno >/dev/null 2>&1
kernelspec="$kernels/jupyter/kernels/deno/kernel.json"
if [ ! -f "$kernelspec" ]; then
  echo "notebooks: 'deno jupyter --install' did not write $kernelspec" >&2
  exit 1
fi
"$python" - "$kernelspec" "$deno" <<'EOF'
import json, os, sys
spec = json.load(open(sys.argv[1]))
argv0 = spec["argv"][0]
if os.path.realpath(argv0) != os.path.realpath(sys.argv[2]):
    sys.exit(f"notebooks: kernelspec runs {argv0}, not the npm-installed {sys.argv[2]}")
EOF

"$deno" check --quiet notebooks/lib/*.ts

# Connection files go to the temporary directory too, not the user's Jupyter runtime directory.
JUPYTER_PATH="$kernels/jupyter" JUPYTER_RUNTIME_DIR="$kernels/runtime" "$python" notebooks/run.py "$@"
