"""pytest plugin (registered by `pip install`): the `assert_bitexact` fixture keeps a failing
candidate under pytest's tmp_path, so the `ulpwise explain` hint in the message can be run."""
import pytest

from .testing import assert_bitexact as _assert_bitexact


@pytest.fixture
def assert_bitexact(tmp_path):
    """assert_bitexact(outputs_or_path, golden, max_ulp=None, rstd=False) -> diff report."""
    count = [0]

    def check(candidate, golden, max_ulp=None, rstd=False):
        count[0] += 1
        keep = tmp_path / f"candidate{count[0]}.safetensors" if isinstance(candidate, dict) else None
        return _assert_bitexact(candidate, golden, max_ulp=max_ulp, rstd=rstd, keep=keep)

    return check
