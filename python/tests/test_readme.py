"""The README's Python section runs as written: its shell lines (the CLI of this checkout in
place of npx), then its Python block, in a fresh folder."""
import os
import re
import subprocess
import sys

from conftest import REPO


def test_readme_python_section_runs_as_written(tmp_path, ulpwise_cli):
    readme = open(os.path.join(REPO, "README.md"), encoding="utf-8").read()
    section = readme[readme.index("## Python: write a candidate from PyTorch"):]
    shell = re.search(r"```sh\n(.*?)\n```", section, re.S).group(1)
    python = re.search(r"```python\n(.*?)\n```", section, re.S).group(1)
    for line in shell.splitlines():
        if line.startswith("npx ulpwise "):
            args = line.split("#")[0].split()[2:]
            subprocess.run(["node", ulpwise_cli, *args], cwd=tmp_path, check=True, capture_output=True)
    (tmp_path / "snippet.py").write_text(python)
    result = subprocess.run([sys.executable, "snippet.py"], cwd=tmp_path, capture_output=True, text=True, env={**os.environ, "ULPWISE_CLI": ulpwise_cli})
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("True\nTensors are not bit-exact!")
    assert "out.norm: mismatched elements: 1 / 2048" in result.stdout
    assert "at index (1, 7) (row 1, col 7)" in result.stdout
    kept = re.search(r"ulpwise explain (\S+) --inputs cases/aiter-1stage\.gfx950__tp2_m4_h512_random_s0\.safetensors", result.stdout).group(1)
    assert os.path.exists(kept)  # the failing candidate stays for the hint
