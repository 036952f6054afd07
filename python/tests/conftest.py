"""Goldens for the tests, written by the ulpwise CLI of this checkout (npm run build first)."""
import os
import struct
import json
import subprocess

import pytest

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
MAIN_JS = os.path.join(REPO, "dist", "src", "cli", "main.js")


@pytest.fixture(scope="session", autouse=True)
def ulpwise_cli():
    """The CLI of this checkout, unless ULPWISE_CLI names another; a machine without Node
    (the GPU machine) runs the Python-only tests on goldens from ULPWISE_TEST_GOLDENS."""
    if "ULPWISE_CLI" not in os.environ and os.path.exists(MAIN_JS):
        os.environ["ULPWISE_CLI"] = MAIN_JS
    return os.environ.get("ULPWISE_CLI")


def gen(out, *args):
    """Runs `ulpwise gen ... --out OUT`; returns the written golden's path."""
    cli = os.environ.get("ULPWISE_CLI", MAIN_JS)
    result = subprocess.run(["node", cli, "gen", *args, "--out", str(out)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return os.path.join(str(out), result.stdout.split()[1].split("/")[-1])


def read_tensors(path):
    """{name: (dtype, shape, bytes)} read with struct and json only (independent of ulpwise's readers)."""
    with open(path, "rb") as f:
        data = f.read()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + length])
    base = 8 + length
    return {
        name: (e["dtype"], e["shape"], data[base + e["data_offsets"][0]:base + e["data_offsets"][1]])
        for name, e in header.items()
        if name != "__metadata__"
    }


GOLDEN_CASES = {
    "plain": ("aiter-1stage",),
    "quant": ("vllm-ar-rms-quant",),
    "colmajor": ("vllm-group-quant-colmajor",),
    "fnuz": ("aiter-1stage-quant@gfx942",),
}


@pytest.fixture(scope="session")
def goldens(tmp_path_factory, ulpwise_cli):
    """Small goldens (2 ranks x 3 tokens x 256), made by the CLI, or KEY.safetensors files
    from the folder ULPWISE_TEST_GOLDENS names (made here, shipped to the GPU machine)."""
    shipped = os.environ.get("ULPWISE_TEST_GOLDENS")
    if shipped:
        return {key: os.path.join(shipped, f"{key}.safetensors") for key in GOLDEN_CASES}
    out = tmp_path_factory.mktemp("goldens")
    return {key: gen(out, "--preset", preset, "--ranks", "2", "--tokens", "3", "--hidden", "256") for key, (preset,) in GOLDEN_CASES.items()}
