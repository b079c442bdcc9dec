"""The format-neutral model graph every loader produces and every analysis reads.

Tensors carry shapes and dtypes, never weight bytes: analysis needs sizes, not values, so a
model with gigabytes of weights is described without reading them.
"""

from __future__ import annotations

import math
from dataclasses import field
from typing import Any

from profiler.errors import ProfilerError
from profiler.records.model import Dim  # the report's dimension type; loaders import it here
from profiler.records.record import record

DTYPE_BITS: dict[str, int] = {
    "float64": 64, "float32": 32, "float16": 16, "bfloat16": 16,
    "float8e4m3fn": 8, "float8e4m3fnuz": 8, "float8e5m2": 8, "float8e5m2fnuz": 8, "float4e2m1": 4,
    "int64": 64, "int32": 32, "int16": 16, "int8": 8, "int4": 4, "int2": 2,
    "uint64": 64, "uint32": 32, "uint16": 16, "uint8": 8, "uint4": 4, "uint2": 2, "uint1": 1,
    "bool": 8, "complex64": 64, "complex128": 128,
    "nf4": 4, "float8e8m0": 8, "uint3": 3, "uint6": 6,
}
"""Storage bits per element. int4 packs two elements per byte (rounded up per tensor)."""

FLOAT_DTYPES = frozenset(
    {"float64", "float32", "float16", "bfloat16", "float8e4m3fn", "float8e4m3fnuz",
     "float8e5m2", "float8e5m2fnuz", "float4e2m1"}
)
"""Dtypes that hold learned weights (besides the low-bit integer ones)."""

QUANTIZED_WEIGHT_DTYPES = frozenset({"int8", "uint8", "int4", "uint4", "int2", "uint2", "uint1"})

MAX_TENSOR_ELEMENTS = 2**63 - 1
"""Runtimes index tensors with int64: a tensor declared larger cannot exist, and its figures
would overflow the report's numbers, so loading refuses it (sizes are never allocated)."""


def bytes_for(dtype: str, element_count: int) -> int | None:
    """Bytes needed to store ``element_count`` elements of ``dtype``; None for unknown dtypes."""
    bits = DTYPE_BITS.get(dtype)
    if bits is None:
        return None
    return (element_count * bits + 7) // 8


def unique_name(base: str, used: set[str]) -> str:
    """``base``, or ``base#2``, ``base#3``... when taken; records the name as used."""
    name, suffix = base, 1
    while name in used:
        suffix += 1
        name = f"{base}#{suffix}"
    used.add(name)
    return name


@record
class TensorInfo:
    """A named tensor: its dtype and shape (None when even the rank is unknown)."""

    name: str
    dtype: str = "unknown"
    shape: tuple[Dim, ...] | None = None

    @property
    def is_static(self) -> bool:
        """True when every dimension is a known non-negative integer."""
        if self.shape is None:
            return False
        for dim in self.shape:  # noqa: SIM110  (a loop, not all(): asked thousands of times)
            if not isinstance(dim, int) or dim < 0:
                return False
        return True

    @property
    def element_count(self) -> int | None:
        if not self.is_static:
            return None
        assert self.shape is not None
        return math.prod(self.shape)  # type: ignore[arg-type]  # static: all ints

    @property
    def nbytes(self) -> int | None:
        count = self.element_count
        return None if count is None else bytes_for(self.dtype, count)

    def static_shape(self) -> tuple[int, ...] | None:
        """The shape as ints when fully known, else None."""
        if not self.is_static:
            return None
        return tuple(int(d) for d in self.shape)  # type: ignore[union-attr,arg-type]


def check_tensor_size(info: TensorInfo) -> TensorInfo:
    """``info`` when its declared size is possible; ProfilerError naming the tensor otherwise."""
    if info.shape is None:
        return info
    sizes = [d for d in info.shape if isinstance(d, int)]
    if any(d < 0 for d in sizes):
        return info  # a negative dim means "unknown" in declarations; constants check it
    count = math.prod(sizes)
    if count > MAX_TENSOR_ELEMENTS:
        digits = str(count)  # may exceed a float's range: format the integer itself
        raise ProfilerError(
            f"tensor {info.name!r} would hold about 10^{len(digits) - 1} elements, more than "
            "any runtime can address (2^63 - 1); refused"
        )
    return info


@record
class Node:
    """One operation. ``inputs`` keeps '' for omitted optional inputs, so positions hold."""

    name: str
    op_type: str
    domain: str = ""
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    attributes: dict[str, Any] = field(default_factory=dict)
    subgraphs: dict[str, Graph] = field(default_factory=dict)


@record
class Graph:
    """Nodes in execution (topological) order and every tensor known about them.

    ``constants`` are tensors whose values are fixed in the file (initializers, Constant
    outputs, ConstantOfShape outputs of a fixed shape): the model's weights. ``constant_values``
    holds the values of small constants only (shape tensors, trip counts), never weights.
    """

    nodes: list[Node] = field(default_factory=list)
    inputs: list[TensorInfo] = field(default_factory=list)
    outputs: list[TensorInfo] = field(default_factory=list)
    tensors: dict[str, TensorInfo] = field(default_factory=dict)
    constants: dict[str, TensorInfo] = field(default_factory=dict)
    constant_values: dict[str, list[float | int]] = field(default_factory=dict)
    folded: set[str] = field(default_factory=set)
    """Tensors computed only from constants: runtimes fold them at load time."""

    def tensor(self, name: str) -> TensorInfo:
        """The info for ``name``; an unknown tensor gets an empty (unknown) info."""
        info = self.tensors.get(name)
        if info is None:
            info = self.constants.get(name)
        return info if info is not None else TensorInfo(name)


@record(frozen=True)
class ValueRule:
    """How one input's values are made for a run (and fed to constant propagation)."""

    kind: str = "random"
    """'random' (by dtype) | 'range' (ints in [low, high), floats uniform) | 'fill' (one value)."""
    low: float | None = None
    high: float | None = None
    fill: float | None = None
    source: str = "random"
    """'user' | 'user-range' | 'graph' | 'random' | 'file'."""
    note: str = ""
    """Why these values, in a few words (e.g. the table the ids index)."""
    guessed: bool = False
    """True when nothing in the graph or the user's settings vouches for the values."""


@record
class InputSpec:
    """A model input with the shape it was analysed at and where each size came from."""

    name: str
    dtype: str
    declared_shape: tuple[Dim, ...] | None
    shape: tuple[int, ...] | None
    shape_source: str = "model"  # "model" | "default" | "override"
    values: ValueRule = field(default_factory=ValueRule)


@record
class ModelGraph:
    """A loaded model: the graph plus what the file says about itself."""

    path: str
    format: str  # "onnx" | "openvino-ir" | "tflite"
    graph: Graph
    files: list[str] = field(default_factory=list)
    file_bytes: int = 0
    opsets: dict[str, int] = field(default_factory=dict)
    ir_version: int | None = None
    producer: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    input_specs: list[InputSpec] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    sha256: str = ""
    """The model file's digest when the loader read the file whole ('' : not computed)."""

    @property
    def cost_domain(self) -> str:
        """Which cost registry applies: ONNX op semantics or OpenVINO opset semantics."""
        return "onnx" if self.format == "onnx" else "openvino"
