"""assert_bitexact: a candidate against a golden through `ulpwise diff --json`, failing the way
torch.testing.assert_close does, with bits instead of tolerances."""
import os
import shutil
import tempfile

from . import cli
from .candidate import save_candidate


class BitExactError(AssertionError):
    """The candidate is not bit-exact (or not within its --max-ulp). `report` is diff's JSON report."""

    def __init__(self, message, report):
        super().__init__(message)
        self.report = report


def _signed(n):
    return f"+{n}" if n > 0 else str(n)


def _histogram(output, limit=8):
    bins = output["histogram"]
    if len(bins) > limit:
        bins = sorted(sorted(bins, key=lambda b: -b["count"])[:limit], key=lambda b: b["ulp"])
        return " ".join(f"{_signed(b['ulp'])}:{b['count']}" for b in bins) + f" ... ({len(output['histogram'])} bins)"
    return " ".join(f"{_signed(b['ulp'])}:{b['count']}" for b in bins)


def _index(output, element):
    """The element's index in the tensor as the kernel wrote it, as torch prints indices."""
    shape = output["shape"]
    flat = element["index"]
    index = []
    for d in reversed(shape):
        index.append(flat % d)
        flat //= d
    return "(" + ", ".join(str(i) for i in reversed(index)) + ")"


def format_failure(report, golden, candidate, worst=4):
    """The message of a failed comparison: per output the share that differs, the histogram and
    the worst elements with index, row, column and hex bits, then the explain hint."""
    lines = ["Tensors are not bit-exact!", ""]
    for o in report["outputs"]:
        if o["pass"]:
            continue
        stats = o["stats"]
        share = 100.0 * stats["differing"] / o["elements"] if o["elements"] else 0.0
        tolerance = f" (tolerance {o['tolerance']} ULP)" if o["tolerance"] else ""
        lines.append(
            f"{o['name']}: mismatched elements: {stats['differing']} / {o['elements']} ({share:.2f}%), "
            f"greatest distance {stats['maxUlp']} ULP of {o['unit']}{tolerance}; NaN {stats['nanMismatches']}, Inf {stats['infMismatches']}"
        )
        if o["histogram"]:
            lines.append(f"  signed ULP histogram: {_histogram(o)}")
        if o.get("maxRelativeError") is not None:
            lines.append(f"  greatest relative error: {o['maxRelativeError']:.3g}")
        for e in o["worst"][:worst]:
            distance = e["class"].upper() if e["ulp"] is None else f"{_signed(e['ulp'])} ULP"
            rank = f"rank {e['rank']} " if e["rank"] is not None else ""
            lines.append(
                f"  at index {_index(o, e)} ({rank}row {e['row']}, col {e['column']}): "
                f"golden {e['golden']['value']} ({e['golden']['bits']}), candidate {e['candidate']['value']} ({e['candidate']['bits']}), {distance}"
            )
    lines += ["", f"To see which contract the candidate follows: ulpwise explain {candidate} --inputs {golden}"]
    return "\n".join(lines)


def assert_bitexact(candidate, golden, max_ulp=None, rstd=False, keep=None):
    """Raises BitExactError unless every output of `candidate` equals `golden`'s bit for bit.

    candidate: a safetensors path, or a dict of output tensors (written with save_candidate to a
    temporary file that is kept when the check fails, or to `keep`), so the explain hint in the
    message can be run. golden: a
    golden file. max_ulp: an int, or a dict {'out.norm': 1, 'out.q': 0}. rstd: also run
    `--rstd infer` (rows a hardware rsqrt explains do not fail). Returns diff's JSON report."""
    golden = os.fspath(golden)
    if isinstance(candidate, dict):
        if keep is not None:
            save_candidate(candidate, os.fspath(keep), golden=golden)
            return _diff(os.fspath(keep), golden, max_ulp, rstd)
        # A failing candidate stays on disk for the explain hint; a passing one is removed.
        folder = tempfile.mkdtemp(prefix="ulpwise-")
        path = os.path.join(folder, "candidate.safetensors")
        save_candidate(candidate, path, golden=golden)
        report = _diff(path, golden, max_ulp, rstd)
        shutil.rmtree(folder)
        return report
    return _diff(os.fspath(candidate), golden, max_ulp, rstd)


def _diff(path, golden, max_ulp, rstd):
    args = ["diff", golden, path]
    if max_ulp is not None:
        text = ",".join(f"{k}={v}" for k, v in max_ulp.items()) if isinstance(max_ulp, dict) else str(int(max_ulp))
        args += ["--max-ulp", text]
    if rstd:
        args += ["--rstd", "infer"]
    code, report = cli.run_json(args)
    if code == 0 and report["pass"]:
        return report
    raise BitExactError(format_failure(report, golden, path), report)
