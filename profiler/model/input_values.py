"""Values a model accepts, read from its graph: one ValueRule per input.

Rules, first match wins:
- a small input (a scalar, a few elements) compared with constants (Equal, Greater, Less...)
  gets the largest of those constants: mode switches (a sample rate, an enum) usually keep the
  main path at the largest value; the note says which If branch that selects;
- integers that index a table (input 1 of Gather) lie in [0, rows of the indexed axis);
- an input named like a mask (attention_mask, padding_mask) is all ones: nothing masked;
- otherwise random by dtype: floats N(0, 1) clipped to +-3, booleans fair coin flips, and
  integers in [0, 100), which nothing vouches for: those are marked guessed.
Uses are followed through ops that only move or re-type data (Cast, Reshape, Unsqueeze...).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from profiler.model.graph import Graph, InputSpec, Node, ValueRule
from profiler.records.record import record

PASS_THROUGH_OPS = frozenset(
    {"Cast", "Convert", "Identity", "Reshape", "Squeeze", "Unsqueeze", "Flatten", "Expand"}
)
"""Ops whose output carries the input's values unchanged (up to type and layout)."""
COMPARE_OPS = {"Equal": "==", "Greater": ">", "Less": "<", "GreaterOrEqual": ">=",
               "LessOrEqual": "<="}
GATHER_OPS = frozenset({"Gather"})
MASK_WORDS = ("mask",)
MAX_SMALL_ELEMENTS = 16
"""Inputs up to this many elements count as switches (scalars, small enums)."""
MAX_FOLLOW_DEPTH = 4
RANDOM_INT_RANGE = (0, 100)


@record(frozen=True)
class Use:
    """One place an input's values are read: ``node`` input ``index`` (after pass-throughs)."""

    node: Node
    index: int
    graph: Graph


def consumers(graph: Graph) -> dict[str, list[tuple[Node, int, Graph]]]:
    """Tensor name -> (node, input index, graph holding it), subgraphs included."""
    found: dict[str, list[tuple[Node, int, Graph]]] = {}
    for node, owner in _all_nodes(graph):
        for index, name in enumerate(node.inputs):
            if name:
                found.setdefault(name, []).append((node, index, owner))
    return found


def _all_nodes(graph: Graph) -> Iterator[tuple[Node, Graph]]:
    for node in graph.nodes:
        yield node, graph
        for subgraph in node.subgraphs.values():
            yield from _all_nodes(subgraph)


def uses_of(name: str, by_tensor: dict[str, list[tuple[Node, int, Graph]]]) -> list[Use]:
    """Where ``name``'s values are read, looking through pass-through ops."""
    uses: list[Use] = []
    frontier, seen = [(name, 0)], {name}
    while frontier:
        tensor, depth = frontier.pop()
        for node, index, owner in by_tensor.get(tensor, []):
            if node.op_type in PASS_THROUGH_OPS and index == 0 and depth < MAX_FOLLOW_DEPTH:
                for output in node.outputs:
                    if output and output not in seen:
                        seen.add(output)
                        frontier.append((output, depth + 1))
                continue
            uses.append(Use(node, index, owner))
    return uses


def derive_rules(graph: Graph, specs: list[InputSpec]) -> dict[str, ValueRule]:
    """One rule per input, from how the graph uses it."""
    by_tensor = consumers(graph)
    return {spec.name: derive_rule(graph, spec, uses_of(spec.name, by_tensor), by_tensor)
            for spec in specs}


def derive_rule(graph: Graph, spec: InputSpec, uses: list[Use],
                by_tensor: dict[str, list[tuple[Node, int, Graph]]]) -> ValueRule:
    for rule in (_compared_rule(graph, spec, uses, by_tensor), _gather_rule(graph, spec, uses),
                 _mask_rule(spec)):
        if rule is not None:
            return rule
    return default_rule(spec.dtype)


def default_rule(dtype: str) -> ValueRule:
    """Random by dtype; integers are marked guessed."""
    if is_integer(dtype):
        low, high = RANDOM_INT_RANGE
        return ValueRule(note=f"random integers in [{low}, {high}): nothing in the graph "
                         "bounds them", guessed=True)
    if dtype == "bool":
        return ValueRule(note="random true/false")
    return ValueRule(note="random N(0, 1) clipped to +-3")


def is_integer(dtype: str) -> bool:
    return dtype.startswith(("int", "uint"))


def element_count(spec: InputSpec) -> int | None:
    return None if spec.shape is None else math.prod(spec.shape)


# --- compared with constants ----------------------------------------------------------------


def _compared_rule(graph: Graph, spec: InputSpec, uses: list[Use],
                   by_tensor: dict[str, list[tuple[Node, int, Graph]]]) -> ValueRule | None:
    count = element_count(spec)
    if count is None or count > MAX_SMALL_ELEMENTS:
        return None
    compared = [(use, value) for use in uses if use.node.op_type in COMPARE_OPS
                for value in _constant_operand(graph, use)]
    if not compared:
        return None
    constants = sorted({value for _, value in compared})
    chosen = constants[-1]
    listed = ", ".join(_format_number(v) for v in constants)
    node_text = ", ".join(dict.fromkeys(f"{u.node.op_type} '{u.node.name}'" for u, _ in compared))
    why = (f"the largest of the constants it is compared with ({listed}; {node_text})"
           if len(constants) > 1 else f"the constant it is compared with ({node_text})")
    note = f"{_format_number(chosen)}, {why}{_branch_text(compared, chosen, by_tensor)}"
    return ValueRule("fill", fill=chosen, source="graph", note=note)


def _constant_operand(graph: Graph, use: Use) -> list[float]:
    """The one-element constant the input is compared with ([] when the other side varies)."""
    if len(use.node.inputs) != 2:
        return []
    other = use.node.inputs[1 - use.index]
    values = use.graph.constant_values.get(other) or graph.constant_values.get(other)
    if values is None or len(values) != 1:
        return []
    return [float(values[0])]


def _compare(op_type: str, left: float, right: float) -> bool:
    symbol = COMPARE_OPS[op_type]
    return {"==": left == right, ">": left > right, "<": left < right,
            ">=": left >= right, "<=": left <= right}[symbol]


def _branch_text(compared: list[tuple[Use, float]], chosen: float,
                 by_tensor: dict[str, list[tuple[Node, int, Graph]]]) -> str:
    """'; selects the then branch of If 'x'' for the first If a comparison decides."""
    for use, constant in compared:
        left, right = (chosen, constant) if use.index == 0 else (constant, chosen)
        outcome = _compare(use.node.op_type, left, right)
        for output in use.node.outputs:
            decided = _decided_if(output, outcome, by_tensor)
            if decided is not None:
                return decided
    return ""


def _decided_if(tensor: str, outcome: bool,
                by_tensor: dict[str, list[tuple[Node, int, Graph]]]) -> str | None:
    for node, index, _ in by_tensor.get(tensor, []):
        if node.op_type == "Not" and index == 0 and node.outputs:
            return _decided_if(node.outputs[0], not outcome, by_tensor)
        if node.op_type == "If" and index == 0:
            branch = "then" if outcome else "else"
            return f"; selects the {branch} branch of If '{node.name}'"
    return None


def _format_number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


# --- table indices and masks ----------------------------------------------------------------


def _gather_rule(graph: Graph, spec: InputSpec, uses: list[Use]) -> ValueRule | None:
    if not is_integer(spec.dtype):
        return None
    tables = [(rows, use) for use in uses if use.node.op_type in GATHER_OPS and use.index == 1
              for rows in _indexed_rows(graph, use)]
    if not tables:
        return None
    rows, use = min(tables, key=lambda item: item[0])
    note = f"ids into a {rows}-row table (Gather '{use.node.name}'): [0, {rows})"
    return ValueRule("range", low=0, high=rows, source="graph", note=note)


def _indexed_rows(graph: Graph, use: Use) -> list[int]:
    """The size of the axis a Gather indexes ([] when unknown)."""
    node = use.node
    axis = _gather_axis(graph, use)
    shape = use.graph.tensor(node.inputs[0]).shape or graph.tensor(node.inputs[0]).shape
    if axis is None or shape is None or not -len(shape) <= axis < len(shape):
        return []
    rows = shape[axis]
    return [rows] if isinstance(rows, int) and rows > 0 else []


def _gather_axis(graph: Graph, use: Use) -> int | None:
    """ONNX keeps the axis as an attribute; OpenVINO as a constant third input."""
    node = use.node
    if "axis" in node.attributes:
        return _as_int(node.attributes["axis"])
    if len(node.inputs) > 2 and node.inputs[2]:
        values = use.graph.constant_values.get(node.inputs[2]) or \
            graph.constant_values.get(node.inputs[2])
        return _as_int(values[0]) if values and len(values) == 1 else None
    return 0


def _as_int(value: object) -> int | None:
    """An attribute or constant as an axis; None when a malformed file holds something else."""
    return int(value) if isinstance(value, (int, float)) and float(value).is_integer() else None


def _mask_rule(spec: InputSpec) -> ValueRule | None:
    if not any(word in spec.name.lower() for word in MASK_WORDS):
        return None
    return ValueRule("fill", fill=1, source="graph",
                     note="a mask (by its name): all ones, nothing masked")
