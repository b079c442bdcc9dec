"""Input-shape resolution (--shape overrides, defaults, shared symbols) and shapes computed at
run time (Shape -> Gather -> Div -> Concat -> Reshape chains of exported transformers)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from profiler.analysis.analyze import analyze
from profiler.errors import ShapeError
from profiler.model import load_model
from profiler.model.graph import Dim
from profiler.model.shape_rules import output_shape
from profiler.model.shapes import parse_shape_overrides, resolve_input_shapes
from profiler.records.analysis import StaticAnalysis
from tests.core import model_builders as mb
from tests.core.model_builders import value_info

Declared = list[tuple[str, str, tuple[Dim, ...] | None]]

# --- parse_shape_overrides -------------------------------------------------------------------


@pytest.mark.parametrize("text,expected", [
    ("input=1x3x224x224", {"input": (1, 3, 224, 224)}),
    ("input_ids = 2,64", {"input_ids": (2, 64)}),
    ("x=1 x 16", {"x": (1, 16)}),
    ("step=", {"step": ()}),
    ("a.b:0=7", {"a.b:0": (7,)}),
])
def test_parse_good_overrides(text: str, expected: dict[str, tuple[int, ...]]) -> None:
    assert parse_shape_overrides([text]) == expected


def test_parse_several_inputs() -> None:
    parsed = parse_shape_overrides(["input_ids=1x128", "attention_mask=1x128", "pixels=1x3x8x8"])
    assert parsed == {"input_ids": (1, 128), "attention_mask": (1, 128), "pixels": (1, 3, 8, 8)}


@pytest.mark.parametrize("text", [
    "input", "=1x3", "input=1xax3", "input=1x-3", "input=1x3x", "input=1.5x3", "input=0x3",
    "input=1x3000000000",
])
def test_parse_bad_overrides(text: str) -> None:
    with pytest.raises(ShapeError, match="--shape"):
        parse_shape_overrides([text])


# --- resolve_input_shapes --------------------------------------------------------------------


def _resolved(inputs: Declared, overrides: dict[str, tuple[int, ...]] | None = None
              ) -> dict[str, tuple[int, ...] | None]:
    return {spec.name: spec.shape for spec in resolve_input_shapes(inputs, overrides or {})}


def test_defaults_batch_image_and_sequence() -> None:
    inputs: Declared = [
        ("pixels", "float32", ("batch", 3, "height", "width")),
        ("input_ids", "int64", ("batch", "sequence")),
        ("features", "float32", (None, "frames", 80)),
    ]
    specs = resolve_input_shapes(inputs, {})
    assert [spec.shape for spec in specs] == [(1, 3, 224, 224), (1, 128), (1, 128, 80)]
    assert [spec.shape_source for spec in specs] == ["default"] * 3


def test_fixed_shape_keeps_model_source() -> None:
    spec = resolve_input_shapes([("x", "float32", (1, 3, 32, 32))], {})[0]
    assert (spec.shape, spec.shape_source) == ((1, 3, 32, 32), "model")


def test_shared_symbol_gets_one_value_from_an_override() -> None:
    inputs: Declared = [("input_ids", "int64", ("batch", "seq")),
                        ("attention_mask", "int64", ("batch", "seq"))]
    assert _resolved(inputs, {"input_ids": (2, 64)}) == {
        "input_ids": (2, 64), "attention_mask": (2, 64)}
    # The override on the second input also sizes the first.
    assert _resolved(inputs, {"attention_mask": (3, 16)}) == {
        "input_ids": (3, 16), "attention_mask": (3, 16)}


def test_shared_symbol_gets_one_value_from_defaults() -> None:
    # 's' first appears as a sequence dim (128); at an image position it keeps 128, not 224.
    inputs: Declared = [("tokens", "int64", ("n", "s")), ("grid", "float32", ("n", 3, "s", "s"))]
    assert _resolved(inputs) == {"tokens": (1, 128), "grid": (1, 3, 128, 128)}


def test_one_symbol_given_two_sizes_is_an_error() -> None:
    inputs: Declared = [("input_ids", "int64", ("batch", "seq")),
                        ("attention_mask", "int64", ("batch", "seq"))]
    with pytest.raises(ShapeError, match=r"'seq'.*128 and 64"):
        resolve_input_shapes(inputs, {"input_ids": (1, 128), "attention_mask": (1, 64)})


def test_override_of_a_fixed_dim_with_another_value_is_an_error() -> None:
    with pytest.raises(ShapeError, match="dim 2 is fixed at 224 in the model, override gives 256"):
        resolve_input_shapes([("x", "float32", ("batch", 3, 224, 224))], {"x": (1, 3, 256, 224)})


def test_override_with_the_wrong_rank_is_an_error() -> None:
    with pytest.raises(ShapeError, match="rank 4"):
        resolve_input_shapes([("x", "float32", ("batch", 3, 224, 224))], {"x": (1, 3, 224)})


def test_override_naming_an_unknown_input_lists_the_inputs() -> None:
    inputs: Declared = [("input_ids", "int64", ("b", "s")), ("attention_mask", "int64", ("b", "s"))]
    with pytest.raises(ShapeError) as error:
        resolve_input_shapes(inputs, {"ids": (1, 8)})
    message = str(error.value)
    assert "ids" in message and "input_ids, attention_mask" in message


def test_input_without_a_declared_shape_needs_an_override() -> None:
    with pytest.raises(ShapeError, match="--shape x="):
        resolve_input_shapes([("x", "float32", None)], {})
    assert _resolved([("x", "float32", None)], {"x": (4, 4)}) == {"x": (4, 4)}


# --- shapes computed at run time -------------------------------------------------------------

HIDDEN, HEADS = 64, 4


def _attention_macs(batch: int, seq: int) -> dict[str, int]:
    projection = batch * seq * HIDDEN * HIDDEN
    product = batch * HEADS * seq * seq * (HIDDEN // HEADS)
    return {"q_proj": projection, "k_proj": projection, "v_proj": projection,
            "qk_matmul": product, "av_matmul": product, "out_proj": projection}


def _attention(tmp_path: Path, overrides: list[str]) -> StaticAnalysis:
    path = mb.save(mb.attention_block(hidden=HIDDEN, heads=HEADS), tmp_path / "attention.onnx")
    return analyze(load_model(path, parse_shape_overrides(overrides)))


@pytest.mark.parametrize("overrides,batch,seq", [
    ([], 1, 128),  # defaults
    (["input_ids=1x128"], 1, 128),
    (["input_ids=2x64"], 2, 64),
])
def test_attention_block_with_computed_reshapes_has_static_matmuls(
    tmp_path: Path, overrides: list[str], batch: int, seq: int
) -> None:
    analysis = _attention(tmp_path, overrides)
    assert analysis.unknown_shape_nodes == []
    matmuls = {layer.name: layer for layer in analysis.layers if layer.op_type == "MatMul"}
    assert {name: layer.macs for name, layer in matmuls.items()} == _attention_macs(batch, seq)
    head_dim = HIDDEN // HEADS
    assert matmuls["qk_matmul"].output_shapes == [[batch, HEADS, seq, seq]]
    assert matmuls["av_matmul"].output_shapes == [[batch, HEADS, seq, head_dim]]
    assert matmuls["out_proj"].output_shapes == [[batch, seq, HIDDEN]]
    assert analysis.totals.macs == sum(_attention_macs(batch, seq).values())
    # token (1000 x 64) and position (512 x 64) embeddings, four 64 x 64 projections
    assert analysis.totals.params == 1000 * 64 + 512 * 64 + 4 * 64 * 64


def test_computed_shape_values_are_known_to_cost_functions(tmp_path: Path) -> None:
    path = mb.save(mb.attention_block(hidden=HIDDEN, heads=HEADS), tmp_path / "attention.onnx")
    graph = load_model(path, {"input_ids": (2, 64)}).graph
    assert graph.constant_values["head_dim"] == [16]
    assert graph.constant_values["merge_target"] == [2, 64, 64]
    assert graph.constant_values["positions"] == list(range(64))


def _where_expand_model() -> onnx.ModelProto:
    """x(batch, seq, 8) -> Expand to Where(Shape(x) == -1, 1, Shape(x)) -> MatMul W(8, 4);
    plus a float mask ConstantOfShape(Shape(x)) added to x (an activation, not a weight)."""
    nodes = [
        helper.make_node("Shape", ["x"], ["shape"], name="shape"),
        helper.make_node("Equal", ["shape", "minus_one"], ["is_free"], name="equal"),
        helper.make_node("Where", ["is_free", "ones", "shape"], ["target"], name="where"),
        helper.make_node("Expand", ["x", "target"], ["expanded"], name="expand"),
        helper.make_node("ConstantOfShape", ["target"], ["mask"], name="mask"),
        helper.make_node("Add", ["expanded", "mask"], ["masked"], name="add_mask"),
        helper.make_node("MatMul", ["masked", "W"], ["y"], name="matmul"),
    ]
    initializers = [mb.int64_tensor("minus_one", [-1, -1, -1]),
                    mb.int64_tensor("ones", [1, 1, 1]), mb.weight("W", (8, 4))]
    return mb.make_model(nodes, [value_info("x", ["batch", "seq", 8])],
                         [value_info("y", ["batch", "seq", 4])], initializers)


def test_where_equal_expand_chain_resolves(tmp_path: Path) -> None:
    path = mb.save(_where_expand_model(), tmp_path / "where.onnx")
    analysis = analyze(load_model(path, {"x": (3, 5, 8)}))
    assert analysis.unknown_shape_nodes == []
    matmul = next(layer for layer in analysis.layers if layer.name == "matmul")
    assert (matmul.macs, matmul.output_shapes) == (3 * 5 * 8 * 4, [[3, 5, 4]])
    # The mask is computed from the input's shape at run time: not a weight.
    assert analysis.totals.params == 8 * 4
    mask = next(layer for layer in analysis.layers if layer.name == "mask")
    assert (mask.output_shapes, mask.activation_bytes) == ([[3, 5, 8]], 3 * 5 * 8 * 4)


def test_dynamic_model_warns_about_defaulted_dims(tmp_path: Path) -> None:
    path = mb.save(mb.attention_block(), tmp_path / "attention.onnx")
    model = load_model(path)
    assert model.input_specs[0].shape == (1, 128)
    assert model.input_specs[0].shape_source == "default"
    assert any("--shape input_ids=" in warning for warning in model.warnings)
    overridden = load_model(path, {"input_ids": (1, 128)})
    assert overridden.input_specs[0].shape_source == "override"
    assert overridden.warnings == []


def test_int64_input_declared_as_such(tmp_path: Path) -> None:
    path = mb.save(mb.attention_block(), tmp_path / "attention.onnx")
    spec = load_model(path).input_specs[0]
    assert spec.dtype == "int64"
    assert spec.declared_shape == ("batch", "seq")
    assert mb.attention_block().graph.input[0].type.tensor_type.elem_type == TensorProto.INT64


def test_chains_reading_each_layers_own_output_resolve_through_a_deep_stack(
    tmp_path: Path
) -> None:
    # 40 layers: each layer's reshape targets depend on the previous layer's output shape.
    layers = 40
    path = mb.save(mb.stacked_layers(layers), tmp_path / "stacked.onnx")
    model = load_model(path, {"x0": (2, 16, 64)})
    onnx.checker.check_model(onnx.load(path))  # a valid model, as an exporter would write
    analysis = analyze(model)
    assert analysis.unknown_shape_nodes == []
    assert analysis.totals.macs == layers * 2 * 16 * 64 * 64
    last = next(layer for layer in analysis.layers if layer.name == f"l{layers - 1}_merge_reshape")
    assert last.output_shapes == [[2, 16, 64]]
    assert model.graph.constant_values[f"l{layers - 1}_head_dim"] == [16]


# --- shape rules used to follow chains -------------------------------------------------------


def _int64(values: list[int]) -> np.ndarray:
    return np.array(values, dtype=np.int64)


@pytest.mark.parametrize("op_type,attrs,shapes,values,expected", [
    ("MatMul", {}, [(2, 3, 4), (4, 5)], [None, None], np.zeros((2, 3, 4)) @ np.zeros((4, 5))),
    ("MatMul", {}, [(4,), (2, 4, 5)], [None, None], np.zeros(4) @ np.zeros((2, 4, 5))),
    ("MatMul", {}, [(2, 3, 4), (4,)], [None, None], np.zeros((2, 3, 4)) @ np.zeros(4)),
    ("MatMul", {}, [(2, 3, 4), (5, 6)], [None, None], None),  # K mismatch: no guess
    ("Gemm", {"transA": 1, "transB": 1}, [(4, 3), (5, 4)], [None, None], np.zeros((3, 5))),
    ("Add", {}, [(2, 1, 4), (3, 1)], [None, None], np.zeros((2, 3, 4))),
    ("Where", {}, [(1, 4), (3, 1), ()], [None] * 3, np.zeros((3, 4))),
    ("Reshape", {}, [(2, 3, 4), (3,)], [None, _int64([0, -1, 2])],
     np.zeros((2, 3, 4)).reshape(2, -1, 2)),
    ("Transpose", {"perm": [2, 0, 1]}, [(2, 3, 4)], [None], np.zeros((4, 2, 3))),
    ("Transpose", {}, [(2, 3, 4)], [None], np.zeros((4, 3, 2))),
    ("Unsqueeze", {}, [(3, 4), (2,)], [None, _int64([0, -1])], np.zeros((1, 3, 4, 1))),
    ("Squeeze", {"axes": [0]}, [(1, 3, 1)], [None], np.zeros((3, 1))),
    ("Squeeze", {}, [(1, 3, 1)], [None], np.zeros(3)),
    ("Concat", {"axis": -1}, [(2, 3), (2, 5)], [None, None], np.zeros((2, 8))),
    ("Gather", {"axis": 1}, [(2, 10, 4), (3, 5)], [None, None], np.zeros((2, 3, 5, 4))),
    ("Slice", {}, [(10, 8), (1,), (1,), (1,), (1,)],
     [None, _int64([-1]), _int64([-100]), _int64([0]), _int64([-3])], np.zeros((10, 8))[-1::-3]),
    ("Flatten", {"axis": 2}, [(2, 3, 4, 5)], [None], np.zeros((6, 20))),
    ("ReduceMean", {"keepdims": 0}, [(2, 3, 4), (1,)], [None, _int64([-1])], np.zeros((2, 3))),
    ("ReduceSum", {}, [(2, 3, 4)], [None], np.zeros((1, 1, 1))),
    ("Softmax", {}, [(2, 3)], [None], np.zeros((2, 3))),
    ("Add", {}, [(2, 3), None], [None, None], None),  # an unknown input: no guess
    ("NonZero", {}, [(2, 3)], [None], None),  # no rule: left to ONNX inference
])
def test_shape_rules_agree_with_numpy(
    op_type: str, attrs: dict[str, object], shapes: list[tuple[int, ...] | None],
    values: list[np.ndarray | None], expected: np.ndarray | None,
) -> None:
    got = output_shape(op_type, dict(attrs), shapes, values)
    assert got == (None if expected is None else expected.shape)


def test_the_middle_dim_of_a_recurrent_state_defaults_to_batch_one() -> None:
    from profiler.model.shapes import resolve_input_shapes

    specs = resolve_input_shapes(
        [("input", "float32", ("?", "?")), ("state", "float32", (2, "?", 128)),
         ("tokens", "int64", (1, "?", 64)), ("h0", "float32", (1, "?", 64))], {})
    shapes = {spec.name: spec.shape for spec in specs}
    assert shapes["state"] == (2, 1, 128)
    assert shapes["input"] == (1, 128)
    assert shapes["tokens"] == (1, 128, 64)  # [1, seq, hidden] stays a sequence
    assert shapes["h0"] == (1, 1, 64)
