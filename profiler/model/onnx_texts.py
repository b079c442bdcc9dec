"""Every text field of an ONNX model is UTF-8: checked by protobuf's own (C) parser.

onnx.proto is proto2, whose parser does not check text fields: one that is not UTF-8 is
handed over as bytes, which no name may be. ``non_utf8_field`` serializes the model (once
profiler.model.onnx_loader has cleared its weights: a few hundred KiB) and parses it again
with a copy of onnx.proto's descriptor that keeps proto2's meaning but asks for UTF-8 checks
(edition 2023 features; 0.3 ms for a 300-layer detector, where walking its 3,000 messages
in Python took 5 ms). Only when that parse refuses does the walk run, to name the field;
small graphs are only walked.
Protobuf builds that cannot describe editions fall back to the walk.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import onnx
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import DecodeError, Message
from onnx import TensorProto

_CHECKING_PACKAGE_PREFIX = "edgeprof_utf8_check."


WALKED_ENTRIES = 300
"""Graphs with fewer nodes and value infos are walked: the check's set-up (its descriptor,
2 ms once) costs more than walking them."""


def non_utf8_field(model: onnx.ModelProto) -> str | None:
    """The name of the first text field of ``model`` that is not UTF-8, or None."""
    if len(model.graph.node) + len(model.graph.value_info) < WALKED_ENTRIES:
        return non_utf8_message_field(model)
    checking = _checking_model_class()
    if checking is not None:
        try:
            checking.FromString(model.SerializeToString())
            return None
        except DecodeError:  # a text that is not UTF-8 (or worse): the walk says which
            pass
    return non_utf8_message_field(model)


def non_utf8_message_field(message: Message) -> str | None:
    """The walk: only the fields that are set are read (``ListFields``, one call per
    message), and of tensors only the text and message fields: reading a bytes field
    (weights) would copy it."""
    if message.DESCRIPTOR is _TENSOR_DESCRIPTOR:
        return non_utf8_tensor_field(message)
    for field, value in message.ListFields():
        if field.type == _TEXT:
            if type(value) is bytes or (
                    field.is_repeated and any(type(text) is bytes for text in value)):
                return field.name
        elif field.type == _MESSAGE:
            for item in value if field.is_repeated else (value,):
                found = non_utf8_message_field(item)
                if found is not None:
                    return found
    return None


def non_utf8_tensor_field(tensor: TensorProto) -> str | None:
    """The walk for one tensor (names, external data locations), never reading its data."""
    texts, messages = _text_and_message_fields(tensor.DESCRIPTOR)
    for name, repeated in texts:
        value = getattr(tensor, name)
        if any(type(text) is bytes for text in (value if repeated else [value])):
            return name
    for name, repeated in messages:
        if not repeated and not tensor.HasField(name):
            continue
        value = getattr(tensor, name)
        for item in value if repeated else [value]:
            found = non_utf8_message_field(item)
            if found is not None:
                return found
    return None


_TEXT, _MESSAGE = FieldDescriptor.TYPE_STRING, FieldDescriptor.TYPE_MESSAGE
_TENSOR_DESCRIPTOR = TensorProto.DESCRIPTOR
_FieldList = list[tuple[str, bool]]
_FIELDS_BY_TYPE: dict[str, tuple[_FieldList, _FieldList]] = {}


def _text_and_message_fields(descriptor: Any) -> tuple[_FieldList, _FieldList]:
    """(name, repeated) of the text fields and of the message fields of a message type."""
    known = _FIELDS_BY_TYPE.get(descriptor.full_name)
    if known is None:
        def of_type(kind: int) -> _FieldList:
            return [(f.name, f.is_repeated) for f in descriptor.fields if f.type == kind]
        known = (of_type(_TEXT), of_type(_MESSAGE))
        _FIELDS_BY_TYPE[descriptor.full_name] = known
    return known


@cache
def _checking_model_class() -> Any:
    """ModelProto from a renamed copy of onnx.proto in edition 2023 with proto2's features
    (explicit presence, closed enums, expanded repeated fields) but UTF-8 checks. None where
    this protobuf cannot build it."""
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

    source = onnx.ModelProto.DESCRIPTOR.file
    file_proto = descriptor_pb2.FileDescriptorProto()
    source.CopyToProto(file_proto)
    if file_proto.dependency:  # a newer onnx.proto that imports others: not followed here
        return None
    package = _CHECKING_PACKAGE_PREFIX + file_proto.package
    _rename_references(file_proto.message_type, "." + file_proto.package + ".", "." + package + ".")
    file_proto.name = _CHECKING_PACKAGE_PREFIX + file_proto.name
    file_proto.package = package
    file_proto.syntax = "editions"
    file_proto.edition = descriptor_pb2.EDITION_2023
    features = file_proto.options.features
    features.field_presence = descriptor_pb2.FeatureSet.EXPLICIT
    features.enum_type = descriptor_pb2.FeatureSet.CLOSED
    features.repeated_field_encoding = descriptor_pb2.FeatureSet.EXPANDED
    features.utf8_validation = descriptor_pb2.FeatureSet.VERIFY
    features.message_encoding = descriptor_pb2.FeatureSet.LENGTH_PREFIXED
    features.json_format = descriptor_pb2.FeatureSet.LEGACY_BEST_EFFORT
    try:
        pool = descriptor_pool.DescriptorPool()
        pool.Add(file_proto)
        return message_factory.GetMessageClass(pool.FindMessageTypeByName(f"{package}.ModelProto"))
    except Exception:  # a protobuf without editions: the walk does it all
        return None


def _rename_references(messages: Any, old: str, new: str) -> None:
    for message in messages:
        for field in message.field:
            if field.type_name.startswith(old):
                field.type_name = new + field.type_name[len(old):]
        _rename_references(message.nested_type, old, new)
