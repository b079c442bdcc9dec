"""Inline-SVG chart builders: geometry, escaping, truncation, ticks, downsampling."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from profiler.report import svg
from profiler.units import milliseconds, rate, si_compact

EVIL = '<script>alert("x")</script>&'


class Shapes(HTMLParser):
    """Collects elements with their attributes and the text of <title> and <text> elements."""

    def __init__(self) -> None:
        super().__init__()
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.titles: list[str] = []
        self.texts: list[str] = []
        self._in: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))
        self._in.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))

    def handle_endtag(self, tag: str) -> None:
        assert self._in and self._in[-1] == tag, f"unbalanced </{tag}>"
        self._in.pop()

    def handle_data(self, data: str) -> None:
        if self._in and self._in[-1] == "title":
            self.titles.append(data)
        elif self._in and self._in[-1] == "text":
            self.texts.append(data)

    def of(self, tag: str) -> list[dict[str, str]]:
        return [attrs for name, attrs in self.elements if name == tag]


def shapes(markup: str) -> Shapes:
    parser = Shapes()
    parser.feed(markup)
    parser.close()
    assert parser._in == []
    return parser


def test_nice_ticks() -> None:
    assert svg.nice_ticks(0, 4089) == [0, 1000, 2000, 3000, 4000, 5000]
    assert svg.nice_ticks(0, 1) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]
    assert svg.nice_ticks(10.9, 15.6) == [10, 11, 12, 13, 14, 15, 16]
    assert svg.nice_ticks(0, 3, integer=True) == [0, 1, 2, 3]
    assert svg.nice_ticks(0, 0) == [0, 0.2, 0.4, 0.6, 0.8, 1.0]


def test_truncate() -> None:
    assert svg.truncate("abcdef", 4) == "abc…"
    assert svg.truncate("abcd", 4) == "abcd"


def test_units_for_axes() -> None:
    assert si_compact(1_500_000) == "1.5 M"
    assert si_compact(4e9) == "4 G"
    assert si_compact(0.25) == "0.25"
    assert si_compact(0) == "0"
    assert milliseconds(12.3456) == "12.35 ms" and milliseconds(0.01234) == "0.012 ms"
    assert milliseconds(None) == "-" and milliseconds(123.45) == "123.5 ms"
    assert rate(393.26) == "393" and rate(12.34) == "12.3" and rate(0.0006) == "0.0006"


def test_hbar_chart_geometry_and_escaping() -> None:
    long_label = "layer/" + "x" * 200
    bars = [svg.Bar("conv1", 100.0, "100"), svg.Bar(long_label, 50.0, "50", colour="#f28e2b"),
            svg.Bar(EVIL, 25.0, EVIL, tooltip=EVIL)]
    markup = svg.hbar_chart(bars, label="top " + EVIL)
    parsed = shapes(markup)
    rects = parsed.of("rect")
    assert len(rects) == 3
    widths = [float(r["width"]) for r in rects]
    assert widths[1] == pytest.approx(widths[0] / 2, abs=0.1)
    assert widths[2] == pytest.approx(widths[0] / 4, abs=0.1)
    assert rects[1]["fill"] == "#f28e2b"
    assert long_label in parsed.titles  # full text on hover
    shown = next(t for t in parsed.texts if t.startswith("layer/"))
    assert shown.endswith("…") and len(shown) < len(long_label)
    assert EVIL in parsed.titles and EVIL in parsed.texts
    assert "<script>" not in markup and "&lt;script&gt;" in markup
    assert parsed.of("svg")[0]["aria-label"] == "top " + EVIL
    assert "http" not in markup


def test_hbar_axis_uses_formatter() -> None:
    markup = svg.hbar_chart([svg.Bar("a", 4.2e9)], axis_format=si_compact)
    assert {"0", "1 G", "2 G", "3 G", "4 G", "5 G"} <= set(shapes(markup).texts)


def test_column_chart_markers() -> None:
    columns = [svg.Column("ov:CPU/fp32", 10.0, (12.0, 15.0), "10 ms", EVIL),
               svg.Column("ort:cpu/fp32", 20.0, (21.0, 30.0), "20 ms")]
    parsed = shapes(svg.column_chart(columns, value_name="p50", marker_names=("p90", "p99")))
    bars = [r for r in parsed.of("rect") if r.get("height") != "12"]  # legend swatch excluded
    assert len(bars) == 2
    assert float(bars[1]["height"]) == pytest.approx(2 * float(bars[0]["height"]), abs=0.2)
    assert len(parsed.of("circle")) == 2 + 1  # one p99 marker per column + the legend's
    assert EVIL in parsed.titles and "p90" in parsed.texts and "p99" in parsed.texts


def test_histogram_counts_every_sample() -> None:
    samples = [1.0, 1.1, 1.2, 2.0, 2.0, 3.0]
    markup = svg.histogram(samples, bins=4, markers=(("p50", 2.0), ("p99", 3.0)),
                           axis_format=lambda v: f"{v:g} ms")
    parsed = shapes(markup)
    counts = [int(m.group(1)) for t in parsed.titles if (m := re.search(r": (\d+) samples", t))]
    assert counts == [3, 0, 2, 1]
    assert "p50 2 ms" in parsed.texts and "p99 3 ms" in parsed.texts
    assert len([line for line in parsed.of("line") if line.get("stroke-dasharray")]) == 2


def test_histogram_of_identical_samples() -> None:
    parsed = shapes(svg.histogram([5.0] * 10, bins=5))
    counts = [int(m.group(1)) for t in parsed.titles if (m := re.search(r": (\d+) samples", t))]
    assert sum(counts) == 10


def test_line_chart_points_and_downsampling() -> None:
    short = shapes(svg.line_chart([1.0, 2.0, 3.0]))
    assert len(short.of("polyline")[0]["points"].split()) == 3

    values = [10.0] * 20_000
    values[12_345] = 50.0
    long = shapes(svg.line_chart(values, markers=(("p50", 10.0),)))
    points = [tuple(map(float, p.split(","))) for p in long.of("polyline")[0]["points"].split()]
    assert len(points) <= 2 * 900
    assert min(y for _, y in points) < max(y for _, y in points)  # the spike survived
    assert "p50 10" in long.texts


def test_empty_inputs_say_no_data() -> None:
    for markup in (svg.hbar_chart([]), svg.column_chart([]), svg.histogram([]),
                   svg.line_chart([])):
        assert "no data" in markup and markup.startswith("<svg")


def test_deterministic() -> None:
    bars = [svg.Bar(f"l{i}", float(i)) for i in range(20)]
    assert svg.hbar_chart(bars) == svg.hbar_chart(list(bars))
