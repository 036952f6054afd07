#!/usr/bin/env python3
"""A third, independent judge of the safetensors rules for the fuzzer, written from the rules
(huggingface/safetensors@000a16f safetensors/src/tensor.rs, plus our bounds) with Python's own
UTF-8 codec and json module rather than either of our readers' code.

stdin: records of a u32 little-endian length and that many bytes; stdout: "ok" or
"reject <rule>" per record. Used by fuzz/run.ts on every mutated file."""
import json
import sys

MAX_HEADER = 100_000_000
MAX_TENSORS = 16384
MAX_METADATA = 1024
MAX_NAME = 1024
MAX_DIMS = 8
MAX_SAFE = 2**53 - 1
ITEM_BYTES = {"BF16": 2, "F32": 4, "F8_E4M3": 1, "F8_E4M3FNUZ": 1, "F8_E5M2": 1, "F8_E5M2FNUZ": 1, "F8_E8M0": 1}


class Reject(Exception):
    pass


class IntLiteral(str):
    """An integer literal as written (json's parse_int hands us the text)."""


class FloatLiteral(str):
    """Any literal with a fraction or exponent."""


def no_duplicates(pairs):
    keys = set()
    for key, _ in pairs:
        if key in keys:
            raise Reject("duplicate key")
        keys.add(key)
    return ("object", pairs)


def refuse_constant(name):
    raise Reject("NaN/Infinity are not JSON")


def has_surrogate(text):
    return any(0xD800 <= ord(c) <= 0xDFFF for c in text)


def check_strings(value):
    """Lone surrogate escapes survive Python's json: refuse them in every key and string."""
    if isinstance(value, tuple):
        for key, item in value[1]:
            if has_surrogate(key):
                raise Reject("lone surrogate")
            check_strings(item)
    elif isinstance(value, list):
        for item in value:
            check_strings(item)
    elif isinstance(value, str) and not isinstance(value, (IntLiteral, FloatLiteral)) and has_surrogate(value):
        raise Reject("lone surrogate")


def integer(value):
    if not isinstance(value, IntLiteral) or value.startswith("-"):
        raise Reject("not a non-negative integer literal")
    n = int(value)
    if n > MAX_SAFE:
        raise Reject("integer above 2^53 - 1")
    return n


def is_object(value):
    return isinstance(value, tuple) and value[0] == "object"


def check(data):
    if len(data) < 8:
        raise Reject("shorter than 8 bytes")
    n = int.from_bytes(data[:8], "little")
    if n > MAX_HEADER:
        raise Reject("header too large")
    if 8 + n > len(data):
        raise Reject("header past the end")
    try:
        text = data[8 : 8 + n].decode("utf-8", errors="strict")
    except UnicodeDecodeError:
        raise Reject("invalid UTF-8")
    if not text.startswith("{"):
        raise Reject("header does not start with {")
    try:
        header = json.loads(
            text,
            object_pairs_hook=no_duplicates,
            parse_int=IntLiteral,
            parse_float=FloatLiteral,
            parse_constant=refuse_constant,
        )
    except (ValueError, RecursionError):
        raise Reject("not JSON")
    check_strings(header)
    if not is_object(header):
        raise Reject("header not an object")
    buffer = len(data) - 8 - n
    placed = []
    for name, entry in header[1]:
        if name == "__metadata__":
            if entry is None:
                continue
            if not is_object(entry) or len(entry[1]) > MAX_METADATA:
                raise Reject("bad __metadata__")
            for key, value in entry[1]:
                if len(key.encode("utf-8")) > MAX_NAME or not isinstance(value, str) or isinstance(value, (IntLiteral, FloatLiteral)):
                    raise Reject("bad __metadata__ entry")
            continue
        if len(name.encode("utf-8")) > MAX_NAME:
            raise Reject("name too long")
        if not is_object(entry):
            raise Reject("entry not an object")
        fields = dict(entry[1])
        if set(fields) != {"dtype", "shape", "data_offsets"}:
            raise Reject("entry keys")
        dtype, shape, offsets = fields["dtype"], fields["shape"], fields["data_offsets"]
        if not isinstance(dtype, str) or isinstance(dtype, (IntLiteral, FloatLiteral)) or dtype not in ITEM_BYTES:
            raise Reject("dtype")
        if not isinstance(shape, list) or len(shape) > MAX_DIMS:
            raise Reject("shape")
        count = 1
        for dim in shape:
            count *= integer(dim)
            if count > MAX_SAFE:
                raise Reject("element count overflows")
        if not isinstance(offsets, list) or len(offsets) != 2:
            raise Reject("offsets")
        begin, end = integer(offsets[0]), integer(offsets[1])
        if begin > end:
            raise Reject("offsets reversed")
        size = count * ITEM_BYTES[dtype]
        if size > MAX_SAFE or end - begin != size:
            raise Reject("offsets span")
        if end > buffer:
            raise Reject("offsets past the buffer")
        placed.append((begin, end))
    if len(placed) > MAX_TENSORS:
        raise Reject("too many tensors")
    covered = 0
    for begin, end in sorted(placed):
        if begin != covered:
            raise Reject("offsets not contiguous")
        covered = end
    if covered != buffer:
        raise Reject("buffer not covered exactly")


def main():
    sys.setrecursionlimit(10000)
    stdin, out = sys.stdin.buffer, []
    while True:
        prefix = stdin.read(4)
        if len(prefix) < 4:
            break
        data = stdin.read(int.from_bytes(prefix, "little"))
        try:
            check(data)
            out.append("ok")
        except Reject as reason:
            out.append(f"reject {reason}")
    sys.stdout.write("\n".join(out) + ("\n" if out else ""))


main()
