"""CSV, Markdown and HTML exporters on a real report (zoo ResNet-50) and on hand-built runs."""

from __future__ import annotations

import csv
import io
import random
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from profiler.api import analyze_model
from profiler.records.analysis import AnalysisTotals, LayerCost, OpTypeCost, StaticAnalysis
from profiler.records.model import ModelInfo, TensorSpec
from profiler.records.report import Report
from profiler.records.runs import LayerProfile, MemoryStats, Run, RunError, RuntimeLayer
from profiler.report.exporters import render, write_report
from profiler.report.exporters.csv_export import HEADERS
from profiler.report.exporters.markdown_export import md_escape
from profiler.report.views import layer_times, node_times_ms, run_summary
from tests.conftest import ZOO_DIR
from tests.helpers import latency

SCRIPT_NAME = "<script>alert(1)</script>"
IMG_OP = "<img src=x onerror=alert(1)>"
LINK_NAME = "[x](javascript:alert(1))"


def fused_profile(analysis: StaticAnalysis, ms_per_gflop: float) -> LayerProfile:
    """Conv(+BN+Relu) fused into one runtime layer each, plus inserted reorders and a convert."""
    rng = random.Random(int(ms_per_gflop * 100))
    layers: list[RuntimeLayer] = [RuntimeLayer("input_reorder", "Reorder", "ref_any", "FP32",
                                               "CPU", 0.65, [], "inserted")]
    for layer in analysis.layers:
        if layer.op_type == "Conv" or not layers[-1].model_nodes:
            time_ms = 0.01 + layer.flops / 1e9 * ms_per_gflop * (0.6 + rng.random())
            layers.append(RuntimeLayer(f"rt_{layer.name}", layer.op_type, "jit_avx512_FP32",
                                       "FP32", "CPU", time_ms, [layer.name], "compute"))
        else:
            layers[-1].model_nodes.append(layer.name)
            layers[-1].kind = "fused"
    layers.append(RuntimeLayer("out_convert", "Convert", "ref", "FP32", "CPU", 0.02, [],
                               "convert"))
    total = sum(layer.time_ms for layer in layers)
    return LayerProfile(layers, total, 0.93, 50, [], ["per-layer pass: 50 iterations"])


def make_runs(analysis: StaticAnalysis) -> list[Run]:
    rng = random.Random(7)
    cpu_samples = [12.0 + rng.gauss(0, 0.4) + (3.0 if i % 97 == 0 else 0) for i in range(400)]
    ort_samples = [15.5 + rng.gauss(0, 0.6) for _ in range(300)]
    memory = MemoryStats("linux-vmhwm", 80_000_000, 310_000_000, 290_000_000, 102_000_000)
    return [
        Run("ov:CPU", "openvino", "Intel(R) Xeon(R) Platinum 8480+", "fp32", precision="bf16",
            load_ms=40.5, compile_ms=180.25, first_inference_ms=25.125,
            latency=latency(cpu_samples), throughput_fps=82.4, memory=memory,
            layer_profile=fused_profile(analysis, 2.5), config={"threads": 2, "hint": "latency"}),
        Run("ort:cpu", "onnxruntime", "CPUExecutionProvider", "fp32", precision="fp32",
            load_ms=55.0, compile_ms=120.0, first_inference_ms=30.0,
            latency=latency(ort_samples), throughput_fps=64.0, memory=memory,
            layer_profile=fused_profile(analysis, 3.5)),
        Run("ov:GPU.0", "openvino", "Intel(R) Arc GPU", "int8", load_ms=41.0,
            error=RunError("compile", "GPU plugin: clEnqueueNDRangeKernel failed (-5)")),
    ]


@pytest.fixture(scope="module")
def resnet_report() -> Report:
    return analyze_model(str(ZOO_DIR / "light_resnet50.onnx"))


@pytest.fixture(scope="module")
def runs_report() -> Report:
    report = analyze_model(str(ZOO_DIR / "light_resnet50.onnx"))
    assert report.analysis is not None
    report.runs = make_runs(report.analysis)
    return report


def hostile_report() -> Report:
    """Names, op types, metadata, paths, devices and errors that try to escape their context."""
    layers = [
        LayerCost(SCRIPT_NAME, IMG_OP, status="unsupported", output_shapes=[[1, "N<b>"]],
                  output_dtypes=["float32"], note="=cmd|' /C calc'!A0"),
        LayerCost(LINK_NAME, "Conv", output_shapes=[[1, 8]], output_dtypes=["float32"],
                  macs=300, flops=600, params=8, weight_bytes=32, activation_bytes=32,
                  memory_access_bytes=100),
        LayerCost("=HYPERLINK(\"x\",\"y\")", "Relu", output_shapes=[[1, 8]], flops=8),
        LayerCost("+1", "Add", flops=-1), LayerCost("-1+2", "Add"), LayerCost("@SUM(A1)", "Add"),
        LayerCost("\tTab", "Add"), LayerCost("\rCR", "Add"),
    ]
    analysis = StaticAnalysis(
        totals=AnalysisTotals(macs=300, flops=608, params=8, layer_count=len(layers)),
        by_op_type=[OpTypeCost(IMG_OP, 1), OpTypeCost("Conv", 1, 300, 600, 8, 32)],
        layers=layers, unsupported_ops={IMG_OP: 1}, unknown_shape_nodes=[SCRIPT_NAME],
        notes=[f"note {SCRIPT_NAME}"])
    model = ModelInfo(path=f"/m/{SCRIPT_NAME}.onnx", name=f"{SCRIPT_NAME}.onnx", format="onnx",
                      metadata={"author": "<i onmouseover=alert(1)>"},
                      inputs=[TensorSpec(SCRIPT_NAME, "float32", [1, 8], ["N", 8], "default")])
    profile = LayerProfile([RuntimeLayer(SCRIPT_NAME, IMG_OP, time_ms=1.0,
                                         model_nodes=[SCRIPT_NAME, LINK_NAME], kind="fused")])
    runs = [Run(f"ov:{SCRIPT_NAME}", device_name=IMG_OP, latency=latency([1.0, 2.0, 3.0]),
                layer_profile=profile),
            Run("ort:cpu", error=RunError("load", f"bad file {SCRIPT_NAME} {IMG_OP}"))]
    return Report(environment={"cpu": {"name": SCRIPT_NAME, "isa_flags": [IMG_OP]},
                               "runtimes": {"openvino": SCRIPT_NAME}},
                  model=model, analysis=analysis, runs=runs, errors=[SCRIPT_NAME])


class TagCounter(HTMLParser):
    """Checks nesting of non-void elements and collects tags and URL-bearing attributes."""

    VOID = frozenset({"meta", "br", "hr", "img", "input", "link", "rect", "line", "circle",
                      "path", "polyline"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.tags: dict[str, int] = {}
        self.urls: list[str] = []
        self.mismatches: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] = self.tags.get(tag, 0) + 1
        self.urls += [v or "" for k, v in attrs if k in ("src", "href", "xlink:href", "action")]
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] = self.tags.get(tag, 0) + 1

    def handle_endtag(self, tag: str) -> None:
        if tag in self.VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.mismatches.append(tag)
        else:
            self.stack.pop()


def parse_html(text: str) -> TagCounter:
    parser = TagCounter()
    parser.feed(text)
    parser.close()
    return parser


def test_csv_resnet_has_one_row_per_layer(resnet_report: Report) -> None:
    assert resnet_report.analysis is not None
    rows = list(csv.reader(io.StringIO(render(resnet_report, ".csv"))))
    assert rows[0] == list(HEADERS)
    assert len(rows) == 1 + len(resnet_report.analysis.layers) == 177
    first = dict(zip(rows[0], rows[1], strict=True))
    assert first["name"] == "n0" and first["op_type"] == "Conv"
    assert first["output_shapes"] == "1x64x112x112"
    assert int(first["macs"]) == 118013952 and int(first["flops"]) == 236027904
    assert sum(int(r[rows[0].index("macs")]) for r in rows[1:]) == 4089184256


def test_csv_time_columns_join_runtime_layers_by_node(runs_report: Report) -> None:
    assert runs_report.analysis is not None
    rows = list(csv.DictReader(io.StringIO(render(runs_report, ".csv"))))
    assert len(rows) == 176
    column = "time_ms[ov:CPU/fp32]"
    assert column in rows[0] and "time_ms[ort:cpu/fp32]" in rows[0]
    assert "time_ms[ov:GPU.0/int8]" not in rows[0]  # failed run: no profile, no column
    by_name = {row["name"]: row for row in rows}
    profile = runs_report.runs[0].layer_profile
    assert profile is not None
    # The first runtime layer fuses n0 (Conv) with the BN/Relu/MaxPool after it: its time is
    # split across them in proportion to their FLOPs.
    fused = profile.layers[1]
    assert fused.model_nodes[:3] == ["n0", "n1", "n2"] and fused.time_ms > 0.01
    flops = {layer.name: layer.flops for layer in runs_report.analysis.layers}
    covered = sum(flops[node] for node in fused.model_nodes)
    for node in fused.model_nodes:
        expected = fused.time_ms * flops[node] / covered
        assert float(by_name[node][column] or 0) == pytest.approx(expected, rel=1e-6, abs=1e-9)
    assert float(by_name["n0"][column]) > 0.9 * fused.time_ms  # the Conv dominates
    mapped = sum(layer.time_ms for layer in profile.layers if layer.model_nodes)
    assert sum(float(row[column]) for row in rows) == pytest.approx(mapped, rel=1e-9)


def test_fused_time_splits_by_flops_and_evenly_without_flops() -> None:
    flops = {"a": 300.0, "b": 100.0, "c": 0.0, "d": 0.0}
    profile = LayerProfile([
        RuntimeLayer("ab", time_ms=2.0, model_nodes=["a", "b"], kind="fused"),
        RuntimeLayer("cd", time_ms=1.0, model_nodes=["c", "d", "unknown"], kind="fused"),
        RuntimeLayer("reorder", time_ms=5.0, kind="inserted"),
    ])
    assert node_times_ms(profile, flops) == {"a": 1.5, "b": 0.5, "c": 0.5, "d": 0.5}


def test_layer_times_give_achieved_gflops() -> None:
    analysis = StaticAnalysis(layers=[LayerCost("a", "Conv", flops=4_000_000_000),
                                      LayerCost("b", "Relu", flops=1_000_000_000)])
    run = Run("ov:CPU", layer_profile=LayerProfile([
        RuntimeLayer("ab", "Convolution", time_ms=2.0, model_nodes=["a", "b"], kind="fused"),
        RuntimeLayer("r", "Reorder", time_ms=0.5, kind="reorder")]))
    first, second = layer_times(run, analysis)
    assert first.name == "ab" and first.flops == 5e9
    assert first.gflops_per_s == pytest.approx(2500.0)  # 5 GFLOP in 2 ms
    assert first.share == pytest.approx(0.8) and second.gflops_per_s is None


def test_csv_neutralises_formulas_and_keeps_numbers_numeric() -> None:
    text = render(hostile_report(), ".csv")
    rows = list(csv.reader(io.StringIO(text)))
    assert len(rows) == 1 + 8
    names = [row[0] for row in rows[1:]]
    assert names[2] == "'=HYPERLINK(\"x\",\"y\")"
    assert names[3:] == ["'+1", "'-1+2", "'@SUM(A1)", "'\tTab", "'\rCR"]
    assert rows[1][HEADERS.index("note")].startswith("'=cmd")
    macs = HEADERS.index("macs")
    assert rows[2][macs] == "300" and rows[4][HEADERS.index("flops")] == "-1"
    assert rows[2][HEADERS.index("arithmetic_intensity")] == "6.0"
    assert not any(cell.startswith(("=", "+", "@")) for row in rows for cell in row)


def test_markdown_resnet_sections(resnet_report: Report) -> None:
    text = render(resnet_report, ".md")
    assert text.startswith("# light\\_resnet50.onnx: profile")
    for heading in ("## Model", "## Totals", "## Top 20 layers by MACs", "## By op type",
                    "## Conventions"):
        assert heading in text
    top = text.split("## Top 20 layers by MACs")[1].split("## By op type")[0]
    assert top.count("\n| ") == 2 + 20
    assert "| 4.089 G | 4089184256 |" in text
    assert "| Conv | 53 | 4.087 G | 99.9 % |" in text
    assert "## Runs" not in text


def test_markdown_runs_table_and_top_layers(runs_report: Report) -> None:
    text = render(runs_report, ".md")
    runs = text.split("## Runs")[1]
    assert ("| ov:CPU | fp32 | Intel(R) Xeon(R) Platinum 8480+ | bf16 | - | 40.50 | 180.2 | 25.12 |"
            in runs)  # "weights" follows "precision": '-' where the storage was not recorded
    assert "| ov:GPU.0 | int8 | Intel(R) Arc GPU |  | - | 41.00 | - | - | - |" in runs
    assert "GPU plugin: clEnqueueNDRangeKernel failed (-5)" in runs
    assert "### ov:CPU/fp32: top 10 layers by time" in runs
    assert "### ov:GPU.0/int8" not in runs
    section = runs.split("### ov:CPU/fp32")[1].split("###")[0]
    top_table = section.split("Layer times explain")[0]
    assert top_table.count("\n| ") == 2 + 10
    assert "| layer type | layers | time ms | share |" in section
    assert "| precision | layers | time ms | share |" in section


def test_markdown_escapes_link_and_html_names() -> None:
    assert md_escape(LINK_NAME) == "\\[x\\](javascript:alert(1))"
    assert md_escape("a|b_c*d`e\\f") == "a\\|b\\_c\\*d\\`e\\\\f"
    text = render(hostile_report(), ".md")
    assert LINK_NAME not in text and "](javascript" not in text.replace("\\](javascript", "")
    assert re.search(r"(?<!\\)[<>\[\]]", text) is None  # none left unescaped
    assert "\\<script\\>alert(1)\\</script\\>" in text
    assert "## Unsupported ops (cost not counted)" in text
    assert "| \\<img src=x onerror=alert(1)\\> | 1 |" in text


def test_html_resnet_is_self_contained_with_charts(resnet_report: Report) -> None:
    text = render(resnet_report, ".html")
    parser = parse_html(text)
    assert parser.mismatches == [] and parser.stack == []
    assert parser.tags["svg"] == 2 and parser.tags["table"] >= 4
    assert "http://" not in text and "https://" not in text
    assert all(url.startswith("#") for url in parser.urls)
    assert "url(" not in text and "@import" not in text
    layer_table = text.split('<table id="layers"')[1].split("</table>")[0]
    assert layer_table.count("<tr><td>") == 176
    assert "4.089 G" in text and "light_resnet50.onnx" in text


def test_html_runs_report_has_run_charts_and_failed_run(runs_report: Report) -> None:
    text = render(runs_report, ".html")
    parser = parse_html(text)
    assert parser.mismatches == [] and parser.stack == []
    # 2 static + device comparison + 2 successful runs x (histogram, trace, layers, by type,
    # by precision)
    assert parser.tags["svg"] == 2 + 1 + 2 * 5
    assert "Time by precision that ran" in text
    assert "Failed at stage compile" in text
    assert "GPU plugin: clEnqueueNDRangeKernel failed (-5)" in text
    assert "ms ov:CPU/fp32</th>" in text and 'id="run-3"' in text
    assert '<a class="bad" href="#run-3" title="compile: GPU plugin' in text
    assert "http://" not in text and "https://" not in text
    assert text == render(runs_report, ".html")  # deterministic


def test_html_escapes_every_report_string() -> None:
    text = render(hostile_report(), ".html")
    parser = parse_html(text)
    assert parser.mismatches == []
    assert parser.tags.get("img", 0) == 0 and parser.tags.get("i", 0) == 0
    assert parser.tags["script"] == 1  # only the page's own sorting script
    assert "<script>alert" not in text and "<img" not in text and "<i on" not in text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in text
    assert "&lt;img src=x onerror=alert(1)&gt;" in text
    svg_parts = re.findall(r"<svg.*?</svg>", text, flags=re.S)
    assert any("&lt;script&gt;" in part for part in svg_parts)


def test_write_report_by_extension(tmp_path: Path, runs_report: Report) -> None:
    for extension in (".csv", ".md", ".html"):
        path = tmp_path / f"out{extension}"
        write_report(runs_report, str(path))
        assert path.read_bytes().decode("utf-8") == render(runs_report, extension)


def test_run_summary_peak_rss_and_error(runs_report: Report) -> None:
    ok, _, failed = (run_summary(run) for run in runs_report.runs)
    assert ok.peak_rss_bytes == 310_000_000 and ok.p50_ms is not None
    assert failed.error == "compile: GPU plugin: clEnqueueNDRangeKernel failed (-5)"
    assert failed.p50_ms is None and failed.peak_rss_bytes is None
