"""The HTML report comes from autoescaping Jinja2 templates shipped as package data; the
only markup inserted unescaped is the page's own CSS/JS and the SVG charts, whose builders
escape every label themselves (proved here with hostile names inside chart labels)."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import tomllib

from profiler.records.analysis import AnalysisTotals, LayerCost, StaticAnalysis
from profiler.records.report import Report
from profiler.records.runs import LayerProfile, Run, RuntimeLayer
from profiler.records.variants import DriftMetrics, ParetoPoint, Variant
from profiler.report.exporters import render
from profiler.report.exporters.html_export import CSS, SORT_JS
from profiler.report.exporters.html_templates import environment
from profiler.report.svg_scatter import scatter
from tests.helpers import latency

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "profiler" / "report" / "templates"
BREAKOUT = "</text></svg><script>alert(1)</script><svg onload=alert(2)>"
SVG_TAGS = {"svg", "g", "title", "text", "rect", "line", "circle", "path", "polyline"}


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes += [name for name, _ in attrs]


def tags_of(text: str) -> Tags:
    parser = Tags()
    parser.feed(text)
    parser.close()
    return parser


def svg_parts(page: str) -> list[str]:
    return re.findall(r"<svg.*?</svg>", page, flags=re.S)


def _hostile_report() -> Report:
    layers = [LayerCost(BREAKOUT, "Conv", output_shapes=[[1, 8]], macs=500, flops=1000),
              LayerCost("plain", BREAKOUT, output_shapes=[[1, 8]], macs=100, flops=200)]
    analysis = StaticAnalysis(totals=AnalysisTotals(macs=600, flops=1200, layer_count=2),
                              layers=layers)
    profile = LayerProfile([RuntimeLayer(BREAKOUT, BREAKOUT, "k", BREAKOUT, "CPU", 1.0,
                                         [BREAKOUT], "compute")], 1.0, 1.0, 5)
    run = Run("ov:CPU", "openvino", variant=BREAKOUT, latency=latency([1.0, 1.2, 1.1]),
              layer_profile=profile)
    return Report(analysis=analysis, runs=[run])


def test_hostile_names_inside_svg_labels_are_escaped() -> None:
    page = render(_hostile_report(), ".html")
    charts = svg_parts(page)
    assert len(charts) >= 5  # MACs, op types, device, histogram, trace, layer charts...
    labelled = [c for c in charts if "&lt;/text&gt;&lt;/svg&gt;&lt;script&gt;" in c]
    assert len(labelled) >= 3  # the layer name, the op type and the runtime layer
    for part in charts:
        parsed = tags_of(part)
        assert set(parsed.tags) <= SVG_TAGS, set(parsed.tags) - SVG_TAGS
        assert not [name for name in parsed.attributes if name.startswith("on")]
    assert tags_of(page).tags.count("script") == 1 and "<script>alert" not in page


def test_the_scatter_escapes_variant_and_device_names() -> None:
    points = [ParetoPoint(BREAKOUT, BREAKOUT, 1.0, 30.0, 0.25, 100, True),
              ParetoPoint("fp32", BREAKOUT, 2.0, 1000.0, 1.0, 400, True)]
    chart = scatter(points, BREAKOUT, {BREAKOUT: '"><script>x</script>'})
    parsed = tags_of(chart)
    assert set(parsed.tags) <= SVG_TAGS and "<script>" not in chart
    assert "&lt;/text&gt;" in chart and 'aria-label="latency vs drift on &lt;/text&gt;' in chart


def test_a_hostile_variant_renders_inert_in_the_page() -> None:
    drift = DriftMetrics(sqnr_db=30.0, cosine=0.99, samples=2, device="ov:CPU")
    report = Report(variants=[Variant("fp32"), Variant(BREAKOUT, description=BREAKOUT,
                                                       devices=["ov:CPU"],
                                                       drift={"ov:CPU": drift})])
    page = render(report, ".html")
    assert "<script>alert" not in page and "onload=alert" not in page.replace("&lt;svg onload", "")
    assert tags_of(page).tags.count("script") == 1


def test_every_template_escapes_and_none_opts_out() -> None:
    env = environment()
    names = env.list_templates()
    assert {"report.html.j2", "runs.html.j2", "variants.html.j2"} <= set(names)
    for name in names:
        if name.endswith(".j2"):
            assert env.get_template(name).environment.autoescape is True
            source = (TEMPLATES / name).read_text(encoding="utf-8")
            assert "|safe" not in source.replace(" ", "") and "autoescape false" not in source


def test_css_and_script_come_from_package_data_unchanged() -> None:
    page = render(Report(), ".html")
    assert f"<style>{CSS}</style>" in page and f"<script>{SORT_JS}</script>" in page
    assert (TEMPLATES / "report.css").read_text(encoding="utf-8").strip() == CSS


def test_the_wheel_carries_every_template_file() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns = config["tool"]["setuptools"]["package-data"]["profiler"]
    package = ROOT / "profiler"
    shipped = {path for pattern in patterns for path in package.glob(pattern)}
    assert {p for p in TEMPLATES.iterdir() if p.is_file()} <= shipped
