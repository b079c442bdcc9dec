"""Control flow analysed with real shapes: outer-scope shapes and values flow into If/Loop/Scan
bodies, a known If condition counts the branch that runs, and no symbolic dim survives once
every input has a concrete shape. MACs below are computed by hand."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from profiler.analysis.analyze import analyze
from profiler.errors import ModelLoadError
from profiler.model import Graph, load_model
from profiler.model.graph import Dim
from profiler.records.analysis import StaticAnalysis
from tests.core.model_builders import int64_tensor, make_model, save, value_info, weight

INT64 = TensorProto.INT64


def _lstm_macs(steps: int, hidden: int, inputs: int) -> int:
    """4 gates x hidden rows, each a dot product over [x_t, h_{t-1}]."""
    return steps * 4 * hidden * (inputs + hidden)


def _const(name: str, values: list[int]) -> onnx.NodeProto:
    return helper.make_node("Constant", [], [name], value=int64_tensor(name, values))


def _branch_input(prefix: str) -> list[onnx.NodeProto]:
    """x [seq, 64] -> [seq, 1, 64], the target computed from the outer Shape(x) inside the
    branch: ONNX inference alone leaves the Reshape (and the LSTM after it) unknown."""
    return [
        _const(f"{prefix}_zero", [0]),
        helper.make_node("Gather", ["x_shape", f"{prefix}_zero"], [f"{prefix}_seq"], axis=0),
        _const(f"{prefix}_tail", [1, -1]),
        helper.make_node("Concat", [f"{prefix}_seq", f"{prefix}_tail"], [f"{prefix}_target"],
                         axis=0),
        helper.make_node("Reshape", ["x", f"{prefix}_target"], [f"{prefix}_X"]),
    ]


def _then_branch() -> onnx.GraphProto:
    """LSTM hidden 32 over input 64, then Y_h [1, 32] @ [32, 16]."""
    nodes = [
        *_branch_input("t"),
        helper.make_node("LSTM", ["t_X", "W_big", "R_big"], ["", "t_h"], hidden_size=32),
        _const("t_axes", [0]),
        helper.make_node("Squeeze", ["t_h", "t_axes"], ["t_h2"]),
        helper.make_node("MatMul", ["t_h2", "proj"], ["t_out"]),
    ]
    return helper.make_graph(nodes, "then", [], [value_info("t_out", None)])


def _else_branch() -> onnx.GraphProto:
    """A smaller LSTM: hidden 16 over input 64, Y_h squeezed to [1, 16]."""
    nodes = [
        *_branch_input("e"),
        helper.make_node("LSTM", ["e_X", "W_small", "R_small"], ["", "e_h"], hidden_size=16),
        _const("e_axes", [0]),
        helper.make_node("Squeeze", ["e_h", "e_axes"], ["e_out"]),
    ]
    return helper.make_graph(nodes, "else", [], [value_info("e_out", None)])


def sample_rate_model() -> onnx.ModelProto:
    """Rank-0 int64 ``sr`` picks the branch: If(Equal(sr, 16000)); x is [seq, 64]."""
    nodes = [
        helper.make_node("Shape", ["x"], ["x_shape"]),
        helper.make_node("Equal", ["sr", "rate_16k"], ["is_16k"]),
        helper.make_node("If", ["is_16k"], ["y"], name="rate_switch",
                         then_branch=_then_branch(), else_branch=_else_branch()),
    ]
    weights = [weight("W_big", (1, 128, 64)), weight("R_big", (1, 128, 32), 1),
               weight("proj", (32, 16), 2), weight("W_small", (1, 64, 64), 3),
               weight("R_small", (1, 64, 16), 4),
               numpy_helper.from_array(np.array(16000, dtype=np.int64), "rate_16k")]
    inputs = [value_info("sr", [], INT64), value_info("x", ["seq", 64])]
    return make_model(nodes, inputs, [value_info("y", None)], weights)


SEQ = 5
THEN_MACS = _lstm_macs(SEQ, 32, 64) + 32 * 16  # LSTM, then the projection
ELSE_MACS = _lstm_macs(SEQ, 16, 64)


@pytest.fixture
def rate_path(tmp_path: Path) -> str:
    return save(sample_rate_model(), tmp_path / "rate.onnx")


def _analyze(path: str, values: dict[str, list[float | int]] | None = None,
             shapes: dict[str, tuple[int, ...]] | None = None) -> StaticAnalysis:
    return analyze(load_model(path, shapes if shapes is not None else {"x": (SEQ, 64)}, values))


def _note(analysis: StaticAnalysis, name: str) -> str:
    return next(layer.note for layer in analysis.layers if layer.name == name)


def test_known_condition_counts_the_branch_that_runs(rate_path: str) -> None:
    analysis = _analyze(rate_path, {"sr": [16000]})
    assert analysis.totals.macs == THEN_MACS
    assert analysis.unknown_shape_nodes == []
    assert _note(analysis, "rate_switch") == (
        "branch then_branch counted: condition Equal(sr, 16000) is true for sr=16000")
    assert not any("condition unknown" in note for note in analysis.notes)


def test_false_condition_counts_the_else_branch(rate_path: str) -> None:
    analysis = _analyze(rate_path, {"sr": [8000]})
    assert analysis.totals.macs == ELSE_MACS
    assert analysis.unknown_shape_nodes == []
    assert _note(analysis, "rate_switch") == (
        "branch else_branch counted: condition Equal(sr, 16000) is false for sr=8000")


def test_unknown_condition_counts_the_costlier_branch_with_real_costs(rate_path: str) -> None:
    analysis = _analyze(rate_path)
    assert analysis.totals.macs == THEN_MACS > ELSE_MACS > 0
    assert analysis.unknown_shape_nodes == []
    assert _note(analysis, "rate_switch") == (
        "condition unknown: the costlier branch (then_branch) counts (upper bound)")
    warning = next(note for note in analysis.notes if note.startswith("rate_switch"))
    assert f"then_branch {THEN_MACS} MACs" in warning
    assert f"else_branch {ELSE_MACS} MACs" in warning


def test_branch_shapes_follow_the_outer_input_size(rate_path: str) -> None:
    analysis = _analyze(rate_path, {"sr": [16000]}, {"x": (2, 64)})
    assert analysis.totals.macs == _lstm_macs(2, 32, 64) + 32 * 16
    lstm = next(layer for layer in analysis.layers if layer.name.startswith("LSTM")
                and layer.subgraph.endswith("then_branch"))
    assert lstm.output_shapes == [[1, 1, 32]]  # Y_h (Y is omitted)


def test_input_values_are_checked(rate_path: str) -> None:
    with pytest.raises(ModelLoadError, match="'rate', which is not an input"):
        load_model(rate_path, {"x": (SEQ, 64)}, {"rate": [16000]})
    with pytest.raises(ModelLoadError, match="'sr' holds 1 value"):
        load_model(rate_path, {"x": (SEQ, 64)}, {"sr": [1, 2]})


def _loop_with_outer_shapes(trips: int) -> onnx.ModelProto:
    """Loop x``trips``: v = reshape(v, [rows of outer x, -1]) @ W (64 x 64); the reshape
    target is computed inside the body from the outer x's shape."""
    body = helper.make_graph(
        [
            helper.make_node("Shape", ["x"], ["b_shape"]),
            _const("b_zero", [0]),
            helper.make_node("Gather", ["b_shape", "b_zero"], ["b_rows"], axis=0),
            _const("b_rest", [-1]),
            helper.make_node("Concat", ["b_rows", "b_rest"], ["b_target"], axis=0),
            helper.make_node("Reshape", ["v_in", "b_target"], ["b_flat"]),
            helper.make_node("MatMul", ["b_flat", "W"], ["v_out"]),
            helper.make_node("Identity", ["cond_in"], ["cond_out"]),
        ],
        "body",
        [value_info("i", [], INT64), value_info("cond_in", [], TensorProto.BOOL),
         value_info("v_in", None)],
        [value_info("cond_out", [], TensorProto.BOOL), value_info("v_out", None)],
    )
    loop = helper.make_node("Loop", ["M", "cond", "x"], ["y"], name="loop", body=body)
    initializers = [weight("W", (64, 64)), int64_tensor("M", [trips]),
                    numpy_helper.from_array(np.array(True), "cond")]
    return make_model([loop], [value_info("x", ["batch", 64])], [value_info("y", None)],
                      initializers)


def test_loop_body_reads_outer_shapes(tmp_path: Path) -> None:
    path = save(_loop_with_outer_shapes(3), tmp_path / "loop.onnx")
    analysis = _analyze(path, shapes={"x": (2, 64)})
    assert analysis.totals.macs == 3 * 2 * 64 * 64
    assert analysis.unknown_shape_nodes == []


def _scan_model() -> onnx.ModelProto:
    """Scan over x [4, 64] (axis 0): each step [64] -> [1, 64] @ W (64 x 32)."""
    body = helper.make_graph(
        [
            _const("s_axes", [0]),
            helper.make_node("Unsqueeze", ["x_t", "s_axes"], ["x_row"]),
            helper.make_node("MatMul", ["x_row", "W"], ["y_t"]),
        ],
        "scan_body", [value_info("x_t", None)], [value_info("y_t", None)],
    )
    scan = helper.make_node("Scan", ["x"], ["ys"], name="scan", body=body, num_scan_inputs=1)
    return make_model([scan], [value_info("x", ["steps", 64])], [value_info("ys", None)],
                      [weight("W", (64, 32))])


def test_scan_body_gets_the_slice_shape(tmp_path: Path) -> None:
    path = save(_scan_model(), tmp_path / "scan.onnx")
    model = load_model(path, {"x": (4, 64)})
    analysis = analyze(model)
    assert analysis.totals.macs == 4 * 64 * 32
    assert analysis.unknown_shape_nodes == []
    assert model.graph.tensor("ys").shape == (4, 1, 32)


def _written_out_lstm_loop(hidden: int = 8, features: int = 16) -> onnx.ModelProto:
    """An LSTM cell as Gemm/Sigmoid/Tanh inside a Loop over X [T, 1, features]; the trip
    count is Shape(X)[0], computed from the input shape."""
    gates = 4 * hidden
    body_nodes = [
        helper.make_node("Gather", ["X", "i"], ["x_t"], axis=0),
        helper.make_node("Gemm", ["x_t", "Wx"], ["gx"], transB=1),
        helper.make_node("Gemm", ["h_in", "Wh", "bias"], ["gh"], transB=1),
        helper.make_node("Add", ["gx", "gh"], ["g"]),
        helper.make_node("Split", ["g", "split"], ["gi", "gf", "gc", "go"], axis=1),
        helper.make_node("Sigmoid", ["gi"], ["si"]),
        helper.make_node("Sigmoid", ["gf"], ["sf"]),
        helper.make_node("Tanh", ["gc"], ["tc"]),
        helper.make_node("Sigmoid", ["go"], ["so"]),
        helper.make_node("Mul", ["sf", "c_in"], ["fc"]),
        helper.make_node("Mul", ["si", "tc"], ["ic"]),
        helper.make_node("Add", ["fc", "ic"], ["c_out"]),
        helper.make_node("Tanh", ["c_out"], ["tco"]),
        helper.make_node("Mul", ["so", "tco"], ["h_out"]),
        helper.make_node("Identity", ["cond_in"], ["cond_out"]),
    ]
    body = helper.make_graph(
        body_nodes, "cell",
        [value_info("i", [], INT64), value_info("cond_in", [], TensorProto.BOOL),
         value_info("h_in", None), value_info("c_in", None)],
        [value_info("cond_out", [], TensorProto.BOOL), value_info("h_out", None),
         value_info("c_out", None)],
    )
    nodes = [
        helper.make_node("Shape", ["X"], ["X_shape"]),
        _const("first", [0]),
        helper.make_node("Gather", ["X_shape", "first"], ["T"], axis=0),
        helper.make_node("Squeeze", ["T", "first"], ["M"]),
        helper.make_node("Loop", ["M", "cond", "h0", "c0"], ["h", "c"], name="cell_loop",
                         body=body),
    ]
    initializers = [
        weight("Wx", (gates, features)), weight("Wh", (gates, hidden), 1),
        weight("bias", (gates,), 2), int64_tensor("split", [hidden] * 4),
        numpy_helper.from_array(np.zeros((1, hidden), np.float32), "h0"),
        numpy_helper.from_array(np.zeros((1, hidden), np.float32), "c0"),
        numpy_helper.from_array(np.array(True), "cond"),
    ]
    return make_model(nodes, [value_info("X", ["T", 1, features])], [value_info("h", None)],
                      initializers)


def test_lstm_written_out_inside_a_loop_counts_every_step(tmp_path: Path) -> None:
    path = save(_written_out_lstm_loop(), tmp_path / "cell.onnx")
    analysis = _analyze(path, shapes={"X": (6, 1, 16)})
    per_step = 1 * 16 * 32 + 1 * 8 * 32  # the two Gemms
    assert analysis.totals.macs == 6 * per_step
    assert analysis.unknown_shape_nodes == []
    assert "x6" in _note(analysis, "cell_loop")


def _symbolic_model() -> onnx.ModelProto:
    """x [batch, 3, height, 8]; MaxPool halves height; a custom op ONNX cannot infer, whose
    value_info (as an exporter wrote it) says [batch, 3, floor(height/2), 4]."""
    nodes = [
        helper.make_node("MaxPool", ["x"], ["pooled"], kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Opaque", ["pooled"], ["opaque"], domain="custom.ops"),
        helper.make_node("Relu", ["opaque"], ["y"]),
    ]
    model = make_model(nodes, [value_info("x", ["batch", 3, "height", 8])],
                       [value_info("y", ["batch", 3, "floor(height/2)", 4])])
    model.graph.value_info.extend([
        value_info("pooled", ["batch", 3, "floor(height/2)", 4]),
        value_info("opaque", ["batch", 3, "floor(height/2)", "w"]),
    ])
    model.opset_import.append(helper.make_opsetid("custom.ops", 1))
    return model


def _all_shapes(graph: Graph) -> list[tuple[Dim, ...]]:
    shapes = [info.shape for info in [*graph.tensors.values(), *graph.constants.values()]
              if info.shape is not None]
    for node in graph.nodes:
        for body in node.subgraphs.values():
            shapes.extend(_all_shapes(body))
    return shapes


def test_no_symbolic_dim_survives_concrete_inputs(tmp_path: Path) -> None:
    path = save(_symbolic_model(), tmp_path / "symbolic.onnx")
    model = load_model(path, {"x": (2, 3, 32, 8)})
    shapes = _all_shapes(model.graph)
    assert shapes and not any(isinstance(d, str) for shape in shapes for d in shape)
    assert model.graph.tensor("pooled").shape == (2, 3, 16, 4)
    assert model.graph.tensor("opaque").shape == (None, 3, None, None)  # sizes: unknown
    assert any("could not be computed" in w and "'Opaque'" in w for w in model.warnings)


def test_no_symbolic_dim_survives_in_branches(rate_path: str) -> None:
    model = load_model(rate_path, {"x": (SEQ, 64)})
    shapes = _all_shapes(model.graph)
    assert not any(isinstance(d, str) for shape in shapes for d in shape)
    assert model.graph.tensor("y").shape == (1, 16)


def test_unknown_shapes_are_reported_as_a_lower_bound(tmp_path: Path) -> None:
    nodes = [helper.make_node("Opaque", ["x"], ["o"], domain="custom.ops"),
             helper.make_node("MatMul", ["o", "W"], ["y"])]
    model = make_model(nodes, [value_info("x", [1, 8])], [value_info("y", None)],
                       [weight("W", (8, 4))])
    model.opset_import.append(helper.make_opsetid("custom.ops", 1))
    analysis = analyze(load_model(save(model, tmp_path / "opaque.onnx")))
    assert analysis.unknown_shape_nodes
    assert analysis.notes[0].startswith("1 nodes have unknown shapes; totals are a lower bound")
