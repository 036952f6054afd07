"""NCCL all-reduce through torch.distributed on an ulpwise golden's per-rank inputs.

    python3 -m ulpwise.runner.nccl_allreduce --golden FILE --out DIR [--backend nccl|gloo]
        [--algos Ring,Tree] [--protos LL,LL128,Simple] [--channels N]

Spawns one process per rank of the golden (N = the golden's rank count; NCCL needs N GPUs,
one per rank). Each rank all-reduces its `rank{r}.input` (bf16, op SUM) under every
NCCL_ALGO x NCCL_PROTO combination asked for, in a fresh process group per combination (NCCL
reads the variables at communicator creation), and rank 0 writes
DIR/nccl-<algo>-<proto>__<golden>.safetensors with `out.allreduce` (the bf16 sum every rank
received; ranks that disagree are written as `rank{r}.out.allreduce` and reported) plus
`ulpwise.capture` metadata and the NCCL_DEBUG=INFO lines naming channels and ring order.
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
from typing import Dict, List, NoReturn

import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from safetensors import safe_open
from safetensors.torch import save_file


def fail(message: str) -> NoReturn:
    print(f"nccl_allreduce: {message}", file=sys.stderr)
    sys.exit(2)


def load_rank_inputs(path: Path) -> List[torch.Tensor]:
    with safe_open(str(path), "pt") as f:
        names = set(f.keys())
        ranks = sorted(int(n[4:].split(".")[0]) for n in names if n.startswith("rank") and n.endswith(".input"))
        if not ranks or ranks != list(range(len(ranks))):
            fail(f"{path}: no rank{{r}}.input tensors numbered from 0")
        return [f.get_tensor(f"rank{r}.input") for r in ranks]


def worker(rank: int, world: int, backend: str, port: int, inputs: List[torch.Tensor], combos: List[Dict[str, str]],
           result_dir: str) -> None:
    os.environ["NCCL_NVLS_ENABLE"] = "0"
    os.environ["TORCH_SYMM_MEM_DISABLE_MULTICAST"] = "1"
    for i, combo in enumerate(combos):
        os.environ.update(combo)
        dist.init_process_group(backend, init_method=f"tcp://127.0.0.1:{port + i}", rank=rank, world_size=world)
        device = torch.device("cuda", rank) if backend == "nccl" else torch.device("cpu")
        if backend == "nccl":
            torch.cuda.set_device(rank)
        t = inputs[rank].to(device).clone()
        dist.all_reduce(t, op=dist.ReduceOp.SUM)
        if backend == "nccl":
            torch.cuda.synchronize()
        torch.save(t.cpu(), Path(result_dir) / f"combo{i}_rank{rank}.pt")
        dist.destroy_process_group()


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
    inputs = load_rank_inputs(args.golden)
    world = len(inputs)
    if world < 2:
        fail(f"{args.golden}: {world} rank; an all-reduce needs at least 2")
    if args.backend == "nccl" and torch.cuda.device_count() < world:
        fail(f"blocked: {world} ranks need {world} GPUs, this machine has {torch.cuda.device_count()} "
             "(NCCL refuses two ranks on one GPU)")
    combos: List[Dict[str, str]] = []
    for algo in args.algos.split(","):
        for proto in args.protos.split(","):
            combo = {"NCCL_ALGO": algo, "NCCL_PROTO": proto, "NCCL_DEBUG": "INFO",
                     "NCCL_DEBUG_SUBSYS": "INIT,GRAPH,TUNING"}
            if args.channels:
                combo["NCCL_MIN_NCHANNELS"] = combo["NCCL_MAX_NCHANNELS"] = str(args.channels)
            combos.append(combo)
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        log = io.StringIO()
        try:
            with redirect_stderr(log):
                mp.spawn(worker, args=(world, args.backend, args.port, inputs, combos, tmp), nprocs=world, join=True)
        except Exception:  # noqa: BLE001 - the spawn error text is the report
            fail("a rank failed:\n" + traceback.format_exc() + log.getvalue()[-4000:])
        for i, combo in enumerate(combos):
            results = [torch.load(Path(tmp) / f"combo{i}_rank{r}.pt") for r in range(world)]
            same = all(torch.equal(results[0].view(torch.int16), t.view(torch.int16)) for t in results)
            tensors = {"out.allreduce": results[0]} if same else {f"rank{r}.out.allreduce": t for r, t in enumerate(results)}
            name = f"nccl-{combo['NCCL_ALGO'].lower()}-{combo['NCCL_PROTO'].lower()}__{args.golden.stem}.safetensors"
            meta = {"ulpwise.capture": json.dumps({
                "kernel": f"{args.backend} all_reduce SUM bf16",
                "env": combo, "golden": args.golden.name, "world": world, "ranks_agree": same,
                "torch": torch.__version__,
                "nccl": ".".join(map(str, torch.cuda.nccl.version())) if args.backend == "nccl" else None,
            }, sort_keys=True)}
            fd, part = tempfile.mkstemp(dir=args.out, suffix=".tmp")
            os.close(fd)
            save_file(tensors, part, metadata=meta)
            os.replace(part, args.out / name)
            print(f"wrote {name} (ranks agree: {same})")
        (args.out / "nccl_debug.log").write_text(log.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
