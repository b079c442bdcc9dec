"""OpenVINO per-layer profile: performance counters joined with the compiled runtime model.

The runtime model (``compiled.get_runtime_model()``) lists the layers the plugin executes; each
op's rt_info says ``layerType``, ``execType``/``primitiveType`` (the kernel),
``runtimePrecision`` and ``originalLayersNames`` (comma-separated friendly names of the
original ops it covers). ``request.profiling_info`` gives each layer's real time per inference.
Original names are friendly names of the model OpenVINO read: for ONNX files the node name, or
the output tensor name of an unnamed node, sometimes with a "/suffix" for decomposed parts;
ModelIndex.resolve maps them to the profiler's node names.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from profiler.bench.types import LayerProfile, RuntimeLayer
from profiler.runtime.backend import (
    Claims,
    ModelIndex,
    apply_claims,
    claim,
    fill_gaps,
    finish_profile,
)

SKIPPED_LAYER_TYPES = frozenset({"Input", "Output", "Const", "Parameter", "Result", "Constant"})
MATRIX_LAYER_TYPES = frozenset(
    {"Convolution", "GroupConvolution", "Deconvolution", "FullyConnected", "MatMul", "Gemm",
     "ConvolutionBackpropData", "GroupConvolutionBackpropData", "ScaledDotProductAttention",
     "FullyConnectedCompressed", "RNNSeq", "RNNCell"}
)
"""Layers whose precision decides what 'the model ran in' means."""
UNKNOWN_PRECISIONS = frozenset({"", "undefined", "unspecified", "dynamic"})
QUANTIZE_LAYER_TYPES = frozenset({"FakeQuantize", "Quantize", "Dequantize"})


@dataclass
class OvLayerInfo:
    """One executed layer of the compiled model, as its runtime model describes it."""

    name: str
    layer_type: str
    exec_type: str = ""
    precision: str = ""
    original_names: list[str] = field(default_factory=list)


def _rt_text(rt_info: Any, key: str) -> str:
    if key not in rt_info:
        return ""
    value = rt_info[key]
    try:
        return str(value.astype(str))
    except Exception:  # a plain Python value
        return str(value)


def runtime_layers(runtime_model: Any) -> list[OvLayerInfo]:
    """The layers of ``compiled.get_runtime_model()`` with their rt_info."""
    layers = []
    for op in runtime_model.get_ordered_ops():
        rt_info = op.get_rt_info()
        names = _rt_text(rt_info, "originalLayersNames")
        layers.append(OvLayerInfo(
            name=op.get_friendly_name(),
            layer_type=_rt_text(rt_info, "layerType") or op.get_type_name(),
            exec_type=_rt_text(rt_info, "execType") or _rt_text(rt_info, "primitiveType"),
            precision=_rt_text(rt_info, "runtimePrecision"),
            original_names=[n.strip() for n in names.split(",") if n.strip()],
        ))
    return layers


def counter_layers(profiling_info: Any) -> list[OvLayerInfo]:
    """Layers from the performance counters alone (a device without a runtime model)."""
    return [OvLayerInfo(name=info.node_name, layer_type=info.node_type,
                        exec_type=info.exec_type, original_names=[info.node_name])
            for info in profiling_info]


def add_counters(totals_ms: dict[str, float], profiling_info: Any) -> None:
    """Add one inference's executed-layer times (ms) to ``totals_ms``."""
    for info in profiling_info:
        if str(info.status).rsplit(".", 1)[-1] != "EXECUTED":
            continue
        elapsed_ms = info.real_time.total_seconds() * 1000.0
        totals_ms[info.node_name] = totals_ms.get(info.node_name, 0.0) + elapsed_ms


def majority_precision(layers: list[OvLayerInfo]) -> str | None:
    """The runtime precision most matrix layers (Convolution, FullyConnected...) ran in."""
    counts = Counter(
        layer.precision.lower() for layer in layers
        if layer.layer_type in MATRIX_LAYER_TYPES
        and layer.precision.lower() not in UNKNOWN_PRECISIONS
    )
    return counts.most_common(1)[0][0] if counts else None


def _kind(layer: OvLayerInfo, mapped: list[str]) -> str:
    if layer.layer_type == "Reorder" and not mapped:
        return "reorder"
    if layer.layer_type == "Convert" and not mapped:
        return "convert"
    if layer.layer_type in QUANTIZE_LAYER_TYPES:
        return "quantize"
    return "compute"


def build_ov_profile(layers: list[OvLayerInfo], totals_ms: dict[str, float], iterations: int,
                     index: ModelIndex, e2e_ms: list[float], device: str) -> LayerProfile:
    """RuntimeLayers mapped to model nodes, with times averaged over ``iterations``."""
    chosen = _chosen_layers(layers, totals_ms, index)
    result: list[RuntimeLayer] = []
    claims: Claims = {}
    for layer, mapped in chosen:
        result.append(RuntimeLayer(
            name=layer.name, layer_type=layer.layer_type, kernel=layer.exec_type,
            precision=layer.precision, provider=device,
            time_ms=totals_ms.get(layer.name, 0.0) / max(iterations, 1),
            kind=_kind(layer, mapped),
        ))
        for node in mapped:
            claim(claims, index, node, len(result) - 1)
    fill_gaps(index, claims)
    apply_claims(result, index, claims)
    notes = _opaque_notes(result, device)
    return finish_profile(result, index, e2e_ms, iterations, notes)


def _chosen_layers(layers: list[OvLayerInfo], totals_ms: dict[str, float],
                   index: ModelIndex) -> list[tuple[OvLayerInfo, list[str]]]:
    """Executed layers, plus layers that did not run (in-place, folded) but are the only
    ones to name some compute node; in runtime-model order."""
    candidates = [(layer, _mapped_nodes(layer, index)) for layer in layers
                  if layer.layer_type not in SKIPPED_LAYER_TYPES]
    executed = {n for layer, mapped in candidates if layer.name in totals_ms for n in mapped}
    return [(layer, mapped) for layer, mapped in candidates
            if layer.name in totals_ms
            or any(index.is_compute(n) and n not in executed for n in mapped)]


def _mapped_nodes(layer: OvLayerInfo, index: ModelIndex) -> list[str]:
    found = (index.resolve(name) for name in layer.original_names)
    return list(dict.fromkeys(n for n in found if n is not None and not index.is_fixed(n)))


def _opaque_notes(layers: list[RuntimeLayer], device: str) -> list[str]:
    """When no layer names an original op, the device's compiled model is opaque."""
    if not layers or any(layer.model_nodes for layer in layers):
        return []
    for layer in layers:
        layer.kind = "opaque"
    return [f"{device}: the compiled model does not name the original layers; per-node times "
            "are not available on this device"]


def openvino_model_index(model: Any, path: str) -> ModelIndex:
    """The profiler's view of the model OpenVINO read, with friendly names as aliases."""
    if path.lower().endswith(".onnx"):
        from profiler.runtime.backend import onnx_model_index

        return onnx_model_index(path)
    from profiler.model.openvino_graph import build_graph

    graph = build_graph(model, rename_generated=path.lower().endswith(".tflite"))
    ops = [op for op in model.get_ordered_ops()
           if op.get_type_name() not in ("Parameter", "Result")]
    aliases = {op.get_friendly_name(): node.name for op, node in zip(ops, graph.nodes, strict=False)
               if op.get_friendly_name() != node.name}
    return ModelIndex.from_graph(graph, aliases)
