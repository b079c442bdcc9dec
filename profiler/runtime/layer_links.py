"""Runtime layers no original name maps, placed through the runtime model's own connections.

OpenVINO's compile makes some layers under new names: it splits a bidirectional LSTMSequence
into a forward and a backward one ("LSTMSequence_15542"), fuses Slices into a VariadicSplit,
hoists a zero-point subtraction out of two MatMulIntegers. Such a layer computes part of the
node it feeds, so it takes that node from the nearest named layer downstream (see
``inherited_nodes``). Reorders and Converts are the plugin's own inserts and stay unmapped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from profiler.records.record import record
from profiler.runtime.backend import ModelIndex

if TYPE_CHECKING:
    from profiler.runtime.layers_ov import OvLayerInfo

SKIPPED_LAYER_TYPES = frozenset({"Input", "Output", "Const", "Parameter", "Result", "Constant"})
INSERT_LAYER_TYPES = frozenset({"Reorder", "Convert"})
"""Layers the plugin inserts for layout or precision: they never inherit a neighbour's node."""
INHERIT_HOPS = 8
"""How many runtime layers an unnamed layer looks through for the named ones it feeds."""


@record
class _Links:
    """The runtime model's data flow by layer name: who reads a layer, what a layer reads."""

    readers: dict[str, list[str]]
    sources: dict[str, list[str]]


def inherited_nodes(layers: list[OvLayerInfo], direct: list[list[str]],
                    index: ModelIndex) -> list[list[str]]:
    """For each layer without ``direct`` nodes (those its names resolve to), the nodes it
    takes from its neighbours; [] for named layers and for inserts."""
    named = {layer.name: nodes for layer, nodes in zip(layers, direct, strict=True) if nodes}
    links = _Links(readers={}, sources={layer.name: layer.inputs for layer in layers})
    for layer in layers:
        for source in dict.fromkeys(layer.inputs):
            links.readers.setdefault(source, []).append(layer.name)
    return [[] if nodes else _inherited(layer, named, links, index)
            for layer, nodes in zip(layers, direct, strict=True)]


def _inherited(layer: OvLayerInfo, named: dict[str, list[str]], links: _Links,
               index: ModelIndex) -> list[str]:
    """The first node of each nearest named layer the output flows into: the halves of a
    split LSTM feed the Concat named after the LSTM; a subtraction both MatMulIntegers read
    lists both. A layer that feeds no named layer takes the last node of the named layers it
    reads, when they agree."""
    if layer.layer_type in INSERT_LAYER_TYPES or layer.layer_type in SKIPPED_LAYER_TYPES:
        return []
    downstream = _nearest_named(layer.name, links.readers, named)
    if downstream:
        return index.ordered({_computing(nodes, index)[0] for nodes in downstream})
    upstream = {_computing(nodes, index)[-1]
                for nodes in _nearest_named(layer.name, links.sources, named)}
    return list(upstream) if len(upstream) == 1 else []


def _computing(nodes: list[str], index: ModelIndex) -> list[str]:
    """``nodes`` in model order, the compute ones only when there are any (a renamed Relu
    before a layer named [Unsqueeze, Conv] computes for the Conv)."""
    ordered = index.ordered(set(nodes))
    return [n for n in ordered if index.is_compute(n)] or ordered


def _nearest_named(start: str, links: dict[str, list[str]],
                   named: dict[str, list[str]]) -> list[list[str]]:
    """The nodes of the first named layer on each path from ``start`` along ``links``."""
    found: list[list[str]] = []
    seen, frontier = {start}, [start]
    for _ in range(INHERIT_HOPS):
        following = []
        for name in frontier:
            for neighbour in links.get(name, []):
                if neighbour in seen:
                    continue
                seen.add(neighbour)
                if neighbour in named:
                    found.append(named[neighbour])
                else:
                    following.append(neighbour)
        frontier = following
    return found
