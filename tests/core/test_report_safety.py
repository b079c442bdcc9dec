"""Report safety: every string a report carries (layer and tensor names, op types, metadata
keys and values, file names, device names, error messages, warnings, variant names, runtime
kernels, environment...) is replaced by a payload that tries to escape its context: HTML and
script tags, event-handler attributes, attribute and comment break-outs, Markdown links and
spreadsheet formulas. Each exporter must keep it inert:

- HTML: the page has exactly the element structure it has with harmless strings, no event
  handler and no javascript: URL; rendered by headless Chromium, no payload script runs
  (a control page with the same payloads unescaped proves the harness sees them run);
- Markdown: every syntax character from the report is escaped;
- CSV: no cell a spreadsheet would evaluate;
- JSON: the payloads come back byte for byte (escaping is the renderers' job, not storage's).
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import io
import json
import os
import re
import resource
import shutil
import subprocess
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from onnx import helper

from profiler.api import analyze_model
from profiler.bench.stats import latency_stats
from profiler.records.report import Report, report_from_dict
from profiler.records.runs import LayerProfile, MemoryStats, Run, RunError, RuntimeLayer
from profiler.records.variants import Diagnostics, DriftMetrics, Variant
from profiler.report.exporters import render, write_report
from profiler.report.exporters.html_export import SORT_JS
from tests.core import model_builders as mb

FORMULA_PREFIXES = ("=", "+", "-", "@")
DATA_KEY_FIELDS = frozenset({"metadata", "unsupported_ops", "drift", "drift_errors",
                             "diagnostics"})
"""Dicts whose keys come from the model or the devices (mapped too); other dict keys are the
report's own structure (environment, config) and stay."""
STRUCTURAL_FIELDS = frozenset({"schema"})
EFFECT_TITLE = "PWNED"
EFFECT_ELEMENT = "pwned"
EFFECT_ATTRIBUTE = "data-pwned"
EFFECT_STORAGE = "ls-pwned"


def payload(index: int) -> str:
    """One string trying every context at once; its effects are built at run time
    ('PW' + 'NED'), so the effect text appears in a page only if the script ran."""
    return (
        f"{FORMULA_PREFIXES[index % 4]}HYPERLINK(\"x\")"
        "<script>document.title='PW'+'NED'</script>"
        "<img src=x onerror=\"document.body.appendChild(document.createElement('pwn'+'ed'))\">"
        "\"'><svg onload=\"document.body.setAttribute('data-pw'+'ned','1')\">"
        "</title></style></textarea></script><!-- -->"
        "<script>localStorage.setItem('k','ls-'+'pwned');"
        "document.body.appendChild(document.createElement('div')).id=localStorage.getItem('k')"
        f"</script>[link](javascript:alert({index}))|`*_~&amp;#{index}"
    )


def harmless(index: int) -> str:
    return f"s{index}"


class StringMap:
    """The same original string always becomes the same replacement, so every join the
    report relies on (layer names in runtime profiles, device ids in variants) still holds."""

    def __init__(self, make: Callable[[int], str]) -> None:
        self.make = make
        self.table: dict[str, str] = {"": ""}

    def __call__(self, text: str) -> str:
        if text not in self.table:
            self.table[text] = self.make(len(self.table))
        return self.table[text]


def transform(value: Any, strings: StringMap, map_keys: bool = False) -> Any:
    """A copy of ``value`` with every string (and data dict key) passed through ``strings``."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        result = copy.copy(value)
        for item in dataclasses.fields(value):
            if item.name in STRUCTURAL_FIELDS:
                continue
            setattr(result, item.name, transform(getattr(value, item.name), strings,
                                                 item.name in DATA_KEY_FIELDS))
        return result
    if isinstance(value, str):
        return strings(value)
    if isinstance(value, list):
        return [transform(v, strings) for v in value]
    if isinstance(value, dict):
        return {(strings(k) if map_keys else k): transform(v, strings) for k, v in value.items()}
    return value


def _model(folder: Path) -> str:
    nodes = [helper.make_node("MatMul", ["x", "W0"], ["h"], name="matmul0"),
             helper.make_node("Frobnicate", ["h"], ["u"], name="custom"),
             helper.make_node("Relu", ["u"], ["r"], name="relu"),
             helper.make_node("MatMul", ["r", "W1"], ["y"], name="matmul1")]
    model = mb.make_model(nodes, [mb.value_info("x", ["batch", 16])],
                          [mb.value_info("y", ["batch", 4])],
                          [mb.weight("W0", (16, 8)), mb.weight("W1", (8, 4))])
    model.metadata_props.add(key="author", value="someone")
    return mb.save(model, folder / "model.onnx")


def _profile(layer_names: list[str]) -> LayerProfile:
    layers = [RuntimeLayer(f"rt_{name}", "FullyConnected", "jit_avx2_FP32", "FP32", "CPU",
                           0.1 + i, [name], "compute") for i, name in enumerate(layer_names)]
    layers.append(RuntimeLayer("reorder", "Reorder", "ref_any", "FP32", "CPU", 0.05, [],
                               "inserted"))
    return LayerProfile(layers, sum(x.time_ms for x in layers), 0.9, 20, ["relu"],
                        ["per-layer pass"])


def _runs(layer_names: list[str]) -> list[Run]:
    memory = MemoryStats("linux-vmhwm", 50_000_000, 90_000_000, 80_000_000, 4096)
    stats = latency_stats([1.0 + 0.01 * (i % 7) for i in range(40)], "iterations", 0.05)
    return [
        Run("ov:CPU", "openvino", "Some CPU", "fp32", "model.onnx", {"threads": 2, "hint": "x"},
            "f32", 1.0, 2.0, 3.0, stats, 900.0, memory, _profile(layer_names), ["noisy"]),
        Run("ov:CPU", "openvino", "Some CPU", "int8", "int8.xml", {"threads": 2}, "i8", 1.0,
            2.0, 3.0, stats, 1200.0, memory, _profile(layer_names)),
        Run("ov:GPU", "openvino", "Some GPU", "fp32",
            error=RunError("compile", "plugin said no")),
    ]


def _variants() -> list[Variant]:
    drift = DriftMetrics(sqnr_db=31.5, cosine=0.999, samples=8, device="ov:CPU",
                         reference="fp32 model on ov:CPU")
    diagnostics = Diagnostics("ov:CPU", 0.8, 1.0, 1.25, hints=["conversions dominate"],
                              float_layers=["matmul1"], precisions={"I8": 0.7, "FP32": 0.3})
    return [Variant("fp32", format="onnx", file_bytes=1000, devices=["ov:CPU"]),
            Variant("int8", library="nncf", description="INT8 static", format="openvino-ir",
                    file_bytes=400, size_reference_bytes=1000, devices=["ov:CPU"],
                    drift={"ov:CPU": drift}, diagnostics={"ov:CPU": diagnostics},
                    warnings=["random calibration data"]),
            Variant("int4", library="nncf", error="weights compression failed")]


@pytest.fixture(scope="module")
def base_report(tmp_path_factory: pytest.TempPathFactory) -> Report:
    """A realistic report: analysis with an unsupported op, metadata, a dynamic input, runs
    with per-layer profiles, a failed run, and variants (one failed)."""
    report = analyze_model(_model(tmp_path_factory.mktemp("safety")))
    assert report.analysis is not None and report.model is not None
    names = [layer.name for layer in report.analysis.layers]
    report.runs, report.variants = _runs(names), _variants()
    report.errors = ["ov:GPU: plugin said no"]
    report.environment.update({"os": "Linux", "python": "3.11"})
    report.environment.setdefault("cpu", {}).update(name="Some CPU", isa_flags=["avx2"])
    return report


@pytest.fixture(scope="module")
def hostile(base_report: Report) -> Report:
    return transform(base_report, StringMap(payload))  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def benign(base_report: Report) -> Report:
    return transform(base_report, StringMap(harmless))  # type: ignore[no-any-return]


# --- HTML -----------------------------------------------------------------------------------

class Structure(HTMLParser):
    """The element sequence (tag and attribute names) and every attribute value."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, tuple[str, ...]]] = []
        self.attributes: list[tuple[str, str]] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, tuple(sorted(name for name, _ in attrs))))
        self.attributes += [(name, value or "") for name, value in attrs]
        self._in_script = tag == "script"
        if self._in_script:
            self.scripts.append("")

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts[-1] += data


def structure(text: str) -> Structure:
    parser = Structure()
    parser.feed(text)
    parser.close()
    return parser


def test_the_payloads_reach_every_exporter(hostile: Report) -> None:
    """Not vacuous: many distinct payloads are rendered (escaped) in each format."""
    for extension, minimum in ((".html", 40), (".md", 25), (".csv", 10)):
        text = render(hostile, extension)
        found = set(re.findall(r"#(\d+)", text.replace("\\#", "#")))
        assert len(found) >= minimum, (extension, len(found))


def test_html_structure_does_not_depend_on_report_strings(hostile: Report,
                                                          benign: Report) -> None:
    bad, good = structure(render(hostile, ".html")), structure(render(benign, ".html"))
    assert bad.elements == good.elements
    assert bad.scripts == good.scripts == [SORT_JS]
    assert not [name for name, _ in bad.attributes if name.startswith("on")]
    urls = [value for name, value in bad.attributes if name in ("href", "src", "xlink:href")]
    assert all(url.startswith("#") for url in urls), urls


def test_markdown_escapes_every_syntax_character(hostile: Report) -> None:
    text = render(hostile, ".md")
    assert re.search(r"(?<!\\)[<>\[\]`]", text.replace("```", "")) is None
    assert "](javascript" not in text.replace("\\](javascript", "")
    assert "\\<script\\>document.title=" in text


def test_csv_has_no_cell_a_spreadsheet_would_evaluate(hostile: Report) -> None:
    rows = list(csv.reader(io.StringIO(render(hostile, ".csv"))))
    cells = [cell for row in rows for cell in row]
    assert len(rows) > 3
    assert any(cell.startswith("'=HYPERLINK") for cell in cells)
    dangerous = [c for c in cells if c.startswith((*FORMULA_PREFIXES, "\t", "\r"))
                 and not _is_number(c)]
    assert dangerous == []


def _is_number(cell: str) -> bool:
    try:
        float(cell)
    except ValueError:
        return False
    return True


def test_json_keeps_the_payloads_verbatim(hostile: Report) -> None:
    loaded = report_from_dict(json.loads(render(hostile, ".json")))
    assert loaded == hostile


def test_a_model_file_named_like_markup_is_escaped(tmp_path: Path) -> None:
    name = "<img src=x onerror=alert(1)>=1+2.onnx"
    path = mb.save(mb.matmul_chain(), tmp_path / name)
    report = analyze_model(path)
    for extension in (".html", ".md", ".csv"):
        write_report(report, str(tmp_path / f"out{extension}"))
    html_text = (tmp_path / "out.html").read_text(encoding="utf-8")
    assert "<img" not in html_text and "&lt;img src=x onerror=alert(1)&gt;" in html_text
    assert "\\<img src=x onerror=alert(1)\\>" in (tmp_path / "out.md").read_text("utf-8")


# --- headless Chromium ----------------------------------------------------------------------

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")


def _chromium() -> str | None:
    return next((path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)


def _uncap_address_space() -> None:
    """V8 reserves a large address range up front; lift a soft cap the test run may carry."""
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    resource.setrlimit(resource.RLIMIT_AS, (hard, hard))


def dump_dom(page: Path, profile: Path) -> str:
    """The DOM after load and scripts, from headless Chromium with a fresh profile and every
    background connection off (no network is reachable here anyway)."""
    browser = _chromium()
    assert browser is not None
    result = subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", "--disable-default-apps", f"--user-data-dir={profile}",
         "--virtual-time-budget=3000", "--dump-dom", page.as_uri()],
        capture_output=True, text=True, timeout=120, check=False,
        env={**os.environ, "HOME": str(profile)}, preexec_fn=_uncap_address_space,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "</html>" in result.stdout, result.stderr[-2000:]
    return result.stdout


def effects(dom: str) -> list[str]:
    """Which of the payload's effects a page shows (title, element, attribute, storage)."""
    found = []
    title = re.search(r"<title>(.*?)</title>", dom, flags=re.S)
    if title and EFFECT_TITLE in title.group(1):
        found.append("title")
    if f"<{EFFECT_ELEMENT}>" in dom:
        found.append("element")
    if re.search(rf"<body[^>]*\b{EFFECT_ATTRIBUTE}=", dom):
        found.append("attribute")
    if f'id="{EFFECT_STORAGE}"' in dom:
        found.append("storage")
    return found


def _skip_reason() -> str:
    if _chromium() is None:
        return ("headless Chromium is not installed (Debian: apt-get install chromium); "
                "`make test` installs it when run as root")
    if resource.getrlimit(resource.RLIMIT_AS)[1] != resource.RLIM_INFINITY:
        return "Chromium cannot start under a capped address space (ulimit -v is set)"
    return ""


needs_chromium = pytest.mark.skipif(bool(_skip_reason()), reason=_skip_reason() or "-")


@needs_chromium
def test_control_page_shows_the_payload_effects(tmp_path: Path) -> None:
    """The harness sees a script run: the same payload, unescaped, has all four effects."""
    page = tmp_path / "control.html"
    page.write_text(f"<!DOCTYPE html><html><head><title>t</title></head><body><p>"
                    f"{payload(0)}</p></body></html>", encoding="utf-8")
    assert sorted(effects(dump_dom(page, tmp_path / "profile"))) == [
        "attribute", "element", "storage", "title"]


@needs_chromium
def test_no_injected_script_runs_in_the_html_report(tmp_path: Path, hostile: Report) -> None:
    page = tmp_path / "report.html"
    write_report(hostile, str(page))
    dom = dump_dom(page, tmp_path / "profile")
    assert effects(dom) == []
    rendered = structure(dom)
    assert rendered.scripts == [SORT_JS]  # the page's own sorting script, with no report text
    assert ("pwned", ()) not in rendered.elements
    assert "&lt;script&gt;document.title='PW'+'NED'&lt;/script&gt;" in dom  # shown as text
