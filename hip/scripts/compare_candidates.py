#!/usr/bin/env python3
"""Second, independent check of harness candidates: loads golden and candidate with the
safetensors library and torch (not ulpwise's readers) and compares every output bit for bit,
NaN codes as one class. For GPU machines that have Python but no Node.

    compare_candidates.py GOLDEN_DIR CANDIDATE_DIR

Candidates are named <kernel>__<golden file> (what `ulpwise-harness run-suite` writes). Prints
one line per candidate and a summary; exit 1 if any output differs.
"""
import os
import sys

import torch
from safetensors import safe_open

# Bit views and NaN masks per safetensors dtype.
VIEWS = {
    "BF16": (torch.int16, 0xFFFF),
    "F32": (torch.int32, 0xFFFFFFFF),
    "F8_E4M3": (torch.uint8, 0xFF),
    "F8_E4M3FNUZ": (torch.uint8, 0xFF),
    "F8_E5M2": (torch.uint8, 0xFF),
    "F8_E5M2FNUZ": (torch.uint8, 0xFF),
}


def nan_mask(bits, dtype):
    if dtype == "BF16":
        return (bits & 0x7FFF) > 0x7F80
    if dtype == "F32":
        return (bits & 0x7FFFFFFF) > 0x7F800000
    if dtype == "F8_E4M3":
        return (bits & 0x7F) == 0x7F
    if dtype == "F8_E5M2":
        return (bits & 0x7F) > 0x7C
    return bits == 0x80  # fnuz: 0x80 is the only NaN


def ordered(bits, dtype):
    """Sign-magnitude codes as integers ordered like the values: ULP distance = difference."""
    width = {"BF16": 16, "F32": 32}.get(dtype, 8)
    sign = (bits >> (width - 1)) & 1
    magnitude = bits & ((1 << (width - 1)) - 1)
    return torch.where(sign == 1, -magnitude, magnitude)


def bits_of(tensor, dtype):
    view, mask = VIEWS[dtype]
    return tensor.contiguous().view(view).to(torch.int64) & mask


DTYPE_NAMES = {
    torch.bfloat16: "BF16",
    torch.float32: "F32",
    torch.float8_e4m3fn: "F8_E4M3",
    torch.float8_e4m3fnuz: "F8_E4M3FNUZ",
    torch.float8_e5m2: "F8_E5M2",
    torch.float8_e5m2fnuz: "F8_E5M2FNUZ",
}


def compare(golden_path, candidate_path):
    problems, summary = [], []
    with safe_open(golden_path, framework="pt") as golden, safe_open(candidate_path, framework="pt") as candidate:
        outputs = [n for n in golden.keys() if ".out." in "." + n]
        for name in outputs:
            if name not in candidate.keys():
                problems.append(f"{name}: missing from the candidate")
                continue
            expected, actual = golden.get_tensor(name), candidate.get_tensor(name)
            dtype = DTYPE_NAMES[expected.dtype]
            if actual.dtype != expected.dtype or actual.shape != expected.shape:
                problems.append(f"{name}: {actual.dtype} {tuple(actual.shape)} vs golden {expected.dtype} {tuple(expected.shape)}")
                continue
            e, a = bits_of(expected, dtype).flatten(), bits_of(actual, dtype).flatten()
            same = (e == a) | (nan_mask(e, dtype) & nan_mask(a, dtype))
            differing = int((~same).sum())
            if differing:
                finite = ~same & ~nan_mask(e, dtype) & ~nan_mask(a, dtype)
                max_ulp = int((ordered(e, dtype) - ordered(a, dtype))[finite].abs().max()) if bool(finite.any()) else 0
                problems.append(f"{name}: {differing}/{e.numel()} differ, max {max_ulp} ULP")
            summary.append(f"{name.split('out.')[-1]} {e.numel()}")
    return problems, summary


def main():
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    golden_dir, candidate_dir = sys.argv[1], sys.argv[2]
    checked = failed = 0
    for file in sorted(os.listdir(candidate_dir)):
        if "__" not in file or not file.endswith(".safetensors"):
            continue
        kernel, golden_file = file.split("__", 1)
        problems, summary = compare(os.path.join(golden_dir, golden_file), os.path.join(candidate_dir, file))
        checked += 1
        if problems:
            failed += 1
            print(f"MISMATCH {kernel} {golden_file}: " + "; ".join(problems))
        else:
            print(f"bit-exact {kernel} {golden_file} ({', '.join(summary)})")
    print(f"python oracle: {checked - failed}/{checked} candidates bit-exact (safetensors {__import__('safetensors').__version__}, torch {torch.__version__})")
    return 0 if failed == 0 and checked > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
