"""Tests of the emulations against the captures and against independent derivations.

    python3 -m unittest discover -s conformance/emulate -p 'test_*.py'
"""

from __future__ import annotations

import json
import subprocess
import sys
import unittest
from fractions import Fraction
from pathlib import Path

import numpy as np

import torch_eager
from f32 import E4M3FN_VALUES, F32, f32_to_bf16, f32_to_e4m3fn, fma_f32

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


class Arithmetic(unittest.TestCase):
    def test_fma_matches_exact_rational_rounding(self) -> None:
        rng = np.random.default_rng(7)
        n = 4000
        a = (rng.standard_normal(n) * rng.choice([1, 1e-3, 1e3], n)).astype(F32)
        b = rng.standard_normal(n).astype(F32)
        c = (rng.standard_normal(n) * rng.choice([1, 1e-6, 1e6], n)).astype(F32)
        # products that land exactly on an f32 midpoint, with tiny addends either side
        a[:3] = F32(1 + 2**-12)
        b[:3] = F32(1 + 2**-12)
        c[:3] = [F32(0), F32(1e-30), F32(-1e-30)]
        got = fma_f32(a, b, c)
        for i in range(n):
            exact = Fraction(float(a[i])) * Fraction(float(b[i])) + Fraction(float(c[i]))
            f = np.float32(float(exact))
            cands = [np.nextafter(f, F32(-np.inf)), f, np.nextafter(f, F32(np.inf))]
            best = min(cands, key=lambda v: (abs(Fraction(float(v)) - exact), int(np.float32(v).view(np.uint32)) & 1))
            self.assertEqual(np.float32(best).view(np.uint32), got[i].view(np.uint32), f"fma case {i}")
        self.assertEqual([int(v) for v in got[:3].view(np.uint32)], [0x3F801000, 0x3F801001, 0x3F801000])

    def test_e4m3fn_nearest_even_against_the_code_table(self) -> None:
        # every midpoint between neighbouring codes goes to the even code; just off it, to the nearer one
        pos = E4M3FN_VALUES[:127]
        mids = ((pos[:-1] + pos[1:]) / 2).astype(F32)
        codes = f32_to_e4m3fn(mids)
        want = np.where(np.arange(126) % 2 == 0, np.arange(126), np.arange(1, 127))
        self.assertTrue(np.array_equal(codes, want))
        below = np.nextafter(mids, F32(0))
        self.assertTrue(np.array_equal(f32_to_e4m3fn(below), np.arange(126)))
        self.assertTrue(np.array_equal(f32_to_e4m3fn(-pos.astype(F32)), np.arange(127) | 0x80))

    def test_bf16_nearest_even(self) -> None:
        x = np.array([1 + 2**-8, 1 + 3 * 2**-8, 1 + 2**-8 + 2**-20], dtype=F32)
        self.assertEqual(f32_to_bf16(x).tolist(), [0x3F80, 0x3F82, 0x3F81])


class ReductionTreeProbes(unittest.TestCase):
    """The eager mean(-1) tree (Reduce.cuh as transcribed) against the GPU's own answer to
    'how many leaves sit under the node that joins i and j' (captured by the runner)."""

    def test_reduce_cuh_tree_matches_every_probe(self) -> None:
        probes = json.loads((ROOT / "captures" / "probes.json").read_text())
        self.assertTrue(probes)
        for key, p in probes.items():
            m, h = (int(s[1:]) for s in key.split("_")[1:])
            i, j, sizes = np.array(p["i"]), np.array(p["j"]), np.array(p["lca_leaves"])
            predicted = []
            for start in range(0, len(i), m):
                rows = np.ones((m, h), dtype=F32)
                for r in range(min(m, len(i) - start)):
                    rows[r, i[start + r]] = F32(2.0**40)
                    rows[r, j[start + r]] = F32(-(2.0**40))
                mean = torch_eager.mean_lastdim(rows)
                for r in range(min(m, len(i) - start)):
                    predicted.append(h - round(float(mean[r]) * h))
            self.assertTrue(np.array_equal(np.array(predicted), sizes), f"{key}: tree differs from the probes")


class TreeSums(unittest.TestCase):
    def test_committed_tree_sums_are_what_the_emulations_compute(self) -> None:
        # conformance/tree-sums.json feeds the TypeScript plan test (test/engines/conformanceTrees.test.ts)
        run = subprocess.run([sys.executable, str(HERE / "tree_sums.py")], capture_output=True, text=True, cwd=HERE)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertEqual(json.loads(run.stdout), json.loads((ROOT / "tree-sums.json").read_text()))


class Captures(unittest.TestCase):
    def test_every_capture_is_reproduced_bit_for_bit(self) -> None:
        run = subprocess.run([sys.executable, str(HERE / "check.py")], capture_output=True, text=True, cwd=HERE)
        self.assertEqual(run.returncode, 0, run.stdout + run.stderr)


if __name__ == "__main__":
    unittest.main()
