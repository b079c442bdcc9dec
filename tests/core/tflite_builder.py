"""Write tiny TFLite flatbuffers without TensorFlow, following the TFLite schema (schema.fbs).

Only what the tests need: float32/int32 tensors, constant buffers, builtin ops with their
options table, one subgraph. Field ids below are the schema's (a union takes two ids: its
type byte, then its table).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import flatbuffers
import numpy as np

FILE_IDENTIFIER = b"TFL3"
SCHEMA_VERSION = 3

# schema.fbs enums (the few used here)
TENSOR_FLOAT32 = 0
TENSOR_INT32 = 2
OP_ADD = 0
OP_FULLY_CONNECTED = 9
OPTIONS_FULLY_CONNECTED = 8
OPTIONS_ADD = 11
ACTIVATION_NONE = 0
ACTIVATION_RELU = 1

_NUMPY_TYPES = {TENSOR_FLOAT32: np.float32, TENSOR_INT32: np.int32}


@dataclass
class TfliteTensor:
    name: str
    shape: list[int]
    type: int = TENSOR_FLOAT32
    data: np.ndarray | None = None  # constant data; None for activations
    shape_signature: list[int] | None = None  # -1 marks a dynamic dim


@dataclass
class TfliteOp:
    builtin_code: int
    inputs: list[int]
    outputs: list[int]
    options_type: int = 0
    activation: int = ACTIVATION_NONE


@dataclass
class TfliteModel:
    tensors: list[TfliteTensor]
    operators: list[TfliteOp]
    inputs: list[int]
    outputs: list[int]
    description: str = "edgeprof test builder"
    metadata: dict[str, bytes] = field(default_factory=dict)


def _int_vector(builder: flatbuffers.Builder, values: list[int]) -> int:
    builder.StartVector(4, len(values), 4)
    for value in reversed(values):
        builder.PrependInt32(value)
    return int(builder.EndVector())


def _offset_vector(builder: flatbuffers.Builder, offsets: list[int]) -> int:
    builder.StartVector(4, len(offsets), 4)
    for offset in reversed(offsets):
        builder.PrependUOffsetTRelative(offset)
    return int(builder.EndVector())


def _buffer(builder: flatbuffers.Builder, data: bytes) -> int:
    data_offset = 0
    if data:
        builder.StartVector(1, len(data), 16)  # schema: force_align 16
        builder.head -= len(data)
        builder.Bytes[builder.head : builder.head + len(data)] = data
        data_offset = int(builder.EndVector())
    builder.StartObject(3)
    if data:
        builder.PrependUOffsetTRelativeSlot(0, data_offset, 0)
    return int(builder.EndObject())


def _tensor(builder: flatbuffers.Builder, tensor: TfliteTensor, buffer_index: int) -> int:
    name = builder.CreateString(tensor.name)
    shape = _int_vector(builder, tensor.shape)
    signature = _int_vector(builder, tensor.shape_signature) if tensor.shape_signature else 0
    builder.StartObject(8)
    builder.PrependUOffsetTRelativeSlot(0, shape, 0)
    builder.PrependInt8Slot(1, tensor.type, 0)
    builder.PrependUint32Slot(2, buffer_index, 0)
    builder.PrependUOffsetTRelativeSlot(3, name, 0)
    if signature:
        builder.PrependUOffsetTRelativeSlot(7, signature, 0)
    return int(builder.EndObject())


def _options(builder: flatbuffers.Builder, op: TfliteOp) -> int:
    """AddOptions and FullyConnectedOptions both start with fused_activation_function."""
    builder.StartObject(4)
    builder.PrependInt8Slot(0, op.activation, 0)
    return int(builder.EndObject())


def _operator(builder: flatbuffers.Builder, op: TfliteOp, opcode_index: int) -> int:
    inputs = _int_vector(builder, op.inputs)
    outputs = _int_vector(builder, op.outputs)
    options = _options(builder, op) if op.options_type else 0
    builder.StartObject(7)
    builder.PrependUint32Slot(0, opcode_index, 0)
    builder.PrependUOffsetTRelativeSlot(1, inputs, 0)
    builder.PrependUOffsetTRelativeSlot(2, outputs, 0)
    if options:
        builder.PrependUint8Slot(3, op.options_type, 0)
        builder.PrependUOffsetTRelativeSlot(4, options, 0)
    return int(builder.EndObject())


def _operator_code(builder: flatbuffers.Builder, code: int) -> int:
    builder.StartObject(4)
    builder.PrependInt8Slot(0, code, 0)  # deprecated_builtin_code, still read by old readers
    builder.PrependInt32Slot(2, 1, 1)
    builder.PrependInt32Slot(3, code, 0)
    return int(builder.EndObject())


def _metadata(builder: flatbuffers.Builder, name: str, buffer_index: int) -> int:
    name_offset = builder.CreateString(name)
    builder.StartObject(2)
    builder.PrependUOffsetTRelativeSlot(0, name_offset, 0)
    builder.PrependUint32Slot(1, buffer_index, 0)
    return int(builder.EndObject())


def _subgraph(builder: flatbuffers.Builder, model: TfliteModel, codes: list[int]) -> int:
    # buffer 0 is the schema's empty sentinel; constant i gets the next buffer index
    buffer_index = 1
    tensor_offsets = []
    for tensor in model.tensors:
        index = 0
        if tensor.data is not None:
            index, buffer_index = buffer_index, buffer_index + 1
        tensor_offsets.append(_tensor(builder, tensor, index))
    tensors = _offset_vector(builder, tensor_offsets)
    operators = _offset_vector(
        builder, [_operator(builder, op, codes.index(op.builtin_code)) for op in model.operators]
    )
    inputs = _int_vector(builder, model.inputs)
    outputs = _int_vector(builder, model.outputs)
    name = builder.CreateString("main")
    builder.StartObject(5)
    builder.PrependUOffsetTRelativeSlot(0, tensors, 0)
    builder.PrependUOffsetTRelativeSlot(1, inputs, 0)
    builder.PrependUOffsetTRelativeSlot(2, outputs, 0)
    builder.PrependUOffsetTRelativeSlot(3, operators, 0)
    builder.PrependUOffsetTRelativeSlot(4, name, 0)
    return int(builder.EndObject())


def tflite_bytes(model: TfliteModel) -> bytes:
    """Serialize ``model`` as a .tflite flatbuffer (version 3, identifier TFL3)."""
    builder = flatbuffers.Builder(1024)
    codes = sorted({op.builtin_code for op in model.operators})
    constants = [t for t in model.tensors if t.data is not None]
    payloads = [b""] + [
        np.ascontiguousarray(t.data, dtype=_NUMPY_TYPES[t.type]).tobytes() for t in constants
    ]
    payloads += list(model.metadata.values())
    buffers = _offset_vector(builder, [_buffer(builder, data) for data in payloads])
    subgraph = _subgraph(builder, model, codes)
    first_metadata = 1 + len(constants)
    metadata = [
        _metadata(builder, name, first_metadata + i) for i, name in enumerate(model.metadata)
    ]
    metadata_vector = _offset_vector(builder, metadata) if metadata else 0
    opcodes = _offset_vector(builder, [_operator_code(builder, code) for code in codes])
    subgraphs = _offset_vector(builder, [subgraph])
    description = builder.CreateString(model.description)
    builder.StartObject(8)
    builder.PrependUint32Slot(0, SCHEMA_VERSION, 0)
    builder.PrependUOffsetTRelativeSlot(1, opcodes, 0)
    builder.PrependUOffsetTRelativeSlot(2, subgraphs, 0)
    builder.PrependUOffsetTRelativeSlot(3, description, 0)
    builder.PrependUOffsetTRelativeSlot(4, buffers, 0)
    if metadata_vector:
        builder.PrependUOffsetTRelativeSlot(6, metadata_vector, 0)
    builder.Finish(builder.EndObject(), file_identifier=FILE_IDENTIFIER)
    return bytes(builder.Output())


def fully_connected_add_model(dynamic_batch: bool = False) -> TfliteModel:
    """x[1,4] -> FULLY_CONNECTED(W[3,4], b[3], ReLU) -> y[1,3] -> ADD(c[3]) -> out[1,3].

    Known values: W is 0..11 reshaped, b = [1, 2, 3], c = [10, 20, 30].
    """
    batch_signature = [-1, 4] if dynamic_batch else None
    tensors = [
        TfliteTensor("x", [1, 4], shape_signature=batch_signature),
        TfliteTensor("fc_weights", [3, 4], data=np.arange(12, dtype=np.float32).reshape(3, 4)),
        TfliteTensor("fc_bias", [3], data=np.array([1, 2, 3], dtype=np.float32)),
        TfliteTensor("y", [1, 3], shape_signature=[-1, 3] if dynamic_batch else None),
        TfliteTensor("c", [3], data=np.array([10, 20, 30], dtype=np.float32)),
        TfliteTensor("out", [1, 3], shape_signature=[-1, 3] if dynamic_batch else None),
    ]
    operators = [
        TfliteOp(OP_FULLY_CONNECTED, [0, 1, 2], [3], OPTIONS_FULLY_CONNECTED, ACTIVATION_RELU),
        TfliteOp(OP_ADD, [3, 4], [5], OPTIONS_ADD),
    ]
    return TfliteModel(
        tensors, operators, inputs=[0], outputs=[5],
        metadata={"min_runtime_version": b"1.5.0\x00"},
    )
