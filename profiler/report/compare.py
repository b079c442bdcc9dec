"""Compare two reports, or two saved runs: per-device latency deltas and per-layer time deltas.

Only runs of one model are compared layer by layer: the model is the same when both sha256
are known and equal, else (a digest missing) when the names match. Across models the device
latencies are still listed, with a note, and no layer deltas.
Runs are matched by (device, variant). Layers are matched by the model nodes they cover, so
two devices (or two runtimes) that name and fuse their layers differently still pair up: the
nodes that any layer fuses together on either side form one group, and a group is compared
only when both runs timed it. Layers the runtime added (reorders, converts) cover no model node
and are left out. Deltas are B - A (positive = B is slower); percentages are relative to A.
Pure functions build the comparison; small renderers turn it into text, Markdown, JSON or the
rows a table view shows.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import field
from typing import Any

from profiler.records.model import ModelInfo
from profiler.records.record import record
from profiler.records.report import Report
from profiler.records.runs import Run, RuntimeLayer
from profiler.records.serialize import to_dict

DEFAULT_TOP_LAYERS = 10
RUNTIME_ONLY_KINDS = ("reorder", "convert", "copy", "inserted", "quantize")
"""Layer kinds without a model node of their own: nothing on the other side to pair with."""


@record
class DeviceDelta:
    device: str
    variant: str
    a_p50_ms: float | None = None
    b_p50_ms: float | None = None
    delta_ms: float | None = None
    delta_percent: float | None = None
    a_fps: float | None = None
    b_fps: float | None = None
    note: str = ""
    """Why a figure is missing: a run only in one report, or a run's error."""


@record
class LayerDelta:
    device: str
    variant: str
    layer: str
    """The group's first model node, '(+N fused)' when it covers more."""
    layer_type: str = ""
    a_ms: float | None = None
    b_ms: float | None = None
    delta_ms: float = 0.0
    delta_percent: float | None = None
    nodes: list[str] = field(default_factory=list)
    """Every model node the compared group covers."""


@record
class Comparison:
    a_name: str
    b_name: str
    devices: list[DeviceDelta] = field(default_factory=list)
    layers: list[LayerDelta] = field(default_factory=list)
    """The largest per-layer changes (by absolute delta), across all matched runs."""
    model_note: str = ""
    """'' when A and B measured the same model; else what differs (then no layer deltas)."""


# Comparability ------------------------------------------------------------------------------

def model_difference(a: ModelInfo | None, b: ModelInfo | None) -> str:
    """'' when A and B are one model; else one line saying how they differ."""
    if a is None or b is None:
        return "" if a is b else "the model of one side is not recorded"
    if a.sha256 and b.sha256:
        if a.sha256 == b.sha256:
            return ""
        if a.name == b.name:
            return (f"{a.name} changed between A and B (different sha256): latency only, "
                    "no per-layer deltas")
    elif a.name == b.name:
        return ""
    return f"different models ({a.name} vs {b.name}): latency only, no per-layer deltas"


def run_key(run: Run) -> tuple[str, str]:
    return run.device, run.variant


def percent_change(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or a == 0:
        return None
    return 100.0 * (b - a) / a


def match_runs(a_runs: Sequence[Run], b_runs: Sequence[Run]) -> list[tuple[Run | None, Run | None]]:
    """Pairs by (device, variant) in A's order, then runs only B has."""
    b_by_key = {run_key(run): run for run in b_runs}
    pairs: list[tuple[Run | None, Run | None]] = [(a, b_by_key.pop(run_key(a), None))
                                                  for a in a_runs]
    pairs += [(None, b) for b in b_by_key.values()]
    return pairs


def _p50(run: Run | None) -> float | None:
    return run.latency.p50 if run is not None and run.latency and run.latency.count else None


def _note(a: Run | None, b: Run | None) -> str:
    if a is None or b is None:
        return f"only in {'B' if a is None else 'A'}"
    errors = [f"{side}: {run.error.message}" for side, run in (("A", a), ("B", b)) if run.error]
    return "; ".join(errors)


def pair_label(a: str, b: str) -> str:
    return a if a == b else f"{a} -> {b}"


def device_delta(a: Run | None, b: Run | None) -> DeviceDelta:
    """One row; two runs on different devices (or variants) are named 'A -> B'."""
    present = a if a is not None else b
    assert present is not None
    a_ms, b_ms = _p50(a), _p50(b)
    return DeviceDelta(
        device=pair_label(a.device, b.device) if a and b else present.device,
        variant=pair_label(a.variant, b.variant) if a and b else present.variant,
        a_p50_ms=a_ms, b_p50_ms=b_ms,
        delta_ms=b_ms - a_ms if a_ms is not None and b_ms is not None else None,
        delta_percent=percent_change(a_ms, b_ms),
        a_fps=a.throughput_fps if a else None, b_fps=b.throughput_fps if b else None,
        note=_note(a, b),
    )


# Per-layer deltas, matched by model node ---------------------------------------------------

def _node_keys(layer: RuntimeLayer) -> list[str]:
    """The model nodes a runtime layer stands for; its own name when it records none (older
    reports), nothing for a layer the runtime added."""
    if layer.model_nodes:
        return list(layer.model_nodes)
    return [] if layer.kind in RUNTIME_ONLY_KINDS or not layer.name else [layer.name]


def _profiled(run: Run) -> list[RuntimeLayer]:
    return list(run.layer_profile.layers) if run.layer_profile else []


class _NodeGroups:
    """Union-find over model node names: nodes fused into one layer on either side share a
    group, which keeps the order nodes were first seen in."""

    def __init__(self, runs: Sequence[Run]) -> None:
        self.parent: dict[str, str] = {}
        for run in runs:
            for layer in _profiled(run):
                keys = _node_keys(layer)
                for key in keys[1:]:
                    self._union(keys[0], key)
                if keys:
                    self._find(keys[0])

    def _find(self, node: str) -> str:
        root = self.parent.setdefault(node, node)
        while root != self.parent[root]:
            root = self.parent[root]
        self.parent[node] = root
        return root

    def _union(self, first: str, second: str) -> None:
        root_a, root_b = self._find(first), self._find(second)
        if root_a != root_b:  # the earlier-seen root stays the group's name
            self.parent[root_b] = root_a

    def group_of(self, layer: RuntimeLayer) -> str | None:
        keys = _node_keys(layer)
        return self._find(keys[0]) if keys else None

    def members(self, root: str) -> list[str]:
        return [node for node in self.parent if self._find(node) == root]


def _group_times(run: Run, groups: _NodeGroups) -> dict[str, tuple[float, list[str]]]:
    """Group -> (ms, runtime layer types) for one run; a group's layers add up."""
    times: dict[str, tuple[float, list[str]]] = {}
    for layer in _profiled(run):
        root = groups.group_of(layer)
        if root is None:
            continue
        total_ms, kinds = times.get(root, (0.0, []))
        kind = layer.layer_type or layer.kind
        times[root] = (total_ms + layer.time_ms, kinds + ([kind] if kind not in kinds else []))
    return times


def _types_text(a_kinds: list[str], b_kinds: list[str]) -> str:
    a_text, b_text = "+".join(a_kinds), "+".join(b_kinds)
    return pair_label(a_text, b_text)


def _group_label(members: list[str]) -> str:
    return members[0] if len(members) == 1 else f"{members[0]} (+{len(members) - 1} fused)"


def layer_deltas(a: Run, b: Run) -> list[LayerDelta]:
    """One delta per group of model nodes that both runs timed, in A's order.

    A group only one side timed has no counterpart, so it is left out rather than shown as
    a 'delta' equal to its own time; nothing when either run has no per-layer profile.
    """
    groups = _NodeGroups([a, b])
    a_times, b_times = _group_times(a, groups), _group_times(b, groups)
    deltas = []
    for root in (root for root in a_times if root in b_times):
        (a_ms, a_kinds), (b_ms, b_kinds) = a_times[root], b_times[root]
        members = groups.members(root)
        deltas.append(LayerDelta(
            device=pair_label(a.device, b.device), variant=pair_label(a.variant, b.variant),
            layer=_group_label(members), layer_type=_types_text(a_kinds, b_kinds),
            a_ms=a_ms, b_ms=b_ms, delta_ms=b_ms - a_ms,
            delta_percent=percent_change(a_ms, b_ms), nodes=members))
    return deltas


def top_changes(deltas: Sequence[LayerDelta], count: int) -> list[LayerDelta]:
    return sorted(deltas, key=lambda d: (-abs(d.delta_ms), d.device, d.layer))[:count]


def compare_reports(a: Report, b: Report, a_name: str = "A", b_name: str = "B",
                    top: int = DEFAULT_TOP_LAYERS) -> Comparison:
    pairs = match_runs(a.runs, b.runs)
    note = model_difference(a.model, b.model)
    layers = [delta for run_a, run_b in pairs if run_a is not None and run_b is not None
              and not note for delta in layer_deltas(run_a, run_b)]
    return Comparison(a_name=a_name, b_name=b_name,
                      devices=[device_delta(run_a, run_b) for run_a, run_b in pairs],
                      layers=top_changes(layers, top), model_note=note)


def compare_runs(a: Run, b: Run, a_model: ModelInfo | None, b_model: ModelInfo | None,
                 names: tuple[str, str] = ("A", "B"),
                 top: int = DEFAULT_TOP_LAYERS) -> Comparison:
    """Two runs the user picked (any devices): one device row, layer deltas when the model is
    the same."""
    note = model_difference(a_model, b_model)
    return Comparison(a_name=names[0], b_name=names[1], devices=[device_delta(a, b)],
                      layers=[] if note else top_changes(layer_deltas(a, b), top),
                      model_note=note)


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.3f}"


def _delta_ms(value: float | None) -> str:
    return "-" if value is None else f"{value:+.3f} ms"


def _delta_percent(value: float | None) -> str:
    return "-" if value is None else f"{value:+.1f} %"


def device_rows(comparison: Comparison) -> list[list[str]]:
    return [[d.device, d.variant, _ms(d.a_p50_ms), _ms(d.b_p50_ms), _delta_ms(d.delta_ms),
             _delta_percent(d.delta_percent), _fps(d.a_fps, d.b_fps), d.note]
            for d in comparison.devices]


def _fps(a: float | None, b: float | None) -> str:
    return "-" if a is None and b is None else f"{_num(a)} -> {_num(b)}"


def _num(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def layer_rows(comparison: Comparison) -> list[list[str]]:
    return [[d.device, d.variant, d.layer[:48], d.layer_type, _ms(d.a_ms), _ms(d.b_ms),
             _delta_ms(d.delta_ms), _delta_percent(d.delta_percent)]
            for d in comparison.layers]


DEVICE_HEADERS = ["device", "variant", "A p50 ms", "B p50 ms", "delta", "delta %", "FPS A -> B",
                  "note"]
LAYER_HEADERS = ["device", "variant", "layer", "type", "A ms", "B ms", "delta", "delta %"]


def text_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max([len(h)] + [len(r[i]) for r in rows]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return lines


def comparison_text(comparison: Comparison) -> str:
    lines = [f"A: {comparison.a_name}", f"B: {comparison.b_name}", ""]
    lines += [f"note: {comparison.model_note}", ""] if comparison.model_note else []
    lines += ["latency (p50) per device, B - A:"]
    lines += text_table(DEVICE_HEADERS, device_rows(comparison))
    lines += ["", "largest per-layer changes, B - A:"]
    lines += (text_table(LAYER_HEADERS, layer_rows(comparison)) if comparison.layers
              else [f"({no_layers_text(comparison)})"])
    return "\n".join(lines)


def _markdown_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return lines + ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]


def comparison_markdown(comparison: Comparison) -> str:
    lines = ["# Comparison", "", f"- A: `{comparison.a_name}`", f"- B: `{comparison.b_name}`",
             ""]
    lines += [f"**Note:** {comparison.model_note}", ""] if comparison.model_note else []
    lines += ["## Latency (p50) per device, B - A", ""]
    lines += _markdown_table(DEVICE_HEADERS, device_rows(comparison))
    lines += ["", "## Largest per-layer changes, B - A", ""]
    lines += (_markdown_table(LAYER_HEADERS, layer_rows(comparison)) if comparison.layers
              else [no_layers_text(comparison).capitalize() + "."])
    return "\n".join(lines) + "\n"


def comparison_json(comparison: Comparison) -> str:
    data: dict[str, Any] = {"schema": "edgeprof.comparison", "schema_version": 1,
                            **to_dict(comparison)}
    return json.dumps(data, indent=1) + "\n"


def no_layers_text(comparison: Comparison) -> str:
    if comparison.model_note:
        return "no per-layer deltas across different models"
    return "no layer timed on both sides"


# Rows for a table view ----------------------------------------------------------------------

DELTA_COLUMNS = ["scope", "device", "variant / layer", "type", "A ms", "B ms", "delta ms",
                 "delta %", "note"]
NUMERIC_COLUMNS = (4, 5, 6, 7)


@record(frozen=True)
class DeltaRow:
    """One row of the comparison table: a device's p50 or a layer group's time."""

    scope: str
    """'device' | 'layer'."""
    device: str
    name: str
    """The variant (device rows) or the layer group (layer rows)."""
    layer_type: str
    a_ms: float | None
    b_ms: float | None
    delta_ms: float | None
    delta_percent: float | None
    note: str = ""

    def cells(self) -> list[str]:
        return [self.scope, self.device, self.name, self.layer_type, _ms(self.a_ms),
                _ms(self.b_ms), _delta_ms(self.delta_ms), _delta_percent(self.delta_percent),
                self.note]

    def values(self) -> list[float | str | None]:
        """What each column sorts by: numbers for the figures (None sorts last)."""
        return [self.scope, self.device, self.name, self.layer_type, self.a_ms, self.b_ms,
                self.delta_ms, self.delta_percent, self.note]


def delta_rows(comparison: Comparison) -> list[DeltaRow]:
    """Device rows first, then layer rows, as the comparison orders them."""
    rows = [DeltaRow("device", d.device, d.variant, "", d.a_p50_ms, d.b_p50_ms, d.delta_ms,
                     d.delta_percent, d.note) for d in comparison.devices]
    rows += [DeltaRow("layer", d.device, d.layer, d.layer_type, d.a_ms, d.b_ms, d.delta_ms,
                      d.delta_percent, ", ".join(d.nodes) if len(d.nodes) > 1 else "")
             for d in comparison.layers]
    return rows
