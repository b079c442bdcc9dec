"""The cost registry: one cost function per op type, per op-semantics domain.

Conventions (stated in every report):
- ``macs`` counts multiply-accumulates of linear-algebra ops (Conv*, Gemm, MatMul, Einsum,
  RNN gates, attention products). FLOPs of those are 2 x MACs.
- ``other_flops`` counts every other arithmetic operation once per element (an add, a
  compare, an exp, a divide): element-wise ops, normalisations, pooling, softmax.
- A node's FLOPs = 2 x macs + other_flops.
Published MAC counts (ResNet-50 4.089 G ...) are convolution and fully-connected MACs, which
is exactly ``macs``.

Domains: ``"onnx"`` for ONNX op semantics (keys are the op type for the default domain,
``"domain:OpType"`` for others, e.g. ``"com.microsoft:Attention"``) and ``"openvino"`` for
OpenVINO opset semantics (IR and TFLite models, keys are the OpenVINO type names).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from profiler.model.graph import Graph, Node, TensorInfo
from profiler.records.record import record


class ShapeUnknown(Exception):
    """A cost function needs a shape that inference could not determine."""


@record(frozen=True)
class OpCost:
    macs: int = 0
    other_flops: int = 0
    note: str = ""

    @property
    def flops(self) -> int:
        return 2 * self.macs + self.other_flops


class CostContext:
    """What a cost function may read about one node: shapes, dtypes, attributes, constants."""

    def __init__(self, node: Node, graph: Graph, outers: list[Graph] | None = None) -> None:
        self.node = node
        self.graph = graph
        self.outers = outers or []
        """Enclosing graphs, innermost first: subgraph bodies read outer-scope tensors."""

    def tensor(self, name: str) -> TensorInfo:
        for scope in (self.graph, *self.outers):
            if name in scope.tensors or name in scope.constants:
                return scope.tensor(name)
        return TensorInfo(name)

    def has_input(self, index: int) -> bool:
        return index < len(self.node.inputs) and bool(self.node.inputs[index])

    def input(self, index: int) -> TensorInfo:
        if not self.has_input(index):
            raise ShapeUnknown(f"input {index} is absent")
        return self.tensor(self.node.inputs[index])

    def output(self, index: int = 0) -> TensorInfo:
        if index >= len(self.node.outputs) or not self.node.outputs[index]:
            raise ShapeUnknown(f"output {index} is absent")
        return self.tensor(self.node.outputs[index])

    def input_shape(self, index: int) -> tuple[int, ...]:
        return _static(self.input(index))

    def output_shape(self, index: int = 0) -> tuple[int, ...]:
        return _static(self.output(index))

    def input_elements(self, index: int) -> int:
        return math.prod(self.input_shape(index))

    def output_elements(self, index: int = 0) -> int:
        return math.prod(self.output_shape(index))

    def all_output_elements(self) -> int:
        """Elements over every present output."""
        return sum(
            math.prod(self.output_shape(i)) for i, name in enumerate(self.node.outputs) if name
        )

    def attr(self, name: str, default: Any = None) -> Any:
        return self.node.attributes.get(name, default)

    def constant_values(self, index: int) -> list[float | int] | None:
        """Values of a small constant input (shape vectors, scalars), else None."""
        if not self.has_input(index):
            return None
        name = self.node.inputs[index]
        for scope in (self.graph, *self.outers):
            if name in scope.constant_values:
                return scope.constant_values[name]
        return None


def _static(info: TensorInfo) -> tuple[int, ...]:
    shape = info.static_shape()
    if shape is None:
        raise ShapeUnknown(f"shape of {info.name!r} is unknown")
    return shape


CostFn = Callable[[CostContext], OpCost]


@record(frozen=True)
class CostEntry:
    function: CostFn
    computes: bool
    """False for data-movement ops (Reshape, Concat...): zero arithmetic by design, not unknown."""


_REGISTRY: dict[str, dict[str, CostEntry]] = {"onnx": {}, "openvino": {}}


def register(domain: str, *op_types: str, computes: bool = True) -> Callable[[CostFn], CostFn]:
    """Decorator: ``@register("onnx", "Relu", "Sigmoid")`` registers one function for them."""

    def decorate(function: CostFn) -> CostFn:
        for op_type in op_types:
            _REGISTRY[domain][op_type] = CostEntry(function, computes)
        return function

    return decorate


def _no_compute(_: CostContext) -> OpCost:
    return OpCost()


def register_data_movement(domain: str, *op_types: str) -> None:
    """Ops that only move, reshape or select data: zero arithmetic, reported as such."""
    register(domain, *op_types, computes=False)(_no_compute)


def registry_key(node: Node) -> str:
    return node.op_type if node.domain in ("", "ai.onnx") else f"{node.domain}:{node.op_type}"


def lookup(domain: str, node: Node) -> CostEntry | None:
    """The cost entry for ``node``; OpenVINO nodes match on type name alone."""
    table = _REGISTRY[domain]
    key = node.op_type if domain == "openvino" else registry_key(node)
    return table.get(key)


def registered_op_types(domain: str) -> list[str]:
    return sorted(_REGISTRY[domain])
