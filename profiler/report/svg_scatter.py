"""The variants section's latency-vs-drift scatter, one device per chart, as inline SVG.

p50 latency (ms) on x and drift as SQNR against FP32 (dB, higher = closer to FP32) on y;
marker area is proportional to the file size relative to FP32. Variants on the device's Pareto
front (latency, drift, size) are drawn solid; the step line joins the latency/drift staircase
among them. The FP32 reference (no drift) and variants identical to it sit on the dashed top
line. Like ``svg``, every text placed in the SVG is escaped here (``svg.esc``), so the HTML
report inserts the chart as markup.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from profiler.quant.pareto import latency_front
from profiler.records.variants import MAX_SQNR_DB, REFERENCE_ID, ParetoPoint
from profiler.report import svg
from profiler.report.variant_views import IDENTICAL_DB
from profiler.units import size_bytes

WIDTH, HEIGHT = 760, 380
LEFT, RIGHT, TOP, BOTTOM = 64, 130, 40, 48
MAX_RADIUS, MIN_RADIUS = 18.0, 3.0
LABEL_CHARS = 18
LABEL_PX = 13


def e(value: object) -> str:
    return svg.esc(str(value))


def _num(value: float) -> str:
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


class _Axes:
    def __init__(self, points: Sequence[ParetoPoint]) -> None:
        self.x_ticks = svg.nice_ticks(0.0, max(p.latency_ms for p in points) * 1.05 or 1.0)
        finite = [p.sqnr_db for p in points if p.sqnr_db < IDENTICAL_DB]
        low, high = (min(finite), max(finite)) if finite else (0.0, 60.0)
        self.y_ticks = svg.nice_ticks(math.floor(low - 3), math.ceil(high + 3))
        self.plot_top = TOP + 28  # the band above holds the reference line
        self.largest = max(p.size_ratio for p in points) or 1.0

    def x(self, latency_ms: float) -> float:
        return LEFT + (WIDTH - LEFT - RIGHT) * latency_ms / self.x_ticks[-1]

    def y(self, sqnr_db: float) -> float:
        if sqnr_db >= IDENTICAL_DB:
            return TOP + 10
        low, high = self.y_ticks[0], self.y_ticks[-1]
        return HEIGHT - BOTTOM - (HEIGHT - BOTTOM - self.plot_top) * (sqnr_db - low) / (
            (high - low) or 1.0)

    def radius(self, size_ratio: float) -> float:
        return max(MIN_RADIUS, MAX_RADIUS * math.sqrt(max(size_ratio, 0.0) / self.largest))


def _grid(axes: _Axes) -> list[str]:
    parts, bottom, right = [], HEIGHT - BOTTOM, WIDTH - RIGHT
    for tick in axes.x_ticks:
        x = _num(axes.x(tick))
        parts.append(f'<line x1="{x}" y1="{axes.plot_top}" x2="{x}" y2="{bottom}" '
                     f'stroke="{svg.GRID}"/><text x="{x}" y="{bottom + 16}" text-anchor="middle" '
                     f'fill="{svg.MUTED}" font-size="11">{e(svg.si_compact(tick))}</text>')
    for tick in axes.y_ticks:
        y = _num(axes.y(tick))
        parts.append(f'<line x1="{LEFT}" y1="{y}" x2="{right}" y2="{y}" stroke="{svg.GRID}"/>'
                     f'<text x="{LEFT - 6}" y="{y}" dy="4" text-anchor="end" fill="{svg.MUTED}" '
                     f'font-size="11">{e(svg.si_compact(tick))}</text>')
    top = _num(axes.y(MAX_SQNR_DB))
    parts.append(f'<line x1="{LEFT}" y1="{top}" x2="{right}" y2="{top}" stroke="{svg.MUTED}" '
                 f'stroke-dasharray="4 3"/><text x="{right + 6}" y="{top}" dy="4" '
                 f'fill="{svg.MUTED}" font-size="11">FP32 / identical</text>')
    parts.append(f'<text x="{(LEFT + right) / 2}" y="{HEIGHT - 8}" text-anchor="middle">'
                 "p50 latency (ms)</text>")
    parts.append(f'<text transform="translate(16 {(axes.plot_top + bottom) / 2}) rotate(-90)" '
                 'text-anchor="middle">SQNR vs FP32 (dB), higher = closer</text>')
    return parts


def _step_line(axes: _Axes, points: Sequence[ParetoPoint]) -> str:
    stairs = latency_front([p for p in points if p.on_front])
    if len(stairs) < 2:
        return ""
    path = f"M{_num(axes.x(stairs[0].latency_ms))} {_num(axes.y(stairs[0].sqnr_db))}"
    for point in stairs[1:]:
        path += f"H{_num(axes.x(point.latency_ms))}V{_num(axes.y(point.sqnr_db))}"
    return (f'<path d="{path}" fill="none" stroke="{svg.PALETTE[3]}" stroke-width="1.5" '
            'stroke-dasharray="5 3"/>')


def _marker(axes: _Axes, point: ParetoPoint, colour: str, label_dy: float) -> str:
    x, y, r = axes.x(point.latency_ms), axes.y(point.sqnr_db), axes.radius(point.size_ratio)
    drift = "no drift (reference)" if point.variant == REFERENCE_ID else (
        f"SQNR {point.sqnr_db:.1f} dB")
    tip = (f"{point.variant} on {point.device}\np50 {point.latency_ms:.3f} ms · {drift}\n"
           f"size {point.size_ratio:.2f}x FP32 ({size_bytes(point.file_bytes)})"
           + ("\non the Pareto front" if point.on_front else ""))
    fill = e(colour)
    style = (f'fill="{fill}" fill-opacity="0.85" stroke="{svg.TEXT}" stroke-width="1.5"'
             if point.on_front else f'fill="{fill}" fill-opacity="0.3" stroke="{fill}"')
    label = svg.truncate(point.variant, LABEL_CHARS)
    return (f"<g><title>{e(tip)}</title><circle cx=\"{_num(x)}\" cy=\"{_num(y)}\" "
            f'r="{_num(r)}" {style}/><text x="{_num(x + r + 4)}" y="{_num(y + label_dy)}" '
            f'dy="4" font-size="11"{svg.HALO}>{e(label)}</text></g>')


def label_offsets(axes: _Axes, points: Sequence[ParetoPoint]) -> list[float]:
    """Vertical shifts (px) so that labels of nearby points do not overprint each other."""
    placed: list[tuple[float, float]] = []
    offsets = []
    for point in points:
        x = axes.x(point.latency_ms) + axes.radius(point.size_ratio) + 4
        y, dy = axes.y(point.sqnr_db), 0.0
        while any(abs(x - px) < LABEL_CHARS * svg.CHAR_PX and abs(y + dy - py) < LABEL_PX
                  for px, py in placed):
            dy += LABEL_PX
        placed.append((x, y + dy))
        offsets.append(dy)
    return offsets


def scatter(points: Sequence[ParetoPoint], device: str,
            colours: dict[str, str] | None = None) -> str:
    """The latency-vs-drift chart of one device (empty string without points)."""
    if not points:
        return ""
    axes = _Axes(points)
    colours = colours or {}
    body = [*_grid(axes), _step_line(axes, points)]
    ordered = sorted(points, key=lambda p: -p.size_ratio)  # small markers drawn on top
    body += [_marker(axes, p, colours.get(p.variant, svg.PALETTE[0]), dy)
             for p, dy in zip(ordered, label_offsets(axes, ordered), strict=True)]
    return (f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" '
            f'height="{HEIGHT}" role="img" aria-label="{e("latency vs drift on " + device)}" '
            f'font-size="12" fill="{svg.TEXT}">' + "".join(body) + "</svg>")
