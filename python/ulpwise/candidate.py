"""save_candidate: a kernel's outputs as a file `ulpwise diff` and `explain` read.

Names are the golden's (`out.residual`, `out.norm`, `out.q`, `out.scale`, or `rank{r}.out.*`
for kernels whose ranks differ); dtypes are checked per output (residual and norm bf16, q a
float8 dtype, scale float32), tensors are written contiguous, and column-major scales are
written as the golden lays them out, [H/G, M].
"""
import re

from . import _safetensors

# safetensors dtype names of the FP8 formats, by the names torch and ml_dtypes use.
FP8_DTYPES = {
    "e4m3fn": "F8_E4M3",
    "e4m3fnuz": "F8_E4M3FNUZ",
    "e5m2": "F8_E5M2",
    "e5m2fnuz": "F8_E5M2FNUZ",
}
KIND_DTYPES = {"residual": ("BF16",), "norm": ("BF16",), "q": tuple(FP8_DTYPES.values()), "scale": ("F32",)}
OUTPUT_NAME = re.compile(r"^(?:rank(\d+)\.)?(?:out\.)?(residual|norm|q|scale)$")


class RawTensor:
    """Bits with a safetensors dtype, for dtypes this torch lacks (FP8 codes on torch < 2.1)."""

    def __init__(self, dtype, shape, data):
        self.dtype = dtype
        self.shape = tuple(int(d) for d in shape)
        self.data = bytes(data)


def fp8_codes(codes, fmt):
    """FP8 codes held as uint8 (a torch tensor, numpy array or bytes) with their format named:
    fmt is e4m3fn, e4m3fnuz, e5m2 or e5m2fnuz. For torch >= 2.1, q.view(torch.float8_e4m3fn)
    says the same."""
    if fmt not in FP8_DTYPES:
        raise ValueError(f"fp8 format {fmt!r}: use one of {', '.join(FP8_DTYPES)}")
    if isinstance(codes, (bytes, bytearray)):
        return RawTensor(FP8_DTYPES[fmt], (len(codes),), codes)
    shape = tuple(codes.shape)
    if hasattr(codes, "detach"):  # torch
        import torch

        if codes.dtype not in (torch.uint8, torch.int8):
            raise TypeError(f"fp8_codes takes uint8 codes, got {codes.dtype}")
        data = codes.detach().cpu().contiguous().view(torch.uint8).numpy().tobytes()
    else:  # numpy
        data = codes.astype("uint8", copy=False).tobytes(order="C")
    return RawTensor(FP8_DTYPES[fmt], shape, data)


def _torch_dtype_names():
    import torch

    names = {torch.bfloat16: "BF16", torch.float32: "F32"}
    for fmt, name in FP8_DTYPES.items():
        dtype = getattr(torch, f"float8_{fmt}", None)
        if dtype is not None:
            names[dtype] = name
    return names


def _bits(name, tensor, kind):
    """(dtype, shape, little-endian bytes) of one output, its dtype checked for its kind."""
    if isinstance(tensor, RawTensor):
        dtype, shape, data = tensor.dtype, tensor.shape, tensor.data
    elif hasattr(tensor, "detach"):
        import torch

        names = _torch_dtype_names()
        if tensor.dtype not in names:
            if kind == "q" and tensor.dtype in (torch.uint8, torch.int8):
                raise TypeError(
                    f"{name} is {tensor.dtype}: FP8 codes need their format; pass q.view(torch.float8_e4m3fn) "
                    "(or the golden's format) on torch >= 2.1, or ulpwise.fp8_codes(q, 'e4m3fn')"
                )
            raise TypeError(f"{name} is {tensor.dtype}; ulpwise outputs are bfloat16, float32 or a float8 dtype")
        dtype = names[tensor.dtype]
        shape = tuple(tensor.shape)
        t = tensor.detach().cpu().contiguous()
        width = {"BF16": torch.int16, "F32": torch.int32}.get(dtype, torch.uint8)
        data = t.view(width).numpy().tobytes()
    else:
        raise TypeError(f"{name}: expected a torch tensor or ulpwise.RawTensor, got {type(tensor).__name__}")
    if dtype not in KIND_DTYPES[kind]:
        want = " or ".join(KIND_DTYPES[kind]) if kind != "q" else "a float8 dtype"
        raise TypeError(f"{name} is {dtype}; a {kind} output is {want}")
    return dtype, shape, data


def output_name(key):
    """The golden's name for an output key: 'norm' and 'out.norm' -> 'out.norm', 'rank2.q' -> 'rank2.out.q'."""
    match = OUTPUT_NAME.match(key)
    if not match:
        raise KeyError(f"{key!r} is not an output: use out.residual, out.norm, out.q, out.scale or rank{{r}}.out.*")
    rank, kind = match.groups()
    return (f"rank{rank}." if rank is not None else "") + f"out.{kind}", kind


def load_tensors(path):
    """Every tensor of a golden or candidate file: {name: torch tensor} (bf16, float32, and FP8
    as float8 dtypes; on a torch without float8 dtypes, FP8 codes come as RawTensor). Reads
    the file itself, with or without the safetensors package."""
    import torch

    by_name = {v: k for k, v in _torch_dtype_names().items()}
    bits = {"BF16": torch.int16, "F32": torch.int32}
    tensors = {}
    for name, (dtype, shape, data) in _safetensors.read(path)[0].items():
        if dtype in by_name:
            raw = torch.frombuffer(bytearray(data), dtype=bits.get(dtype, torch.uint8)) if data else torch.empty(0, dtype=bits.get(dtype, torch.uint8))
            tensors[name] = raw.view(by_name[dtype]).reshape(shape)
        else:
            tensors[name] = RawTensor(dtype, shape, data)
    return tensors


def _golden_shapes(golden):
    return {n: e["shape"] for n, e in _safetensors.read_header(golden).items() if n != "__metadata__"}


def save_candidate(outputs, path, golden=None, scale_layout=None, metadata=None):
    """Writes `outputs` (dict: output name -> tensor) to `path` as safetensors, atomically.

    Keys may omit the `out.` prefix ('norm', 'rank1.q'). With `golden` (a golden file), every
    shape is checked against it and an [M, H/G] scale is written [H/G, M] when the golden's
    layout is column-major; without it, `scale_layout='column-major'` says so. Uses the
    safetensors package when installed and every tensor is a torch tensor, else a small
    built-in writer."""
    shapes = _golden_shapes(golden) if golden is not None else None
    if scale_layout not in (None, "row-major", "column-major"):
        raise ValueError(f"scale_layout {scale_layout!r}: use 'row-major' or 'column-major'")
    entries = []
    prepared = {}
    for key, tensor in outputs.items():
        name, kind = output_name(key)
        if name in prepared:
            raise KeyError(f"{key!r} and another key both name {name}")
        want = shapes.get(name, shapes.get(re.sub(r"^rank\d+\.", "", name))) if shapes is not None else None
        if shapes is not None and want is None:
            raise KeyError(f"{name}: the golden {golden} has no such output (it has {', '.join(n for n in shapes if 'out.' in n)})")
        shape = list(tensor.shape)
        if kind == "scale" and len(shape) == 2:
            column_major = scale_layout == "column-major" or (want is not None and shape != want and shape[::-1] == want)
            if column_major and want != shape:
                tensor = tensor.t() if hasattr(tensor, "t") else _transpose_raw(tensor)
                shape = shape[::-1]
        if want is not None and shape != want:
            raise ValueError(f"{name} has shape {shape}; the golden's is {want}")
        prepared[name] = tensor
        entries.append((name,) + _bits(name, tensor, kind))
    _write(path, entries, prepared, metadata or {})


def _transpose_raw(raw):
    rows, cols = raw.shape
    item = _safetensors.ITEM_BYTES[raw.dtype]
    out = bytearray(len(raw.data))
    for r in range(rows):
        for c in range(cols):
            src = (r * cols + c) * item
            dst = (c * rows + r) * item
            out[dst:dst + item] = raw.data[src:src + item]
    return RawTensor(raw.dtype, (cols, rows), bytes(out))


def _write(path, entries, prepared, metadata):
    try:
        from safetensors.torch import save
    except ImportError:
        save = None
    if save is not None and all(hasattr(t, "detach") for t in prepared.values()):
        data = save({n: t.detach().cpu().contiguous() for n, t in prepared.items()}, metadata=metadata or None)
    else:
        data = _safetensors.encode(entries, metadata)
    _safetensors.write_atomic(path, data)
