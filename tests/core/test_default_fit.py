"""Default sizes that do not fit the model are replaced by ones that do, and the warning says
why; sizes the user gives are never changed (real models: silero VAD's STFT needs 256 samples,
an OCR recogniser's height must be 48)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from profiler.api import analyze_model
from profiler.model.input_settings import InputSettings, load_with_inputs
from profiler.model.shape_checks import shape_problems


def _save(path: Path, nodes: list[onnx.NodeProto], inits: list[onnx.TensorProto],
          x_shape: list[object]) -> str:
    graph = helper.make_graph(
        nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, x_shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)], inits)
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), str(path))
    return str(path)


def stft_like(path: Path) -> str:
    """x [batch, samples] -> Unsqueeze -> Conv1d(kernel 256, stride 128): 128 is too short."""
    kernel = numpy_helper.from_array(np.ones((4, 1, 256), np.float32), "k")
    axes = numpy_helper.from_array(np.array([1], np.int64), "axes")
    nodes = [helper.make_node("Unsqueeze", ["x", "axes"], ["u"], name="unsqueeze"),
             helper.make_node("Conv", ["u", "k"], ["y"], name="stft", strides=[128])]
    return _save(path, nodes, [kernel, axes], ["batch", "samples"])


def fixed_height(path: Path) -> str:
    """x [1, 1, H, W] -> ReduceMean over W -> Concat with a [1, 1, 48, 1] constant on axis 3:
    only H = 48 joins."""
    side = numpy_helper.from_array(np.ones((1, 1, 48, 1), np.float32), "side")
    axes = numpy_helper.from_array(np.array([3], np.int64), "axes")
    nodes = [helper.make_node("ReduceMean", ["x", "axes"], ["m"], name="mean", keepdims=1),
             helper.make_node("Concat", ["m", "side"], ["y"], name="join", axis=3)]
    return _save(path, nodes, [side, axes], [1, 1, "?", "?"])


def test_a_default_length_too_short_for_a_conv_window_is_lengthened(tmp_path: Path) -> None:
    model = load_with_inputs(stft_like(tmp_path / "stft.onnx"))
    assert model.input_specs[0].shape == (1, 256)
    assert model.input_specs[0].shape_source == "default"
    assert any("does not fit the model" in w and "'stft' needs 256" in w for w in model.warnings)
    assert shape_problems(model.graph) == []


def test_a_default_image_side_the_model_cannot_join_is_replaced(tmp_path: Path) -> None:
    report = analyze_model(fixed_height(tmp_path / "rec.onnx"))
    assert report.model is not None
    assert report.model.inputs[0].shape == [1, 1, 48, 224]
    assert any("Concat 'join'" in w for w in report.model.warnings)


def test_a_size_the_user_gives_is_kept_and_the_conflict_is_reported(tmp_path: Path) -> None:
    settings = InputSettings(shapes={"x": (1, 1, 64, 64)})
    model = load_with_inputs(fixed_height(tmp_path / "rec.onnx"), settings)
    assert model.input_specs[0].shape == (1, 1, 64, 64)
    assert any("cannot run at the shapes" in w and "dim 2 differ (48 vs 64)" in w
               for w in model.warnings)
