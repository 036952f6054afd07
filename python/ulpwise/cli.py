"""Finding and running the `ulpwise` command (TypeScript, Node.js >= 20)."""
import json
import os
import shutil
import subprocess


class UlpwiseError(RuntimeError):
    """The ulpwise command could not run, or refused its input (its message says why)."""


NODE_MISSING = (
    "ulpwise's Python package runs the ulpwise command, which needs Node.js >= 20, and `node` is not on PATH. "
    "Install Node (https://nodejs.org, or `apt install nodejs`), then the command: `npm install -g ulpwise` "
    "(or `npm ci && npm run build` in a clone and set ULPWISE_CLI=/path/to/clone/dist/src/cli/main.js)."
)


def command():
    """The argv prefix that runs ulpwise: $ULPWISE_CLI (a main.js or an executable), else `ulpwise` on PATH."""
    configured = os.environ.get("ULPWISE_CLI")
    if configured:
        if configured.endswith(".js"):
            node = shutil.which("node")
            if node is None:
                raise UlpwiseError(NODE_MISSING)
            if not os.path.exists(configured):
                raise UlpwiseError(f"ULPWISE_CLI={configured}: no such file (build the clone: npm ci && npm run build)")
            return [node, configured]
        return [configured]
    if shutil.which("node") is None:
        raise UlpwiseError(NODE_MISSING)
    found = shutil.which("ulpwise")
    if found is None:
        raise UlpwiseError(
            "the ulpwise command is not on PATH: `npm install -g ulpwise` (or from a clone: `npm install -g .`), "
            "or set ULPWISE_CLI=/path/to/clone/dist/src/cli/main.js"
        )
    return [found]


def run(args):
    """Runs `ulpwise ARGS`; returns (exit code, stdout, stderr). Exit 2 (bad input) raises UlpwiseError."""
    argv = command() + [str(a) for a in args]
    try:
        result = subprocess.run(argv, capture_output=True, text=True)
    except OSError as e:
        raise UlpwiseError(f"cannot run {' '.join(argv[:2])}: {e}") from e
    if result.returncode == 2:
        raise UlpwiseError(result.stderr.strip().removeprefix("ulpwise: ") or f"ulpwise {args[0]} refused its input")
    if result.returncode not in (0, 1):
        raise UlpwiseError(f"ulpwise {args[0]} exited with {result.returncode}: {result.stderr.strip()}")
    return result.returncode, result.stdout, result.stderr


def run_json(args):
    """Runs `ulpwise ARGS --json`; returns (exit code, parsed report)."""
    code, out, _ = run(list(args) + ["--json"])
    return code, json.loads(out)
