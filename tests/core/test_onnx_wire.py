"""A model without its large inline weights, read from the wire format: what protobuf parses
from it is the whole model with those weights cleared, and the raw data lengths agree with
protobuf's, in the cases where the wire allows more than one reading: a graph field given
twice (merged), a raw_data field given twice (the last counts), groups, and bytes cut short."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest
from onnx import helper

from profiler.errors import ModelLoadError
from profiler.model import load_model
from profiler.model.onnx_loader import KEPT_RAW_BYTES
from profiler.model.onnx_wire import WireError, without_large_raw_data
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


def _without_large_weights(data: bytes) -> bytes:
    """What protobuf makes of ``data`` once the raw data over KEPT_RAW_BYTES is cleared."""
    model = onnx.load_model_from_string(data)
    for tensor in model.graph.initializer:
        if tensor.HasField("raw_data") and len(tensor.raw_data) > KEPT_RAW_BYTES:
            tensor.ClearField("raw_data")
    return model.SerializeToString()


def _check(data: bytes, lengths: list[int | None]) -> None:
    slim, read = without_large_raw_data(data, KEPT_RAW_BYTES)
    assert read == _parsed_lengths(data) == lengths
    assert onnx.load_model_from_string(slim).SerializeToString() == _without_large_weights(data)


def _model() -> onnx.ModelProto:
    typed = helper.make_tensor("B", onnx.TensorProto.FLOAT, [3], [1.0, 2.0, 3.0])  # no raw
    nodes = [helper.make_node("MatMul", ["x", "W"], ["h"], name="mm"),
             helper.make_node("Add", ["h", "B"], ["y"], name="add"),
             helper.make_node("MatMul", ["y", "V"], ["z"], name="mm2")]
    return mb.make_model(nodes, [mb.value_info("x", [2, 4])], [mb.value_info("z", [2, 2048])],
                         [mb.weight("W", (4, 3)), typed, mb.weight("V", (3, 2048))])


def test_large_weights_are_cut_and_small_ones_kept() -> None:
    _check(_model().SerializeToString(), [48, None, 3 * 2048 * 4])


def test_a_graph_given_twice_merges_and_a_raw_data_given_twice_counts_the_last() -> None:
    data = _model().SerializeToString()
    big = b"\x00" * (KEPT_RAW_BYTES + 1)
    extra = (mb.weight("U", (2, 2)).SerializeToString() + _length_delimited(9, big) +
             _length_delimited(9, b"\x00" * 5))  # raw data given twice: 5 bytes count
    cut = mb.weight("T", (2, 2)).SerializeToString() + _length_delimited(9, big)
    data += _length_delimited(7, _length_delimited(5, extra) + _length_delimited(5, cut))
    _check(data, [48, None, 3 * 2048 * 4, 5, len(big)])


def test_groups_and_cut_bytes_are_not_read_here() -> None:
    data = _model().SerializeToString()
    with pytest.raises(WireError):
        without_large_raw_data(data + _key(15, 3) + _key(15, 4), KEPT_RAW_BYTES)  # an unknown group
    with pytest.raises(WireError):
        without_large_raw_data(data[:-3], KEPT_RAW_BYTES)


def test_a_graph_of_too_many_fields_is_left_to_protobuf(monkeypatch: pytest.MonkeyPatch) -> None:
    from profiler.model import onnx_wire

    monkeypatch.setattr(onnx_wire, "MAX_WALKED_FIELDS", 2)
    with pytest.raises(WireError, match="too many fields"):
        without_large_raw_data(_model().SerializeToString(), KEPT_RAW_BYTES)


def test_a_model_the_reader_cannot_read_is_parsed_whole(tmp_path: Path) -> None:
    """An unknown group (valid protobuf this reader does not follow): loaded as protobuf
    reads it, the large weight's length checked from the parsed tensor."""
    path = tmp_path / "group.onnx"
    path.write_bytes(_model().SerializeToString() + _key(15, 3) + _key(15, 4))
    assert len(load_model(str(path)).graph.nodes) == 3


def test_a_short_raw_data_is_refused_whichever_way_its_length_is_read(tmp_path: Path) -> None:
    """A top-level initializer (length from the wire) and a Constant node's tensor (length
    from protobuf) both cut short."""
    for where in ("initializer", "constant", "large initializer"):
        weight = mb.weight("W", (8, 4))
        weight.raw_data = weight.raw_data[:50]
        if where == "large initializer":  # cut out before parsing: its length from the wire
            weight = mb.weight("W", (8, 1024))
            weight.raw_data = weight.raw_data[:KEPT_RAW_BYTES + 50]
        nodes = [helper.make_node("MatMul", ["x", "W"], ["y"], name="matmul")]
        initializers = [weight]
        if where == "constant":
            nodes.insert(0, helper.make_node("Constant", [], ["W"], name="c", value=weight))
            initializers = []
        model = mb.make_model(nodes, [mb.value_info("x", [1, 8])], [mb.value_info("y", None)],
                              initializers)
        path = mb.save(model, tmp_path / f"short_{where.replace(' ', '_')}.onnx")
        expected = ("holds 16434 of the 32768 bytes" if where == "large initializer" else
                    "holds 50 of the 128 bytes")
        with pytest.raises(ModelLoadError, match=expected):
            load_model(path)
