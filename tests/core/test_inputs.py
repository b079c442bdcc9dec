"""Input data: random by dtype (seeded, sane ranges) and user .npy/.npz files, checked."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from profiler.errors import UsageError
from profiler.runtime.inputs import make_inputs

SPECS = [("pixels", "float32", [2, 3, 4, 4]), ("ids", "int64", [2, 16]),
         ("mask", "bool", [2, 16]), ("image", "uint8", [8, 8])]


def test_random_inputs_have_dtype_shape_and_sane_ranges() -> None:
    inputs = make_inputs(SPECS, None, seed=7)
    assert list(inputs) == ["pixels", "ids", "mask", "image"]
    for name, dtype, shape in SPECS:
        assert inputs[name].dtype == np.dtype(dtype)
        assert list(inputs[name].shape) == shape
    assert np.abs(inputs["pixels"]).max() <= 3.0
    assert inputs["pixels"].std() > 0.5  # really random, not zeros
    assert inputs["ids"].min() >= 0 and inputs["ids"].max() < 100
    assert inputs["image"].max() < 100
    assert inputs["mask"].any() and not inputs["mask"].all()


def test_random_inputs_repeat_with_the_seed() -> None:
    first, again = make_inputs(SPECS, None, seed=3), make_inputs(SPECS, None, seed=3)
    other = make_inputs(SPECS, None, seed=4)
    assert np.array_equal(first["pixels"], again["pixels"])
    assert not np.array_equal(first["pixels"], other["pixels"])


def test_random_inputs_refuse_types_numpy_lacks() -> None:
    with pytest.raises(UsageError, match=r"'h'.*bfloat16.*--input"):
        make_inputs([("h", "bfloat16", [2])], None)
    with pytest.raises(UsageError, match=r"'text'.*str"):
        make_inputs([("text", "str", [1])], None)


def test_npy_feeds_a_single_input_and_casts_float64(tmp_path: Path) -> None:
    path = tmp_path / "x.npy"
    data = np.arange(6, dtype=np.float64).reshape(2, 3)
    np.save(path, data)
    inputs = make_inputs([("x", "float32", [2, 3])], str(path))
    assert inputs["x"].dtype == np.float32
    assert inputs["x"].tolist() == [[0, 1, 2], [3, 4, 5]]


def test_npy_for_a_model_with_two_inputs_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "x.npy"
    np.save(path, np.zeros((2, 3), np.float32))
    with pytest.raises(UsageError, match=r"x\.npy: a \.npy file holds one array but the model "
                                         r"has 2 inputs \(a, b\)"):
        make_inputs([("a", "float32", [2, 3]), ("b", "float32", [2, 3])], str(path))


def test_npz_by_input_name(tmp_path: Path) -> None:
    path = tmp_path / "in.npz"
    np.savez(path, **{"gpu_0/data_0": np.ones((1, 2), np.float32), "ids": np.array([[5, 6]])})
    inputs = make_inputs([("gpu_0/data_0", "float32", [1, 2]), ("ids", "int32", [1, 2])],
                         str(path))
    assert inputs["gpu_0/data_0"].tolist() == [[1.0, 1.0]]
    assert inputs["ids"].dtype == np.int32 and inputs["ids"].tolist() == [[5, 6]]


def test_npz_with_wrong_names_says_what_is_expected(tmp_path: Path) -> None:
    path = tmp_path / "in.npz"
    np.savez(path, input=np.ones((1, 2), np.float32))
    with pytest.raises(UsageError, match=r"holds input, but the model's inputs are x"):
        make_inputs([("x", "float32", [1, 2])], str(path))


def test_wrong_shape_and_wrong_kind_are_clear_errors(tmp_path: Path) -> None:
    path = tmp_path / "x.npy"
    np.save(path, np.zeros((1, 3), np.float32))
    with pytest.raises(UsageError, match=r"input 'x' has shape \[1, 3\] but the model runs at "
                                         r"\[2, 3\]"):
        make_inputs([("x", "float32", [2, 3])], str(path))
    with pytest.raises(UsageError, match=r"input 'x' is float32 but the model takes int64"):
        make_inputs([("x", "int64", [1, 3])], str(path))


def test_missing_or_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="no such input file"):
        make_inputs(SPECS, str(tmp_path / "absent.npz"))
    bad = tmp_path / "bad.npz"
    bad.write_bytes(b"not a zip")
    with pytest.raises(UsageError, match=r"bad\.npz: not a readable \.npz"):
        make_inputs(SPECS, str(bad))
    text = tmp_path / "data.txt"
    text.write_text("1 2 3")
    with pytest.raises(UsageError, match=r"must be a \.npy or \.npz"):
        make_inputs(SPECS, str(text))
