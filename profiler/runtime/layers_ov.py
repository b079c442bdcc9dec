"""OpenVINO per-layer profile: performance counters joined with the compiled runtime model.

The runtime model (``compiled.get_runtime_model()``) lists the layers the plugin executes; each
op's rt_info says ``layerType``, ``execType``/``primitiveType`` (the kernel),
``runtimePrecision`` and ``originalLayersNames`` (comma-separated friendly names of the
original ops it covers). ``request.profiling_info`` gives each layer's real time per inference.
Original names are friendly names of the model OpenVINO read: for ONNX files the node name, or
the output tensor name of an unnamed node, sometimes with a "/suffix" for decomposed parts, or
a ".port" suffix for one output of a split op; ModelIndex.resolve maps them to the profiler's
node names. Layers the compile creates under new names (the forward and backward halves of a
bidirectional LSTMSequence) name nothing: they take the node of the nearest named layer their
output flows into, through the runtime model's own connections (see layer_links).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import field
from typing import Any

import numpy as np

from profiler.records.record import record
from profiler.records.runs import LayerProfile, RuntimeLayer
from profiler.runtime.backend import (
    Claims,
    ModelIndex,
    apply_claims,
    claim,
    fill_gaps,
    finish_profile,
)
from profiler.runtime.layer_links import SKIPPED_LAYER_TYPES, inherited_nodes
from profiler.runtime.precision import dominant_storage, layer_precision, majority

MATRIX_LAYER_TYPES = frozenset(
    {"Convolution", "GroupConvolution", "Deconvolution", "FullyConnected", "MatMul", "Gemm",
     "ConvolutionBackpropData", "GroupConvolutionBackpropData", "ScaledDotProductAttention",
     "FullyConnectedCompressed", "RNNSeq", "RNNCell"}
)
"""Layers whose precision decides what 'the model ran in' means."""
QUANTIZE_LAYER_TYPES = frozenset({"FakeQuantize", "Quantize", "Dequantize"})
OUTPUT_PORT = re.compile(r"(.+)\.\d+")
"""OpenVINO names one output of a split op "<op>.<port>" ("LSTMSequence_177.0")."""


@record
class OvLayerInfo:
    """One executed layer of the compiled model, as its runtime model describes it."""

    name: str
    layer_type: str
    exec_type: str = ""
    precision: str = ""
    original_names: list[str] = field(default_factory=list)
    inputs: list[str] = field(default_factory=list)
    """Names of the runtime-model ops whose outputs this layer reads."""


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
            inputs=[port.get_source_output().get_node().get_friendly_name()
                    for port in op.inputs()],
        ))
    return layers


def counter_layers(profiling_info: Any) -> list[OvLayerInfo]:
    """Layers from the performance counters alone (a device without a runtime model)."""
    return [OvLayerInfo(name=info.node_name, layer_type=info.node_type,
                        exec_type=info.exec_type, original_names=[info.node_name])
            for info in profiling_info]


@record
class CounterLog:
    """Each executed layer's counter read after the warm-up and after every timed inference.

    The CPU plugin's counters are running means since compile, kept in whole microseconds: the
    mean over the timed inferences alone follows from the first and last readings, but single
    inferences cannot be told apart (a difference of two readings is off by up to n us), so
    its statistic is the mean. Other plugins report the last inference: the median is used."""

    running_mean: bool
    readings_ms: dict[str, list[float]] = field(default_factory=dict)
    reads: int = 0

    def add(self, profiling_info: Any) -> None:
        self.reads += 1
        for info in profiling_info:
            if str(info.status).rsplit(".", 1)[-1] != "EXECUTED":
                continue
            elapsed_ms = info.real_time.total_seconds() * 1000.0
            self.readings_ms.setdefault(info.node_name, []).append(elapsed_ms)

    @property
    def statistic(self) -> str:
        return "mean" if self.running_mean else "median"

    def layer_times_ms(self) -> dict[str, float]:
        """Each layer's time per timed inference (the first reading is the warm-up's)."""
        return {name: self._time_ms(readings) for name, readings in self.readings_ms.items()}

    def _time_ms(self, readings: list[float]) -> float:
        timed = self.reads - 1
        if timed < 1 or not readings:
            return 0.0
        if self.running_mean:  # total after n inferences = n x running mean
            total_ms = self.reads * readings[-1] - (self.reads - len(readings) + 1) * readings[0]
            return max(total_ms, 0.0) / timed
        return median_ms(readings[1:] if len(readings) == self.reads else readings, timed)


def median_ms(samples_ms: list[float], iterations: int) -> float:
    """Median over the pass's iterations; an iteration without a sample counts as 0."""
    padded = list(samples_ms) + [0.0] * max(0, iterations - len(samples_ms))
    return float(np.median(padded)) if padded else 0.0


def majority_precision(layers: list[OvLayerInfo]) -> str | None:
    """The precision most matrix layers (Convolution, FullyConnected...) computed in, read from
    their kernel names first (runtimePrecision follows the stored weights)."""
    found = majority((layer_precision(layer.exec_type, layer.precision), 1.0)
                     for layer in layers if layer.layer_type in MATRIX_LAYER_TYPES)
    return found or None


def weight_storage_precision(model: Any) -> str:
    """How most weight elements are stored in the model OpenVINO read (f32, f16, i8, i4...)."""
    counts: dict[str, int] = {}
    for op in model.get_ordered_ops():
        if op.get_type_name() != "Constant" or op.get_output_size() != 1:
            continue
        shape = op.get_output_partial_shape(0)
        if not shape.is_static or shape.rank.get_length() < 2:
            continue  # scalars and 1-D constants are shapes, axes and biases, not weights
        elements = int(np.prod([d.get_length() for d in shape])) if len(shape) else 1
        name = op.get_output_element_type(0).get_type_name()
        counts[name] = counts.get(name, 0) + elements
    return dominant_storage(counts)


def _kind(layer: OvLayerInfo, mapped: list[str]) -> str:
    if layer.layer_type == "Reorder" and not mapped:
        return "reorder"
    if layer.layer_type == "Convert" and not mapped:
        return "convert"
    if layer.layer_type in QUANTIZE_LAYER_TYPES:
        return "quantize"
    return "compute"


def build_ov_profile(layers: list[OvLayerInfo], times_ms: dict[str, float], iterations: int,
                     index: ModelIndex, e2e_ms: list[float], device: str,
                     statistic: str = "median") -> LayerProfile:
    """RuntimeLayers mapped to model nodes; ``times_ms`` holds each executed layer's time per
    inference over ``iterations`` (``statistic``: 'median' or 'mean', see CounterLog)."""
    chosen = _chosen_layers(layers, times_ms, index)
    result = [RuntimeLayer(
        name=m.layer.name, layer_type=m.layer.layer_type, kernel=m.layer.exec_type,
        precision=layer_precision(m.layer.exec_type, m.layer.precision), provider=device,
        time_ms=times_ms.get(m.layer.name, 0.0), kind=_kind(m.layer, m.nodes),
    ) for m in chosen]
    apply_claims(result, index, _claims(chosen, index, counted=lambda m: True))
    notes = _opaque_notes(result, device)
    return finish_profile(result, index, e2e_ms, iterations, notes, statistic)


@record
class LayerMapping:
    """The model nodes one runtime layer covers, before gaps are filled."""

    layer: OvLayerInfo
    nodes: list[str]
    inherited: bool = False
    """No name of the layer resolves: the nodes are its neighbours' (see layer_links)."""


def map_layers(layers: list[OvLayerInfo], index: ModelIndex) -> list[LayerMapping]:
    """Each layer's nodes: those its original names resolve to, else those it inherits."""
    direct = [_mapped_nodes(layer, index) for layer in layers]
    inherited = inherited_nodes(layers, direct, index)
    return [LayerMapping(layer, own or borrowed, inherited=not own and bool(borrowed))
            for layer, own, borrowed in zip(layers, direct, inherited, strict=True)]


def _claims(mappings: list[LayerMapping], index: ModelIndex,
            counted: Callable[[LayerMapping], bool]) -> Claims:
    """Named layers claim their nodes and absorb the gaps first; layers that only inherit a
    neighbour's node claim it after, so a layer the compile renamed (a VariadicSplit made of
    three Slices) does not split a chain its named reader absorbed."""
    claims: Claims = {}
    for inherited in (False, True):
        for position, mapping in enumerate(mappings):
            if mapping.inherited == inherited and counted(mapping):
                for node in mapping.nodes:
                    claim(claims, index, node, position)
        fill_gaps(index, claims)
    return claims


def _chosen_layers(layers: list[OvLayerInfo], times_ms: dict[str, float],
                   index: ModelIndex) -> list[LayerMapping]:
    """Executed layers, plus layers that did not run (in-place, folded) but are the only
    ones to name some compute node that no executed layer covers, even as a gap (a MatMul's
    weight Transpose names the MatMul its FullyConnected ran); in runtime-model order."""
    candidates = [m for m in map_layers(layers, index)
                  if m.layer.layer_type not in SKIPPED_LAYER_TYPES]
    claims = _claims(candidates, index, counted=lambda m: m.layer.name in times_ms)
    return [m for m in candidates if m.layer.name in times_ms
            or any(index.is_compute(n) and n not in claims for n in m.nodes)]


def _mapped_nodes(layer: OvLayerInfo, index: ModelIndex) -> list[str]:
    found = (_resolve(name, index) for name in layer.original_names)
    return list(dict.fromkeys(n for n in found if n is not None and not index.is_fixed(n)))


def _resolve(name: str, index: ModelIndex) -> str | None:
    """The node an original name means: the name itself, then without a ".port" suffix
    (a node may be called "features.0"), then with runtime suffixes cut."""
    port = OUTPUT_PORT.fullmatch(name)
    spellings = [(name, False), (port.group(1), True)] if port else []
    for spelling, strip in (*spellings, (name, True)):
        node = index.resolve(spelling, strip=strip)
        if node is not None:
            return node
    return None


def _opaque_notes(layers: list[RuntimeLayer], device: str) -> list[str]:
    """When no layer names an original op, the device's compiled model is opaque."""
    if not layers or any(layer.model_nodes for layer in layers):
        return []
    for layer in layers:
        layer.kind = "opaque"
    return [f"{device}: the compiled model does not name the original layers; per-node times "
            "are not available on this device"]


def openvino_model_index(model: Any, path: str) -> ModelIndex:
    """The profiler's view of the model OpenVINO read, with friendly names as aliases; at the
    static input shapes ``model`` was reshaped to, shape chains the compile folds are fixed."""
    if path.lower().endswith(".onnx"):
        from profiler.runtime.backend import onnx_model_index

        index = onnx_model_index(path, static_input_shapes(model))
        index.aliases.update(decomposition_aliases(model, index))
        return index
    from profiler.model.openvino_graph import build_graph

    graph = build_graph(model, rename_generated=path.lower().endswith(".tflite"))
    ops = [op for op in model.get_ordered_ops()
           if op.get_type_name() not in ("Parameter", "Result")]
    aliases = {op.get_friendly_name(): node.name for op, node in zip(ops, graph.nodes, strict=False)
               if op.get_friendly_name() != node.name}
    static = bool(model.inputs) and all(p.get_partial_shape().is_static for p in model.inputs)
    return ModelIndex.from_graph(graph, aliases, static_shapes=static)


def static_input_shapes(model: Any) -> dict[str, tuple[int, ...]] | None:
    """Each input's shape by tensor name, when every input of ``model`` has a static one."""
    shapes: dict[str, tuple[int, ...]] = {}
    for port in model.inputs:
        shape, names = port.get_partial_shape(), sorted(port.get_names())
        if not shape.is_static or not names:
            return None
        shapes[str(names[0])] = tuple(int(d) for d in shape.to_shape())
    return shapes


def decomposition_aliases(model: Any, index: ModelIndex) -> dict[str, str]:
    """Friendly names of the ops OpenVINO's ONNX reader made from one node (an LSTM becomes
    Transposes around an LSTMSequence; LayerNormalization an MVN, Multiply and Add) -> that
    node. The reader names the last op of a node's decomposition after the node (or its
    output); the ops before it with generated names lead only to it."""
    owners: dict[str, set[str]] = {}
    aliases: dict[str, str] = {}
    for op in reversed(list(model.get_ordered_ops())):
        if op.get_type_name() in ("Parameter", "Result", "Constant"):
            continue
        name = op.get_friendly_name()
        own = _own_node(op, index)
        if own is not None:
            owners[name] = {own}
            continue
        readers = {target.get_node().get_friendly_name() for output in op.outputs()
                   for target in output.get_target_inputs()
                   if target.get_node().get_type_name() != "Result"}
        found = set().union(*(owners.get(reader, {""}) for reader in readers)) if readers else {""}
        owners[name] = found
        if len(found) == 1 and "" not in found:
            aliases[name] = next(iter(found))
    return aliases


def _own_node(op: Any, index: ModelIndex) -> str | None:
    """The model node an op's friendly name or output tensor names say it is."""
    for name in (op.get_friendly_name(), *(t for o in op.outputs() for t in o.get_names())):
        node = index.resolve(name)
        if node is not None:
            return node
    return None
