"""ONNX loading: external data (never read), old IR versions, weights from Constant and
ConstantOfShape nodes, shared weights, malformed graphs, control flow, peak memory.

Every model is built here; expected numbers are worked out by hand in each test.
"""

from __future__ import annotations

import builtins
import os
from pathlib import Path
from typing import Any

import onnx
import pytest
from onnx import TensorProto, helper

from profiler.analysis.analyze import analyze
from profiler.errors import ModelLoadError
from profiler.model import load_model, onnx_texts
from profiler.model.onnx_texts import non_utf8_field, non_utf8_message_field
from profiler.records.analysis import LayerCost, StaticAnalysis
from tests.core import model_builders as mb
from tests.core.model_builders import value_info

F32 = 4  # bytes per float32


def _analysis(path: str) -> StaticAnalysis:
    return analyze(load_model(path))


def _layer(analysis: StaticAnalysis, name: str) -> LayerCost:
    return next(layer for layer in analysis.layers if layer.name == name)


# --- external data -------------------------------------------------------------------------


def _sparse_external_chain(tmp_path: Path) -> tuple[str, str]:
    """matmul_chain saved with external data, then the data file replaced by a hole of the
    same size: zeros that were never written."""
    path = mb.save(mb.matmul_chain(), tmp_path / "chain.onnx", external=True)
    data = tmp_path / "chain.onnx.data"
    size = data.stat().st_size
    assert size == (64 * 32 + 32 * 16) * F32  # both weights, nothing else, in one file
    os.unlink(data)
    mb.sparse_file(data, size)
    return path, str(data)


def test_external_data_loads_from_a_sparse_file_with_exact_costs(tmp_path: Path) -> None:
    path, data = _sparse_external_chain(tmp_path)
    model = load_model(path)
    analysis = analyze(model)
    # x(1,64) @ W0(64,32): 2048 MACs; h(1,32) @ W1(32,16): 512 MACs.
    assert analysis.totals.macs == 2048 + 512
    assert analysis.totals.params == 64 * 32 + 32 * 16
    assert analysis.totals.weight_bytes == (64 * 32 + 32 * 16) * F32
    assert model.files == [os.path.abspath(path), os.path.abspath(data)]
    assert model.file_bytes == os.path.getsize(path) + os.path.getsize(data)


def test_external_weight_bytes_are_never_opened(tmp_path: Path, monkeypatch: Any) -> None:
    path, data = _sparse_external_chain(tmp_path)
    real_open = builtins.open

    def guarded_open(file: Any, *args: Any, **kwargs: Any) -> Any:
        if isinstance(file, (str, os.PathLike)) and os.path.abspath(file) == data:
            raise AssertionError(f"the loader opened the weight file {file}")
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", guarded_open)
    assert _analysis(path).totals.macs == 2560


def test_small_external_shape_vector_is_read_for_shape_inference(tmp_path: Path) -> None:
    # Everything external, the int64 reshape target (2, 64) included: it must be read.
    path = mb.save(mb.matmul_reshape(batch=2), tmp_path / "reshape.onnx", external=True)
    analysis = _analysis(path)
    # flat(2,64) @ W(64,8): 2 x 64 x 8 MACs.
    assert _layer(analysis, "matmul").macs == 1024
    assert _layer(analysis, "matmul").output_shapes == [[2, 8]]
    assert analysis.unknown_shape_nodes == []


# --- old IR, Constant / ConstantOfShape weights, shared weights ------------------------------


def test_ir_version_3_initializers_listed_as_inputs_are_not_model_inputs(tmp_path: Path) -> None:
    model = mb.make_model(
        [helper.make_node("MatMul", ["x", "W"], ["y"], name="matmul")],
        [value_info("x", [1, 8]), value_info("W", [8, 4])],  # IR 3 lists weights as inputs
        [value_info("y", [1, 4])],
        [mb.weight("W", (8, 4))], opset=7, ir_version=3,
    )
    loaded = load_model(mb.save(model, tmp_path / "ir3.onnx"))
    assert loaded.ir_version == 3
    assert [spec.name for spec in loaded.input_specs] == ["x"]
    assert [info.name for info in loaded.graph.inputs] == ["x"]
    analysis = analyze(loaded)
    assert (analysis.totals.macs, analysis.totals.params) == (8 * 4, 8 * 4)


def test_weights_in_constant_nodes_count_as_params(tmp_path: Path) -> None:
    constant = helper.make_node("Constant", [], ["W"], name="const",
                                value=mb.weight("W_value", (8, 4)))
    model = mb.make_model(
        [constant, helper.make_node("MatMul", ["x", "W"], ["y"], name="matmul")],
        [value_info("x", [3, 8])], [value_info("y", [3, 4])],
    )
    analysis = _analysis(mb.save(model, tmp_path / "constant.onnx"))
    assert analysis.totals.macs == 3 * 8 * 4
    assert analysis.totals.params == 32
    assert analysis.totals.constant_node_count == 1
    assert [layer.name for layer in analysis.layers] == ["matmul"]
    assert _layer(analysis, "matmul").params == 32


def test_constant_of_shape_weight_used_twice_counts_once(tmp_path: Path) -> None:
    fill = helper.make_tensor("value", TensorProto.FLOAT, [1], [0.5])
    nodes = [
        helper.make_node("ConstantOfShape", ["shape"], ["W"], name="make_w", value=fill),
        helper.make_node("MatMul", ["x", "W"], ["h"], name="matmul1"),
        helper.make_node("MatMul", ["h", "W"], ["y"], name="matmul2"),
    ]
    model = mb.make_model(nodes, [value_info("x", [2, 8])], [value_info("y", [2, 8])],
                          [mb.int64_tensor("shape", [8, 8])])
    analysis = _analysis(mb.save(model, tmp_path / "constant_of_shape.onnx"))
    assert analysis.totals.macs == 2 * (2 * 8 * 8)
    assert analysis.totals.params == 64  # once, though both MatMuls read it
    assert _layer(analysis, "matmul1").params == _layer(analysis, "matmul2").params == 64
    # 64 float weights plus the 2-element int64 shape vector.
    assert analysis.totals.weight_bytes == 64 * F32 + 2 * 8


def test_shared_initializer_counts_once_in_totals(tmp_path: Path) -> None:
    nodes = [helper.make_node("MatMul", ["x", "W"], ["h"], name="matmul1"),
             helper.make_node("MatMul", ["h", "W"], ["y"], name="matmul2")]
    model = mb.make_model(nodes, [value_info("x", [2, 8])], [value_info("y", [2, 8])],
                          [mb.weight("W", (8, 8))])
    analysis = _analysis(mb.save(model, tmp_path / "shared.onnx"))
    assert analysis.totals.params == 64
    assert analysis.totals.weight_bytes == 64 * F32
    assert sum(layer.params for layer in analysis.layers) == 128  # each layer shows it
    assert analysis.totals.macs == 256


# --- malformed graphs ------------------------------------------------------------------------


def _relu(source: str, target: str, name: str) -> Any:
    return helper.make_node("Relu", [source], [target], name=name)


MALFORMED = {
    "cycle": (
        [helper.make_node("Add", ["x", "c"], ["b"], name="add"), _relu("b", "c", "relu")],
        ["c"], "cycle",
    ),
    "dangling_input": (
        [helper.make_node("Add", ["x", "nowhere"], ["y"], name="add")], ["y"], "'nowhere'",
    ),
    "tensor_produced_twice": (
        [_relu("x", "y", "relu1"), _relu("x", "y", "relu2")], ["y"], "produced twice",
    ),
    "output_listed_twice": ([_relu("x", "y", "relu")], ["y", "y"], "listed twice"),
    "output_never_produced": ([_relu("x", "y", "relu")], ["z"], "'z' is not produced"),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_graph_is_a_model_load_error(tmp_path: Path, case: str) -> None:
    nodes, outputs, problem = MALFORMED[case]
    model = mb.make_model(nodes, [value_info("x", [2, 8])],
                          [value_info(name, [2, 8]) for name in outputs])
    path = mb.save(model, tmp_path / f"{case}.onnx")
    with pytest.raises(ModelLoadError) as error:
        load_model(path)
    assert str(error.value).startswith(f"{path}: ")
    assert problem in str(error.value)


def test_every_truncation_of_a_small_model_is_refused(tmp_path: Path) -> None:
    data = mb.loop_model(5).SerializeToString()
    path = tmp_path / "cut.onnx"
    loaded_at = []
    for length in range(len(data)):
        path.write_bytes(data[:length])
        try:
            load_model(str(path))
            loaded_at.append(length)
        except ModelLoadError:
            pass
    assert loaded_at == []


@pytest.mark.parametrize(("marker", "field"), [
    (b"NAMEmark", "name"),  # a node's name
    (b"OUTPmark", "output"),  # an element of a repeated text field
    (b"DIMPmark", "dim_param"),  # deep inside an input's type
    (b"ATTRmark", "name"),  # an attribute's name, inside a Loop's body graph
])
def test_a_text_that_is_not_utf8_is_refused_naming_its_field(
        tmp_path: Path, marker: bytes, field: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """protobuf hands a text field that is not UTF-8 over as bytes; no name may be bytes."""
    relu = helper.make_node("Relu", ["x"], ["OUTPmark"], name="NAMEmark")
    body_node = helper.make_node("Identity", ["s"], ["s_out"], name="inner")
    body_node.attribute.append(helper.make_attribute("ATTRmark", 1))
    body = helper.make_graph([body_node], "body", [value_info("i", []), value_info("c", []),
                                                   value_info("s", [2])],
                             [value_info("c", []), value_info("s_out", [2])])
    loop = helper.make_node("Loop", ["", "", "v"], ["v_out"], name="loop", body=body)
    model = mb.make_model([relu, loop],
                          [value_info("x", ["DIMPmark", 8]), value_info("v", [2])],
                          [value_info("OUTPmark", ["DIMPmark", 8]), value_info("v_out", [2])])
    data = model.SerializeToString()
    assert data.count(marker) >= 1
    path = tmp_path / "bad_text.onnx"
    path.write_bytes(data.replace(marker, b"\xff\xfe" + marker[2:]))
    with pytest.raises(ModelLoadError, match=f"a '{field}' text is not valid UTF-8"):
        load_model(str(path))
    bad = onnx.load_model_from_string(path.read_bytes())
    monkeypatch.setattr(onnx_texts, "WALKED_ENTRIES", 0)  # small: checked the fast way too
    assert non_utf8_field(bad) == non_utf8_message_field(bad) == field  # both ways agree


def test_a_tensor_s_non_utf8_location_is_refused_before_it_is_used(tmp_path: Path) -> None:
    """External data locations are read (and joined to paths) before the whole model's check."""
    model = mb.make_model([helper.make_node("MatMul", ["x", "W"], ["y"], name="mm")],
                          [value_info("x", [2, 8])], [value_info("y", [2, 8])],
                          [mb.weight("W", (8, 8))])
    path = mb.save(model, tmp_path / "ext.onnx", external=True, location="LOCAmark.bin")
    data = Path(path).read_bytes()
    Path(path).write_bytes(data.replace(b"LOCAmark", b"\xff\xfeCAmark"))
    with pytest.raises(ModelLoadError, match="a 'value' text is not valid UTF-8"):
        load_model(path)


@pytest.mark.parametrize("walked_entries", [0, onnx_texts.WALKED_ENTRIES])
def test_bytes_attributes_may_hold_any_bytes(
        tmp_path: Path, walked_entries: int, monkeypatch: pytest.MonkeyPatch) -> None:
    """An attribute's ``s`` is bytes in onnx.proto, not text: anything is allowed there,
    whether the model is checked by protobuf's parser or walked."""
    monkeypatch.setattr(onnx_texts, "WALKED_ENTRIES", walked_entries)
    relu = helper.make_node("Relu", ["x"], ["y"], name="relu", note=b"\xff\xfe")
    path = mb.save(mb.make_model([relu], [value_info("x", [2, 8])], [value_info("y", [2, 8])]),
                   tmp_path / "bytes_attr.onnx")
    assert load_model(path).graph.nodes


def test_node_domain_without_opset_import_is_refused(tmp_path: Path) -> None:
    node = helper.make_node("FusedMatMul", ["x", "W"], ["y"], name="fused", domain="com.microsoft")
    model = mb.make_model([node], [value_info("x", [2, 8])], [value_info("y", [2, 8])],
                          [mb.weight("W", (8, 8))])
    path = mb.save(model, tmp_path / "no_domain.onnx")
    with pytest.raises(ModelLoadError, match=r"com\.microsoft"):
        load_model(path)


# --- control flow ----------------------------------------------------------------------------


def test_if_counts_the_costlier_branch_and_marks_the_other(tmp_path: Path) -> None:
    analysis = _analysis(mb.save(mb.if_model(width=16), tmp_path / "if.onnx"))
    # then: one 16x16 MatMul (256 MACs); else: two (512). Totals take else.
    assert analysis.totals.macs == 512
    control = _layer(analysis, "if")
    assert control.status == "control"
    assert "else_branch" in control.note
    then_layer = _layer(analysis, "then_matmul")
    assert (then_layer.macs, then_layer.multiplier, then_layer.subgraph) == (
        256, 0.0, "if/then_branch")
    for name in ("else_matmul1", "else_matmul2"):
        assert (_layer(analysis, name).multiplier, _layer(analysis, name).subgraph) == (
            1.0, "if/else_branch")
    # A, B and C are all stored in the file, read from the outer scope by the branches.
    assert analysis.totals.params == 3 * 256
    assert then_layer.params == 256


def test_loop_with_constant_trip_count_multiplies_its_body(tmp_path: Path) -> None:
    analysis = _analysis(mb.save(mb.loop_model(5, width=16), tmp_path / "loop5.onnx"))
    body = _layer(analysis, "body_matmul")
    assert (body.macs, body.multiplier, body.subgraph) == (256, 5.0, "loop/body")
    assert analysis.totals.macs == 5 * 256
    assert analysis.totals.params == 256  # W once, though read from inside the body
    assert body.params == 256
    assert "x5" in _layer(analysis, "loop").note
    assert analysis.notes == []


def test_loop_with_unknown_trip_count_counts_body_once_with_a_note(tmp_path: Path) -> None:
    model = load_model(mb.save(mb.loop_model(None, width=16), tmp_path / "loop_m.onnx"))
    assert [spec.name for spec in model.input_specs] == ["x", "M"]
    analysis = analyze(model)
    assert analysis.totals.macs == 256
    assert _layer(analysis, "body_matmul").multiplier == 1.0
    assert len(analysis.notes) == 1
    assert "trip count unknown" in analysis.notes[0]


# --- peak activation memory ------------------------------------------------------------------


def test_peak_activation_of_a_chain(tmp_path: Path) -> None:
    analysis = _analysis(mb.save(mb.matmul_chain(dims=(64, 32, 16)), tmp_path / "chain.onnx"))
    # x 256 B; matmul0 allocates h 128 B while x is live: 384; x freed; then y 64 B: 192.
    assert analysis.totals.peak_activation_bytes == 64 * F32 + 32 * F32
    assert analysis.totals.activation_bytes == (32 + 16) * F32


def test_peak_activation_of_a_diamond(tmp_path: Path) -> None:
    nodes = [
        helper.make_node("MatMul", ["x", "Wa"], ["a"], name="a"),
        helper.make_node("MatMul", ["x", "Wb"], ["b"], name="b"),
        helper.make_node("MatMul", ["a", "Wc"], ["c"], name="c"),
        helper.make_node("Add", ["b", "c"], ["y"], name="join"),
    ]
    initializers = [mb.weight("Wa", (100, 200)), mb.weight("Wb", (100, 50)),
                    mb.weight("Wc", (200, 50))]
    model = mb.make_model(nodes, [value_info("x", [1, 100])], [value_info("y", [1, 50])],
                          initializers)
    analysis = _analysis(mb.save(model, tmp_path / "diamond.onnx"))
    # x 400; a: +800 = 1200; b: +200 = 1400, then x is freed (1000); c: +200 = 1200, a freed
    # (400); join: +200 = 600. Peak 1400 = x + a + b.
    assert analysis.totals.peak_activation_bytes == 1400
    assert analysis.totals.macs == 100 * 200 + 100 * 50 + 200 * 50


def test_peak_activation_counts_no_weights(tmp_path: Path) -> None:
    # Large weights, tiny activations: the peak is activations only.
    model = mb.matmul_chain(batch=1, dims=(512, 512))
    analysis = _analysis(mb.save(model, tmp_path / "wide.onnx"))
    assert analysis.totals.peak_activation_bytes == 2 * 512 * F32
    assert analysis.totals.weight_bytes == 512 * 512 * F32
