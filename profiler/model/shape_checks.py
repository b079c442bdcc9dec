"""Shapes a runtime will refuse although shape inference let them through.

- Sliding windows that do not fit their input: a Conv or pooling kernel wider than the (padded)
  input it slides over. ONNX shape inference divides with truncation, so such a Conv gets an
  output of size 1 where a runtime says "Invalid input shape". It happens when a dynamic length
  was filled by a default too short for the model (an audio model's STFT kernel of 256 samples
  against a default of 128).
- Joins whose operands disagree: a Concat whose inputs differ off the concat axis, element-wise
  operands that do not broadcast, a MatMul whose inner dims differ. It happens when a dynamic
  image side was filled by a default the model's architecture does not allow (an OCR
  recogniser whose height must collapse to 1: 48 works, 224 does not).
The caller then tries other default sizes.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from profiler.model.graph import Graph, Node
from profiler.records.record import record

BROADCAST_OPS = frozenset({"Add", "Sub", "Mul", "Div", "Pow", "Where", "Max", "Min", "Equal",
                           "Greater", "Less", "And", "Or", "PRelu"})
WINDOW_OPS = frozenset({"Conv", "ConvInteger", "QLinearConv", "MaxPool", "AveragePool", "LpPool"})


@record(frozen=True)
class TooSmall:
    """``node``'s window needs ``needed`` elements along an axis that holds ``available``."""

    node: str
    op_type: str
    needed: int
    available: int

    def text(self) -> str:
        return (f"{self.op_type} '{self.node}' needs {self.needed} along an axis that holds "
                f"{self.available}")


@record(frozen=True)
class Mismatch:
    """``node``'s operands disagree: ``detail`` says how."""

    node: str
    op_type: str
    detail: str

    def text(self) -> str:
        return f"{self.op_type} '{self.node}' {self.detail}"


Problem = TooSmall | Mismatch


def shape_problems(graph: Graph) -> list[Problem]:
    """Every window that does not fit and every join whose operands disagree, in the branches
    that run."""
    problems: list[Problem] = []
    for node, owner in _running_nodes(graph):
        if node.op_type in WINDOW_OPS:
            problems.extend(_check(node, owner))
        elif node.op_type in JOIN_CHECKS:
            problem = JOIN_CHECKS[node.op_type](node, owner)
            if problem is not None:
                problems.append(problem)
    return problems


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


def _static_inputs(node: Node, graph: Graph) -> list[tuple[int, ...]] | None:
    shapes = [graph.tensor(name).static_shape() for name in node.inputs if name]
    return None if any(shape is None for shape in shapes) else shapes  # type: ignore[return-value]


def _concat(node: Node, graph: Graph) -> Mismatch | None:
    shapes = _static_inputs(node, graph)
    if not shapes or len({len(shape) for shape in shapes}) != 1 or not shapes[0]:
        return None
    axis = int(node.attributes.get("axis", 0)) % len(shapes[0])
    for dim in range(len(shapes[0])):
        sizes = {shape[dim] for shape in shapes}
        if dim != axis and len(sizes) > 1:
            differ = " vs ".join(map(str, sorted(sizes)))
            return Mismatch(node.name, node.op_type,
                            f"joins inputs whose dim {dim} differ ({differ})")
    return None


def _broadcast(node: Node, graph: Graph) -> Mismatch | None:
    shapes = _static_inputs(node, graph)
    if not shapes or len(shapes) < 2:
        return None
    rank = max(len(shape) for shape in shapes)
    padded = [(1,) * (rank - len(shape)) + shape for shape in shapes]
    for dim in range(rank):
        sizes = {shape[dim] for shape in padded} - {1}
        if len(sizes) > 1:
            return Mismatch(node.name, node.op_type,
                            f"gets operands that do not broadcast (dim {dim}: "
                            f"{' vs '.join(map(str, sorted(sizes)))})")
    return None


def _matmul(node: Node, graph: Graph) -> Mismatch | None:
    shapes = _static_inputs(node, graph)
    if not shapes or len(shapes) != 2 or min(len(s) for s in shapes) < 2:
        return None
    left, right = shapes
    if left[-1] != right[-2]:
        return Mismatch(node.name, node.op_type,
                        f"multiplies {left[-1]} columns by {right[-2]} rows")
    return None


JOIN_CHECKS = {"Concat": _concat, "MatMul": _matmul, **{op: _broadcast for op in BROADCAST_OPS}}
