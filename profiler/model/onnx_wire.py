"""Lengths read from a serialized ONNX model's protobuf wire format, without copying.

protobuf's Python API hands a bytes field over as a new bytes object: asking a 44 MiB
embedding's ``raw_data`` for its length copies 44 MiB (28 ms for a small sentence encoder).
The wire format states each field's length before its bytes, so the lengths of the
initializers' raw data are read here from the file's bytes, skipping everything else.
Field numbers are onnx.proto's: ModelProto.graph = 7, GraphProto.initializer = 5,
TensorProto.raw_data = 9.
"""

from __future__ import annotations

_MODEL_GRAPH, _GRAPH_INITIALIZER, _TENSOR_RAW_DATA = 7, 5, 9
_VARINT, _FIXED64, _LENGTH_DELIMITED, _FIXED32 = 0, 1, 2, 5


class WireError(ValueError):
    """The bytes are not the wire format this reader follows (groups, or cut short)."""


def initializer_raw_lengths(data: bytes | memoryview) -> list[int | None]:
    """The length of each top-level initializer's ``raw_data``, in the order protobuf parses
    them (None: it has none). A repeated graph field merges, as protobuf merges it; a
    repeated ``raw_data`` counts its last occurrence. WireError: not readable here."""
    view = memoryview(data)
    lengths: list[int | None] = []
    for graph_start, graph_end in _fields(view, 0, len(view), _MODEL_GRAPH):
        for start, end in _fields(view, graph_start, graph_end, _GRAPH_INITIALIZER):
            raw = None
            for raw_start, raw_end in _fields(view, start, end, _TENSOR_RAW_DATA):
                raw = raw_end - raw_start
            lengths.append(raw)
    return lengths


def _fields(view: memoryview, position: int, end: int, wanted: int) -> list[tuple[int, int]]:
    """(start, end) of each length-delimited field numbered ``wanted`` in view[position:end]."""
    found = []
    while position < end:
        key, position = _varint(view, position, end)
        number, wire_type = key >> 3, key & 7
        if wire_type == _VARINT:
            _, position = _varint(view, position, end)
        elif wire_type == _FIXED64:
            position += 8
        elif wire_type == _FIXED32:
            position += 4
        elif wire_type == _LENGTH_DELIMITED:
            size, position = _varint(view, position, end)
            if number == wanted:
                found.append((position, position + size))
            position += size
        else:
            raise WireError(f"wire type {wire_type} (groups) is not read here")
    if position != end:
        raise WireError("a field runs past the end of its message")
    return found


def _varint(view: memoryview, position: int, end: int) -> tuple[int, int]:
    value = shift = 0
    while position < end:
        byte = view[position]
        position += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, position
        shift += 7
    raise WireError("a number is cut short")
