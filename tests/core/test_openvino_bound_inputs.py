"""The OpenVINO backend shares the input arrays with its request once; later calls with the same
arrays skip the per-call dispatch, and new arrays are always bound before they are used."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from profiler.runtime.backend import Backend
from tests.core.test_backends import BIAS, WEIGHT, ready, tiny_model


def request_output(backend: Backend) -> np.ndarray:
    """What the last ``infer`` computed (the request's output tensor, copied)."""
    return np.array(backend._request.get_output_tensor(0).data)  # type: ignore[attr-defined]


def expected(x: np.ndarray) -> np.ndarray:
    return np.maximum(x @ WEIGHT + BIAS, 0.0)


def x_values(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((4, 3)).astype(np.float32)


def test_repeated_infer_computes_on_the_bound_arrays(tmp_path: Path) -> None:
    backend = ready("ov:CPU", tiny_model(tmp_path / "tiny.onnx"), shapes={"x": [4, 3]},
                    precision="f32")
    inputs = {"x": x_values(1)}
    for _ in range(3):
        backend.infer(inputs)
        np.testing.assert_allclose(request_output(backend), expected(inputs["x"]), rtol=1e-5)


def test_new_arrays_are_bound_even_in_the_same_dict(tmp_path: Path) -> None:
    backend = ready("ov:CPU", tiny_model(tmp_path / "tiny.onnx"), shapes={"x": [4, 3]},
                    precision="f32")
    inputs = {"x": x_values(1)}
    backend.infer(inputs)
    inputs["x"] = x_values(2)  # same dict, another array: must not reuse the old binding
    backend.infer(inputs)
    np.testing.assert_allclose(request_output(backend), expected(inputs["x"]), rtol=1e-5)


def test_outputs_and_infer_interleave(tmp_path: Path) -> None:
    backend = ready("ov:CPU", tiny_model(tmp_path / "tiny.onnx"), shapes={"x": [4, 3]},
                    precision="f32")
    first, second = {"x": x_values(1)}, {"x": x_values(2)}
    backend.infer(first)
    np.testing.assert_allclose(backend.outputs(second)["y"], expected(second["x"]), rtol=1e-5)
    backend.infer(first)  # outputs() bound ``second``: ``first`` must be bound again
    np.testing.assert_allclose(request_output(backend), expected(first["x"]), rtol=1e-5)


def test_a_new_compile_binds_again(tmp_path: Path) -> None:
    backend = ready("ov:CPU", tiny_model(tmp_path / "tiny.onnx"), shapes={"x": [4, 3]},
                    precision="f32")
    inputs = {"x": x_values(3)}
    backend.infer(inputs)
    backend.compile()  # a fresh request holds no tensors yet
    backend.infer(inputs)
    np.testing.assert_allclose(request_output(backend), expected(inputs["x"]), rtol=1e-5)
