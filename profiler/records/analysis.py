"""The static-analysis result: per-layer cost, totals, breakdown by op type."""

from __future__ import annotations

from dataclasses import field
from typing import Any

from profiler.records.model import Dim
from profiler.records.record import record

CONVENTIONS: dict[str, str] = {
    "macs": "multiply-accumulates of Conv/ConvTranspose/Gemm/MatMul/Einsum/RNN/attention "
            "products; published 'MACs' or 'multiply-adds' figures count exactly these",
    "flops": "2 x macs + one operation per element for every other arithmetic op "
             "(element-wise, normalisation, pooling, softmax, activations)",
    "params": "elements of stored floating-point and low-bit integer constants (scalars "
              "such as Clip bounds excluded); a weight "
              "shared by several nodes counts once in totals and appears on each consumer "
              "layer",
    "weight_bytes": "bytes of all constants as the runtime holds them (int4 = 0.5 byte)",
    "activation_bytes": "bytes of every node output that is not a constant",
    "peak_activation_bytes": "largest sum of live activations (graph inputs included) while "
                             "running the nodes in execution order; a tensor is freed after "
                             "its last consumer",
    "subgraphs": "If: the branch its condition selects counts when the condition follows "
                 "from the input shapes and given input values, else the costlier branch "
                 "(an upper bound, warned); the other branch's layers have multiplier 0; "
                 "Loop: body x trip count when it is a constant, else x1 (noted); "
                 "Scan: body x scan length",
}


@record
class LayerCost:
    """Static cost of one node. ``status`` says how to read a zero:
    ok (computed), no_compute (moves data only), unsupported (no cost function),
    shape_unknown (a needed shape stayed unknown), control (If/Loop/Scan; body layers follow).
    """

    name: str
    op_type: str
    domain: str = ""
    status: str = "ok"
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    output_shapes: list[list[Dim] | None] = field(default_factory=list)
    output_dtypes: list[str] = field(default_factory=list)
    macs: int = 0
    flops: int = 0
    params: int = 0
    weight_bytes: int = 0
    activation_bytes: int = 0
    memory_access_bytes: int = 0
    """Bytes read (inputs, weights) plus bytes written (outputs): the roofline denominator."""
    attributes: dict[str, Any] = field(default_factory=dict)
    """The node's scalar, string and short-list attributes (kernel_shape, strides, axis...);
    tensors and subgraphs are left out, long values are cut."""
    subgraph: str = ""
    """For nodes inside If/Loop/Scan bodies: 'parent_node/attribute'."""
    multiplier: float = 1.0
    """How many times this layer counts in totals (trip count; 0 for an If branch not counted)."""
    note: str = ""

    @property
    def arithmetic_intensity(self) -> float | None:
        """FLOPs per byte moved; None when nothing is moved."""
        return self.flops / self.memory_access_bytes if self.memory_access_bytes else None


@record
class OpTypeCost:
    op_type: str
    count: int = 0
    macs: int = 0
    flops: int = 0
    params: int = 0
    activation_bytes: int = 0


@record
class AnalysisTotals:
    macs: int = 0
    flops: int = 0
    params: int = 0
    weight_bytes: int = 0
    weight_bytes_by_dtype: dict[str, int] = field(default_factory=dict)
    activation_bytes: int = 0
    peak_activation_bytes: int = 0
    node_count: int = 0
    layer_count: int = 0
    constant_node_count: int = 0
    """Nodes that only make constants (Constant, ConstantOfShape, folded chains): not layers."""


@record
class StaticAnalysis:
    totals: AnalysisTotals = field(default_factory=AnalysisTotals)
    by_op_type: list[OpTypeCost] = field(default_factory=list)
    layers: list[LayerCost] = field(default_factory=list)
    unsupported_ops: dict[str, int] = field(default_factory=dict)
    unknown_shape_nodes: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    conventions: dict[str, str] = field(default_factory=lambda: dict(CONVENTIONS))
