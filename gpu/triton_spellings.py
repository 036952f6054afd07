"""What Triton on this GPU emits for f32 `/`, tl.math.rsqrt, tl.sqrt_rn and tl.math.div_rn:
compiles one tiny kernel and writes its PTX and cubin to OUTDIR (SASS via cuobjdump there)."""
import sys
from pathlib import Path

import torch
import triton
import triton.language as tl


@triton.jit
def spellings(a_ptr, b_ptr, out_ptr, n, BLOCK: tl.constexpr):
    offs = tl.program_id(0) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n
    a = tl.load(a_ptr + offs, mask=mask)
    b = tl.load(b_ptr + offs, mask=mask)
    tl.store(out_ptr + 4 * offs + 0, a / b, mask=mask)
    tl.store(out_ptr + 4 * offs + 1, tl.math.rsqrt(a), mask=mask)
    tl.store(out_ptr + 4 * offs + 2, tl.math.div_rn(a, b), mask=mask)
    tl.store(out_ptr + 4 * offs + 3, a / 7168.0, mask=mask)


def main() -> int:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    a = torch.rand(1024, device="cuda") + 0.5
    b = torch.rand(1024, device="cuda") + 0.5
    o = torch.empty(4096, device="cuda")
    k = spellings[(4,)](a, b, o, 1024, BLOCK=256)
    (out / "triton_spellings.ptx").write_text(k.asm["ptx"])
    (out / "triton_spellings.cubin").write_bytes(k.asm["cubin"])
    (out / "triton_spellings.ttgir").write_text(k.asm["ttgir"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
