"""capture: two gloo ranks record their all_reduce inputs; rank 0 writes the site; `ulpwise gen
--inputs-from` reads it into a golden whose inputs are those tensors, bit for bit."""
import os
import subprocess

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import ulpwise
from conftest import read_tensors

TOKENS, HIDDEN = 3, 256


def rank_input(rank):
    g = torch.Generator().manual_seed(100 + rank)
    return torch.randn(TOKENS, HIDDEN, generator=g).to(torch.bfloat16)


def residual_and_weight():
    g = torch.Generator().manual_seed(7)
    return torch.randn(TOKENS, HIDDEN, generator=g).to(torch.bfloat16), (1 + 0.1 * torch.randn(HIDDEN, generator=g)).to(torch.bfloat16)


def worker(rank, world, init_file, path):
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    residual, weight = residual_and_weight()
    with ulpwise.capture(path, weight=weight) as site:
        site.set_residual(residual)
        x = rank_input(rank).float()  # gloo reduces f32 here; the values are bf16 values
        dist.all_reduce(x)
        dist.all_reduce(x)  # a second call: not recorded (call=0)
    dist.destroy_process_group()


def test_capture_two_ranks_then_gen_inputs_from(tmp_path):
    path = str(tmp_path / "site.safetensors")
    mp.spawn(worker, args=(2, str(tmp_path / "init"), path), nprocs=2, join=True)
    site = read_tensors(path)
    assert sorted(site) == ["rank0.input", "rank1.input", "residual", "weight"]
    for r in range(2):
        assert site[f"rank{r}.input"][0] == "F32" and site[f"rank{r}.input"][1] == [TOKENS, HIDDEN]
        assert site[f"rank{r}.input"][2] == rank_input(r).float().numpy().tobytes()
    result = subprocess.run(
        ["node", os.environ["ULPWISE_CLI"], "gen", "--preset", "unfused", "--inputs-from", path, "--out", str(tmp_path / "cases")],
        capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stderr
    golden = read_tensors(os.path.join(tmp_path, "cases", result.stdout.split()[1].split("/")[-1]))
    residual, weight = residual_and_weight()
    for r in range(2):
        assert golden[f"rank{r}.input"][0] == "BF16"
        assert golden[f"rank{r}.input"][2] == rank_input(r).view(torch.int16).numpy().tobytes()
    assert golden["residual"][2] == residual.view(torch.int16).numpy().tobytes()
    assert golden["weight"][2] == weight.view(torch.int16).numpy().tobytes()


def test_save_inputs_checks_shapes_and_dtypes(tmp_path):
    import pytest

    residual, weight = residual_and_weight()
    with pytest.raises(ValueError, match=r"the ranks' inputs differ in shape"):
        ulpwise.save_inputs(str(tmp_path / "x"), [rank_input(0), rank_input(1)[:2]], residual, weight)
    with pytest.raises(TypeError, match="rank0.input is torch.float16"):
        ulpwise.save_inputs(str(tmp_path / "x"), [rank_input(0).half()], residual, weight)
    with pytest.raises(ValueError, match=r"weight has shape \[255\]; expected \[256\]"):
        ulpwise.save_inputs(str(tmp_path / "x"), [rank_input(0)], residual, weight[:255])
    assert not os.path.exists(tmp_path / "x")
