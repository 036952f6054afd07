"""Capture the inputs of an all-reduce + RMSNorm site from a running PyTorch program, in the
layout `ulpwise gen --inputs-from FILE` reads: rank{r}.input [M, H] per rank (what each rank
hands to the all-reduce), residual [M, H] (the residual the fused kernel adds) and weight [H]
(the norm's weight). Inputs are bf16 (float32 holding bf16 values is accepted by gen)."""
from . import _safetensors
from .candidate import _torch_dtype_names

INPUT_DTYPES = ("BF16", "F32")


def _entry(name, tensor, dims):
    names = _torch_dtype_names()
    dtype = names.get(tensor.dtype)
    if dtype not in INPUT_DTYPES:
        raise TypeError(f"{name} is {tensor.dtype}; inputs are bfloat16 (or float32 holding bf16 values)")
    t = tensor.detach().cpu().contiguous()
    if dims == 2:
        if t.dim() < 2:
            raise ValueError(f"{name} has shape {list(t.shape)}; expected [tokens, hidden] (leading dims are flattened)")
        t = t.reshape(-1, t.shape[-1])
    elif t.dim() != 1:
        raise ValueError(f"{name} has shape {list(t.shape)}; expected [hidden]")
    import torch

    width = torch.int16 if dtype == "BF16" else torch.int32
    return (name, dtype, tuple(t.shape), t.view(width).numpy().tobytes())


def save_inputs(path, rank_inputs, residual, weight, metadata=None):
    """Writes the inputs of one site: rank_inputs (one tensor per rank, [..., H]), residual
    ([..., H] or None when the kernel adds none) and weight ([H])."""
    if len(rank_inputs) == 0:
        raise ValueError("rank_inputs is empty: one tensor per tensor-parallel rank")
    entries = [_entry(f"rank{r}.input", t, 2) for r, t in enumerate(rank_inputs)]
    shapes = {e[2] for e in entries}
    if len(shapes) != 1:
        raise ValueError(f"the ranks' inputs differ in shape: {sorted(shapes)}")
    (shape,) = shapes
    if residual is not None:
        entries.append(_entry("residual", residual, 2))
        if entries[-1][2] != shape:
            raise ValueError(f"residual has shape {list(entries[-1][2])}; the rank inputs are {list(shape)}")
    entries.append(_entry("weight", weight, 1))
    if entries[-1][2] != (shape[1],):
        raise ValueError(f"weight has shape {list(entries[-1][2])}; expected [{shape[1]}]")
    _safetensors.write_atomic(path, _safetensors.encode(entries, metadata or {"ulpwise.captured": "1"}))


class capture:
    """Records the input of one all-reduce call on every rank, then writes the site's inputs.

        with ulpwise.capture("site.safetensors", weight=layer.post_norm.weight) as site:
            site.set_residual(residual)   # the residual the fused kernel adds to the sum
            model(x)                      # the first torch.distributed.all_reduce is recorded

    `call` picks which all_reduce call to record (0: the first). On exit the ranks' inputs are
    gathered (torch.distributed.all_gather, when a process group is running) and rank 0 writes
    `path`; without a process group the program is one rank."""

    def __init__(self, path, weight, residual=None, call=0, group=None):
        self.path = path
        self.weight = weight
        self.residual = residual
        self.call = call
        self.group = group
        self.recorded = None
        self._calls = 0
        self._original = None

    def set_residual(self, residual):
        self.residual = residual.detach().clone()

    def __enter__(self):
        import torch.distributed as dist

        self._original = dist.all_reduce
        original = self._original

        def recording_all_reduce(tensor, *args, **kwargs):
            if self._calls == self.call:
                self.recorded = tensor.detach().clone()
            self._calls += 1
            return original(tensor, *args, **kwargs)

        dist.all_reduce = recording_all_reduce
        return self

    def __exit__(self, kind, value, traceback):
        import torch.distributed as dist

        dist.all_reduce = self._original
        if kind is not None:
            return False
        if self.recorded is None:
            raise RuntimeError(f"ulpwise.capture: the program made {self._calls} all_reduce call(s); call {self.call} never happened")
        if dist.is_available() and dist.is_initialized() and dist.get_world_size(self.group) > 1:
            import torch

            parts = [torch.empty_like(self.recorded) for _ in range(dist.get_world_size(self.group))]
            dist.all_gather(parts, self.recorded, group=self.group)
            if dist.get_rank(self.group) != 0:
                return False
            rank_inputs = parts
        else:
            rank_inputs = [self.recorded]
        save_inputs(self.path, rank_inputs, self.residual, self.weight)
        return False
