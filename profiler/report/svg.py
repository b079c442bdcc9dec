"""Small inline-SVG chart builders for the HTML report: pure functions returning SVG strings.

Every piece of text that reaches the SVG (labels, tooltips, legend entries) is escaped with
``html.escape(quote=True)``. Long labels are cut with an ellipsis; the full text goes into a
``<title>`` child, which browsers show on hover. Output is deterministic (no ids, no randomness).
The root element carries no xmlns: inline SVG in HTML5 does not need one.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence

from profiler.records.record import record
from profiler.units import si_compact

PALETTE = ("#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2",
           "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac")
KIND_COLOURS = {
    "compute": "#4e79a7", "fused": "#76b7b2", "reorder": "#f28e2b", "convert": "#b07aa1",
    "quantize": "#59a14f", "inserted": "#e15759", "opaque": "#9c755f", "copy": "#edc948",
}
TEXT = "#1f2328"
MUTED = "#59636e"
GRID = "#d8dee4"
CHAR_PX = 6.8
"""Average glyph width of the 12 px sans-serif labels, for truncation estimates."""

HALO = f' fill="{MUTED}" stroke="#fff" stroke-width="3" paint-order="stroke"'
"""Value labels keep a white outline so gridlines behind them do not cut through the digits."""

Formatter = Callable[[float], str]


@record(frozen=True)
class Bar:
    label: str
    value: float
    value_text: str = ""
    tooltip: str = ""
    colour: str = PALETTE[0]


@record(frozen=True)
class Column:
    """A vertical bar with optional markers above it (e.g. p90/p99 over a p50 column)."""

    label: str
    value: float
    markers: tuple[float, ...] = ()
    value_text: str = ""
    tooltip: str = ""
    colour: str = PALETTE[0]


def esc(text: str) -> str:
    return html.escape(text, quote=True)


def truncate(text: str, max_chars: int) -> str:
    """``text`` cut to ``max_chars`` characters, the last one an ellipsis when cut."""
    if len(text) <= max_chars:
        return text
    return text[: max(max_chars - 1, 0)] + "…"


def _num(value: float) -> str:
    """A coordinate with at most one decimal."""
    text = f"{value:.1f}"
    return text[:-2] if text.endswith(".0") else text


def nice_ticks(low: float, high: float, count: int = 5, integer: bool = False) -> list[float]:
    """Round tick values (1-2-2.5-5 steps) covering [low, high]; whole steps for counts."""
    if high <= low:
        high = low + (abs(low) or 1.0)
    raw = (high - low) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw * 0.999)
    if integer:
        step = 2.0 if step == 2.5 else max(step, 1.0)
    start = math.floor(low / step + 1e-9) * step
    steps = max(math.ceil((high - start) / step - 1e-9), 1)
    return [round(start + i * step, 12) for i in range(steps + 1)]


def _svg(width: int, height: float, body: list[str], label: str) -> str:
    return (f'<svg class="chart" viewBox="0 0 {width} {_num(height)}" width="{width}" '
            f'height="{_num(height)}" role="img" aria-label="{esc(label)}" font-size="12" '
            f'fill="{TEXT}">' + "".join(body) + "</svg>")


def _text(x: float, y: float, text: str, anchor: str = "start", extra: str = "") -> str:
    return (f'<text x="{_num(x)}" y="{_num(y)}" text-anchor="{anchor}"{extra}>'
            f"{esc(text)}</text>")


def _title(text: str) -> str:
    return f"<title>{esc(text)}</title>" if text else ""


def _empty(width: int, label: str) -> str:
    return _svg(width, 40, [_text(width / 2, 24, "no data", "middle", f' fill="{MUTED}"')], label)


def legend(items: Sequence[tuple[str, str]], x: float, y: float) -> str:
    """Colour swatches with names in one row starting at (x, y) (y = text baseline)."""
    parts = []
    for name, colour in items:
        parts.append(f'<rect x="{_num(x)}" y="{_num(y - 10)}" width="12" height="12" rx="2" '
                     f'fill="{esc(colour)}"/>')
        parts.append(_text(x + 17, y, name))
        x += 17 + len(name) * CHAR_PX + 16
    return "".join(parts)


def _vgrid(ticks: Sequence[float], scale: Callable[[float], float], top: float, bottom: float,
           fmt: Formatter) -> list[str]:
    """Vertical gridlines with tick labels above them."""
    parts = []
    for tick in ticks:
        x = scale(tick)
        parts.append(f'<line x1="{_num(x)}" y1="{_num(top)}" x2="{_num(x)}" y2="{_num(bottom)}" '
                     f'stroke="{GRID}"/>')
        parts.append(_text(x, top - 6, fmt(tick), "middle", f' fill="{MUTED}" font-size="11"'))
    return parts


def _hgrid(ticks: Sequence[float], scale: Callable[[float], float], left: float, right: float,
           fmt: Formatter) -> list[str]:
    """Horizontal gridlines with tick labels left of the plot."""
    parts = []
    for tick in ticks:
        y = scale(tick)
        parts.append(f'<line x1="{_num(left)}" y1="{_num(y)}" x2="{_num(right)}" y2="{_num(y)}" '
                     f'stroke="{GRID}"/>')
        parts.append(_text(left - 6, y + 4, fmt(tick), "end", f' fill="{MUTED}" font-size="11"'))
    return parts


def hbar_chart(bars: Sequence[Bar], *, axis_format: Formatter = si_compact, width: int = 900,
               label_width: int = 320, legend_items: Sequence[tuple[str, str]] = (),
               label: str = "bar chart") -> str:
    """Horizontal bars, one row each: label on the left, value text after the bar."""
    if not bars:
        return _empty(width, label)
    longest = max(len(bar.label) for bar in bars) * CHAR_PX + 12
    label_width = int(min(label_width, max(longest, 60)))
    row_px, top = 22, 30 + (24 if legend_items else 0)
    left, right = label_width + 10, width - 150
    ticks = nice_ticks(0.0, max(max(bar.value for bar in bars), 0.0) or 1.0)

    def scale(value: float) -> float:
        return left + (right - left) * value / ticks[-1]

    height = top + row_px * len(bars) + 8
    body = [legend(legend_items, left, 16)] if legend_items else []
    body += _vgrid(ticks, scale, top, height - 8, axis_format)
    max_chars = int(label_width / CHAR_PX)
    for index, bar in enumerate(bars):
        y = top + index * row_px
        end = scale(max(bar.value, 0.0))
        body.append(
            f"<g>{_title(bar.tooltip or bar.label)}"
            + _text(label_width, y + 15, truncate(bar.label, max_chars), "end")
            + f'<rect x="{_num(left)}" y="{_num(y + 4)}" width="{_num(max(end - left, 1))}" '
              f'height="14" rx="2" fill="{esc(bar.colour)}"/>'
            + _text(end + 6, y + 15, bar.value_text, extra=HALO) + "</g>"
        )
    return _svg(width, height, body, label)


def _marker(kind: int, x: float, y: float, half: float) -> str:
    """Marker shapes by position: a cap line, a circle, then a diamond."""
    if kind == 0:
        return (f'<line x1="{_num(x - half)}" y1="{_num(y)}" x2="{_num(x + half)}" '
                f'y2="{_num(y)}" stroke="{TEXT}" stroke-width="2"/>')
    if kind == 1:
        return (f'<circle cx="{_num(x)}" cy="{_num(y)}" r="4" fill="#fff" stroke="{TEXT}" '
                f'stroke-width="1.5"/>')
    return (f'<path d="M{_num(x)} {_num(y - 5)}L{_num(x + 5)} {_num(y)}L{_num(x)} {_num(y + 5)}'
            f'L{_num(x - 5)} {_num(y)}Z" fill="{TEXT}"/>')


def _marker_legend(names: Sequence[str], value_name: str, x: float, y: float) -> str:
    parts = [f'<rect x="{_num(x)}" y="{_num(y - 10)}" width="12" height="12" rx="2" '
             f'fill="{PALETTE[0]}"/>', _text(x + 17, y, value_name)]
    x += 17 + len(value_name) * CHAR_PX + 18
    for kind, name in enumerate(names):
        parts += [_marker(min(kind, 2), x + 6, y - 4, 7), _text(x + 17, y, name)]
        x += 17 + len(name) * CHAR_PX + 18
    return "".join(parts)


def column_chart(columns: Sequence[Column], *, axis_format: Formatter = si_compact,
                 width: int = 900, height: int = 300, value_name: str = "value",
                 marker_names: Sequence[str] = (), label: str = "column chart") -> str:
    """Vertical bars; each may carry markers joined to its top by a whisker line."""
    if not columns:
        return _empty(width, label)
    left, right, top, bottom = 70, width - 20, 54, height - 36
    peak = max(max((c.value, *c.markers)) for c in columns)
    ticks = nice_ticks(0.0, peak or 1.0)

    def scale(value: float) -> float:
        return bottom - (bottom - top) * value / ticks[-1]

    body = [_marker_legend(marker_names, value_name, left, 18)]
    body += _hgrid(ticks, scale, left, right, axis_format)
    pitch = (right - left) / len(columns)
    bar_px = min(pitch * 0.6, 90.0)
    for index, column in enumerate(columns):
        body.append(_column(column, left + pitch * (index + 0.5), bar_px, pitch, scale, bottom))
    return _svg(width, height, body, label)


def _column(column: Column, centre: float, bar_px: float, pitch: float,
            scale: Callable[[float], float], bottom: float) -> str:
    y = scale(max(column.value, 0.0))
    parts = [f"<g>{_title(column.tooltip or column.label)}",
             f'<rect x="{_num(centre - bar_px / 2)}" y="{_num(y)}" width="{_num(bar_px)}" '
             f'height="{_num(max(bottom - y, 1))}" rx="2" fill="{esc(column.colour)}"/>']
    if column.markers:
        top_y = scale(max(column.markers))
        parts.append(f'<line x1="{_num(centre)}" y1="{_num(y)}" x2="{_num(centre)}" '
                     f'y2="{_num(top_y)}" stroke="{TEXT}"/>')
        parts += [_marker(min(kind, 2), centre, scale(value), bar_px / 4)
                  for kind, value in enumerate(column.markers)]
        y = min(y, top_y)
    parts.append(_text(centre, y - 8, column.value_text, "middle", HALO))
    parts.append(_text(centre, bottom + 18, truncate(column.label, int(pitch / CHAR_PX)),
                       "middle"))
    return "".join(parts) + "</g>"


def histogram(samples: Sequence[float], *, bins: int = 40,
              markers: Sequence[tuple[str, float]] = (), axis_format: Formatter = si_compact,
              value_format: Formatter | None = None, width: int = 900, height: int = 220,
              colour: str = PALETTE[0], label: str = "histogram") -> str:
    """Counts of ``samples`` in equal-width bins, with labelled vertical marker lines.
    ``value_format`` writes marker values and bin bounds (default: ``axis_format``)."""
    if not samples:
        return _empty(width, label)
    low, high = min(samples), max(samples)
    if high <= low:
        high = low + (abs(low) * 0.01 or 1.0)
    counts = _bin_counts(samples, low, high, bins)
    left, right, top, bottom = 60, width - 20, 40, height - 30
    y_ticks = nice_ticks(0.0, float(max(counts)), integer=True)

    def x_of(value: float) -> float:
        return left + (right - left) * (value - low) / (high - low)

    def y_of(count: float) -> float:
        return bottom - (bottom - top) * count / y_ticks[-1]

    body = _hgrid(y_ticks, y_of, left, right, si_compact)
    fmt = value_format or axis_format
    step = (high - low) / bins
    for index, count in enumerate(counts):
        start = low + index * step
        tip = f"{fmt(start)} – {fmt(start + step)}: {count} samples"
        body.append(f"<g>{_title(tip)}<rect x=\"{_num(x_of(start))}\" y=\"{_num(y_of(count))}\" "
                    f'width="{_num(max((right - left) / bins - 1, 1))}" '
                    f'height="{_num(bottom - y_of(count))}" fill="{esc(colour)}"/></g>')
    body += _x_axis(nice_ticks(low, high), low, high, x_of, bottom, axis_format)
    body += _marker_lines(markers, x_of, top, bottom, fmt, (low, high))
    return _svg(width, height, body, label)


def _bin_counts(samples: Sequence[float], low: float, high: float, bins: int) -> list[int]:
    counts = [0] * bins
    for value in samples:
        index = int((value - low) / (high - low) * bins)
        counts[min(max(index, 0), bins - 1)] += 1
    return counts


def _x_axis(ticks: Sequence[float], low: float, high: float, x_of: Callable[[float], float],
            bottom: float, fmt: Formatter) -> list[str]:
    parts = []
    for tick in ticks:
        if low - 1e-12 <= tick <= high + 1e-12:
            x = x_of(tick)
            parts.append(f'<line x1="{_num(x)}" y1="{_num(bottom)}" x2="{_num(x)}" '
                         f'y2="{_num(bottom + 4)}" stroke="{MUTED}"/>')
            parts.append(_text(x, bottom + 17, fmt(tick), "middle",
                               f' fill="{MUTED}" font-size="11"'))
    return parts


def _marker_lines(markers: Sequence[tuple[str, float]], x_of: Callable[[float], float],
                  top: float, bottom: float, fmt: Formatter,
                  bounds: tuple[float, float]) -> list[str]:
    """Dashed vertical lines; labels stagger in two rows so close markers stay legible."""
    parts = []
    for index, (name, value) in enumerate(markers):
        x = x_of(min(max(value, bounds[0]), bounds[1]))
        anchor = "end" if x > x_of(bounds[1]) - 120 else "start"
        dx = -4 if anchor == "end" else 4
        parts.append(f"<g>{_title(f'{name} {fmt(value)}')}"
                     f'<line x1="{_num(x)}" y1="{_num(top - 4)}" x2="{_num(x)}" '
                     f'y2="{_num(bottom)}" stroke="{PALETTE[3]}" stroke-width="1.5" '
                     f'stroke-dasharray="4 3"/>'
                     + _text(x + dx, top - 24 + 14 * (index % 2), f"{name} {fmt(value)}",
                             anchor, f' fill="{PALETTE[3]}"') + "</g>")
    return parts


def line_chart(values: Sequence[float], *, axis_format: Formatter = si_compact,
               value_format: Formatter | None = None,
               markers: Sequence[tuple[str, float]] = (), width: int = 900, height: int = 200,
               colour: str = PALETTE[0], label: str = "line chart") -> str:
    """``values`` against their index (1-based), e.g. latency per iteration. Marker lines are
    labelled in the right margin with ``value_format`` (default: ``axis_format``)."""
    if not values:
        return _empty(width, label)
    left, right, top, bottom = 60, width - (110 if markers else 20), 20, height - 30
    ticks = nice_ticks(min(values), max(values))

    def x_of(index: float) -> float:
        return left + (right - left) * (index / max(len(values) - 1, 1))

    def y_of(value: float) -> float:
        return bottom - (bottom - top) * (value - ticks[0]) / ((ticks[-1] - ticks[0]) or 1.0)

    body = _hgrid(ticks, y_of, left, right, axis_format)
    points = " ".join(f"{_num(x_of(i))},{_num(y_of(v))}"
                      for i, v in _trace_points(values, right - left))
    body.append(f'<polyline points="{points}" fill="none" stroke="{esc(colour)}" '
                f'stroke-width="1.2" stroke-linejoin="round"/>')
    body += _x_axis(nice_ticks(1.0, float(len(values)), integer=True), 1.0, float(len(values)),
                    lambda i: x_of(i - 1), bottom, si_compact)
    fmt = value_format or axis_format
    for name, value in markers:
        y = y_of(value)
        body.append(f"<g>{_title(f'{name} {fmt(value)}')}"
                    f'<line x1="{left}" y1="{_num(y)}" x2="{right}" y2="{_num(y)}" '
                    f'stroke="{PALETTE[3]}" stroke-dasharray="4 3"/>'
                    + _text(right + 6, y + 4, f"{name} {fmt(value)}", "start",
                            f' fill="{PALETTE[3]}"') + "</g>")
    return _svg(width, height, body, label)


def _trace_points(values: Sequence[float], plot_px: float) -> list[tuple[int, float]]:
    """(index, value) pairs; long traces keep each pixel column's min and max (spikes stay)."""
    columns = int(plot_px)
    if len(values) <= 2 * columns:
        return list(enumerate(values))
    points: list[tuple[int, float]] = []
    per = len(values) / columns
    for column in range(columns):
        start, stop = int(column * per), max(int((column + 1) * per), int(column * per) + 1)
        chunk = range(start, min(stop, len(values)))
        low = min(chunk, key=lambda i: values[i])
        high = max(chunk, key=lambda i: values[i])
        points += sorted({(low, values[low]), (high, values[high])})
    return points
