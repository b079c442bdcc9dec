"""Model files checked before OpenVINO sees them, without importing OpenVINO.

A bad file gets a message a user can act on rather than a runtime's internals. The IR's XML
is refused when it declares a DOCTYPE or entities: it is scanned as bytes first (the standard
XML parsers are not safe against entity expansion), then parsed with expat, the declared
encoding overridden and declarations refused. The .bin must hold every byte range the XML's
constants reference. A .tflite file must carry the TFL3 identifier, and every buffer must fit
in the file; its version, description and small metadata are read on the way.
"""

from __future__ import annotations

import os
import re
import struct
from dataclasses import field
from typing import Any

from profiler.errors import ModelLoadError
from profiler.files import (
    FileRefused,
    check_regular,
    open_regular,
    read_regular,
    resolve_within,
)
from profiler.records.record import record

MAX_METADATA_CHARS = 256
MAX_IR_XML_BYTES = 1 << 30
"""An IR's XML describes the graph only (weights are in the .bin): 1 GiB is far beyond any."""
"""Metadata values longer than this (embedded configs, tokenizers) are left out."""

_DECLARATION = re.compile(rb"<!\s*(?:DOCTYPE|ENTITY)", re.IGNORECASE)
_CONSTANT_LAYER_TYPES = frozenset({"Const", "Constant"})


@record
class IrFiles:
    """What the IR's XML says about itself and the weights it needs."""

    xml_path: str
    bin_path: str | None
    version: int
    weights_end: int = 0
    weights_layer: str = ""

# --- IR files -------------------------------------------------------------------------------


def check_ir_files(path: str) -> IrFiles:
    """Validate the XML (safely) and its .bin without OpenVINO; ModelLoadError says what's wrong."""
    data = _read_bytes(path)
    if _DECLARATION.search(data):
        raise ModelLoadError(
            path, "the XML declares a DOCTYPE or entities, which an OpenVINO IR never has; refused"
        )
    ir = _scan_ir_xml(path, data)
    stem, _ = os.path.splitext(path)
    bin_path = stem + ".bin"
    if not os.path.lexists(bin_path):
        if ir.weights_end > 0:
            raise ModelLoadError(
                path, f"weights file {os.path.basename(bin_path)} is missing; keep it beside "
                f"{os.path.basename(path)}"
            )
        return ir
    bin_bytes = _check_bin(path, bin_path)
    ir.bin_path = resolve_within(bin_path, os.path.dirname(os.path.abspath(path)))
    if ir.weights_end > bin_bytes:
        raise ModelLoadError(
            path, f"weights file {os.path.basename(bin_path)} has {bin_bytes} bytes but constant "
            f"{ir.weights_layer!r} needs bytes up to {ir.weights_end} (truncated, or from "
            "another model? copy both files again)"
        )
    return ir


def _check_bin(path: str, bin_path: str) -> int:
    """The .bin's size once it is a regular file inside the model's folder: OpenVINO opens
    it by itself, so a pipe or a link out of the folder is refused before it does."""
    try:
        return check_regular(bin_path, within=os.path.dirname(os.path.abspath(path)))
    except FileRefused as refused:
        raise ModelLoadError(path, f"weights file {os.path.basename(bin_path)} "
                             f"{refused.problem}") from None


def _read_bytes(path: str) -> bytes:
    try:
        data = read_regular(path, MAX_IR_XML_BYTES)
    except FileRefused as refused:
        raise ModelLoadError(path, refused.problem) from None
    if not data:
        raise ModelLoadError(path, "the file is empty")
    return data


class _IrScanner:
    """Expat callbacks: the root element, layer types, and the byte ranges Const layers use."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.root: str | None = None
        self.version: str | None = None
        self.layers: list[tuple[str, str]] = []  # (type, name) of the enclosing layers
        self.weights_end = 0
        self.weights_layer = ""

    def start(self, tag: str, attrs: dict[str, str]) -> None:
        if self.root is None:
            self.root, self.version = tag, attrs.get("version")
        elif tag == "layer":
            self.layers.append((attrs.get("type", ""), attrs.get("name", "")))
        elif tag == "data" and self.layers and self.layers[-1][0] in _CONSTANT_LAYER_TYPES:
            self._weights(attrs)

    def end(self, tag: str) -> None:
        if tag == "layer" and self.layers:
            self.layers.pop()

    def _weights(self, attrs: dict[str, str]) -> None:
        if "offset" not in attrs and "size" not in attrs:
            return
        name = self.layers[-1][1]
        try:
            offset, size = int(attrs.get("offset", "0")), int(attrs.get("size", "0"))
        except ValueError:
            raise ModelLoadError(
                self.path, f"constant {name!r} has a non-numeric offset or size"
            ) from None
        if offset < 0 or size < 0:
            raise ModelLoadError(self.path, f"constant {name!r} has a negative offset or size")
        if offset + size > self.weights_end:
            self.weights_end, self.weights_layer = offset + size, name


def _refuse_declaration(*_: Any) -> None:
    raise ValueError("DOCTYPE or entity declaration")


def _scan_ir_xml(path: str, data: bytes) -> IrFiles:
    from xml.parsers import expat

    scanner = _IrScanner(path)
    parser = expat.ParserCreate(encoding="utf-8")  # the declared encoding is not trusted
    parser.StartElementHandler = scanner.start
    parser.EndElementHandler = scanner.end
    parser.StartDoctypeDeclHandler = _refuse_declaration
    parser.EntityDeclHandler = _refuse_declaration
    try:
        parser.Parse(data, True)
    except expat.ExpatError as error:
        raise ModelLoadError(
            path, f"not an OpenVINO IR: the XML does not parse ({error})"
        ) from None
    except ValueError:
        raise ModelLoadError(path, "the XML declares a DOCTYPE or entities; refused") from None
    if scanner.root != "net":
        raise ModelLoadError(
            path, f"not an OpenVINO IR: the XML's root element is <{scanner.root}>, not <net>"
        )
    if scanner.version is None or not scanner.version.isdigit():
        raise ModelLoadError(path, "not an OpenVINO IR: <net> has no numeric version attribute")
    return IrFiles(path, None, int(scanner.version), scanner.weights_end, scanner.weights_layer)


# --- TFLite header --------------------------------------------------------------------------

TFLITE_IDENTIFIER = b"TFL3"
# schema.fbs field ids (a table's vtable holds one 16-bit offset per field, after 4 bytes)
_MODEL_VERSION, _MODEL_DESCRIPTION, _MODEL_BUFFERS, _MODEL_METADATA = 0, 3, 4, 6
_BUFFER_DATA, _BUFFER_OFFSET, _BUFFER_SIZE = 0, 1, 2
_METADATA_NAME, _METADATA_BUFFER = 0, 1


@record
class TfliteHeader:
    """What a .tflite file says about itself: schema version, description, small metadata."""

    version: int = 0
    description: str = ""
    metadata: dict[str, str] = field(default_factory=dict)


class _Flatbuffer:
    """Bounds-checked reads of a flatbuffer: a bad offset raises struct.error, never reads past."""

    def __init__(self, data: Any) -> None:
        self.data = data

    def u32(self, offset: int) -> int:
        return int(struct.unpack_from("<I", self.data, offset)[0])

    def field(self, table: int, field_id: int) -> int:
        """Absolute position of a table's field, or 0 when the field is absent."""
        vtable = table - struct.unpack_from("<i", self.data, table)[0]
        vtable_bytes = struct.unpack_from("<H", self.data, vtable)[0]
        if 4 + 2 * field_id >= vtable_bytes:
            return 0
        relative = struct.unpack_from("<H", self.data, vtable + 4 + 2 * field_id)[0]
        return table + relative if relative else 0

    def target(self, table: int, field_id: int) -> int:
        """Where a table/vector/string field points, or 0 when absent."""
        position = self.field(table, field_id)
        return position + self.u32(position) if position else 0

    def vector(self, table: int, field_id: int, element_bytes: int) -> tuple[int, int]:
        """(first element position, element count) of a vector field, checked to fit the file."""
        start = self.target(table, field_id)
        if not start:
            return 0, 0
        count = self.u32(start)
        if start + 4 + count * element_bytes > len(self.data):
            raise struct.error("vector runs past the end of the file")
        return start + 4, count

    def tables(self, table: int, field_id: int) -> list[int]:
        first, count = self.vector(table, field_id, 4)
        return [first + 4 * i + self.u32(first + 4 * i) for i in range(count)]

    def bytes_field(self, table: int, field_id: int) -> bytes:
        first, count = self.vector(table, field_id, 1)
        return bytes(self.data[first : first + count])


def read_tflite_header(path: str) -> TfliteHeader:
    """Check a .tflite file's identifier and buffer extents; read version and small metadata."""
    import mmap

    try:
        handle = open_regular(path)
    except FileRefused as refused:
        raise ModelLoadError(path, refused.problem) from None
    if os.fstat(handle.fileno()).st_size == 0:
        handle.close()
        raise ModelLoadError(path, "the file is empty")
    with handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
        if len(data) < 8 or data[4:8] != TFLITE_IDENTIFIER:
            raise ModelLoadError(path, "not a TFLite model (the TFL3 identifier is missing)")
        try:
            return _parse_tflite(_Flatbuffer(data))
        except (struct.error, IndexError, ValueError):
            raise ModelLoadError(
                path, f"the TFLite file is truncated or corrupted (its {len(data)} bytes do not "
                "hold all the data it references); copy it again"
            ) from None


def _parse_tflite(buffer: _Flatbuffer) -> TfliteHeader:
    model = buffer.u32(0)
    version_at = buffer.field(model, _MODEL_VERSION)
    header = TfliteHeader(version=buffer.u32(version_at) if version_at else 0)
    header.description = buffer.bytes_field(model, _MODEL_DESCRIPTION).decode("utf-8", "replace")
    buffers = buffer.tables(model, _MODEL_BUFFERS)
    for table in buffers:
        _check_buffer_extent(buffer, table)
    for table in buffer.tables(model, _MODEL_METADATA):
        name = buffer.bytes_field(table, _METADATA_NAME).decode("utf-8", "replace")
        index_at = buffer.field(table, _METADATA_BUFFER)
        index = buffer.u32(index_at) if index_at else 0
        value = _small_text(buffer.bytes_field(buffers[index], _BUFFER_DATA)) if (
            index < len(buffers)) else None
        if name and value is not None:
            header.metadata[name] = value
    return header


def _check_buffer_extent(buffer: _Flatbuffer, table: int) -> None:
    """Inline data is checked by ``vector``; large models keep data after the flatbuffer."""
    buffer.vector(table, _BUFFER_DATA, 1)
    offset_at, size_at = buffer.field(table, _BUFFER_OFFSET), buffer.field(table, _BUFFER_SIZE)
    offset = struct.unpack_from("<Q", buffer.data, offset_at)[0] if offset_at else 0
    size = struct.unpack_from("<Q", buffer.data, size_at)[0] if size_at else 0
    if offset > 1 and offset + size > len(buffer.data):
        raise ValueError("a weight buffer lies past the end of the file")


def _small_text(data: bytes) -> str | None:
    """Printable metadata (``min_runtime_version``); binary blobs are left out."""
    text = data.rstrip(b"\x00")
    if len(text) > MAX_METADATA_CHARS or not all(32 <= b < 127 for b in text):
        return None
    return text.decode("ascii")
