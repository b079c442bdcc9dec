"""ONNX loading: parse the protobuf without weight bytes, resolve shapes, build a Graph.

External data is validated (location inside the model's folder, file long enough) with
``os.stat`` only; the weight bytes are never read. Small integer tensors stored externally
(shape vectors) are the exception: shape inference needs their values, and they are tiny.
Large inline weights are cut out of the file's bytes before protobuf parses them
(profiler.model.onnx_wire); their lengths are checked all the same.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import onnx
from google.protobuf.message import DecodeError
from onnx import TensorProto

from profiler.errors import ModelLoadError, ProfilerError
from profiler.files import MISSING, FileRefused, check_regular, open_regular, read_hashed
from profiler.model.constant_propagation import infer_shapes as infer_onnx_shapes
from profiler.model.graph import Dim, InputSpec, ModelGraph, bytes_for
from profiler.model.loader import MAX_ONNX_BYTES
from profiler.model.onnx_graph import (
    SMALL_CONSTANT_ELEMENTS,
    build_graph,
    element_count,
    onnx_dtype_name,
    tensor_shape,
)
from profiler.model.onnx_texts import non_utf8_field, non_utf8_tensor_field
from profiler.model.onnx_wire import WireError, without_large_raw_data
from profiler.model.scoped_propagation import propagate_scopes
from profiler.model.shapes import defaulted_dims_warning, resolve_input_shapes
from profiler.sandbox_child import staged

KEPT_DATA_ELEMENTS = 1024
"""Tensors up to this size keep their values after validation: ONNX shape inference reads
shape vectors, axes, pads and scales (a few elements each); larger ones are weights."""
KEPT_RAW_BYTES = KEPT_DATA_ELEMENTS * 16
"""Raw data over this size is cut out before parsing (onnx_wire): a tensor that large has
more than KEPT_DATA_ELEMENTS elements whatever its type (16 bytes at most each), so its data
would be cleared after validation anyway."""


def load_onnx(
    path: str,
    shape_overrides: Mapping[str, tuple[int, ...]],
    input_values: Mapping[str, Sequence[float | int]] | None = None,
) -> ModelGraph:
    """Load an ONNX file into a ModelGraph with every input at a concrete shape;
    ``input_values`` (flat, by input name) seed constant propagation."""
    with staged("ONNX parser"):
        model, sha256, raw_lengths = _parse(path)
    model_dir = os.path.dirname(os.path.abspath(path))
    tensors = _all_tensors(model.graph)
    for tensor in tensors:  # their names and data locations are read before the rest
        _check_texts(tensor, path, non_utf8_tensor_field)
    external_files = _validate_external_data(tensors, model_dir, path)
    stripped_warning = _check_inline_data(tensors, raw_lengths, path)
    _load_small_external_tensors(model, model_dir, path)
    _drop_weight_bytes(tensors)
    _check_texts(model, path, non_utf8_field)  # serialized for the check: weights dropped first
    _check_opsets(model, path)
    initializer_names = {t.name for t in model.graph.initializer}
    specs = resolve_input_shapes(_declared_inputs(model, initializer_names), shape_overrides)
    _fix_input_shapes(model, specs)
    warnings = [w for w in (defaulted_dims_warning(s) for s in specs) if w]
    if stripped_warning:
        warnings.append(stripped_warning)
    seeds = input_value_arrays(specs, input_values or {}, path)
    concrete = all(spec.shape is not None for spec in specs)
    with staged("ONNX shape inference"):
        model, computed_values, inference_warnings = _infer_shapes(model, seeds, concrete)
    warnings.extend(inference_warnings)
    try:
        graph = build_graph(model.graph, outer_scope=set(), computed_values=computed_values)
    except ProfilerError as error:
        raise ModelLoadError(path, str(error)) from None
    files = [os.path.abspath(path), *sorted(external_files)]
    return ModelGraph(
        path=os.path.abspath(path),
        format="onnx",
        graph=graph,
        files=files,
        file_bytes=sum(os.path.getsize(f) for f in files),
        opsets={(o.domain or "ai.onnx"): o.version for o in model.opset_import},
        ir_version=model.ir_version,
        producer=" ".join(p for p in (model.producer_name, model.producer_version) if p),
        metadata={p.key: p.value for p in model.metadata_props},
        input_specs=specs,
        warnings=warnings,
        sha256=sha256,
    )


def _parse(path: str) -> tuple[onnx.ModelProto, str, list[int | None]]:
    """The parsed model without its large inline weights, the file's SHA-256 (hashed from
    the bytes read for parsing rather than by reading the file again for the report) and the
    raw data length of each top-level initializer (onnx_wire; empty when the file's bytes
    cannot be read there, and the model then parsed whole)."""
    try:
        data, sha256 = read_hashed(path, MAX_ONNX_BYTES)
        if not data:
            raise ModelLoadError(path, "the file is empty")
    except FileRefused as refused:
        raise ModelLoadError(path, refused.problem) from None
    try:
        slim, raw_lengths = without_large_raw_data(data, KEPT_RAW_BYTES)
        model = _from_bytes(slim, path)
        if len(raw_lengths) != len(model.graph.initializer):
            raise WireError("the initializers read differ from protobuf's")
    except (WireError, ModelLoadError):  # protobuf has the last word on the whole file
        model, raw_lengths = _from_bytes(data, path), []
    _check_parsed(model, path)
    return model, sha256, raw_lengths


def _from_bytes(data: bytes, path: str) -> onnx.ModelProto:
    try:
        return onnx.load_model_from_string(data)
    except (DecodeError, ValueError, RuntimeError, UnicodeDecodeError) as error:
        raise ModelLoadError(
            path, f"not a valid ONNX model (the protobuf does not parse: {_first_line(error)})"
        ) from None


def _check_parsed(model: onnx.ModelProto, path: str) -> None:
    if not model.HasField("graph") or (not model.graph.node and not model.graph.output):
        raise ModelLoadError(
            path, "not a valid ONNX model (no graph found: the file is truncated or not ONNX)"
        )
    if not model.opset_import and model.ir_version >= 3:
        raise ModelLoadError(path, "not a valid ONNX model (no opset_import: truncated?)")


def _check_texts(model: onnx.ModelProto | TensorProto, path: str,
                 find: Callable[[Any], str | None]) -> None:
    field = find(model)
    if field is not None:
        raise ModelLoadError(
            path, f"not a valid ONNX model (a {field!r} text is not valid UTF-8: corrupted?)"
        )


def _check_opsets(model: onnx.ModelProto, path: str) -> None:
    """Every op domain a node uses is imported (a cut file can lose trailing opset imports)."""
    if not model.opset_import:
        return  # IR version 1-2: the default opset is implied
    imported = {o.domain or "ai.onnx" for o in model.opset_import}
    for domain in _node_domains(model.graph):
        if domain not in imported:
            raise ModelLoadError(
                path, f"not a valid ONNX model (nodes use op domain {domain!r}, which it does "
                "not import: truncated or hand-edited?)"
            )


def _node_domains(graph: onnx.GraphProto) -> set[str]:
    domains = {node.domain or "ai.onnx" for node in graph.node}
    for node in graph.node:
        for attr in node.attribute:
            for sub in [attr.g] if attr.type == onnx.AttributeProto.GRAPH else attr.graphs:
                domains |= _node_domains(sub)
    return domains


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def _all_tensors(graph: onnx.GraphProto) -> list[TensorProto]:
    """Initializers and tensor-valued attributes of ``graph`` and all of its subgraphs."""
    tensors = list(graph.initializer)
    for node in graph.node:
        for attr in node.attribute:
            if attr.type == onnx.AttributeProto.TENSOR:
                tensors.append(attr.t)
            elif attr.type == onnx.AttributeProto.GRAPH:
                tensors.extend(_all_tensors(attr.g))
            elif attr.type == onnx.AttributeProto.GRAPHS:
                for sub in attr.graphs:
                    tensors.extend(_all_tensors(sub))
    return tensors


def _external_fields(tensor: TensorProto) -> dict[str, str]:
    return {entry.key: entry.value for entry in tensor.external_data}


def _validate_external_data(tensors: list[TensorProto], model_dir: str, path: str) -> set[str]:
    """Check every external reference without reading it; return the files referenced."""
    real_dir = os.path.realpath(model_dir)
    resolved: dict[str, tuple[str, int]] = {}  # location -> (file, size): checked once each
    for tensor in tensors:
        if tensor.data_location != TensorProto.EXTERNAL:
            continue
        fields = _external_fields(tensor)
        location = fields.get("location", "")
        if location not in resolved:
            target = _safe_external_path(path, real_dir, tensor.name, location)
            resolved[location] = (target, os.path.getsize(target))
        size = resolved[location][1]
        offset = _int_field(path, tensor.name, fields, "offset")
        length = _int_field(path, tensor.name, fields, "length")
        expected = length if "length" in fields else _tensor_nbytes(tensor)
        if expected is not None and offset + expected > size:
            raise ModelLoadError(
                path,
                f"external data for tensor {tensor.name!r} needs bytes {offset}.."
                f"{offset + expected} of {location!r}, which has only {size} bytes "
                "(file truncated?)",
            )
    return {target for target, _ in resolved.values()}


_NUMERIC_DATA_FIELDS = ("raw_data", "float_data", "int32_data", "int64_data", "double_data",
                        "uint64_data")
_TYPED_DATA_FIELDS = ("float_data", "int32_data", "string_data", "int64_data", "double_data",
                      "uint64_data")


def _check_inline_data(tensors: list[TensorProto], raw_lengths: list[int | None],
                       path: str) -> str | None:
    """Inline tensors hold the bytes their shape needs. Raw bytes cut short are refused; a
    tensor with no data at all (weights stripped to share a model's structure) is analysed
    as declared, with a warning. Only lengths are compared: nothing is allocated (the first
    ``len(raw_lengths)`` tensors are the top-level initializers, whose raw data lengths were
    read from the file's bytes, the large ones cut out before parsing)."""
    stripped: list[str] = []
    for index, tensor in enumerate(tensors):
        if tensor.data_location == TensorProto.EXTERNAL or element_count(tensor) <= 0:
            continue
        known = raw_lengths[index] if index < len(raw_lengths) else None
        if known is not None or tensor.HasField("raw_data"):  # known: cut out of the parse
            _check_raw_length(tensor, len(tensor.raw_data) if known is None else known, path)
        elif not any(len(getattr(tensor, name)) for name in _TYPED_DATA_FIELDS):
            stripped.append(tensor.name)
    if not stripped:
        return None
    return (f"{len(stripped)} tensor(s) declare a shape but hold no data (weights stripped?), "
            f"e.g. {stripped[0]!r}: sizes are analysed as declared; the model cannot run as is")


def _drop_weight_bytes(tensors: list[TensorProto]) -> None:
    """Clear the data of tensors above KEPT_DATA_ELEMENTS once they are validated: the
    analysis reads values of small tensors only, and every shape inference pass serialises
    and copies the model, so weights left in would be copied on each pass (a 66 MB model
    took half a GiB). Dims and dtypes stay: sizes and parameter counts are unchanged."""
    for tensor in tensors:
        if tensor.data_type == TensorProto.STRING or element_count(tensor) <= KEPT_DATA_ELEMENTS:
            continue
        for name in _NUMERIC_DATA_FIELDS:
            tensor.ClearField(name)


def _check_raw_length(tensor: TensorProto, raw_bytes: int, path: str) -> None:
    expected = _tensor_nbytes(tensor)
    if expected is not None and raw_bytes < expected:
        raise ModelLoadError(
            path, f"tensor {tensor.name!r} holds {raw_bytes} of the {expected} bytes "
            "its shape needs (file truncated or hand-edited?)"
        )


def _safe_external_path(path: str, real_dir: str, tensor: str, location: str) -> str:
    if not location:
        raise ModelLoadError(path, f"tensor {tensor!r} is external but names no location")
    if "\0" in location:
        raise ModelLoadError(
            path, f"external data location of tensor {tensor!r} contains a NUL character; refused"
        )
    if os.path.isabs(location) or location.startswith(("/", "\\")):
        raise ModelLoadError(
            path, f"external data {location!r} of tensor {tensor!r} is an absolute path; refused "
            "(external data must lie in the model's folder)"
        )
    target = os.path.realpath(os.path.join(real_dir, location))
    if os.path.commonpath([target, real_dir]) != real_dir:
        raise ModelLoadError(
            path, f"external data {location!r} of tensor {tensor!r} points outside the model's "
            "folder; refused (path traversal)"
        )
    try:
        check_regular(target, within=real_dir)
    except FileRefused as refused:
        if refused.kind == MISSING:
            raise ModelLoadError(
                path, f"external data file {location!r} (tensor {tensor!r}) is missing; put it "
                "beside the model"
            ) from None
        raise ModelLoadError(path, f"external data {location!r} of tensor {tensor!r} "
                             f"{refused.problem}") from None
    return target


def _int_field(path: str, tensor: str, fields: dict[str, str], key: str) -> int:
    try:
        value = int(fields.get(key, "0"))
    except ValueError:
        raise ModelLoadError(
            path, f"external data {key} of tensor {tensor!r} is not a number"
        ) from None
    if value < 0:
        raise ModelLoadError(path, f"external data {key} of tensor {tensor!r} is negative")
    return value


def _tensor_nbytes(tensor: TensorProto) -> int | None:
    return bytes_for(onnx_dtype_name(tensor.data_type), element_count(tensor))


def _load_small_external_tensors(model: onnx.ModelProto, model_dir: str, path: str) -> None:
    """Read integer tensors of a few elements stored externally: shape inference needs them."""
    for tensor in model.graph.initializer:
        if tensor.data_location != TensorProto.EXTERNAL:
            continue
        if tensor.data_type not in (TensorProto.INT64, TensorProto.INT32):
            continue
        if element_count(tensor) > SMALL_CONSTANT_ELEMENTS:
            continue
        fields = _external_fields(tensor)
        nbytes = _tensor_nbytes(tensor) or 0
        try:
            location = os.path.join(model_dir, fields["location"])
            with open_regular(location, within=model_dir) as handle:
                handle.seek(int(fields.get("offset", "0")))
                tensor.raw_data = handle.read(nbytes)
        except FileRefused as refused:
            raise ModelLoadError(path, f"external data {fields['location']!r} of tensor "
                                 f"{tensor.name!r} {refused.problem}") from None
        except OSError as error:
            raise ModelLoadError(
                path, f"cannot read external data {fields['location']!r} of tensor "
                f"{tensor.name!r} ({error.strerror or error})"
            ) from None
        del tensor.external_data[:]
        tensor.data_location = TensorProto.DEFAULT


def _declared_inputs(
    model: onnx.ModelProto, initializer_names: set[str]
) -> list[tuple[str, str, tuple[Dim, ...] | None]]:
    """Real runtime inputs: old IR versions also list every initializer as a graph input."""
    return [
        (vi.name, onnx_dtype_name(vi.type.tensor_type.elem_type), tensor_shape(vi))
        for vi in model.graph.input
        if vi.name not in initializer_names
    ]


def _fix_input_shapes(model: onnx.ModelProto, specs: list[InputSpec]) -> None:
    by_name = {spec.name: spec for spec in specs}
    for value_info in model.graph.input:
        spec = by_name.get(value_info.name)
        if spec is None or spec.shape is None:
            continue
        shape = value_info.type.tensor_type.shape
        del shape.dim[:]
        for size in spec.shape:
            shape.dim.add().dim_value = size


def _infer_shapes(
    model: onnx.ModelProto, seeds: dict[str, np.ndarray], concrete: bool
) -> tuple[onnx.ModelProto, dict[str, list[Any]], list[str]]:
    """ONNX shape inference, then a walk that computes shape vectors from the fixed input
    shapes (Shape→Gather→Div→Concat→Reshape chains ONNX alone leaves unknown), through every
    If/Loop/Scan body with the outer scope visible."""
    warnings: list[str] = []
    values = {name: np.asarray(v).reshape(-1).tolist() for name, v in seeds.items()}
    try:
        inferred = infer_onnx_shapes(model)
    except Exception as error:  # inference is best effort; nodes left unknown are reported
        inferred = model
        warnings.append(f"shape inference failed ({_first_line(error)}); some shapes unknown")
    try:
        walked = propagate_scopes(inferred, seeds, strip_symbols=concrete)
    except Exception:  # a walk that breaks keeps what ONNX inference learned
        return inferred, values, warnings
    values.update({name: np.asarray(v).reshape(-1).tolist() for name, v in walked.values.items()})
    if walked.unresolved_nodes:
        names = walked.unresolved_nodes
        warnings.append(
            f"{len(names)} node(s) have output sizes that could not be computed from the input "
            f"shapes, e.g. {', '.join(repr(n) for n in names[:3])}: shown as unknown (?)"
        )
    return inferred, values, warnings


def input_value_arrays(
    specs: list[InputSpec], input_values: Mapping[str, Sequence[float | int]], path: str
) -> dict[str, np.ndarray]:
    """Values given for inputs, as arrays of the input's dtype and resolved shape (one value
    fills the whole tensor). Tensors too large to matter for shapes are left out."""
    by_name = {spec.name: spec for spec in specs}
    arrays: dict[str, np.ndarray] = {}
    for name, flat in input_values.items():
        spec = by_name.get(name)
        if spec is None:
            raise ModelLoadError(path, f"a value is given for {name!r}, which is not an input; "
                                 f"inputs: {', '.join(by_name) or '(none)'}")
        if spec.shape is None or math.prod(spec.shape) > SMALL_CONSTANT_ELEMENTS:
            continue
        arrays[name] = _input_array(spec, list(flat), path)
    return arrays


def _input_array(spec: InputSpec, flat: list[float | int], path: str) -> np.ndarray:
    assert spec.shape is not None
    count = math.prod(spec.shape)
    if len(flat) not in (1, count):
        raise ModelLoadError(path, f"input {spec.name!r} holds {count} value(s) at shape "
                             f"{'x'.join(map(str, spec.shape)) or 'scalar'}; {len(flat)} given")
    try:
        dtype = np.dtype(spec.dtype)
    except TypeError:
        dtype = np.dtype("float32")
    values = np.asarray(flat).astype(dtype)
    return np.full(spec.shape, values[0], dtype) if len(flat) == 1 else values.reshape(spec.shape)
