"""The one small interface every runtime backend implements, and what the backends share.

A backend runs one model on one device: ``load`` (read the model), ``compile`` (compile for the
device / create the session), ``infer`` (one synchronous inference), ``infer_throughput``
(parallel requests), and ``profile_layers`` (a separate per-layer pass with the runtime's
profiling on). The measurement protocol (profiler/bench) times these calls; a backend never
times its own latency pass.
"""

from __future__ import annotations

import abc
from dataclasses import field
from typing import Any

import numpy as np

from profiler.errors import ProfilerError, UsageError
from profiler.records.record import record
from profiler.records.runs import LayerProfile

BACKEND_PREFIXES = {"ov": "openvino", "ort": "onnxruntime"}


@record
class RunSettings:
    device: str
    """Full device id, e.g. "ov:CPU", "ort:cpu", "ort:openvino:NPU"."""
    mode: str = "latency"
    """"latency" | "throughput"."""
    threads: int | None = None
    """Inference threads (None = runtime default)."""
    cpus: list[int] | None = None
    """CPU affinity of the worker (the worker applies it, not the backend)."""
    precision: str | None = None
    """OpenVINO INFERENCE_PRECISION_HINT ("f32" | "bf16" | "f16"); None = runtime default."""
    shapes: dict[str, list[int]] = field(default_factory=dict)
    """Concrete input shapes, by input name."""
    extra_properties: dict[str, str] = field(default_factory=dict)
    """OpenVINO: compile properties. ONNX Runtime: session config entries."""


class BackendError(ProfilerError):
    """The runtime refused the model or the device (compile, session creation, inference)."""


class Backend(abc.ABC):
    name: str = ""
    """"openvino" | "onnxruntime"."""

    @abc.abstractmethod
    def load(self, model_path: str, settings: RunSettings) -> None:
        """Read the model (timed as load)."""

    @abc.abstractmethod
    def compile(self) -> None:
        """Compile for the device / create the session (timed as compile)."""

    @abc.abstractmethod
    def input_specs(self) -> list[tuple[str, str, list[int]]]:
        """(name, numpy dtype name, concrete shape) of each input, after compile."""

    @abc.abstractmethod
    def infer(self, inputs: dict[str, np.ndarray]) -> None:
        """One synchronous inference."""

    @abc.abstractmethod
    def infer_throughput(
        self, inputs: dict[str, np.ndarray], duration_s: float
    ) -> tuple[int, float]:
        """Parallel requests for about ``duration_s``: (inferences done, seconds taken)."""

    @abc.abstractmethod
    def actual_precision(self) -> str:
        """The arithmetic that ran (e.g. "bf16" for an FP32 model on an AMX CPU), whatever the
        weights' storage precision."""

    def weight_precision(self) -> str:
        """How most weight elements are stored (f32, f16, i8, i4...); '' when unknown."""
        return ""

    @abc.abstractmethod
    def device_name(self) -> str:
        """FULL_DEVICE_NAME, or the execution provider's name."""

    @abc.abstractmethod
    def applied_config(self) -> dict[str, Any]:
        """Properties as the runtime applied them (threads, hints, streams, precision)."""

    @abc.abstractmethod
    def profile_layers(self, inputs: dict[str, np.ndarray], iterations: int) -> LayerProfile:
        """The separate per-layer pass: a fresh compile/session with profiling on."""

    def outputs(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        """One inference that returns the outputs by name (for drift checks, not timing)."""
        raise NotImplementedError(f"{type(self).__name__} does not return outputs")

    @abc.abstractmethod
    def close(self) -> None:
        """Release the compiled model / session."""


def split_device_id(device_id: str) -> tuple[str, str]:
    """"ov:GPU.0" -> ("ov", "GPU.0"); "ort:openvino:NPU" -> ("ort", "openvino:NPU")."""
    prefix, _, device = device_id.partition(":")
    if prefix not in BACKEND_PREFIXES or not device:
        known = ", ".join(f"{p}:..." for p in BACKEND_PREFIXES)
        raise UsageError(
            f"unknown device id {device_id!r}: it must start with {known} "
            "(see `edgeprof-cli devices`)"
        )
    return prefix, device


def create_backend(device_id: str) -> Backend:
    """The backend for ``device_id``, with its runtime imported and the device checked."""
    from profiler.runtime.devices import check_device, discover_backend

    prefix, _ = split_device_id(device_id)
    devices, notes = discover_backend(BACKEND_PREFIXES[prefix])
    if not devices and notes:
        raise UsageError(f"device {device_id!r} is not available: {'; '.join(notes)}")
    check_device(device_id, devices)
    if prefix == "ov":
        from profiler.runtime.openvino_backend import OpenVINOBackend

        return OpenVINOBackend(device_id)
    from profiler.runtime.onnxruntime_backend import OnnxRuntimeBackend

    return OnnxRuntimeBackend(device_id)




# Mapping runtime layers back to the model's own nodes (shared by both backends) ---------------

NON_COMPUTE_OPS = frozenset(
    {"Constant", "ConstantOfShape", "Identity", "Reshape", "Flatten", "Squeeze", "Unsqueeze",
     "Shape", "Size", "Dropout", "ShapeOf", "Parameter", "Result"}
)
"""Op types that move no data or only describe shapes: runtimes often drop them entirely."""
UNMAPPED_LISTED = 12


@record
class ModelNodeRef:
    """One node of the model as the profiler names it (see profiler/model)."""

    name: str
    op_type: str
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)


class ModelIndex:
    """The model's nodes with producers/consumers, for mapping runtime layers to them."""

    def __init__(self, nodes: list[ModelNodeRef], fixed_tensors: set[str],
                 graph_inputs: set[str], aliases: dict[str, str] | None = None) -> None:
        self.nodes = nodes
        self.by_name = {node.name: node for node in nodes}
        self.position = {node.name: index for index, node in enumerate(nodes)}
        self.fixed = fixed_tensors
        """Constants and tensors computed from constants only (folded at load time), or,
        indexed at the run's static shapes, from shapes too (see static_folding)."""
        self.graph_inputs = graph_inputs
        self.aliases = aliases or {}
        """Other names of nodes (e.g. OpenVINO friendly names) -> the profiler's node name."""
        self.body_parent: dict[str, str] = {}
        """Nodes inside If/Loop/Scan bodies -> the control-flow node whose body holds them."""
        self.producer: dict[str, str] = {}
        self.consumers: dict[str, list[str]] = {}
        for node in nodes:
            self.producer.update((t, node.name) for t in node.outputs if t)
            for tensor in dict.fromkeys(t for t in node.inputs if t):
                self.consumers.setdefault(tensor, []).append(node.name)

    @classmethod
    def from_graph(cls, graph: Any, aliases: dict[str, str] | None = None,
                   static_shapes: bool = False) -> ModelIndex:
        """From a profiler.model.graph.Graph (ONNX or OpenVINO built); ``static_shapes``: the
        graph's tensor shapes are those of the run, which the runtime compiled for."""
        nodes = [ModelNodeRef(n.name, n.op_type, list(n.inputs), list(n.outputs))
                 for n in graph.nodes]
        if static_shapes:
            from profiler.runtime.static_folding import shape_folded

            fixed = shape_folded(graph)
        else:
            fixed = set(graph.constants) | set(graph.folded)
        index = cls(nodes, fixed, {t.name for t in graph.inputs}, aliases)
        index.body_parent = body_parents(graph)
        return index

    def is_fixed(self, name: str) -> bool:
        """A node whose every output is a constant: it does not run per inference."""
        outputs = [t for t in self.by_name[name].outputs if t]
        return bool(outputs) and all(t in self.fixed for t in outputs)

    def is_compute(self, name: str) -> bool:
        return not self.is_fixed(name) and self.by_name[name].op_type not in NON_COMPUTE_OPS

    def compute_nodes(self) -> list[str]:
        return [node.name for node in self.nodes if self.is_compute(node.name)]

    def resolve(self, name: str, strip: bool = True) -> str | None:
        """The node a runtime calls ``name``: a node name, an alias, or an output tensor name;
        with ``strip``, runtime suffixes ("/WithoutBiases", ":0") are cut one at a time."""
        candidate = name
        while candidate:
            for table in (self.by_name, self.aliases):
                if candidate in table:
                    return candidate if table is self.by_name else self.aliases[candidate]
            if candidate in self.producer:
                return self.producer[candidate]
            cut = max(candidate.rfind("/"), candidate.rfind(":")) if strip else -1
            candidate = candidate[:cut] if cut > 0 else ""
        return None

    def ordered(self, names: set[str]) -> list[str]:
        return sorted(names, key=lambda n: self.position.get(n, len(self.nodes)))


def body_parents(graph: Any) -> dict[str, str]:
    """Every node inside a control-flow body (at any depth) -> its immediate parent node."""
    parents: dict[str, str] = {}
    for node in graph.nodes:
        for body in node.subgraphs.values():
            parents.update((inner.name, node.name) for inner in body.nodes)
            parents.update(body_parents(body))
    return parents


def onnx_model_index(path: str,
                     shapes: dict[str, tuple[int, ...]] | None = None) -> ModelIndex:
    """The profiler's nodes of an ONNX file (names as profiler/model gives them); with the
    run's static input ``shapes``, what the runtime folds for them counts as fixed."""
    import onnx

    from profiler.model.onnx_graph import build_graph

    if shapes:
        index = _static_shape_index(path, shapes)
        if index is not None:
            return index
    try:
        model = onnx.load(path, load_external_data=False)
        return ModelIndex.from_graph(build_graph(model.graph, outer_scope=set()))
    except Exception as error:  # the runtime accepted the file; only the mapping is lost
        raise BackendError(f"{path}: cannot index the model's nodes: {error}") from None


def _static_shape_index(path: str, shapes: dict[str, tuple[int, ...]]) -> ModelIndex | None:
    """The index of the model loaded at ``shapes`` (shape inference resolves every tensor's
    shape); None when the loader refuses them (the plain index still maps the layers)."""
    from profiler.model.onnx_loader import load_onnx

    try:
        graph = load_onnx(path, shapes).graph
    except Exception:  # best effort: the plain index still maps every layer
        return None
    return ModelIndex.from_graph(graph, static_shapes=True)


Claims = dict[str, set[int]]
"""Model node name -> indices of the runtime layers that cover it."""


def claim(claims: Claims, index: ModelIndex, node: str | None, layer: int) -> None:
    if node is not None and node in index.by_name and not index.is_fixed(node):
        claims.setdefault(node, set()).add(layer)


def fill_gaps(index: ModelIndex, claims: Claims) -> None:
    """A node no layer names, whose outputs feed only one layer, was fused into that layer
    (a Conv renamed after the BatchNormalization folded into it, a dropped Identity)."""
    for node in reversed(index.nodes):
        if node.name in claims or index.is_fixed(node.name):
            continue
        readers = [c for t in node.outputs if t for c in index.consumers.get(t, [])]
        owners: set[int | None] = set()
        for reader in readers:
            owners |= claims.get(reader) or {None}
        if len(owners) == 1 and None not in owners:
            claims[node.name] = {owner for owner in owners if owner is not None}


def apply_claims(layers: list[Any], index: ModelIndex, claims: Claims) -> None:
    """Write each layer's model_nodes (in model order) from the claims."""
    covered: dict[int, set[str]] = {}
    for node, owners in claims.items():
        for owner in owners:
            covered.setdefault(owner, set()).add(node)
    for position, layer in enumerate(layers):
        layer.model_nodes = index.ordered(covered.get(position, set()))
        if layer.kind == "compute" and len(layer.model_nodes) > 1:
            layer.kind = "fused"
        elif layer.kind == "compute" and not layer.model_nodes:
            layer.kind = "inserted"


def finish_profile(layers: list[Any], index: ModelIndex, e2e_ms: list[float],
                   iterations: int, notes: list[str], statistic: str = "median") -> LayerProfile:
    """Totals, coverage against the pass's end-to-end latency (the layers' ``statistic``:
    median, or mean where the runtime only gives means), unmapped nodes."""
    total_ms = sum(layer.time_ms for layer in layers)
    summarise = np.mean if statistic == "mean" else np.median
    reference_ms = float(summarise(e2e_ms)) if e2e_ms else 0.0
    claimed = {name for layer in layers for name in layer.model_nodes}
    unmapped = [name for name in index.compute_nodes() if name not in claimed]
    notes = list(notes)
    if unmapped:
        more = ", ..." if len(unmapped) > UNMAPPED_LISTED else ""
        shown = ", ".join(unmapped[:UNMAPPED_LISTED]) + more
        notes.append(
            f"{len(unmapped)} compute node(s) of the model are claimed by no runtime layer "
            f"(folded into another layer, constant-folded, or inside an opaque subgraph): {shown}"
        )
    coverage = total_ms / reference_ms if reference_ms > 0 else 0.0
    return LayerProfile(
        layers=layers, total_layer_ms=total_ms, coverage=coverage,
        coverage_flag=coverage_flag(coverage) if layers else "", statistic=statistic,
        iterations=iterations, unmapped_model_nodes=unmapped, notes=notes,
    )


def rebase_coverage(profile: LayerProfile, reference_ms: float) -> None:
    """Coverage against the latency pass's figure: the profiler's own overhead (ONNX Runtime
    writes three trace events a node) slows the layer pass's end-to-end time, not the layers'
    kernel times, so the latency the user reads is the honest denominator."""
    if reference_ms <= 0 or not profile.layers:
        return
    profile.coverage = profile.total_layer_ms / reference_ms
    profile.coverage_flag = coverage_flag(profile.coverage)
    profile.coverage_reference = "latency pass"


COVERAGE_RANGE = (0.80, 1.25)
"""Sum of per-layer medians / end-to-end median inside which the layer figures add up."""


def coverage_flag(coverage: float) -> str:
    low, high = COVERAGE_RANGE
    if coverage < low:
        return "low"
    return "high" if coverage > high else ""


def coverage_warning(profile: LayerProfile) -> str:
    """A plain-words warning when the layer times do not add up to the end-to-end time."""
    if not profile.coverage_flag:
        return ""
    cause = ("time outside the layers: runtime overhead, thread wake-ups, copies"
             if profile.coverage_flag == "low" else "profiling overhead or noise")
    return (f"per-layer times sum to {100 * profile.coverage:.0f} % of the end-to-end "
            f"{profile.statistic}: "
            f"the layer figures are distorted ({cause}); compare layers with each other, "
            "not with the total")
