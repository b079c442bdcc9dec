"""What a runtime folds at compile time once every input has a static shape.

OpenVINO reshapes a model to the run's input shapes before compiling it, so a chain that only
reads shapes (Shape -> Gather -> Unsqueeze -> Concat -> a Reshape's target, YOLO anchor grids
built from Range and Expand) is a constant there and never runs as a layer. ModelIndex counts
these nodes as fixed, so they are not reported as compute nodes no runtime layer claims.
"""

from __future__ import annotations

from typing import Any

SHAPE_OPS = frozenset({"Shape", "Size", "ShapeOf"})
"""Ops whose output is a tensor's shape: a constant once that shape is static."""
NEVER_FOLDED_OPS = frozenset(
    {"RandomNormal", "RandomUniform", "RandomNormalLike", "RandomUniformLike", "Multinomial",
     "Bernoulli", "Dropout", "ReadValue", "Assign"}
)
"""Ops whose outputs are not a function of their inputs alone (random, stateful)."""


def shape_folded(graph: Any) -> set[str]:
    """Tensors a runtime computes once at compile time for static input shapes: constants,
    the Shape of a tensor whose shape is static, whatever is computed from those alone
    (Shape -> Gather -> Unsqueeze -> Concat -> a Reshape's target, anchor grids), and the
    outputs of nodes that only those read (dead once the shape chain is folded)."""
    fixed = set(graph.constants) | set(graph.folded)
    for node in graph.nodes:  # in execution order: a chain folds link by link
        inputs = [t for t in node.inputs if t]
        if node.op_type in SHAPE_OPS and inputs:
            computable = graph.tensor(inputs[0]).is_static
        else:
            computable = bool(inputs) and not node.subgraphs and \
                node.op_type not in NEVER_FOLDED_OPS and all(t in fixed for t in inputs)
        if computable:
            fixed.update(t for t in node.outputs if t)
    return fixed | dead_tensors(graph, fixed)


def dead_tensors(graph: Any, fixed: set[str]) -> set[str]:
    """Outputs of nodes whose every reader is folded or dead (an activation read only by a
    Shape). Graphs with control flow are left alone: a body may read any outer tensor."""
    if any(node.subgraphs for node in graph.nodes):
        return set()
    kept = {t.name for t in graph.outputs}
    readers: dict[str, list[Any]] = {}
    for node in graph.nodes:
        for tensor in {t for t in node.inputs if t}:
            readers.setdefault(tensor, []).append(node)
    dead: set[str] = set()
    for node in reversed(graph.nodes):
        outputs = [t for t in node.outputs if t]
        users = [user for t in outputs for user in readers.get(t, [])]
        if outputs and users and not kept.intersection(outputs) and all(
                all(t in fixed or t in dead for t in user.outputs if t) for user in users):
            dead.update(outputs)
    return dead
