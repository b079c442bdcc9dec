"""Peak activation memory from tensor lifetimes along the execution order."""

from __future__ import annotations

from profiler.model.graph import Graph


def _last_use(graph: Graph) -> dict[str, int]:
    """Index of the last node reading each tensor; graph outputs live to the end."""
    last: dict[str, int] = {}
    for index, node in enumerate(graph.nodes):
        for name in node.inputs:
            if name:
                last[name] = index
    end = len(graph.nodes)
    for output in graph.outputs:
        last[output.name] = end
    return last


def peak_activation_bytes(graph: Graph) -> int:
    """Largest sum of live activations while running ``graph.nodes`` in order.

    Graph inputs are live from the start; a node's outputs are allocated before its inputs
    are released (runtimes hold both while the node runs); constants are weights, not counted.
    Tensors of unknown size count as zero (such nodes are reported as shape-unknown).
    """
    last = _last_use(graph)
    free_after: dict[int, list[str]] = {}
    live_bytes = 0
    for info in graph.inputs:
        live_bytes += info.nbytes or 0
        free_after.setdefault(last.get(info.name, -1), []).append(info.name)
    sizes = {info.name: info.nbytes or 0 for info in graph.inputs}
    peak = live_bytes
    for index, node in enumerate(graph.nodes):
        for name in node.outputs:
            if name and name not in graph.constants and name not in graph.folded:
                sizes[name] = graph.tensor(name).nbytes or 0
                live_bytes += sizes[name]
                free_after.setdefault(last.get(name, index), []).append(name)
        peak = max(peak, live_bytes)
        for name in free_after.pop(index, []):
            live_bytes -= sizes[name]
    return peak
