"""Compare two reports: per-device latency deltas and per-layer time deltas.

Runs are matched by (device, variant); layers within matched runs by the runtime layer name.
Deltas are B - A (positive = B is slower); percentages are relative to A.
Pure functions build the comparison; small renderers turn it into text, Markdown or JSON.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from profiler.bench.types import Run
from profiler.report.model import Report
from profiler.report.serialize import to_dict

DEFAULT_TOP_LAYERS = 10


@dataclass
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


@dataclass
class LayerDelta:
    device: str
    variant: str
    layer: str
    layer_type: str = ""
    a_ms: float | None = None
    b_ms: float | None = None
    delta_ms: float = 0.0
    delta_percent: float | None = None


@dataclass
class Comparison:
    a_name: str
    b_name: str
    devices: list[DeviceDelta] = field(default_factory=list)
    layers: list[LayerDelta] = field(default_factory=list)
    """The largest per-layer changes (by absolute delta), across all matched runs."""


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


def device_delta(a: Run | None, b: Run | None) -> DeviceDelta:
    present = a if a is not None else b
    assert present is not None
    a_ms, b_ms = _p50(a), _p50(b)
    return DeviceDelta(
        device=present.device, variant=present.variant, a_p50_ms=a_ms, b_p50_ms=b_ms,
        delta_ms=b_ms - a_ms if a_ms is not None and b_ms is not None else None,
        delta_percent=percent_change(a_ms, b_ms),
        a_fps=a.throughput_fps if a else None, b_fps=b.throughput_fps if b else None,
        note=_note(a, b),
    )


def _layer_times(run: Run) -> dict[str, tuple[str, float]]:
    """name -> (type, ms); a name listed twice adds up."""
    times: dict[str, tuple[str, float]] = {}
    for layer in run.layer_profile.layers if run.layer_profile else []:
        kind, total = times.get(layer.name, (layer.layer_type, 0.0))
        times[layer.name] = (kind, total + layer.time_ms)
    return times


def layer_deltas(a: Run, b: Run) -> list[LayerDelta]:
    """Every layer either run has; a layer missing on one side counts as 0 ms there.

    Nothing when either run has no per-layer profile: the other side's layers would all
    read as vanished or new, which says nothing about the model.
    """
    if not (a.layer_profile and a.layer_profile.layers and b.layer_profile
            and b.layer_profile.layers):
        return []
    a_times, b_times = _layer_times(a), _layer_times(b)
    deltas = []
    for name in list(a_times) + [n for n in b_times if n not in a_times]:
        a_type, a_ms = a_times.get(name, ("", 0.0))
        b_type, b_ms = b_times.get(name, ("", 0.0))
        deltas.append(LayerDelta(
            device=a.device, variant=a.variant, layer=name, layer_type=a_type or b_type,
            a_ms=a_ms if name in a_times else None, b_ms=b_ms if name in b_times else None,
            delta_ms=b_ms - a_ms, delta_percent=percent_change(
                a_ms if name in a_times else None, b_ms if name in b_times else None),
        ))
    return deltas


def top_changes(deltas: Sequence[LayerDelta], count: int) -> list[LayerDelta]:
    return sorted(deltas, key=lambda d: (-abs(d.delta_ms), d.device, d.layer))[:count]


def compare_reports(a: Report, b: Report, a_name: str = "A", b_name: str = "B",
                    top: int = DEFAULT_TOP_LAYERS) -> Comparison:
    pairs = match_runs(a.runs, b.runs)
    layers = [delta for run_a, run_b in pairs if run_a is not None and run_b is not None
              for delta in layer_deltas(run_a, run_b)]
    return Comparison(a_name=a_name, b_name=b_name,
                      devices=[device_delta(run_a, run_b) for run_a, run_b in pairs],
                      layers=top_changes(layers, top))


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
    lines = [f"A: {comparison.a_name}", f"B: {comparison.b_name}", "",
             "latency (p50) per device, B - A:"]
    lines += text_table(DEVICE_HEADERS, device_rows(comparison))
    lines += ["", "largest per-layer changes, B - A:"]
    lines += (text_table(LAYER_HEADERS, layer_rows(comparison)) if comparison.layers
              else ["(no per-layer timings in both reports)"])
    return "\n".join(lines)


def _markdown_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    def cell(text: str) -> str:
        return text.replace("|", "\\|")

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    return lines + ["| " + " | ".join(cell(c) for c in row) + " |" for row in rows]


def comparison_markdown(comparison: Comparison) -> str:
    lines = ["# Comparison", "", f"- A: `{comparison.a_name}`", f"- B: `{comparison.b_name}`",
             "", "## Latency (p50) per device, B - A", ""]
    lines += _markdown_table(DEVICE_HEADERS, device_rows(comparison))
    lines += ["", "## Largest per-layer changes, B - A", ""]
    lines += (_markdown_table(LAYER_HEADERS, layer_rows(comparison)) if comparison.layers
              else ["No per-layer timings in both reports."])
    return "\n".join(lines) + "\n"


def comparison_json(comparison: Comparison) -> str:
    data: dict[str, Any] = {"schema": "edgeprof.comparison", "schema_version": 1,
                            **to_dict(comparison)}
    return json.dumps(data, indent=1) + "\n"
