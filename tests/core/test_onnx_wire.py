"""Raw data lengths read from the wire format agree with what protobuf parses, in the cases
where the wire allows more than one reading: a graph field given twice (merged), a raw_data
field given twice (the last counts), groups, and bytes cut short."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest
from onnx import helper

from profiler.errors import ModelLoadError
from profiler.model import load_model
from profiler.model.onnx_wire import WireError, initializer_raw_lengths
from tests.core import model_builders as mb


def _key(number: int, wire_type: int) -> bytes:
    return _varint(number << 3 | wire_type)


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _length_delimited(number: int, payload: bytes) -> bytes:
    return _key(number, 2) + _varint(len(payload)) + payload


def _parsed_lengths(data: bytes) -> list[int | None]:
    model = onnx.load_model_from_string(data)
    return [len(t.raw_data) if t.HasField("raw_data") else None for t in model.graph.initializer]


def _two_layer_model() -> onnx.ModelProto:
    typed = helper.make_tensor("B", onnx.TensorProto.FLOAT, [3], [1.0, 2.0, 3.0])  # no raw
    nodes = [helper.make_node("MatMul", ["x", "W"], ["h"], name="mm"),
             helper.make_node("Add", ["h", "B"], ["y"], name="add")]
    return mb.make_model(nodes, [mb.value_info("x", [2, 4])], [mb.value_info("y", [2, 3])],
                         [mb.weight("W", (4, 3)), typed])


def test_lengths_agree_with_protobuf_on_a_plain_model() -> None:
    data = _two_layer_model().SerializeToString()
    assert initializer_raw_lengths(data) == _parsed_lengths(data) == [48, None]


def test_a_graph_given_twice_merges_and_a_raw_data_given_twice_counts_the_last() -> None:
    model = _two_layer_model()
    data = model.SerializeToString()
    extra = mb.weight("V", (2, 2)).SerializeToString() + _length_delimited(9, b"\x00" * 5)
    data += _length_delimited(7, _length_delimited(5, extra))  # a second graph field
    assert _parsed_lengths(data) == [48, None, 5]
    assert initializer_raw_lengths(data) == [48, None, 5]


def test_groups_and_cut_bytes_are_not_read_here() -> None:
    data = _two_layer_model().SerializeToString()
    with pytest.raises(WireError):
        initializer_raw_lengths(data + _key(15, 3) + _key(15, 4))  # an unknown group
    with pytest.raises(WireError):
        initializer_raw_lengths(data[:-3])


def test_a_short_raw_data_is_refused_whichever_way_its_length_is_read(tmp_path: Path) -> None:
    """A top-level initializer (length from the wire) and a Constant node's tensor (length
    from protobuf) both cut short."""
    for where in ("initializer", "constant"):
        weight = mb.weight("W", (8, 4))
        weight.raw_data = weight.raw_data[:50]
        nodes = [helper.make_node("MatMul", ["x", "W"], ["y"], name="matmul")]
        initializers = [weight]
        if where == "constant":
            nodes.insert(0, helper.make_node("Constant", [], ["W"], name="c", value=weight))
            initializers = []
        model = mb.make_model(nodes, [mb.value_info("x", [1, 8])], [mb.value_info("y", None)],
                              initializers)
        path = mb.save(model, tmp_path / f"short_{where}.onnx")
        with pytest.raises(ModelLoadError, match="holds 50 of the 128 bytes"):
            load_model(path)
