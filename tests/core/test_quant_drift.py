"""Drift metrics (exact numbers by hand) and per-layer drift over real ONNX Runtime sessions."""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from profiler.quant.drift import DriftAccumulator, looks_like_class_scores, match_outputs, sqnr_db
from profiler.quant.layer_drift import (
    compare_layers,
    fixed_tensors,
    summarize,
    tensor_pairs,
)
from profiler.records.variants import MAX_SQNR_DB


def test_sqnr_cosine_and_errors_by_hand() -> None:
    accumulator = DriftAccumulator()
    # sample 1: ref (3, 4), var (3, 3): signal 25, noise 1, cosine 21 / (5 * sqrt(18))
    accumulator.add({"y": np.array([3.0, 4.0], np.float32)}, {"y": np.array([3.0, 3.0])})
    # sample 2: ref (1, 0), var (1, 1): signal 1, noise 1, cosine 1 / sqrt(2)
    accumulator.add({"y": np.array([1.0, 0.0], np.float32)}, {"y": np.array([1.0, 1.0])})
    metrics = accumulator.metrics(indicative_only=True, device="ort:cpu")
    assert metrics.sqnr_db == pytest.approx(10 * math.log10(26 / 2))
    cosine_1, cosine_2 = 21 / (5 * math.sqrt(18)), 1 / math.sqrt(2)
    assert metrics.cosine == pytest.approx((cosine_1 + cosine_2) / 2)
    assert metrics.max_abs_error == 1.0
    assert metrics.mean_abs_error == pytest.approx(2 / 4)
    assert metrics.samples == 2 and metrics.indicative_only and metrics.device == "ort:cpu"
    assert metrics.top1_agreement is None  # rank 1: not class scores


def test_top1_agreement_on_class_scores() -> None:
    accumulator = DriftAccumulator()
    reference = np.array([[0.1, 0.9], [0.8, 0.2], [0.3, 0.7]], np.float32)
    variant = np.array([[0.2, 0.8], [0.4, 0.6], [0.1, 0.9]], np.float32)  # row 2 flips
    accumulator.add({"scores": reference}, {"scores": variant})
    accumulator.add({"scores": reference}, {"scores": reference})
    metrics = accumulator.metrics()
    assert metrics.top1_agreement == pytest.approx(5 / 6)
    assert metrics.outputs[0].top1_agreement == pytest.approx(5 / 6)
    assert looks_like_class_scores((1, 1000)) and looks_like_class_scores((4, 2))
    assert not looks_like_class_scores((1, 1)) and not looks_like_class_scores((1, 3, 2, 2))


def test_identical_zero_and_overflowing_outputs_stay_finite() -> None:
    assert sqnr_db(5.0, 0.0) == MAX_SQNR_DB
    assert sqnr_db(0.0, 1.0) == -MAX_SQNR_DB
    assert sqnr_db(1.0, math.inf) == -MAX_SQNR_DB
    same = DriftAccumulator()
    same.add({"y": np.ones(3, np.float32)}, {"y": np.ones(3, np.float16)})
    assert same.metrics().sqnr_db == MAX_SQNR_DB and same.metrics().cosine == 1.0
    overflow = DriftAccumulator()
    overflow.add({"y": np.array([1.0, 70000.0], np.float32)},
                 {"y": np.array([1.0, np.inf], np.float32)})
    metrics = overflow.metrics()
    assert metrics.nonfinite_values == 1 and metrics.sqnr_db == -MAX_SQNR_DB
    assert math.isfinite(metrics.max_abs_error) and math.isfinite(metrics.cosine)


def test_several_outputs_sum_into_one_figure_and_keep_their_own() -> None:
    accumulator = DriftAccumulator()
    accumulator.add({"a": np.array([2.0, 0.0]), "b": np.array([0.0, 1.0]),
                     "ids": np.array([1, 2])},
                    {"a": np.array([2.0, 1.0]), "b": np.array([0.0, 1.0]),
                     "ids": np.array([1, 3])})
    metrics = accumulator.metrics()
    assert metrics.sqnr_db == pytest.approx(10 * math.log10(5 / 1))  # integers are skipped
    assert [o.name for o in metrics.outputs] == ["a", "b"]
    assert metrics.outputs[0].sqnr_db == pytest.approx(10 * math.log10(4))
    assert metrics.outputs[1].sqnr_db == MAX_SQNR_DB


def test_outputs_match_by_name_or_position() -> None:
    reference = {"y": np.zeros(1), "z": np.zeros(2)}
    assert list(match_outputs(reference, {"z": 1, "y": 2})) == ["z", "y"]
    assert match_outputs(reference, {"out0": 1, "out1": 2}) == {"y": 1, "z": 2}
    with pytest.raises(ValueError, match="1 outputs"):
        match_outputs(reference, {"only": 1})
    with pytest.raises(ValueError, match="no output 'y'"):
        DriftAccumulator().add({"y": np.zeros(1)}, {"other": np.zeros(1)})


# --- per-layer drift ------------------------------------------------------------------------


def _chain(scale: float, dequantized: bool = False) -> onnx.ModelProto:
    """x -> Mul(scale) -> t -> Add(1) -> y; with ``dequantized`` the Add reads t through a
    QuantizeLinear/DequantizeLinear pair named as ONNX Runtime's QDQ quantizer names them."""
    inits = [numpy_helper.from_array(np.array(scale, np.float32), "s"),
             numpy_helper.from_array(np.array(1.0, np.float32), "one"),
             numpy_helper.from_array(np.array(0.25, np.float32), "q_scale"),
             numpy_helper.from_array(np.array(0, np.uint8), "q_zero")]
    nodes = [helper.make_node("ConstantOfShape", ["shape"], ["unused_w"], name="weights"),
             helper.make_node("Mul", ["x", "s"], ["t"], name="scale")]
    inits.append(numpy_helper.from_array(np.array([2], np.int64), "shape"))
    read = "t"
    if dequantized:
        nodes += [helper.make_node("QuantizeLinear", ["t", "q_scale", "q_zero"],
                                   ["t_QuantizeLinear_Output"], name="t_QuantizeLinear"),
                  helper.make_node("DequantizeLinear",
                                   ["t_QuantizeLinear_Output", "q_scale", "q_zero"],
                                   ["t_DequantizeLinear_Output"], name="t_DequantizeLinear")]
        read = "t_DequantizeLinear_Output"
    nodes.append(helper.make_node("Add", [read, "one"], ["y"], name="offset"))
    graph = helper.make_graph(nodes, "chain",
                              [helper.make_tensor_value_info("x", TensorProto.FLOAT, [4])],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, [4])],
                              inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def _ort_runner(path: str) -> Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]:
    session = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    return lambda inputs: dict(zip(names, session.run(names, inputs), strict=True))


def test_tensor_pairs_prefer_the_dequantized_tensor_and_skip_constants() -> None:
    reference, variant = _chain(2.0), _chain(2.0, dequantized=True)
    assert "unused_w" in fixed_tensors(reference.graph)
    pairs = tensor_pairs(reference, variant)
    assert [(p.reference, p.variant, p.node, p.op_type) for p in pairs] == [
        ("t", "t_DequantizeLinear_Output", "scale", "Mul"), ("y", "y", "offset", "Add")]
    assert [p.exclude_node for p in pairs] == ["scale", "offset"]
    assert [p.order for p in pairs] == [1, 2]


def test_layer_drift_by_hand_in_batches_of_one(tmp_path: Path) -> None:
    """x = 1: t is 2 vs 2.5 (SQNR 10 log10(4 / 0.25) = 12.04 dB), y is 3 vs 3.5
    (10 log10(9 / 0.25) = 15.56 dB); threshold 13 dB names the Mul first."""
    reference_path, variant_path = tmp_path / "ref.onnx", tmp_path / "var.onnx"
    onnx.save(_chain(2.0), str(reference_path))
    onnx.save(_chain(2.5), str(variant_path))
    samples = [{"x": np.ones(4, np.float32)}, {"x": np.ones(4, np.float32)}]
    fractions: list[float] = []
    result = compare_layers(str(reference_path), str(variant_path), samples, _ort_runner, 13.0,
                            batch_size=1, progress=lambda f, _: fractions.append(f))
    assert result.tensors_compared == 2 and result.samples == 2
    assert result.first_below is not None and result.first_below.node == "scale"
    assert result.first_below.sqnr_db == pytest.approx(10 * math.log10(16), abs=1e-4)
    assert [layer.node for layer in result.worst] == ["scale", "offset"]
    assert result.worst[1].sqnr_db == pytest.approx(10 * math.log10(36), abs=1e-4)
    assert fractions == [0.0, 0.5]  # one batch at a time
    first, _ = summarize({}, 13.0)
    assert first is None
