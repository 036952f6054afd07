#!/usr/bin/env python3
"""Disassembles a CUDA 13 sm_90 cubin with an older nvdisasm (CUDA 11.8, Debian's
nvidia-cuda-toolkit): CUDA 12.8+ writes ELF ABI version 8 with a new e_flags layout that 11.8
cannot read, while the sm_90 instruction encoding is the same. A copy with the old header
(ABI 7, e_flags EF_CUDA_SM90 | VIRTUAL_SM90 | 64-bit addresses | unified textures) is handed to
nvdisasm. Only for reading SASS; the cubin itself is not changed.

    cubin_sass.py FILE.cubin [NVDISASM]      (NVDISASM defaults to nvdisasm on PATH)
"""
import os
import struct
import subprocess
import sys
import tempfile


def main():
    if len(sys.argv) not in (2, 3):
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    data = bytearray(open(sys.argv[1], "rb").read())
    if data[:4] != b"\x7fELF" or struct.unpack_from("<H", data, 0x12)[0] != 190:
        print(f"cubin_sass.py: {sys.argv[1]} is not a CUDA ELF", file=sys.stderr)
        return 2
    data[8] = 7
    struct.pack_into("<I", data, 0x30, 0x5A055A)
    with tempfile.NamedTemporaryFile(suffix=".cubin", delete=False) as f:
        f.write(data)
    try:
        return subprocess.call([sys.argv[2] if len(sys.argv) == 3 else "nvdisasm", "-c", f.name])
    finally:
        os.unlink(f.name)


if __name__ == "__main__":
    sys.exit(main())
