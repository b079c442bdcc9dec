"""ONNX Runtime per-layer profile: the Chrome-trace JSON, mapped back to the model's nodes.

``end_profiling()`` writes a JSON list of trace events. Node events have ``cat`` "Node", a
``name`` "<node name>_kernel_time", ``dur`` in microseconds and ``args`` with ``op_name``,
``provider`` and ``input_type_shape``; "Session" events named "model_run" bracket each run.
Unnamed nodes are called "<op_type>_<index>", as the profiler names them.

Graph optimisation renames and fuses nodes. The optimised model (written during the profiling
session) shows each runtime node's inputs and outputs: an output that is an original tensor
anchors the node there; NCHWc nodes are named after the original tensor they produced
("r2_nchwc"). A node covers the original nodes between its inputs and its anchor. NCHWc
convolutions that later absorbed an Add (their 4th input) and an activation are extended
forward until every input is used.
"""

from __future__ import annotations

import bisect
import json
import re
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

KERNEL_SUFFIX = "_kernel_time"
NAME_SUFFIX = re.compile(r"(_nchwc|_token_\d+)$")
REORDER_OPS = frozenset({"ReorderInput", "ReorderOutput"})
COPY_OPS = frozenset({"MemcpyToHost", "MemcpyFromHost"})
QUANTIZE_OPS = frozenset({"QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear"})
OPAQUE_NAME = re.compile(
    r"ExecutionProvider_|EP-subgraph|TRTKernel|FusedNode|_subgraph_|^CoreML_|^QNN_|MIGraphX_"
)
"""Nodes compiled by an execution provider: one kernel for a whole subgraph."""
MAX_EXTENSION_STEPS = 4
TRACE_PRECISIONS = {
    "float": "f32", "float16": "f16", "bfloat16": "bf16", "double": "f64", "int8": "i8",
    "uint8": "u8", "int16": "i16", "uint16": "u16", "int32": "i32", "int64": "i64",
    "bool": "boolean",
}


@dataclass
class TraceNode:
    """One runtime node's kernel time summed over the counted runs."""

    name: str
    op_type: str = ""
    provider: str = ""
    precision: str = ""
    total_us: float = 0.0


def read_trace(path: str) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as handle:
        data = json.load(handle)
    events = data.get("traceEvents", []) if isinstance(data, dict) else data
    return [e for e in events if isinstance(e, dict)]


def _run_windows(events: list[dict[str, Any]]) -> list[tuple[float, float]]:
    return sorted((float(e["ts"]), float(e["ts"]) + float(e.get("dur", 0)))
                  for e in events if e.get("cat") == "Session" and e.get("name") == "model_run")


def _in_windows(ts: float, starts: list[float], windows: list[tuple[float, float]]) -> bool:
    position = bisect.bisect_right(starts, ts) - 1
    return position >= 0 and ts <= windows[position][1]


def _precision(args: dict[str, Any]) -> str:
    shapes = args.get("input_type_shape") or []
    if shapes and isinstance(shapes[0], dict) and shapes[0]:
        return TRACE_PRECISIONS.get(next(iter(shapes[0])), "")
    return ""


def trace_nodes(events: list[dict[str, Any]], skip_runs: int = 1) -> tuple[list[TraceNode], int]:
    """Kernel times per node (in execution order) over the runs after the first ``skip_runs``,
    and how many runs were counted."""
    windows = _run_windows(events)[skip_runs:]
    starts = [start for start, _ in windows]
    nodes: dict[str, TraceNode] = {}
    seen: dict[str, int] = {}
    for event in events:
        name = str(event.get("name", ""))
        if event.get("cat") != "Node" or not name.endswith(KERNEL_SUFFIX):
            continue
        if windows and not _in_windows(float(event["ts"]), starts, windows):
            continue
        args = event.get("args") or {}
        key = name[: -len(KERNEL_SUFFIX)]
        node = nodes.setdefault(key, TraceNode(
            key, str(args.get("op_name", "")), str(args.get("provider", "")), _precision(args)))
        node.total_us += float(event.get("dur", 0))
        seen[key] = seen.get(key, 0) + 1
    runs = len(windows) if windows else max(seen.values(), default=0)
    return list(nodes.values()), runs


@dataclass
class OptNode:
    name: str
    op_type: str
    domain: str = ""
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    activation: str = ""


class OptGraph:
    """The optimised model ORT wrote: its nodes by name and its constant tensors."""

    def __init__(self, model: Any) -> None:
        graph = model.graph
        self.constants = {t.name for t in graph.initializer}
        self.by_name: dict[str, OptNode] = {}
        for proto in graph.node:
            activation = next((a.s.decode("utf-8", "replace") for a in proto.attribute
                               if a.name == "activation" and a.s), "")
            node = OptNode(proto.name, proto.op_type, proto.domain, list(proto.input),
                           list(proto.output), activation)
            if proto.name:
                self.by_name[proto.name] = node
            if proto.op_type == "Constant":
                self.constants.update(proto.output)

    @classmethod
    def load(cls, path: str) -> OptGraph:
        import onnx

        return cls(onnx.load(path, load_external_data=False))


class _Mapper:
    """Claims of model nodes by runtime layers, walking layers in execution order."""

    def __init__(self, index: ModelIndex, opt: OptGraph | None) -> None:
        self.index = index
        self.opt = opt
        self.claims: Claims = {}
        self.anchors: dict[str, str] = {}
        """Optimised-graph tensor -> the original tensor it holds (layout aside)."""

    def map_layer(self, position: int, layer: RuntimeLayer) -> None:
        opt_node = self.opt.by_name.get(layer.name) if self.opt else None
        if layer.kind in ("reorder", "inserted", "opaque"):
            self._pass_through(opt_node)
            return
        nodes, anchor = self._seeds(layer.name, opt_node)
        if opt_node is not None and anchor is not None:
            nodes |= self._covered(opt_node, anchor)
        for node in nodes:
            claim(self.claims, self.index, node, position)
        if not nodes and layer.layer_type == "Cast":
            layer.kind = "convert"
        elif not nodes and layer.layer_type in QUANTIZE_OPS:
            layer.kind = "quantize"

    def _pass_through(self, opt_node: OptNode | None) -> None:
        """A reorder or copy holds the same data as its input."""
        if opt_node is None or not opt_node.inputs or not opt_node.outputs:
            return
        source = self._original(opt_node.inputs[0])
        if source is not None:
            self.anchors[opt_node.outputs[0]] = source

    def _original(self, tensor: str) -> str | None:
        if tensor in self.index.producer or tensor in self.index.graph_inputs:
            return tensor
        return self.anchors.get(tensor)

    def _seeds(self, name: str, opt_node: OptNode | None) -> tuple[set[str], str | None]:
        """Model nodes named by the runtime node (its name, its outputs) and its anchor."""
        seeds: set[str] = set()
        anchor: str | None = None
        for output in opt_node.outputs if opt_node else []:
            if output in self.index.producer:
                seeds.add(self.index.producer[output])
                anchor = anchor or output
        node, named = self._resolve_name(name)
        if node is not None:
            seeds.add(node)
            anchor = anchor or named
        return seeds, anchor

    def _resolve_name(self, name: str) -> tuple[str | None, str | None]:
        """'n3' -> node n3; 'r2_nchwc' -> producer of tensor r2 (NCHWc nodes are named by
        their output)."""
        candidate, stripped = name, False
        while candidate:
            if candidate in self.index.by_name and not stripped:
                node = self.index.by_name[candidate]
                return node.name, next((t for t in node.outputs if t), None)
            if candidate in self.index.producer:
                return self.index.producer[candidate], candidate
            node_name = self.index.resolve(candidate, strip=False)
            if node_name is not None:
                return node_name, next((t for t in self.index.by_name[node_name].outputs if t),
                                       None)
            shorter = NAME_SUFFIX.sub("", candidate)
            candidate, stripped = (shorter, True) if shorter != candidate else ("", stripped)
        return None, None

    def _inputs(self, opt_node: OptNode) -> tuple[set[str], bool]:
        """Original tensors the runtime node reads, and whether all of them are known."""
        found, complete = set(), True
        for tensor in opt_node.inputs:
            if not tensor or (self.opt and tensor in self.opt.constants):
                continue
            original = self._original(tensor)
            if original is None:
                complete = False
            elif original not in self.index.fixed:
                found.add(original)
        return found, complete

    def _covered(self, opt_node: OptNode, anchor: str) -> set[str]:
        inputs, complete = self._inputs(opt_node)
        if opt_node.outputs:
            self.anchors[opt_node.outputs[0]] = anchor
        if not complete:
            return set()  # walking back without known inputs could claim other layers' nodes
        region, frontier = self._region(anchor, inputs)
        unused = inputs - frontier
        added, anchor = self._extend(anchor, region, inputs, unused, opt_node.activation)
        if opt_node.outputs:
            self.anchors[opt_node.outputs[0]] = anchor
        return region | added

    def _region(self, anchor: str, stops: set[str]) -> tuple[set[str], set[str]]:
        """Original nodes from ``anchor`` back to ``stops`` (inputs, constants, claimed)."""
        nodes: set[str] = set()
        frontier: set[str] = set()
        todo, seen = [anchor], set()
        while todo:
            tensor = todo.pop()
            if tensor in seen:
                continue
            seen.add(tensor)
            producer = self.index.producer.get(tensor)
            at_anchor = tensor == anchor
            if producer is None or tensor in self.index.fixed or (not at_anchor and (
                    tensor in stops or producer in self.claims)):
                frontier.add(tensor)
                continue
            nodes.add(producer)
            todo.extend(t for t in self.index.by_name[producer].inputs if t)
        return nodes, frontier

    def _extend(self, anchor: str, region: set[str], inputs: set[str], unused: set[str],
                activation: str) -> tuple[set[str], str]:
        """Follow the anchor forward through nodes that read the unused inputs (an Add fused
        into a convolution), then through the fused activation."""
        added: set[str] = set()
        known = set(inputs) | {t for n in region for t in self.index.by_name[n].outputs}
        for _ in range(MAX_EXTENSION_STEPS):
            if not unused:
                break
            step = self._sole_reader(anchor, known)
            if step is None:
                break
            added.add(step)
            unused -= set(self.index.by_name[step].inputs)
            known.update(self.index.by_name[step].outputs)
            anchor = self.index.by_name[step].outputs[0]
        producer = self.index.producer.get(anchor)
        readers = self.index.consumers.get(anchor, [])
        if (activation and producer is not None and len(readers) == 1
                and self.index.by_name[producer].op_type != activation
                and self.index.by_name[readers[0]].op_type == activation):
            added.add(readers[0])
            anchor = self.index.by_name[readers[0]].outputs[0]
        return added, anchor

    def _sole_reader(self, tensor: str, known: set[str]) -> str | None:
        readers = [r for r in self.index.consumers.get(tensor, [])
                   if all(t in known or t in self.index.fixed
                          for t in self.index.by_name[r].inputs if t)]
        return readers[0] if len(readers) == 1 else None


def _layer(node: TraceNode, runs: int, opt: OptGraph | None) -> RuntimeLayer:
    opt_node = opt.by_name.get(node.name) if opt else None
    kernel = f"{opt_node.domain}:{node.op_type}" if opt_node and opt_node.domain else node.op_type
    layer = RuntimeLayer(name=node.name, layer_type=node.op_type, kernel=kernel,
                      precision=node.precision, provider=node.provider,
                      time_ms=node.total_us / 1000.0 / max(runs, 1))
    if node.op_type in REORDER_OPS:
        layer.kind = "reorder"
    elif node.op_type in COPY_OPS:
        layer.kind = "inserted"
    elif OPAQUE_NAME.search(node.name) or OPAQUE_NAME.search(node.op_type):
        layer.kind = "opaque"
    return layer


def build_ort_profile(events: list[dict[str, Any]], opt: OptGraph | None, index: ModelIndex,
                      e2e_ms: list[float], skip_runs: int = 1) -> LayerProfile:
    """The LayerProfile of one profiling session (its first ``skip_runs`` runs are warm-up)."""
    nodes, runs = trace_nodes(events, skip_runs)
    layers: list[RuntimeLayer] = [_layer(node, runs, opt) for node in nodes]
    mapper = _Mapper(index, opt)
    for position, layer in enumerate(layers):
        mapper.map_layer(position, layer)
    notes = _opaque(layers, index, mapper.claims)
    if not notes:  # with a compiled subgraph, unnamed nodes ran inside it, not in a neighbour
        fill_gaps(index, mapper.claims)
    if opt is None:
        notes.append("the optimised model was not available (an execution provider compiled "
                     "part of the graph); fused nodes are mapped by name only")
    apply_claims(layers, index, mapper.claims)
    notes.extend(_provider_notes(layers))
    return finish_profile(layers, index, e2e_ms, runs, notes)


def _opaque(layers: list[RuntimeLayer], index: ModelIndex, claims: Claims) -> list[str]:
    """A single compiled subgraph covers every compute node no other layer claims."""
    opaque = [p for p, layer in enumerate(layers) if layer.kind == "opaque"]
    if not opaque:
        return []
    names = ", ".join(layers[p].name for p in opaque)
    if len(opaque) > 1:
        return [f"compiled subgraphs {names} are opaque: the nodes inside them are not known"]
    for node in index.compute_nodes():
        if node not in claims:
            claims[node] = {opaque[0]}
    return [f"compiled subgraph {names} is opaque: it is assumed to run every compute node no "
            "other layer claims; per-node times inside it are not available"]


def _provider_notes(layers: list[RuntimeLayer]) -> list[str]:
    providers: dict[str, float] = {}
    for layer in layers:
        providers[layer.provider] = providers.get(layer.provider, 0.0) + layer.time_ms
    if len(providers) < 2:
        return []
    parts = ", ".join(f"{p or 'unknown'} {ms:.3f} ms" for p, ms in providers.items())
    return [f"time by execution provider: {parts}"]
