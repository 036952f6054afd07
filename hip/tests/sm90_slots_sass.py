#!/usr/bin/env python3
"""Checks the SASS of tests/sm90_slots_probe.hip (cuobjdump -sass or nvdisasm output, FILE):
each slot kernel holds the instructions sm_90 was measured with (gpu/MEASUREMENTS.md), in
order: MUFU.RSQ (non-ftz: with the 2^24 pre-scale of subnormal inputs), MUFU.RCP, and
div.full's FSETP |b| > 2^126 / |b| >= 2^-126, FMUL by 0.25 and 2^24, MUFU.RCP, FMUL
(src/numerics/hardware/sm90Div.ts emulates exactly this). Exit 1 naming the kernel otherwise."""
import re
import sys

TWO_POW_126 = r"8\.50705917302346158658e\+37"
TWO_POW_MINUS_126 = r"1\.175494350822287508e-38"
EXPECTED = {
    "rsqrtSlotKeep": [rf"FSETP\.GEU\.AND .*\|R\d+\|, {TWO_POW_MINUS_126}", r"FMUL R\d+, R\d+, 16777216", r"MUFU\.RSQ", r"FMUL R\d+, R\d+, 4096"],
    "rsqrtSlotFtz": [r"MUFU\.RSQ"],
    "reciprocalSlotKeep": [rf"FSETP\.(GEU|GT)\.AND .*\|R\d+\|", r"FMUL", r"MUFU\.RCP", r"FMUL"],
    "reciprocalSlotFtz": [r"MUFU\.RCP"],
    "divideSlotKeep": [rf"FSETP\.GT\.AND .*\|R\d+\|.*, {TWO_POW_126}", rf"FSETP\.GEU\.AND .*\|R\d+\|, {TWO_POW_MINUS_126}",
                       r"FMUL R\d+, R\d+, 0\.25", r"FMUL R\d+, R\d+, 0\.25", r"FMUL R\d+, R\d+, 16777216", r"FMUL R\d+, R\d+, 16777216",
                       r"MUFU\.RCP", r"FMUL R\d+, R\d+, R\d+"],
    "divideSlotFtz": [rf"FSETP\.GT\.FTZ\.AND .*\|R\d+\|, {TWO_POW_126}", r"FMUL\.FTZ R\d+, R\d+, 0\.25", r"FMUL\.FTZ R\d+, R\d+, 0\.25",
                      r"MUFU\.RCP", r"FMUL\.FTZ R\d+, R\d+, R\d+"],
}
# The .ftz forms have no range reduction: no 2^24 step, no 2^12 rescale.
ABSENT = {"rsqrtSlotFtz": [r"16777216", r"FSETP"], "reciprocalSlotFtz": [r"16777216", r"FSETP"], "divideSlotFtz": [r"16777216"]}


def kernels(text):
    """Instructions per kernel, from cuobjdump's `Function : name` or nvdisasm's `.text.name:`."""
    out = {}
    current = None
    for line in text.splitlines():
        header = re.search(r"Function : (\w+)|^\s*\.text\.(\w+):", line)
        if header:
            current = header.group(1) or header.group(2)
            out[current] = []
            continue
        instruction = re.search(r"/\*[0-9a-f]{4}\*/\s+(.*?)\s*;", line)
        if current is not None and instruction:
            out[current].append(re.sub(r"\s+", " ", instruction.group(1)))
    return out


def main():
    found = kernels(open(sys.argv[1]).read())
    problems = []
    for name, patterns in EXPECTED.items():
        body = found.get(name)
        if body is None:
            problems.append(f"{name}: not in the SASS")
            continue
        at = 0
        for pattern in patterns:
            while at < len(body) and not re.search(pattern, body[at]):
                at += 1
            if at == len(body):
                problems.append(f"{name}: no {pattern!r} in order; SASS: {' | '.join(body)}")
                break
            at += 1
        for pattern in ABSENT.get(name, []):
            if any(re.search(pattern, i) for i in body):
                problems.append(f"{name}: unexpected {pattern!r}; SASS: {' | '.join(body)}")
    for problem in problems:
        print(f"sm90_slots_sass: {problem}", file=sys.stderr)
    if problems:
        return 1
    print(f"sm90_slots_sass: {len(EXPECTED)} slot kernels hold sm_90's measured instruction sequences")
    return 0


if __name__ == "__main__":
    sys.exit(main())
