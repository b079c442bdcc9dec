"""OpenVINO IR (.xml + .bin) and TFLite (through OpenVINO's frontend) into the Graph.

Files are checked first (profiler.model.openvino_files), then read by OpenVINO, reshaped to
the resolved input sizes so OpenVINO's own shape propagation gives every node a static shape,
and converted (profiler.model.openvino_graph). OpenVINO maps the weights without reading
them. ``openvino`` is imported inside the function: importing the model package stays fast.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Mapping
from typing import Any

from profiler.errors import ModelLoadError, ProfilerError, ShapeError, clean_runtime_message
from profiler.model.graph import InputSpec, ModelGraph
from profiler.model.openvino_files import (
    MAX_METADATA_CHARS,
    IrFiles,
    TfliteHeader,
    check_ir_files,
    read_tflite_header,
)
from profiler.model.openvino_graph import (
    build_graph,
    count_body_ops,
    dtype_name,
    input_name,
    partial_shape,
)
from profiler.model.shapes import defaulted_dims_warning, format_shape, resolve_input_shapes
from profiler.offline import import_openvino
from profiler.sandbox_child import staged


def load_openvino(path: str, shape_overrides: Mapping[str, tuple[int, ...]]) -> ModelGraph:
    """Load an OpenVINO IR (.xml) or a .tflite file with every input at a concrete shape."""
    openvino = import_openvino()
    is_tflite = path.lower().endswith(".tflite")
    header = read_tflite_header(path) if is_tflite else None
    ir = None if is_tflite else check_ir_files(path)
    with staged("OpenVINO TFLite frontend" if is_tflite else "OpenVINO IR reader"):
        model = _read_model(openvino.Core(), path, ir)
    with staged("OpenVINO shape propagation"):
        specs = _reshape(model, shape_overrides, path)
    warnings = [w for w in (defaulted_dims_warning(s) for s in specs) if w]
    bodies = count_body_ops(model)
    if bodies:
        warnings.append(f"{bodies} op(s) with bodies (Loop, TensorIterator, If): the ops inside "
                        "their bodies are not counted")
    try:
        graph = build_graph(model, rename_generated=is_tflite)
    except ProfilerError as error:  # a tensor no runtime could hold
        raise ModelLoadError(path, str(error)) from None
    files = [os.path.abspath(path)]
    if ir is not None and ir.bin_path is not None:
        files.append(os.path.abspath(ir.bin_path))
    result = ModelGraph(
        path=os.path.abspath(path), format="tflite" if is_tflite else "openvino-ir",
        graph=graph, files=files, file_bytes=sum(os.path.getsize(f) for f in files),
        input_specs=specs, warnings=warnings,
    )
    _describe(result, model, ir, header)
    return result


def _describe(
    result: ModelGraph, model: Any, ir: IrFiles | None, header: TfliteHeader | None
) -> None:
    """Fill opsets, producer and metadata from the IR's rt_info or the TFLite header."""
    with staged("OpenVINO rt_info reader"):
        metadata = rt_info_entries(model)
    if ir is not None:
        result.opsets = {"openvino-ir": ir.version}
        result.ir_version = ir.version
        result.producer = _ir_producer(metadata)
    if header is not None:
        result.opsets = {"tflite": header.version}
        result.producer = header.description
        metadata.update(header.metadata)
    result.metadata = metadata


# --- OpenVINO calls -------------------------------------------------------------------------

def clean_openvino_message(error: BaseException, path: str) -> str:
    """One line from an OpenVINO exception (clean_runtime_message), the file's path removed:
    the error line names the file already."""
    text = clean_runtime_message(error)
    for spelling in {path, os.path.abspath(path)}:  # the error line names the file already
        text = text.replace(f'"{spelling}"', "").replace(f"'{spelling}'", "")
    text = text.replace(os.path.abspath(path), "the file")
    text = re.sub(r"\s+", " ", text).strip()
    return text if len(text) <= 300 else text[:297] + "..."


def _read_model(core: Any, path: str, ir: IrFiles | None) -> Any:
    kind = "OpenVINO IR" if ir is not None else "TFLite model"
    try:
        if ir is not None:
            return core.read_model(path, ir.bin_path or "")
        return core.read_model(path)
    except Exception as error:  # OpenVINO raises RuntimeError and its own frontend errors
        raise ModelLoadError(
            path, f"OpenVINO cannot read this {kind}: {clean_openvino_message(error, path)}"
        ) from None


def _declared_inputs(model: Any) -> list[tuple[str, str, Any]]:
    return [
        (input_name(p), dtype_name(p.get_element_type()), partial_shape(p.get_partial_shape()))
        for p in model.get_parameters()
    ]


def _reshape(model: Any, overrides: Mapping[str, tuple[int, ...]], path: str) -> list[InputSpec]:
    """Resolve input shapes, then let OpenVINO propagate them so every node gets a static shape."""
    from openvino import PartialShape

    specs = resolve_input_shapes(_declared_inputs(model), overrides)
    changes = {
        parameter.output(0): (spec, PartialShape(list(spec.shape)))
        for parameter, spec in zip(model.get_parameters(), specs, strict=True)
        if spec.shape is not None and spec.declared_shape != spec.shape
    }
    if not changes:
        return specs
    try:
        model.reshape({port: shape for port, (_, shape) in changes.items()})
    except Exception as error:  # OpenVINO's shape inference refused the sizes
        _raise_reshape_error(path, [spec for spec, _ in changes.values()], error)
    return specs


def _raise_reshape_error(path: str, specs: list[InputSpec], error: BaseException) -> None:
    sizes = ", ".join(f"{s.name}={format_shape(s.shape)}" for s in specs)
    reason = clean_openvino_message(error, path)
    if any(s.shape_source == "override" for s in specs):
        raise ShapeError(f"{path}: the model cannot run at {sizes}: {reason}") from None
    names = ", ".join(f"--shape {s.name}=..." for s in specs)
    raise ModelLoadError(
        path, f"the model cannot run at the default input sizes {sizes} ({reason}); give sizes "
        f"with {names}"
    ) from None


# --- rt_info --------------------------------------------------------------------------------


def rt_info_entries(model: Any) -> dict[str, str]:
    """The model's rt_info flattened to ``a.b`` keys, small string values only."""
    entries: dict[str, str] = {}
    # rt_info is informational: a value the bindings cannot convert ends the walk, not the load
    with contextlib.suppress(Exception):
        _flatten(model.get_rt_info(), "", entries)
    return entries


def _flatten(mapping: Any, prefix: str, entries: dict[str, str]) -> None:
    for key in list(mapping.keys()):
        value = mapping[key]
        name = f"{prefix}{key}"
        if isinstance(value, dict) or hasattr(value, "keys"):
            _flatten(value, f"{name}.", entries)
            continue
        text = value.astype(str) if hasattr(value, "astype") else str(value)
        if len(text) <= MAX_METADATA_CHARS:
            entries[name] = text


def _ir_producer(metadata: Mapping[str, str]) -> str:
    if "MO_version" in metadata:
        return f"Model Optimizer {metadata['MO_version']}"
    if "Runtime_version" in metadata:
        return f"OpenVINO {metadata['Runtime_version']}"
    return ""
