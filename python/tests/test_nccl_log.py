"""nccl_log: a hand-written NCCL_DEBUG=INFO log of 4 ranks on one node, 2 channels, read into the
allReduce.order the runner writes. The lines follow NVIDIA/nccl@5067397c's formats: the prefix
"host:pid:tid [dev] NCCL INFO " (src/debug.cc:330, :354), the comm line (src/init.cc:1422), rank
0's rings (src/graph/rings.cc:48-49, dumpLine :10-27), every rank's Trees line (src/init.cc:1487-1497),
the tuning line (src/enqueue.cc:822-824); the expected values are derived by hand below."""
import json
import struct

import pytest
from conftest import gen

from ulpwise.runner.nccl_log import NcclLogError, allreduce_contract, allreduce_order, channel_parts, parse_nccl_log

# Rank r's Trees line: channel 0 is the chain 3 -> 2 -> 1 -> 0 (root 0), channel 1 is 0 -> 1 -> 2 -> 3.
TREES = {
    0: "Trees [0] 1/-1/-1->0->-1 [1] -1/-1/-1->0->1",
    1: "Trees [0] 2/-1/-1->1->0 [1] 0/-1/-1->1->2",
    2: "Trees [0] 3/-1/-1->2->1 [1] 1/-1/-1->2->3",
    3: "Trees [0] -1/-1/-1->3->2 [1] 2/-1/-1->3->-1",
}


def log(tuning, rings=("0 1 2 3", "0 2 1 3"), trees=TREES, nodes=1):
    lines = []
    for r in range(4):
        p = f"gpu-host:{4100 + r}:{4200 + r} [{r}] NCCL INFO "
        lines.append(p + "NCCL_DEBUG_SUBSYS set by environment to INIT,GRAPH,TUNING.")
        lines.append(p + f"comm 0x55d0c0a0{r}0 rank {r} nRanks 4 nNodes {nodes} localRanks 4 localRank {r} MNNVL 0")
        if r == 0:
            lines += [p + f"Channel {c:02d}/{len(rings):02d} :    {ring}" for c, ring in enumerate(rings)]
        lines.append(p + f"Channel 00/0 : {r}[{r}] -> {(r + 1) % 4}[{(r + 1) % 4}] via P2P/CUMEM/read")
        lines.append(p + trees[r])
        lines.append(p + f"Ring 00 : {(r + 3) % 4} -> {r} -> {(r + 1) % 4}")
        if r == 0 and tuning:
            lines.append(p + tuning)
        lines.append(p + f"comm 0x55d0c0a0{r}0 rank {r} nranks 4 cudaDev {r} nvmlDev {r} busId 1b000 commId 0x5a5a - Init COMPLETE")
    return "\n".join(lines) + "\n"


def test_channel_parts_hand_derived():
    # Simple: 16 KiB cells (8192 elements); traffic 40000 B over 2 channels: 20000 per channel, one
    # cell each; the second cell becomes the hi channel and loses 16384 - 10000 elements.
    assert channel_parts(10000, "simple", 2, 2) == [8192, 1808]
    # One channel (task budget 1): min(2 cells, divUp(40000, 32768) = 2) all on channel 0.
    assert channel_parts(10000, "simple", 1, 2) == [10000]
    # LL counts its traffic 4 times: 2^20 elements in 512 cells of 2048, 32 per channel by the
    # traffic, 16 channels > 4: lo 32 cells, then 2 mid and hi of 480 / 3 = 160 cells.
    assert channel_parts(1 << 20, "ll", 4, 4) == [65536, 327680, 327680, 327680]


def test_ring_simple_two_channels():
    run = parse_nccl_log(log("AllReduce: 20000 Bytes -> Algo RING proto SIMPLE channel{Lo..Hi}={0..1}"))
    assert run.ranks == 4 and run.nodes == 1 and run.ring_count == 2
    assert run.rings == {0: [0, 1, 2, 3], 1: [0, 2, 1, 3]}
    # Budget 1 puts all 10000 elements on one channel; only budget 2 uses channels 0..1.
    assert allreduce_order(run, 10000, {}) == {
        "kind": "nccl-ring",
        "protocol": "simple",
        "channels": 2,
        "rings": [[0, 1, 2, 3], [0, 2, 1, 3]],
        "buffSize": "default",
    }
    assert allreduce_order(run, 10000, {"NCCL_BUFFSIZE": "1048576"})["buffSize"] == 1048576


def test_tree_chains_from_every_ranks_trees_line():
    run = parse_nccl_log(log("AllReduce: 20000 Bytes -> Algo TREE proto SIMPLE channel{Lo..Hi}={0..1}"))
    assert allreduce_order(run, 10000, {}) == {"kind": "nccl-tree", "protocol": "simple", "channels": 2, "chains": [[3, 2, 1, 0], [0, 1, 2, 3]]}


def test_ambiguous_channel_budget_is_refused():
    # LL, 10000 elements in 5 cells of 2048: budget 1 gives 2 channels of 4096 and 5904 (cells per
    # channel 2, overflow onto the 2 channels: lo 2, hi 3), budget 2 gives 2048 and 7952 (lo 1,
    # hi 4): both use channels 0..1 and the log cannot tell them apart.
    assert channel_parts(10000, "ll", 1, 2) == [4096, 5904]
    assert channel_parts(10000, "ll", 2, 2) == [2048, 7952]
    run = parse_nccl_log(log("AllReduce: 20000 Bytes -> Algo RING proto LL channel{Lo..Hi}={0..1}"))
    with pytest.raises(NcclLogError, match=r"channel budgets \[1, 2\] split 10000 elements over 2 channels in different ways"):
        allreduce_order(run, 10000, {})


@pytest.mark.parametrize(
    "tuning, change, message",
    [
        (None, {}, r"no 'AllReduce: 20000 Bytes -> Algo \.\.' line"),
        ("AllReduce: 20000 Bytes -> Algo NVLS proto SIMPLE channel{Lo..Hi}={0..1}", {}, "Algo NVLS: only RING and TREE"),
        ("AllReduce: 20000 Bytes -> Algo RING proto SIMPLE channel{Lo..Hi}={2..3}", {}, r"channel\{Lo\.\.Hi\}=\{2\.\.3\}"),
        ("AllReduce: 20000 Bytes -> Algo RING proto SIMPLE channel{Lo..Hi}={0..2}", {}, "no channel budget of 1..2 splits 10000 elements over 3"),
        ("AllReduce: 20000 Bytes -> Algo TREE proto SIMPLE channel{Lo..Hi}={0..1}", {"nodes": 2}, "Tree over 2 nodes"),
        (
            "AllReduce: 20000 Bytes -> Algo TREE proto SIMPLE channel{Lo..Hi}={0..1}",
            {"trees": {**TREES, 0: "Trees [0] 1/2/-1->0->-1 [1] -1/-1/-1->0->1"}},
            "rank 0 has two children",
        ),
    ],
)
def test_what_no_contract_expresses_is_refused_by_name(tuning, change, message):
    run = parse_nccl_log(log(tuning, **change))
    with pytest.raises(NcclLogError, match=message):
        allreduce_order(run, 10000, {})


def test_a_ring_cut_at_128_characters_is_refused():
    with pytest.raises(NcclLogError, match="channel 1's ring is cut at 128 characters"):
        parse_nccl_log(log("", rings=("0 1 2 3", "0 2 1 3 ...")))


def test_contract_takes_the_order_and_rounds_every_hop():
    golden = {
        "allReduce": {"order": {"kind": "natural"}, "accumulate": "f32", "roundResult": "bf16"},
        "bf16Rounding": {"allReduceHop": "truncate", "allReduceResult": "truncate", "residualAdd": "rne"},
        "norm": {"eps": 1e-6},
    }
    order = {"kind": "nccl-tree", "protocol": "ll", "channels": 1, "chains": [[1, 0]]}
    contract = allreduce_contract(golden, order)
    assert contract["allReduce"] == {"order": order, "accumulate": "bf16", "roundResult": "bf16", "negativeZeroInputs": "keep"}
    assert contract["bf16Rounding"] == {"allReduceHop": "rne", "allReduceResult": "rne", "residualAdd": "rne"}
    assert contract["norm"] == {"eps": 1e-6} and golden["allReduce"]["accumulate"] == "f32"


def _contract_of(path):
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        return json.loads(json.loads(f.read(length))["__metadata__"]["ulpwise.contract"])


def test_the_written_contract_is_one_the_typescript_schema_accepts_and_the_engine_runs(ulpwise_cli, tmp_path):
    if not ulpwise_cli:
        pytest.skip("needs the ulpwise CLI (node and dist/, or ULPWISE_CLI)")
    shape = ["--ranks", "4", "--tokens", "5", "--hidden", "2000"]
    golden = gen(tmp_path / "golden", "--preset", "unfused", *shape)
    for tuning in ("Algo RING proto SIMPLE", "Algo TREE proto SIMPLE"):
        run = parse_nccl_log(log(f"AllReduce: 20000 Bytes -> {tuning} channel{{Lo..Hi}}={{0..1}}"))
        contract = allreduce_contract(_contract_of(golden), allreduce_order(run, 10000, {}))
        path = tmp_path / f"{tuning.split()[1]}.json"
        path.write_text(json.dumps(contract))
        written = gen(tmp_path / tuning.split()[1], "--contract", str(path), *shape)
        assert _contract_of(written) == contract
