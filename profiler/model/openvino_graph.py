"""Turn an OpenVINO ``ov.Model`` (reshaped to static inputs) into the format-neutral Graph.

Naming (stable across loads of the same file):
- a node is named by its friendly name, duplicates get ``#2``, ``#3``...;
- TFLite ops have no names of their own: the frontend names nodes by operator index (``0``,
  ``0_1``) or from a process-wide counter (``Concat_12``), and its transpose sinking hands a
  removed node's name to another op (an Add named ``Transpose_6``). Such a node takes its
  output tensor's name from the file, else ``<its op type>_<position>``;
- a tensor is named by its first (sorted) OpenVINO tensor name, which is what the source
  framework called it; an unnamed output port ``i`` is ``"<node name>:<i>"``;
- a Parameter's tensor is the input's name, as given to ``--shape``;
- an output port after the first that nothing reads (MaxPool's indices) is ``""``, as ONNX
  writes an omitted optional output, so it is not counted as an activation.

No weight bytes are read: constants are described by shape and dtype; only constants of at
most SMALL_CONSTANT_ELEMENTS elements keep their values (shape vectors, axes).
"""

from __future__ import annotations

import re
from typing import Any

from profiler.model.graph import Dim, Graph, Node, TensorInfo, check_tensor_size, unique_name

SMALL_CONSTANT_ELEMENTS = 64
DOMAIN = "openvino"

_DTYPE_NAMES = {
    "f64": "float64", "f32": "float32", "f16": "float16", "bf16": "bfloat16",
    "f8e4m3": "float8e4m3fn", "f8e5m2": "float8e5m2", "f4e2m1": "float4e2m1",
    "f8e8m0": "float8e8m0", "nf4": "nf4",
    "i64": "int64", "i32": "int32", "i16": "int16", "i8": "int8", "i4": "int4",
    "u64": "uint64", "u32": "uint32", "u16": "uint16", "u8": "uint8", "u6": "uint6",
    "u4": "uint4", "u3": "uint3", "u2": "uint2", "u1": "uint1",
    "boolean": "bool", "string": "string",
}

# Constant values are read only for these element types: the low-bit ones are packed, and
# reading a string constant's vector is not safe in every runtime version.
_READABLE_DTYPES = frozenset(
    {"f64", "f32", "f16", "i64", "i32", "i16", "i8", "u64", "u32", "u16", "u8", "boolean"}
)

# Outputs that are not a function of constant inputs alone: never marked as folded.
_NOT_FOLDABLE_OPS = frozenset(
    {"RandomUniform", "Multinomial", "ReadValue", "Assign", "Parameter", "Result"}
)

_GENERATED_NAME = re.compile(r"^(?:[A-Z][A-Za-z0-9]*(?:_\d+)+|\d+(?:_\d+)*)$")
BODY_OPS = frozenset({"Loop", "TensorIterator", "If"})


def dtype_name(element_type: Any) -> str:
    """numpy-style name of an ``ov.Type`` ("float32", "int8", "uint1"); "unknown" if dynamic."""
    return _DTYPE_NAMES.get(element_type.get_type_name(), "unknown")


def partial_shape(shape: Any) -> tuple[Dim, ...] | None:
    """Static dims as ints, dynamic ones as None; None when even the rank is dynamic."""
    if shape.rank.is_dynamic:
        return None
    return tuple(int(d.get_length()) if d.is_static else None for d in shape)


def plain_value(value: Any) -> Any:
    """An attribute value as plain Python: lists of ints, str, bool, float, dicts of those."""
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): plain_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_value(v) for v in value]
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return plain_value(value.tolist())
    return str(value)


def _attributes(ov_node: Any) -> dict[str, Any]:
    try:
        attributes = ov_node.get_attributes()
    except Exception:  # an op whose attributes the Python API cannot visit: none shown
        return {}
    return {str(key): plain_value(value) for key, value in attributes.items()}


class _Names:
    """Unique node and tensor names, and the tensor name of each (node, port) seen so far."""

    def __init__(self, rename_generated: bool) -> None:
        self.rename_generated = rename_generated
        self.nodes: set[str] = set()
        self.tensors: set[str] = set()
        self.by_port: dict[tuple[str, int], str] = {}

    def node(self, ov_node: Any, position: int) -> str:
        base = ov_node.get_friendly_name()
        if self.rename_generated and (not base or _GENERATED_NAME.match(base)):
            base = _file_name(ov_node)
        return unique_name(base or f"{ov_node.get_type_name()}_{position}", self.nodes)

    def tensor(self, ov_node: Any, port: int, preferred: str) -> str:
        name = unique_name(preferred, self.tensors)
        self.by_port[(ov_node.get_name(), port)] = name
        return name

    def source(self, ov_input: Any) -> str:
        output = ov_input.get_source_output()
        return self.by_port.get((output.get_node().get_name(), output.get_index()), "")


def _file_name(ov_node: Any) -> str:
    """The first output's tensor name as the source file spells it ("" when it has none)."""
    outputs = ov_node.outputs()
    names = sorted(outputs[0].get_names()) if outputs else []
    return names[0] if names else ""


def _tensor_info(name: str, output: Any) -> TensorInfo:
    return check_tensor_size(TensorInfo(name, dtype_name(output.get_element_type()),
                                        partial_shape(output.get_partial_shape())))


def _port_name(output: Any, node_name: str) -> str:
    names = sorted(output.get_names())
    return names[0] if names else f"{node_name}:{output.get_index()}"


def input_name(parameter: Any) -> str:
    """The name a user gives to ``--shape``: the input's tensor name, else its friendly name."""
    names = sorted(parameter.output(0).get_names())
    return names[0] if names else parameter.get_friendly_name()


def build_graph(model: Any, rename_generated: bool = False) -> Graph:
    """Convert ``model`` (an ``ov.Model``): nodes in ``get_ordered_ops()`` (topological) order."""
    graph = Graph()
    names = _Names(rename_generated)
    for parameter in model.get_parameters():  # input names first: they are what users type
        names.tensor(parameter, 0, input_name(parameter))
    for position, ov_node in enumerate(model.get_ordered_ops()):
        type_name = ov_node.get_type_name()
        if type_name == "Parameter":
            graph.inputs.append(_add_parameter(graph, names, ov_node))
        elif type_name == "Result":
            graph.outputs.append(graph.tensor(names.source(ov_node.input(0))))
        else:
            graph.nodes.append(_add_node(graph, names, ov_node, position))
    return graph


def _add_parameter(graph: Graph, names: _Names, parameter: Any) -> TensorInfo:
    name = names.by_port[(parameter.get_name(), 0)]
    info = _tensor_info(name, parameter.output(0))
    graph.tensors[name] = info
    return info


def _add_node(graph: Graph, names: _Names, ov_node: Any, position: int) -> Node:
    node_name = names.node(ov_node, position)
    node = Node(
        name=node_name,
        op_type=ov_node.get_type_name(),
        domain=DOMAIN,
        inputs=[names.source(ov_input) for ov_input in ov_node.inputs()],
        attributes=_attributes(ov_node),
    )
    for output in ov_node.outputs():
        if output.get_index() > 0 and not output.get_target_inputs():
            node.outputs.append("")  # an extra result nothing reads (MaxPool's indices)
            continue
        tensor = names.tensor(ov_node, output.get_index(), _port_name(output, node_name))
        node.outputs.append(tensor)
        graph.tensors[tensor] = _tensor_info(tensor, output)
    if node.op_type == "Constant":
        _record_constant(graph, ov_node, node.outputs[0])
    elif _is_foldable(graph, node):
        graph.folded.update(node.outputs)
    return node


def _record_constant(graph: Graph, constant: Any, name: str) -> None:
    info = graph.tensors[name]
    graph.constants[name] = info
    count = info.element_count
    element_type = constant.get_output_element_type(0).get_type_name()
    if count is None or count > SMALL_CONSTANT_ELEMENTS or element_type not in _READABLE_DTYPES:
        return
    try:
        values = constant.get_vector()
    except Exception:  # the values are simply unavailable; the shape and dtype still hold
        return
    graph.constant_values[name] = list(values.reshape(-1).tolist())


def _is_foldable(graph: Graph, node: Node) -> bool:
    """Every input fixed in the file: runtimes compute such nodes once, at load time."""
    inputs = [name for name in node.inputs if name]
    return (
        bool(inputs)
        and node.op_type not in _NOT_FOLDABLE_OPS
        and node.op_type not in BODY_OPS
        and all(name in graph.constants or name in graph.folded for name in inputs)
    )


def count_body_ops(model: Any) -> int:
    """How many top-level ops carry bodies (Loop, TensorIterator, If) that are not expanded."""
    return sum(1 for op in model.get_ordered_ops() if op.get_type_name() in BODY_OPS)
