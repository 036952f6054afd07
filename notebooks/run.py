"""Executes the notebooks headless and exports each to a self-contained HTML page.

Usage: run.py [NOTEBOOK.ipynb ...]   (default: every notebooks/*.ipynb)

Called by notebooks/run.sh (`npm run notebooks`), which builds the package and installs the
Deno kernelspec first. Source notebooks stay output-free; the executed copy of NAME.ipynb is
written to notebooks/executed/NAME.ipynb (also when a cell fails, so the error can be read
there) and its HTML export to notebooks/html/NAME.html (only when every cell passed). A
failing cell, such as a claim's assertion, makes the exit status 1.
"""

import os
import queue
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionComplete, CellExecutionError, CellTimeoutError, DeadKernelError
from nbclient.util import ensure_async
from nbconvert import HTMLExporter

NOTEBOOKS = Path(__file__).resolve().parent
EXECUTED = NOTEBOOKS / "executed"
HTML = NOTEBOOKS / "html"
TEMPLATES = NOTEBOOKS / "templates"
KERNEL = "deno"
CELL_TIMEOUT_S = 300
# How long the iopub channel must stay quiet after a cell reports idle (see DenoNotebookClient).
LATE_OUTPUT_QUIET_S = 0.3
# Two kernels at a time: the CI machine has two cores and each kernel is single-threaded.
WORKERS = 2


class DenoNotebookClient(NotebookClient):
    """nbclient stops reading a cell's outputs when the kernel reports the cell idle. Deno's
    kernel can publish a cell's last outputs after that (its stdout is forwarded by a separate
    task; execute_result was also seen after idle), and nbclient would drop them. Here reading
    goes on until the kernel has been quiet for LATE_OUTPUT_QUIET_S, before the next cell is sent,
    so late outputs land in the cell that made them. Overrides a private nbclient 0.7 method."""

    async def _async_poll_output_msg(self, parent_msg_id, cell, cell_index):
        await super()._async_poll_output_msg(parent_msg_id, cell, cell_index)
        while True:
            try:
                msg = await ensure_async(self.kc.iopub_channel.get_msg(timeout=LATE_OUTPUT_QUIET_S))
            except queue.Empty:
                return
            if msg["parent_header"].get("msg_id") == parent_msg_id:
                try:
                    self.process_message(msg, cell, cell_index)
                except CellExecutionComplete:
                    pass


def write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        # mkstemp creates 0600; give the file the mode a plain open() would.
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def outputs_of(nb) -> int:
    return sum(len(c.get("outputs", [])) for c in nb.cells if c.cell_type == "code")


def source_problem(nb) -> str:
    """Why a source notebook cannot be run as is, or ''."""
    kernel = nb.metadata.get("kernelspec", {}).get("name")
    if kernel != KERNEL:
        return f"kernelspec is {kernel!r}, expected {KERNEL!r}"
    if outputs_of(nb) > 0:
        return ("the source notebook has outputs; clear them before committing "
                "(executed copies belong in notebooks/executed/)")
    return ""


def export_html(nb, name: str) -> str:
    exporter = HTMLExporter(template_name="ulpwise", extra_template_basedirs=[str(TEMPLATES)])
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": name}})
    return body


def first_error(nb) -> str:
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            if out.get("output_type") == "error":
                return f"{out.get('ename')}: {out.get('evalue')}"
    return "unknown error"


def lost_displays(nb) -> list[int]:
    """Code cells that end in a chart expression (last line `})`, no semicolon: the chart is the
    cell's value) but have no display output: a kernel output that arrived too late."""
    return [
        i for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and c.source.rstrip().endswith("})")
        and not any(o.get("output_type") in ("execute_result", "display_data") for o in c.get("outputs", []))
    ]


def run_one(path_text: str) -> tuple[str, bool, float, str]:
    """Executes one notebook; returns (name, passed, seconds, message). A run that lost a chart
    output is repeated once: that is the kernel's timing, not the notebook's claim."""
    for attempt in (1, 2):
        result, lost = execute(Path(path_text))
        if not lost:
            return result
        print(f"notebooks: {result[0]}: cells {lost} lost their chart output (attempt {attempt})", file=sys.stderr)
    return result[0], False, result[2], f"cells {lost} lost their chart output twice"


def execute(path: Path) -> tuple[tuple[str, bool, float, str], list[int]]:
    nb = nbformat.read(path, as_version=4)
    problem = source_problem(nb)
    if problem:
        return (path.stem, False, 0.0, problem), []
    client = DenoNotebookClient(
        nb,
        kernel_name=KERNEL,
        timeout=CELL_TIMEOUT_S,
        allow_errors=False,
        record_timing=False,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    start = time.monotonic()
    passed = True
    message = ""
    try:
        client.execute()
    except CellExecutionError:
        passed = False
        message = first_error(nb)
    except (CellTimeoutError, DeadKernelError) as e:
        passed = False
        message = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
    seconds = time.monotonic() - start
    lost = lost_displays(nb) if passed else []
    write_atomic(EXECUTED / path.name, nbformat.writes(nb) + "\n")
    if passed and not lost:
        write_atomic(HTML / f"{path.stem}.html", export_html(nb, path.stem))
    return (path.stem, passed, seconds, message), lost


def main(argv: list[str]) -> int:
    paths = [Path(a).resolve() for a in argv] or sorted(NOTEBOOKS.glob("*.ipynb"))
    if not paths:
        print("notebooks: no notebooks found", file=sys.stderr)
        return 1
    for p in paths:
        if not p.is_file():
            print(f"notebooks: {p} does not exist", file=sys.stderr)
            return 1
    start = time.monotonic()
    with ProcessPoolExecutor(max_workers=min(WORKERS, len(paths))) as pool:
        results = list(pool.map(run_one, [str(p) for p in paths]))
    failed = 0
    for name, passed, seconds, message in results:
        status = "ok  " if passed else "FAIL"
        print(f"notebooks: {status} {name} ({seconds:.1f} s){'  ' + message if message else ''}")
        failed += 0 if passed else 1
    total = time.monotonic() - start
    print(f"notebooks: {len(results) - failed}/{len(results)} passed in {total:.1f} s; "
          f"executed copies in notebooks/executed/, HTML in notebooks/html/")
    if failed:
        print(f"notebooks: {failed} failed; open notebooks/executed/<name>.ipynb to see the failing cell", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
