"""A minimal safetensors writer, used when the `safetensors` package is not installed (or a
tensor has a dtype this torch lacks, such as FP8 codes on torch < 2.1).

Format (huggingface/safetensors): u64 little-endian header length, a JSON header padded with
spaces to a multiple of 8, then the data buffer; each entry is {dtype, shape, data_offsets},
offsets relative to the buffer; `__metadata__` maps strings to strings. The TypeScript reader
(src/fixtures/safetensors.ts) checks every file this writes: tests/test_candidate.py reads
them back through `ulpwise diff`.
"""
import json
import os
import struct
import tempfile

ITEM_BYTES = {"BF16": 2, "F32": 4, "F8_E4M3": 1, "F8_E4M3FNUZ": 1, "F8_E5M2": 1, "F8_E5M2FNUZ": 1, "U8": 1, "I32": 4}


def encode(tensors, metadata=None):
    """tensors: list of (name, dtype, shape, little-endian bytes). Returns the file's bytes."""
    header = {}
    chunks = []
    offset = 0
    for name, dtype, shape, data in tensors:
        count = 1
        for d in shape:
            count *= d
        if len(data) != count * ITEM_BYTES[dtype]:
            raise ValueError(f"{name}: {len(data)} bytes, but {dtype} {list(shape)} needs {count * ITEM_BYTES[dtype]}")
        header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = {str(k): str(v) for k, v in metadata.items()}
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + b"".join(chunks)


def write_atomic(path, data):
    """Writes `data` to `path` through a temporary file in the same folder and a rename."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".ulpwise-", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_header(path):
    """The JSON header of a safetensors file (names, dtypes, shapes, metadata)."""
    with open(path, "rb") as f:
        prefix = f.read(8)
        if len(prefix) < 8:
            raise ValueError(f"{path}: not a safetensors file (shorter than 8 bytes)")
        (length,) = struct.unpack("<Q", prefix)
        if length > 100_000_000:
            raise ValueError(f"{path}: not a safetensors file (header length {length})")
        return json.loads(f.read(length).decode("utf-8"))


def read(path):
    """{name: (dtype, shape, little-endian bytes)} and the metadata of a safetensors file."""
    header = read_header(path)
    with open(path, "rb") as f:
        data = f.read()
    base = 8 + struct.unpack("<Q", data[:8])[0]
    metadata = header.pop("__metadata__", {})
    return {n: (e["dtype"], e["shape"], data[base + e["data_offsets"][0]:base + e["data_offsets"][1]]) for n, e in header.items()}, metadata
