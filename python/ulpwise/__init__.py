"""ulpwise for PyTorch: write kernel outputs as candidates, assert them bit-exact against a
golden (through the ulpwise command, Node.js >= 20), capture real inputs for `gen --inputs-from`.

Importing needs neither torch nor safetensors; the functions that take tensors import torch."""
from .candidate import RawTensor, fp8_codes, load_tensors, output_name, save_candidate
from .capture import capture, save_inputs
from .cli import UlpwiseError
from .testing import BitExactError, assert_bitexact, format_failure

__version__ = "0.1.0"
__all__ = [
    "BitExactError",
    "RawTensor",
    "UlpwiseError",
    "assert_bitexact",
    "capture",
    "format_failure",
    "fp8_codes",
    "load_tensors",
    "output_name",
    "save_candidate",
    "save_inputs",
]
