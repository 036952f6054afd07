"""save_candidate and assert_bitexact through the ulpwise CLI: raw bytes (any torch), bf16
tensors, column-major scales, and the messages for the usual mistakes."""
import os
import subprocess

import pytest
import torch

import ulpwise
from ulpwise import _safetensors
from conftest import read_tensors

FP8_FORMAT = {"F8_E4M3": "e4m3fn", "F8_E4M3FNUZ": "e4m3fnuz", "F8_E5M2": "e5m2", "F8_E5M2FNUZ": "e5m2fnuz"}


def raw_outputs(golden):
    """The golden's outputs as RawTensors: bits exactly as the golden holds them."""
    return {n: ulpwise.RawTensor(d, s, b) for n, (d, s, b) in read_tensors(golden).items() if "out." in n}


def test_raw_bytes_candidate_is_bit_exact_and_one_flipped_code_fails(goldens, tmp_path):
    outputs = raw_outputs(goldens["quant"])
    report = ulpwise.assert_bitexact(outputs, goldens["quant"])
    assert report["pass"] and {o["name"] for o in report["outputs"]} == {"out.residual", "out.q", "out.scale"}
    q = outputs["out.q"]
    flipped = bytearray(q.data)
    flipped[5] ^= 0x01  # one code step (same sign, adjacent magnitude)
    outputs["out.q"] = ulpwise.RawTensor(q.dtype, q.shape, bytes(flipped))
    with pytest.raises(ulpwise.BitExactError) as info:
        ulpwise.assert_bitexact(outputs, goldens["quant"], keep=tmp_path / "bad.safetensors")
    message = str(info.value)
    assert "out.q: mismatched elements: 1 / 768" in message
    assert f"at index (0, 5) (row 0, col 5): golden" in message
    assert f"0x{q.data[5]:02X}" in message and f"0x{flipped[5]:02X}" in message
    assert f"ulpwise explain {tmp_path / 'bad.safetensors'} --inputs {goldens['quant']}" in message
    assert info.value.report["pass"] is False


def test_bf16_tensors_written_from_torch_and_a_one_ulp_change(goldens):
    t = read_tensors(goldens["plain"])
    outputs = {}
    for name in ("out.residual", "out.norm"):
        dtype, shape, data = t[name]
        assert dtype == "BF16"
        outputs[name.split(".")[-1]] = torch.frombuffer(bytearray(data), dtype=torch.int16).view(torch.bfloat16).reshape(shape)
    # A non-contiguous view holding the same values is written contiguous.
    outputs["norm"] = outputs["norm"].t().contiguous().t()
    assert not outputs["norm"].is_contiguous()
    ulpwise.assert_bitexact(outputs, goldens["plain"])
    bits = outputs["norm"].contiguous().view(torch.int16).clone()
    bits[1, 7] += 1  # one bf16 step away from zero for a positive value, toward it for a negative one
    outputs["norm"] = bits.view(torch.bfloat16)
    with pytest.raises(ulpwise.BitExactError) as info:
        ulpwise.assert_bitexact(outputs, goldens["plain"])
    negative = bits[1, 7].item() < 0
    assert f"{'-1' if negative else '+1'} ULP" in str(info.value)
    assert "at index (1, 7) (row 1, col 7)" in str(info.value)
    # A tolerance per output lets the 1-step change pass.
    assert ulpwise.assert_bitexact(outputs, goldens["plain"], max_ulp={"out.norm": 1})["pass"]


def test_column_major_scales_are_transposed_to_the_golden_layout(goldens):
    t = read_tensors(goldens["colmajor"])
    dtype, shape, data = t["out.scale"]
    groups, tokens = shape
    golden_scale = torch.frombuffer(bytearray(data), dtype=torch.float32).reshape(groups, tokens)
    outputs = {n: ulpwise.RawTensor(*t[n]) for n in t if n.startswith("out.") and n != "out.scale"}
    outputs["out.scale"] = golden_scale.t()  # the kernel's [M, H/G] view of column-major memory
    ulpwise.assert_bitexact(outputs, goldens["colmajor"])


def test_the_usual_mistakes_get_a_message_that_says_what_to_do(goldens, tmp_path):
    t = read_tensors(goldens["quant"])
    q = torch.frombuffer(bytearray(t["out.q"][2]), dtype=torch.uint8).reshape(t["out.q"][1])
    with pytest.raises(TypeError, match=r"out.q is torch.uint8: FP8 codes need their format; pass q.view\(torch.float8_e4m3fn\)"):
        ulpwise.save_candidate({"q": q}, str(tmp_path / "a.safetensors"))
    with pytest.raises(TypeError, match="out.norm is torch.float16"):
        ulpwise.save_candidate({"norm": torch.zeros(3, 256, dtype=torch.float16)}, str(tmp_path / "a.safetensors"))
    with pytest.raises(TypeError, match="out.residual is F32; a residual output is BF16"):
        ulpwise.save_candidate({"residual": torch.zeros(3, 256)}, str(tmp_path / "a.safetensors"))
    with pytest.raises(KeyError, match="'hidden' is not an output"):
        ulpwise.save_candidate({"hidden": torch.zeros(3)}, str(tmp_path / "a.safetensors"))
    with pytest.raises(ValueError, match=r"out.residual has shape \[2, 256\]; the golden's is \[3, 256\]"):
        ulpwise.save_candidate({"residual": torch.zeros(2, 256, dtype=torch.bfloat16)}, str(tmp_path / "a.safetensors"), golden=goldens["quant"])
    assert not os.path.exists(tmp_path / "a.safetensors")
    # uint8 codes named with their format are fine.
    ulpwise.save_candidate({"q": ulpwise.fp8_codes(q, "e4m3fn")}, str(tmp_path / "ok.safetensors"))
    assert read_tensors(str(tmp_path / "ok.safetensors"))["out.q"][0] == "F8_E4M3"


def cli_error(*args):
    with pytest.raises(ulpwise.UlpwiseError) as info:
        ulpwise.cli.run(list(args))
    return str(info.value)


def test_the_cli_names_torch_save_files_uint8_codes_missing_prefixes_and_swapped_arguments(goldens, tmp_path):
    saved = tmp_path / "outputs.pt"
    torch.save({"out.norm": torch.zeros(3, 256, dtype=torch.bfloat16)}, saved)
    assert "is a zip archive (torch.save writes these), not safetensors" in cli_error("diff", goldens["quant"], saved)
    t = read_tensors(goldens["quant"])
    uint8 = tmp_path / "uint8.safetensors"
    _safetensors.write_atomic(str(uint8), _safetensors.encode([("out.q", "U8", t["out.q"][1], t["out.q"][2])]))
    assert "'out.q' holds U8 integers, so its FP8 format is unknown" in cli_error("diff", goldens["quant"], uint8)
    bare = tmp_path / "bare.safetensors"
    _safetensors.write_atomic(str(bare), _safetensors.encode([(n[4:], *t[n]) for n in ("out.residual", "out.q", "out.scale")]))
    message = cli_error("diff", goldens["quant"], bare)
    assert "output tensors need the golden's names: 'residual' -> 'out.residual', 'q' -> 'out.q', 'scale' -> 'out.scale'" in message
    candidate = tmp_path / "cand.safetensors"
    ulpwise.save_candidate(raw_outputs(goldens["quant"]), str(candidate))
    assert "the arguments look swapped" in cli_error("diff", candidate, goldens["quant"])


def test_without_node_the_error_says_to_install_it(goldens, monkeypatch, tmp_path):
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("ULPWISE_CLI")
    with pytest.raises(ulpwise.UlpwiseError, match=r"needs Node.js >= 20, and `node` is not on PATH"):
        ulpwise.assert_bitexact(raw_outputs(goldens["plain"]), goldens["plain"])


def test_the_pytest_fixture_keeps_a_failing_candidate_for_the_explain_hint(assert_bitexact, goldens, tmp_path):
    # The fixture comes from the `pytest11` entry point that `pip install ./python` registers.
    outputs = raw_outputs(goldens["plain"])
    assert assert_bitexact(outputs, goldens["plain"])["pass"]
    norm = outputs["out.norm"]
    outputs["out.norm"] = ulpwise.RawTensor(norm.dtype, norm.shape, bytes([norm.data[0] ^ 1]) + norm.data[1:])
    with pytest.raises(ulpwise.BitExactError) as info:
        assert_bitexact(outputs, goldens["plain"])
    kept = str(info.value).split("ulpwise explain ")[1].split(" --inputs")[0]
    assert kept.endswith("candidate2.safetensors") and os.path.exists(kept)


def test_fallback_writer_output_is_read_by_the_typescript_reader(goldens, tmp_path, monkeypatch):
    # Force the built-in writer even where the safetensors package exists.
    monkeypatch.setitem(__import__("sys").modules, "safetensors.torch", None)
    outputs = {n: torch.frombuffer(bytearray(b), dtype=torch.int16).view(torch.bfloat16).reshape(s) for n, (d, s, b) in read_tensors(goldens["plain"]).items() if n.startswith("out.")}
    path = tmp_path / "fallback.safetensors"
    ulpwise.save_candidate(outputs, str(path), metadata={"kernel": "mine"})
    assert _safetensors.read_header(str(path))["__metadata__"] == {"kernel": "mine"}
    cli = os.environ["ULPWISE_CLI"]
    result = subprocess.run(["node", cli, "diff", goldens["plain"], str(path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS: every output is bit-exact" in result.stdout
