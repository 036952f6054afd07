"""FP8 outputs as torch float8 views (torch >= 2.1) and the safetensors package: these run on
the GPU machine (torch 2.11, safetensors, ml_dtypes); Debian's torch 1.13 has no float8 dtypes.
With ULPWISE_FP8_OUT set, the candidates are kept there so the CLI can diff them elsewhere."""
import os
import shutil

import pytest
import torch

import ulpwise
from conftest import read_tensors

if not hasattr(torch, "float8_e4m3fn"):
    pytest.skip(f"torch {torch.__version__} has no float8 dtypes: these tests run on the GPU machine (torch >= 2.1)", allow_module_level=True)
safetensors_torch = pytest.importorskip("safetensors.torch", reason="the safetensors package is not installed: these tests run on the GPU machine")

TORCH_FP8 = {"F8_E4M3": torch.float8_e4m3fn, "F8_E4M3FNUZ": torch.float8_e4m3fnuz, "F8_E5M2": torch.float8_e5m2, "F8_E5M2FNUZ": torch.float8_e5m2fnuz}
TORCH_BITS = {"BF16": (torch.bfloat16, torch.int16), "F32": (torch.float32, torch.int32)}


def torch_outputs(golden):
    """The golden's outputs as torch tensors of their own dtypes, FP8 as float8 views."""
    out = {}
    for name, (dtype, shape, data) in read_tensors(golden).items():
        if not name.startswith("out."):
            continue
        if dtype in TORCH_FP8:
            out[name] = torch.frombuffer(bytearray(data), dtype=torch.uint8).view(TORCH_FP8[dtype]).reshape(shape)
        else:
            view, bits = TORCH_BITS[dtype]
            out[name] = torch.frombuffer(bytearray(data), dtype=bits).view(view).reshape(shape)
    return out


@pytest.mark.parametrize("key", ["quant", "fnuz"])
def test_float8_views_are_written_with_their_format_and_bits(goldens, tmp_path, key):
    path = tmp_path / f"{key}.safetensors"
    ulpwise.save_candidate(torch_outputs(goldens[key]), str(path), golden=goldens[key])
    written = read_tensors(str(path))
    expected = {n: v for n, v in read_tensors(goldens[key]).items() if n.startswith("out.")}
    assert {n: (d, s) for n, (d, s, _) in written.items()} == {n: (d, s) for n, (d, s, _) in expected.items()}
    for name in expected:
        assert written[name][2] == expected[name][2], name
    # The safetensors package reads the float8 dtypes back.
    loaded = safetensors_torch.load_file(str(path))
    assert loaded["out.q"].dtype == TORCH_FP8[expected["out.q"][0]]
    keep = os.environ.get("ULPWISE_FP8_OUT")
    if keep:
        shutil.copy(path, os.path.join(keep, f"{key}.candidate.safetensors"))


def test_the_fallback_writer_agrees_with_the_safetensors_package(goldens, tmp_path, monkeypatch):
    outputs = torch_outputs(goldens["quant"])
    with_package = tmp_path / "package.safetensors"
    ulpwise.save_candidate(outputs, str(with_package))
    monkeypatch.setitem(__import__("sys").modules, "safetensors.torch", None)
    fallback = tmp_path / "fallback.safetensors"
    ulpwise.save_candidate(outputs, str(fallback))
    monkeypatch.undo()
    a = safetensors_torch.load_file(str(with_package))
    b = safetensors_torch.load_file(str(fallback))
    assert sorted(a) == sorted(b)
    for name in a:
        assert a[name].dtype == b[name].dtype and a[name].shape == b[name].shape
        assert torch.equal(a[name].view(torch.uint8), b[name].view(torch.uint8)), name


def test_ml_dtypes_decodes_the_codes_to_the_same_values_as_torch(goldens):
    ml_dtypes = pytest.importorskip("ml_dtypes", reason="ml_dtypes is not installed: this runs on the GPU machine")
    import numpy as np

    q = torch_outputs(goldens["quant"])["out.q"]
    codes = q.view(torch.uint8).numpy()
    by_ml_dtypes = codes.view(ml_dtypes.float8_e4m3fn).astype(np.float32)
    assert np.array_equal(by_ml_dtypes.view(np.uint32), q.float().numpy().view(np.uint32))
