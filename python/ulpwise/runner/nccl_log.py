"""What an NCCL all-reduce ran with, read from NCCL_DEBUG=INFO, as an ulpwise `allReduce.order`.

Pure Python (no torch, no safetensors) so CI can test it on a hand-written log. The lines read,
at NVIDIA/nccl@5067397c (NCCL_DEBUG_SUBSYS must include INIT and TUNING):

- ``comm 0x.. rank R nRanks N nNodes M localRanks .. localRank .. MNNVL ..`` (src/init.cc:1422);
- ``Channel cc/nn :  0 1 2 3``: rank 0 prints each of the communicator's nn rings from itself
  (src/graph/rings.cc:48-49 via dumpLine :10-27; ``...`` ends a line cut at 128 characters);
- ``Trees [c] d0/d1/d2->R->up ...``: every rank its tree neighbours per channel (src/init.cc:1487-1497);
- ``AllReduce: B Bytes -> Algo A proto P channel{Lo..Hi}={lo..hi}``: rank 0, per collective
  (src/enqueue.cc:822-824).

The contract's ``channels`` (the planner's min(task nMaxChannels, comm nChannels), picked by the
tuner at run time, enqueue.cc:2093-2096) is not printed; it is the channel budget whose split of
the buffer (enqueue.cc:655-701, transcribed in :func:`channel_parts`) uses exactly channels
lo..hi. Every budget that does gives the same split, or the run is refused as ambiguous.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

BF16_BYTES = 2
MIN_TRAFFIC_PER_CHANNEL = 32 << 10  # enqueue.cc:585
PROTOCOLS = {"SIMPLE": "simple", "LL": "ll", "LL128": "ll128"}  # src/collectives.cc:116-125
ALGORITHMS = {"RING": "nccl-ring", "TREE": "nccl-tree"}  # src/collectives.cc:95-113
BUFFSIZE_ENV = {"simple": "NCCL_BUFFSIZE", "ll": "NCCL_LL_BUFFSIZE", "ll128": "NCCL_LL128_BUFFSIZE"}  # init.cc:814-816

_INFO = re.compile(r"NCCL INFO (.*)$")
_COMM = re.compile(r"^comm \S+ rank (\d+) nRanks (\d+) nNodes (\d+) ")
_RING = re.compile(r"^Channel (\d+)/(\d+) :((?: +\d+)+)( *\.\.\.)?\s*$")
_TREES = re.compile(r"^Trees((?: \[\d+\] -?\d+/-?\d+/-?\d+->\d+->-?\d+)*)\s*$")
_TREE = re.compile(r"\[(\d+)\] (-?\d+)/(-?\d+)/(-?\d+)->(\d+)->(-?\d+)")
_TUNING = re.compile(r"^AllReduce: (\d+) Bytes -> Algo (\S+) proto (\S+) channel\{Lo\.\.Hi\}=\{(\d+)\.\.(\d+)\}")


class NcclLogError(ValueError):
    """The log does not say what the contract needs, or says something no contract expresses."""


@dataclass
class NcclTuning:
    nbytes: int
    algorithm: str
    protocol: str
    channel_lo: int
    channel_hi: int


@dataclass
class NcclRun:
    ranks: Optional[int] = None
    nodes: Optional[int] = None
    #: ring of channel c as rank 0 prints it
    rings: Dict[int, List[int]] = field(default_factory=dict)
    ring_count: Optional[int] = None
    #: trees[c][rank] = (down0, down1, down2, up)
    trees: Dict[int, Dict[int, Tuple[int, int, int, int]]] = field(default_factory=dict)
    tunings: List[NcclTuning] = field(default_factory=list)


def parse_nccl_log(text: str) -> NcclRun:
    """Every line of one run's NCCL_DEBUG output (all ranks' files concatenated)."""
    run = NcclRun()
    for number, line in enumerate(text.splitlines(), 1):
        info = _INFO.search(line)
        if not info:
            continue
        message = info.group(1).rstrip()
        comm = _COMM.match(message)
        if comm:
            ranks, nodes = int(comm.group(2)), int(comm.group(3))
            if run.ranks not in (None, ranks) or run.nodes not in (None, nodes):
                raise NcclLogError(f"line {number}: a second communicator ({ranks} ranks, {nodes} nodes) in one run's log")
            run.ranks, run.nodes = ranks, nodes
            continue
        ring = _RING.match(message)
        if ring:
            if ring.group(4):
                raise NcclLogError(f"line {number}: channel {int(ring.group(1))}'s ring is cut at 128 characters ('...')")
            channel, count = int(ring.group(1)), int(ring.group(2))
            if run.ring_count not in (None, count) or channel in run.rings:
                raise NcclLogError(f"line {number}: rings of a second communicator in one run's log")
            run.ring_count = count
            run.rings[channel] = [int(r) for r in ring.group(3).split()]
            continue
        trees = _TREES.match(message)
        if trees:
            for c, d0, d1, d2, me, up in _TREE.findall(trees.group(1)):
                per_rank = run.trees.setdefault(int(c), {})
                if int(me) in per_rank:
                    raise NcclLogError(f"line {number}: rank {me} prints channel {c}'s tree twice")
                per_rank[int(me)] = (int(d0), int(d1), int(d2), int(up))
            continue
        tuning = _TUNING.match(message)
        if tuning:
            run.tunings.append(NcclTuning(int(tuning.group(1)), tuning.group(2), tuning.group(3), int(tuning.group(4)), int(tuning.group(5))))
    return run


def _div_up(a: int, b: int) -> int:
    return (a + b - 1) // b


def channel_parts(count: int, protocol: str, channels: int, comm_channels: int) -> List[int]:
    """Elements per channel (channels 0, 1, ..) of a bf16 all-reduce alone in its plan:
    NVIDIA/nccl@5067397c src/enqueue.cc:597-701 with channelId and currentTraffic 0."""
    traffic_bytes = max(MIN_TRAFFIC_PER_CHANNEL, count * BF16_BYTES * 2)  # :597, :2738, :91-94
    traffic_per_channel = _div_up(traffic_bytes // min(channels, comm_channels), 16) * 16  # :598-599, :618
    traffic_per_byte = 2 * (4 if protocol == "ll" else 1)  # :657-658
    cell_size = _div_up(_div_up(MIN_TRAFFIC_PER_CHANNEL, traffic_per_byte), 16) * 16
    elements_per_cell = cell_size // BF16_BYTES
    cells = _div_up(count * BF16_BYTES, cell_size)
    traffic_per_cell = cell_size * traffic_per_byte
    cells_per_channel = min(cells, _div_up(traffic_per_channel, traffic_per_cell))
    cells_lo = cells if comm_channels == 1 else min(cells, _div_up(traffic_per_channel, traffic_per_cell))  # :666-671
    mid = (cells - cells_lo) // cells_per_channel
    cells_hi = (cells - cells_lo) % cells_per_channel
    if comm_channels < 1 + mid + (1 if cells_hi else 0):  # :675-680
        mid = comm_channels - 2
        cells_per_channel = (cells - cells_lo) // (mid + 1)
        cells_hi = cells_per_channel + (cells - cells_lo) % (mid + 1)
    if cells_hi == 0 and mid != 0:  # :681-684
        cells_hi, mid = cells_per_channel, mid - 1
    count_lo, count_hi = cells_lo * elements_per_cell, cells_hi * elements_per_cell
    excess = cells * elements_per_cell - count  # :699
    if count_hi:
        count_hi -= excess
    else:
        count_lo -= excess
    return [count_lo] + [cells_per_channel * elements_per_cell] * mid + ([count_hi] if cells_hi else [])


def _chain(channel: int, tree: Dict[int, Tuple[int, int, int, int]], ranks: int) -> List[int]:
    """Channel `channel`'s ranks from the leaf to the root, or NcclLogError if it is no chain."""
    if sorted(tree) != list(range(ranks)):
        raise NcclLogError(f"channel {channel}: trees printed for ranks {sorted(tree)}, expected all {ranks}")
    for rank, (d0, d1, d2, _up) in tree.items():
        if d1 != -1 or d2 != -1:
            raise NcclLogError(f"channel {channel}: rank {rank} has two children ({d0}/{d1}/{d2}): not a chain, no contract expresses it")
    leaves = [r for r, (d0, _d1, _d2, _up) in tree.items() if d0 == -1]
    if len(leaves) != 1:
        raise NcclLogError(f"channel {channel}: {len(leaves)} leaves: not a chain")
    chain = [leaves[0]]
    while tree[chain[-1]][3] != -1 and len(chain) <= ranks:
        up = tree[chain[-1]][3]
        if tree.get(up, (None,))[0] != chain[-1]:
            raise NcclLogError(f"channel {channel}: rank {chain[-1]} sends up to {up}, whose child is not it")
        chain.append(up)
    if len(chain) != ranks:
        raise NcclLogError(f"channel {channel}: the chain from leaf {leaves[0]} reaches {len(chain)} of {ranks} ranks")
    return chain


def allreduce_order(run: NcclRun, count: int, env: Dict[str, str]) -> Dict[str, object]:
    """The `allReduce.order` of the bf16 all-reduce of `count` elements this log ran."""
    if run.ranks is None or run.nodes is None:
        raise NcclLogError("no 'comm .. rank .. nRanks .. nNodes' line (NCCL_DEBUG=INFO, NCCL_DEBUG_SUBSYS with INIT)")
    matching = [t for t in run.tunings if t.nbytes == count * BF16_BYTES]
    if not matching:
        raise NcclLogError(f"no 'AllReduce: {count * BF16_BYTES} Bytes -> Algo ..' line (NCCL_DEBUG_SUBSYS must include TUNING)")
    if len({(t.algorithm, t.protocol, t.channel_lo, t.channel_hi) for t in matching}) != 1:
        raise NcclLogError(f"the {count * BF16_BYTES}-byte all-reduces ran with different algorithms, protocols or channels")
    tuning = matching[0]
    if tuning.algorithm not in ALGORITHMS:
        raise NcclLogError(f"Algo {tuning.algorithm}: only RING and TREE are contracts (NVLS, CollNet and PAT reduce in other orders)")
    if tuning.protocol not in PROTOCOLS:
        raise NcclLogError(f"proto {tuning.protocol}: not one of {', '.join(PROTOCOLS)}")
    protocol = PROTOCOLS[tuning.protocol]
    if tuning.channel_lo != 0:
        raise NcclLogError(f"channel{{Lo..Hi}}={{{tuning.channel_lo}..{tuning.channel_hi}}}: the contract models an all-reduce alone in its plan (from channel 0)")
    if run.ring_count is None or sorted(run.rings) != list(range(run.ring_count)):
        raise NcclLogError("the 'Channel cc/nn :' rings of rank 0 are missing or incomplete (NCCL_DEBUG_SUBSYS with INIT)")
    comm_channels = run.ring_count
    used = tuning.channel_hi + 1
    splits = {c: channel_parts(count, protocol, c, comm_channels) for c in range(1, comm_channels + 1)}
    budgets = [c for c, parts in splits.items() if len(parts) == used]
    if not budgets:
        raise NcclLogError(f"no channel budget of 1..{comm_channels} splits {count} elements over {used} channels as NCCL did")
    if len({tuple(splits[c]) for c in budgets}) != 1:
        raise NcclLogError(f"channel budgets {budgets} split {count} elements over {used} channels in different ways: the log does not decide")
    order: Dict[str, object] = {"kind": ALGORITHMS[tuning.algorithm], "protocol": protocol, "channels": budgets[0]}
    for c, ring in run.rings.items():
        if sorted(ring) != list(range(run.ranks)) or ring[0] != 0:
            raise NcclLogError(f"channel {c}: ring {ring} is not rank 0's view of the {run.ranks} ranks")
    if tuning.algorithm == "RING":
        order["rings"] = [run.rings[c] for c in range(comm_channels)]
        buff = env.get(BUFFSIZE_ENV[protocol])
        order["buffSize"] = int(buff) if buff not in (None, "", "-2") else "default"
    else:
        if run.nodes != 1:
            raise NcclLogError(f"Tree over {run.nodes} nodes: only one node's chains are contracts")
        if sorted(run.trees) != list(range(comm_channels)):
            raise NcclLogError(f"'Trees' lines cover channels {sorted(run.trees)}, expected 0..{comm_channels - 1}")
        order["chains"] = [_chain(c, run.trees[c], run.ranks) for c in range(comm_channels)]
    return order


def allreduce_contract(golden_contract: Dict[str, object], order: Dict[str, object]) -> Dict[str, object]:
    """The golden's contract with NCCL's all-reduce: the recorded order, a bf16 round after every
    hop (FuncSum<__nv_bfloat16> = __hadd, RNE: src/device/reduce_kernel.h:451-453), and the rank
    inputs read as they are (a -0 stays -0: NCCL has no remove_neg_zero)."""
    contract = dict(golden_contract)
    contract["allReduce"] = {"order": order, "accumulate": "bf16", "roundResult": "bf16", "negativeZeroInputs": "keep"}
    rounding = dict(contract.get("bf16Rounding") or {})  # type: ignore[arg-type]
    rounding.update({"allReduceHop": "rne", "allReduceResult": "rne"})
    contract["bf16Rounding"] = rounding
    return contract
