"""A serialized ONNX model without its inline weights, read from the protobuf wire format.

The analysis needs a tensor's dims and type, never its weights, and protobuf would copy every
weight while parsing (7 ms for a 13 MiB CNN, 38 ms for a 66 MiB sentence encoder), then again
when asked a weight's length. The wire format states each field's length before its bytes,
so ``without_large_raw_data`` cuts the large ``raw_data`` of the top-level initializers out of
the file's bytes (rewriting the lengths of the messages around them) and says how long each
one was: the loader checks those lengths, and protobuf parses the rest (a few hundred KiB).
Field numbers are onnx.proto's: ModelProto.graph = 7, GraphProto.initializer = 5,
TensorProto.raw_data = 9.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

_MODEL_GRAPH, _GRAPH_INITIALIZER, _TENSOR_RAW_DATA = 7, 5, 9
_VARINT, _FIXED64, _LENGTH_DELIMITED, _FIXED32 = 0, 1, 2, 5
_LENGTH_DELIMITED_KEYS = {number: bytes([number << 3 | _LENGTH_DELIMITED])
                          for number in (_MODEL_GRAPH, _GRAPH_INITIALIZER)}

MAX_WALKED_FIELDS = 1_000_000
"""A graph with more fields (nodes, tensors, value infos) is left to protobuf's C parser:
walking them in Python would take seconds."""

_Chunks = list[bytes | memoryview]
_Rewrite = Callable[[int, int], _Chunks]


class WireError(ValueError):
    """The bytes are not the wire format this reader follows (groups, or cut short)."""


def without_large_raw_data(data: bytes, kept_bytes: int) -> tuple[bytes, list[int | None]]:
    """``data`` without the top-level initializers' raw data over ``kept_bytes``, and the raw
    data length of each of those initializers, in the order protobuf parses them (None: it
    has none). A repeated graph field merges and a repeated ``raw_data`` counts its last
    occurrence, as in protobuf. WireError: not readable here (parse ``data`` as it is)."""
    view = memoryview(data)
    lengths: list[int | None] = []
    chunks: _Chunks = []
    _copy_rewriting(view, 0, len(view), _MODEL_GRAPH, chunks,
                    lambda start, end: _graph(view, start, end, lengths, kept_bytes))
    return b"".join(chunks), lengths


def _graph(view: memoryview, start: int, end: int, lengths: list[int | None],
           kept_bytes: int) -> _Chunks:
    chunks: _Chunks = []
    _copy_rewriting(view, start, end, _GRAPH_INITIALIZER, chunks,
                    lambda begin, finish: _tensor(view, begin, finish, lengths, kept_bytes))
    return chunks


def _tensor(view: memoryview, start: int, end: int, lengths: list[int | None],
            kept_bytes: int) -> _Chunks:
    fields = list(_each_field(view, start, end))
    raw = [finish - begin for number, wire_type, _, begin, finish in fields
           if number == _TENSOR_RAW_DATA and wire_type == _LENGTH_DELIMITED]
    lengths.append(raw[-1] if raw else None)
    if not raw or raw[-1] <= kept_bytes:
        return [view[start:end]]
    return [view[field_start:finish] for number, wire_type, field_start, _, finish in fields
            if not (number == _TENSOR_RAW_DATA and wire_type == _LENGTH_DELIMITED)]


def _copy_rewriting(view: memoryview, start: int, end: int, wanted: int, chunks: _Chunks,
                    rewrite: _Rewrite) -> None:
    """Append view[start:end] to ``chunks``, each length-delimited field ``wanted`` replaced
    by itself with the content ``rewrite`` gives (its length re-encoded)."""
    copied_from = start
    for count, (number, wire_type, field_start, begin, finish) in enumerate(
            _each_field(view, start, end)):
        if count > MAX_WALKED_FIELDS:
            raise WireError("too many fields to walk here")
        if number != wanted or wire_type != _LENGTH_DELIMITED:
            continue
        chunks.append(view[copied_from:field_start])
        content = rewrite(begin, finish)
        chunks.append(_LENGTH_DELIMITED_KEYS[wanted])
        chunks.append(_varint_bytes(sum(len(part) for part in content)))
        chunks.extend(content)
        copied_from = finish
    chunks.append(view[copied_from:end])


def _each_field(view: memoryview, position: int, end: int
                ) -> Iterator[tuple[int, int, int, int, int]]:
    """(number, wire type, field start, value start, value end) of each field in the range.
    Keys and lengths under 128 (most of them) are read inline: a graph has thousands."""
    while position < end:
        field_start = position
        key = view[position]
        position += 1
        if key >= 0x80:
            key, position = _varint(view, field_start, end)
        wire_type = key & 7
        if wire_type == _LENGTH_DELIMITED:
            size = view[position] if position < end else 0x80
            position += 1
            if size >= 0x80:
                size, position = _varint(view, position - 1, end)
            value_end = position + size
        elif wire_type == _VARINT:
            _, value_end = _varint(view, position, end)
        elif wire_type == _FIXED64:
            value_end = position + 8
        elif wire_type == _FIXED32:
            value_end = position + 4
        else:
            raise WireError(f"wire type {wire_type} (groups) is not read here")
        if value_end > end:
            raise WireError("a field runs past the end of its message")
        yield key >> 3, wire_type, field_start, position, value_end
        position = value_end


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


def _varint_bytes(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)
