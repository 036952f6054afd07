"""NCCL all-reduce through torch.distributed on an ulpwise golden's per-rank inputs.

    python3 -m ulpwise.runner.nccl_allreduce --golden FILE --out DIR [--backend nccl|gloo]
        [--algos Ring,Tree] [--protos LL,LL128,Simple] [--channels N]

Spawns one process per rank of the golden (N = the golden's rank count; NCCL needs N GPUs,
one per rank), afresh for every NCCL_ALGO x NCCL_PROTO combination asked for (NCCL reads its
variables once per process). Each rank all-reduces its `rank{r}.input` (bf16, op SUM) with
NCCL_DEBUG=INFO, NCCL_DEBUG_SUBSYS=INIT,GRAPH,TUNING written to one file per rank, and rank 0's
side writes, per combination:
- DIR/nccl-<algo>-<proto>__<golden>.safetensors: `out.allreduce` (the bf16 sum every rank
  received; ranks that disagree are written as `rank{r}.out.allreduce` and reported) and
  `ulpwise.capture` metadata: environment, versions, and what NCCL printed that decides the order
  (the channel count and rings, the trees, the algorithm, protocol and channels of the call);
- DIR/nccl-<algo>-<proto>__<golden>.contract.json: the golden's contract with the all-reduce NCCL
  ran, as recorded (ulpwise/runner/nccl_log.py: allReduce.order 'nccl-ring' or 'nccl-tree');
- DIR/nccl-<algo>-<proto>__<golden>.nccl.log: the NCCL_DEBUG lines of every rank.
Where the log does not decide a contract (another algorithm, a tree that is no chain, an
ambiguous channel budget), the capture is still written and the reason is printed and recorded.
With --backend gloo it runs on CPU tensors (plumbing check only: gloo is not NCCL).

NVLink multicast stays off (NCCL_NVLS_ENABLE=0), as the lending machines require.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import sys
import tempfile
import traceback
from contextlib import redirect_stderr
from pathlib import Path
from typing import Callable, Dict, List, NoReturn, Optional, Tuple

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from safetensors import safe_open
from safetensors.torch import save_file

from ulpwise.runner.nccl_log import NcclLogError, allreduce_contract, allreduce_order, parse_nccl_log


def fail(message: str) -> NoReturn:
    print(f"nccl_allreduce: {message}", file=sys.stderr)
    sys.exit(2)


def load_golden(path: Path) -> Tuple[List[torch.Tensor], Dict[str, object]]:
    """The golden's per-rank inputs and its contract (metadata `ulpwise.contract`)."""
    with safe_open(str(path), "pt") as f:
        names = set(f.keys())
        ranks = sorted(int(n[4:].split(".")[0]) for n in names if n.startswith("rank") and n.endswith(".input"))
        if not ranks or ranks != list(range(len(ranks))):
            fail(f"{path}: no rank{{r}}.input tensors numbered from 0")
        contract_text = (f.metadata() or {}).get("ulpwise.contract")
        if contract_text is None:
            fail(f"{path}: no ulpwise.contract metadata (not an ulpwise golden)")
        return [f.get_tensor(f"rank{r}.input") for r in ranks], json.loads(contract_text)


def worker(rank: int, world: int, backend: str, port: int, inputs: List[torch.Tensor], combo: Dict[str, str], result_dir: str) -> None:
    os.environ["NCCL_NVLS_ENABLE"] = "0"
    os.environ["TORCH_SYMM_MEM_DISABLE_MULTICAST"] = "1"
    os.environ.update(combo)
    # One file per process (%h host, %p pid: NVIDIA/nccl@5067397c src/debug.cc:197-220).
    os.environ["NCCL_DEBUG_FILE"] = str(Path(result_dir) / "nccl.%h.%p.log")
    dist.init_process_group(backend, init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    device = torch.device("cuda", rank) if backend == "nccl" else torch.device("cpu")
    if backend == "nccl":
        torch.cuda.set_device(rank)
    t = inputs[rank].to(device).clone()
    dist.all_reduce(t, op=dist.ReduceOp.SUM)
    if backend == "nccl":
        torch.cuda.synchronize()
    torch.save(t.cpu(), Path(result_dir) / f"rank{rank}.pt")
    dist.destroy_process_group()


def write_atomic(path: Path, write: Callable[[str], None]) -> None:
    fd, part = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
    os.close(fd)
    try:
        write(part)
        os.replace(part, path)
    except BaseException:
        os.unlink(part)
        raise


def main(argv: List[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--golden", required=True, type=Path)
    parser.add_argument("--out", required=True, type=Path)
    parser.add_argument("--backend", choices=("nccl", "gloo"), default="nccl")
    parser.add_argument("--algos", default="Ring,Tree")
    parser.add_argument("--protos", default="LL,LL128,Simple")
    parser.add_argument("--channels", type=int, default=0, help="NCCL_MIN/MAX_NCHANNELS (0: NCCL's choice)")
    parser.add_argument("--port", type=int, default=29600)
    args = parser.parse_args(argv)
    inputs, golden_contract = load_golden(args.golden)
    world = len(inputs)
    if world < 2:
        fail(f"{args.golden}: {world} rank; an all-reduce needs at least 2")
    if args.backend == "nccl" and torch.cuda.device_count() < world:
        fail(f"blocked: {world} ranks need {world} GPUs, this machine has {torch.cuda.device_count()} "
             "(NCCL refuses two ranks on one GPU)")
    combos: List[Dict[str, str]] = []
    for algo in args.algos.split(","):
        for proto in args.protos.split(","):
            combo = {"NCCL_ALGO": algo, "NCCL_PROTO": proto, "NCCL_DEBUG": "INFO", "NCCL_DEBUG_SUBSYS": "INIT,GRAPH,TUNING"}
            if args.channels:
                combo["NCCL_MIN_NCHANNELS"] = combo["NCCL_MAX_NCHANNELS"] = str(args.channels)
            combos.append(combo)
    args.out.mkdir(parents=True, exist_ok=True)
    count = inputs[0].numel()
    for i, combo in enumerate(combos):
        with tempfile.TemporaryDirectory() as tmp:
            log = io.StringIO()
            try:
                with redirect_stderr(log):
                    mp.spawn(worker, args=(world, args.backend, args.port + i, inputs, combo, tmp), nprocs=world, join=True)
            except Exception:  # noqa: BLE001 - the spawn error text is the report
                fail("a rank failed:\n" + traceback.format_exc() + log.getvalue()[-4000:])
            results = [torch.load(Path(tmp) / f"rank{r}.pt") for r in range(world)]
            nccl_log = "".join(p.read_text(errors="replace") for p in sorted(Path(tmp).glob("nccl.*.log")))
        same = all(torch.equal(results[0].view(torch.int16), t.view(torch.int16)) for t in results)
        tensors = {"out.allreduce": results[0]} if same else {f"rank{r}.out.allreduce": t for r, t in enumerate(results)}
        stem = f"nccl-{combo['NCCL_ALGO'].lower()}-{combo['NCCL_PROTO'].lower()}__{args.golden.stem}"
        env = {k: v for k, v in os.environ.items() if k.startswith("NCCL_")}
        env.update(combo)
        contract: Optional[Dict[str, object]] = None
        refused: Optional[str] = None
        recorded: Dict[str, object] = {}
        if args.backend == "nccl":
            run = parse_nccl_log(nccl_log)
            recorded = {"ranks": run.ranks, "nodes": run.nodes, "commChannels": run.ring_count,
                        "rings": [run.rings[c] for c in sorted(run.rings)],
                        "trees": {str(c): {str(r): list(t) for r, t in per.items()} for c, per in sorted(run.trees.items())},
                        "tunings": [vars(t) for t in run.tunings]}
            try:
                contract = allreduce_contract(golden_contract, allreduce_order(run, count, env))
            except NcclLogError as error:
                refused = str(error)
        meta = {"ulpwise.capture": json.dumps({
            "kernel": f"{args.backend} all_reduce SUM bf16",
            "env": env, "golden": args.golden.name, "world": world, "ranks_agree": same,
            "torch": torch.__version__,
            "nccl": ".".join(map(str, torch.cuda.nccl.version())) if args.backend == "nccl" else None,
            "recorded": recorded, "contract": contract, "no_contract_because": refused,
        }, sort_keys=True)}
        write_atomic(args.out / f"{stem}.safetensors", lambda part: save_file(tensors, part, metadata=meta))
        write_atomic(args.out / f"{stem}.nccl.log", lambda part: Path(part).write_text(nccl_log))
        if contract is not None:
            write_atomic(args.out / f"{stem}.contract.json", lambda part: Path(part).write_text(json.dumps(contract, indent=2, sort_keys=True) + "\n"))
        print(f"wrote {stem} (ranks agree: {same}; contract: {'written' if contract else refused or 'none for gloo'})")
    return 0

if __name__ == "__main__":
    sys.exit(main())
