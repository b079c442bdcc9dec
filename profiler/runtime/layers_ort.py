"""ONNX Runtime per-layer profile: the Chrome-trace JSON, mapped back to the model's nodes.

The trace (profiler.runtime.ort_trace) gives each runtime node's kernel time per run; a layer's
time is the median over the counted runs, like the end-to-end figure.

Graph optimisation renames and fuses nodes. The optimised model (written during the profiling
session) shows each runtime node's inputs and outputs: an output that is an original tensor
anchors the node there (also through inserted reshapes and reorders after it); NCHWc nodes are
named after the original tensor they produced ("r2_nchwc", "b1_bn_nchwc" for a BatchNormalization
run as a depthwise Conv); other fusions after the node they replace ("mul0/QuickGeluFusion/").
A node covers the original nodes between its inputs and its anchor. NCHWc convolutions that
absorbed an Add (their 4th input) and an activation are extended forward past the Add.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import field
from typing import Any

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
from profiler.runtime.ort_trace import TraceNode, read_trace, trace_nodes

__all__ = ["OptGraph", "build_ort_profile", "read_trace", "trace_nodes"]

TOKEN_SUFFIX = re.compile(r"_token_\d+$")
NCHWC_SUFFIX = re.compile(r"_nchwc$")
NCHWC_OP_SUFFIX = re.compile(r"_(bn|mul|add)$")
"""After "_nchwc": a BatchNormalization/Mul/Add the NCHWc transformer turned into a Conv."""
FUSION_SUFFIX = re.compile(r"/[^/]*Fusion[^/]*/?$")
"""Fusions name their node after the node they replace: "<node>/QuickGeluFusion/"."""
REORDER_OPS = frozenset({"ReorderInput", "ReorderOutput"})
COPY_OPS = frozenset({"MemcpyToHost", "MemcpyFromHost"})
LAYOUT_OPS = frozenset({"Reshape", "Transpose", "Squeeze", "Unsqueeze", "Flatten"})
"""Ops an optimiser inserts to change a tensor's layout (e.g. around a Gemm from MatMul+Add)."""
PASS_THROUGH_KINDS = frozenset({"reorder", "copy", "inserted", "opaque"})
QUANTIZE_OPS = frozenset({"QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear"})
OPAQUE_NAME = re.compile(
    r"ExecutionProvider_|EP-subgraph|TRTKernel|FusedNode|_subgraph_|^CoreML_|^QNN_|MIGraphX_"
)
"""Nodes compiled by an execution provider: one kernel for a whole subgraph."""
MAX_EXTENSION_STEPS = 4
NCHWC_DOMAIN = "com.microsoft.nchwc"


def name_candidates(name: str) -> Iterator[tuple[str, bool]]:
    """Names a runtime node may stand for, most specific first, each with whether it may be
    a node name (True) or only a tensor name (False: "r2_nchwc" is named after tensor r2)."""
    candidate, node_ok = name, True
    yield candidate, node_ok
    for pattern, node_ok_after in ((TOKEN_SUFFIX, node_ok), (FUSION_SUFFIX, True),
                                   (NCHWC_SUFFIX, False)):
        shorter = pattern.sub("", candidate)
        if shorter != candidate and shorter:
            candidate, node_ok = shorter, node_ok_after
            yield candidate, node_ok
            if pattern is NCHWC_SUFFIX and NCHWC_OP_SUFFIX.search(candidate):
                yield NCHWC_OP_SUFFIX.sub("", candidate), False


@record
class OptNode:
    name: str
    op_type: str
    domain: str = ""
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    activation: str = ""


class OptGraph:
    """The optimised model ORT wrote: its nodes (in order, and by name) and constant tensors."""

    def __init__(self, model: Any) -> None:
        graph = model.graph
        self.constants = {t.name for t in graph.initializer}
        self.nodes: list[OptNode] = []
        self.by_name: dict[str, OptNode] = {}
        for proto in graph.node:
            activation = next((a.s.decode("utf-8", "replace") for a in proto.attribute
                               if a.name == "activation" and a.s), "")
            node = OptNode(proto.name, proto.op_type, proto.domain, list(proto.input),
                           list(proto.output), activation)
            self.nodes.append(node)
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
        self.later: dict[str, str] = self._downstream_anchors()
        """Optimised-graph tensor -> the original tensor a pass-through after it produces."""

    def _downstream_anchors(self) -> dict[str, str]:
        """A reorder or inserted reshape that writes an original tensor: its input holds it."""
        later: dict[str, str] = {}
        for node in reversed(self.opt.nodes if self.opt else []):
            if not node.inputs or not node.outputs or not self._is_pass_through(node):
                continue
            output = node.outputs[0]
            target = output if output in self.index.producer else later.get(output)
            if target is not None:
                later[node.inputs[0]] = target
        return later

    def _is_pass_through(self, node: OptNode) -> bool:
        if node.op_type in REORDER_OPS or node.op_type in COPY_OPS:
            return True
        return node.op_type in LAYOUT_OPS and self._resolve_name(node.name)[0] is None

    def map_layer(self, position: int, layer: RuntimeLayer) -> None:
        opt_node = self.opt.by_name.get(layer.name) if self.opt else None
        if layer.kind == "compute" and layer.layer_type in LAYOUT_OPS and \
                self._resolve_name(layer.name)[0] is None:
            layer.kind = "reorder"  # inserted by an optimiser (around a Gemm, NCHWc Add)
        if layer.kind in PASS_THROUGH_KINDS:
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
            original = output if output in self.index.producer else self.later.get(output)
            if original is not None:
                seeds.add(self.index.producer[original])
                anchor = anchor or original
        node, named = self._resolve_name(name)
        if node is not None:
            seeds.add(node)
            anchor = anchor or named
        return seeds, anchor

    def _resolve_name(self, name: str) -> tuple[str | None, str | None]:
        """'n3' -> node n3; 'r2_nchwc' -> producer of tensor r2 (NCHWc nodes are named by
        their output); 'mul0/QuickGeluFusion/' -> node mul0."""
        for candidate, node_ok in name_candidates(name):
            if node_ok and candidate in self.index.by_name:
                node = self.index.by_name[candidate]
                return node.name, next((t for t in node.outputs if t), None)
            if candidate in self.index.producer:
                return self.index.producer[candidate], candidate
            node_name = self.index.resolve(candidate, strip=False) if node_ok else None
            if node_name is not None:
                return node_name, next((t for t in self.index.by_name[node_name].outputs if t),
                                       None)
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
        fused_add = (opt_node.domain == NCHWC_DOMAIN and len(opt_node.inputs) > 3
                     and bool(opt_node.inputs[3]))
        added, anchor = self._extend(anchor, region, inputs, unused, fused_add,
                                     opt_node.activation)
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
                fused_add: bool, activation: str) -> tuple[set[str], str]:
        """Follow the anchor forward through nodes that read the unused inputs (an Add fused
        into a convolution, even one adding the convolution's own input), then through the
        fused activation."""
        added: set[str] = set()
        known = set(inputs) | {t for n in region for t in self.index.by_name[n].outputs}
        for _ in range(MAX_EXTENSION_STEPS):
            if not unused and not (fused_add and not added):
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
                         time_ms=node.median_ms(runs))
    if node.op_type in REORDER_OPS:
        layer.kind = "reorder"
    elif node.op_type in COPY_OPS:
        layer.kind = "copy"
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
    notes.extend(_nest_bodies(layers, index.body_parent))
    notes.extend(_provider_notes(layers))
    return finish_profile(layers, index, e2e_ms, runs, notes)


def _nest_bodies(layers: list[RuntimeLayer], parents: dict[str, str]) -> list[str]:
    """Nodes that ran inside an If/Loop/Scan body are their own model node; the control-flow
    node keeps only its own time (its trace span also holds its body's kernels, which would
    otherwise count twice)."""
    if not parents:
        return []
    children_ms: dict[str, float] = {}
    nested = 0
    for layer in layers:
        parent = parents.get(layer.name)
        if parent is None:
            continue
        children_ms[parent] = children_ms.get(parent, 0.0) + layer.time_ms
        if not layer.model_nodes and layer.kind == "inserted":
            layer.model_nodes, layer.kind = [layer.name], "compute"
        nested += 1
    for layer in layers:
        inner_ms = children_ms.get(layer.name)
        if inner_ms is not None:
            layer.time_ms = max(0.0, layer.time_ms - inner_ms)
    if not nested:
        return []
    return [f"{nested} layer(s) ran inside If/Loop/Scan bodies; each control-flow layer shows "
            "its own time only (branch selection, copies, profiling of its body)"]


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
