"""benchmarks/fidelity_loop.py reproduces benchmark_app's random input fill exactly, so the
fidelity check can give both sides the same values."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import numpy as np
import pytest

from tests.conftest import REPO_ROOT

sys.path.insert(0, str(REPO_ROOT / "benchmarks"))
from fidelity_loop import benchmark_app_fill

inputs_filling = pytest.importorskip("openvino.tools.benchmark.utils.inputs_filling")


@pytest.mark.parametrize(("dtype", "element_type"), [("int64", "i64"), ("float32", "f32"),
                                                     ("int32", "i32")])
def test_fill_matches_benchmark_app(dtype: str, element_type: str) -> None:
    import openvino as ov

    layer = SimpleNamespace(element_type=getattr(ov.Type, element_type), shapes=[[1, 16]])
    theirs = inputs_filling.fill_tensors_with_random(layer)[0].data
    ours = benchmark_app_fill([("x", dtype, [1, 16])])["x"]
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours, theirs)
