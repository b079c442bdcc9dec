"""Sliding windows that do not fit their input: a Conv or pooling kernel wider than the
(padded) input it slides over.

ONNX shape inference divides with truncation, so such a Conv gets an output of size 1 where a
runtime refuses the model ("Invalid input shape"). It happens when a dynamic length was filled
by a default too short for the model (an audio model's STFT kernel of 256 samples against a
default of 128): the caller then tries longer defaults.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from profiler.model.graph import Graph, Node

WINDOW_OPS = frozenset({"Conv", "ConvInteger", "QLinearConv", "MaxPool", "AveragePool", "LpPool"})


@dataclass(frozen=True)
class TooSmall:
    """``node``'s window needs ``needed`` elements along an axis that holds ``available``."""

    node: str
    op_type: str
    needed: int
    available: int


def too_small_windows(graph: Graph) -> list[TooSmall]:
    """Every window op (in the branches that run, where an If's condition is known) whose
    kernel is wider than its padded input."""
    return [problem for node, owner in _running_nodes(graph) if node.op_type in WINDOW_OPS
            for problem in _check(node, owner)]


def _running_nodes(graph: Graph) -> Iterator[tuple[Node, Graph]]:
    for node in graph.nodes:
        yield node, graph
        for name, body in node.subgraphs.items():
            if node.op_type == "If" and not _branch_runs(node, name, graph):
                continue
            yield from _running_nodes(body)


def _branch_runs(node: Node, branch: str, graph: Graph) -> bool:
    condition = graph.constant_values.get(node.inputs[0]) if node.inputs else None
    if not condition or len(condition) != 1:
        return True  # unknown: either may run
    return (branch == "then_branch") == bool(condition[0])


def _check(node: Node, graph: Graph) -> list[TooSmall]:
    if str(node.attributes.get("auto_pad", "NOTSET")) not in ("NOTSET", "VALID"):
        return []  # SAME padding fits any input
    data = graph.tensor(node.inputs[0]).static_shape() if node.inputs else None
    kernel = _kernel(node, graph)
    if data is None or kernel is None or len(data) - 2 != len(kernel):
        return []
    spatial = data[2:]
    pads = _ints(node.attributes.get("pads"), [0] * 2 * len(kernel))
    dilations = _ints(node.attributes.get("dilations"), [1] * len(kernel))
    problems = []
    for axis, size in enumerate(kernel):
        needed = (size - 1) * dilations[axis] + 1
        available = spatial[axis] + pads[axis] + pads[axis + len(kernel)]
        if available < needed:
            problems.append(TooSmall(node.name, node.op_type, needed, available))
    return problems


def _kernel(node: Node, graph: Graph) -> tuple[int, ...] | None:
    given = node.attributes.get("kernel_shape")
    if given:
        return tuple(int(k) for k in given)
    if node.op_type in ("Conv", "ConvInteger") and len(node.inputs) > 1:
        weight = graph.tensor(node.inputs[1]).static_shape()
        return weight[2:] if weight is not None else None
    if node.op_type == "QLinearConv" and len(node.inputs) > 3:
        weight = graph.tensor(node.inputs[3]).static_shape()
        return weight[2:] if weight is not None else None
    return None


def _ints(value: object, default: Sequence[int]) -> list[int]:
    if isinstance(value, (list, tuple)) and value:
        return [int(v) for v in value]
    return list(default)
