"""Opening files: several at once, every format, saved reports with runs, recent files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from profiler.api import analyze_model
from profiler.report.exporters import write_report
from profiler.report.views import flops_by_node, node_times_ms
from tests.conftest import REPO_ROOT
from tests.core.tflite_builder import fully_connected_add_model, tflite_bytes
from tests.ui.factory import make_runs
from tests.ui.test_main_window import SQUEEZENET, drop, drop_and_wait
from ui.settings import MAX_RECENT, AppSettings

SAMPLE = REPO_ROOT / "resources" / "sample" / "mobilenetv2.onnx"


@pytest.fixture(scope="module")
def runs_report_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sample model's analysis with hand-made runs, saved as a report JSON."""
    report = analyze_model(str(SAMPLE))
    assert report.analysis is not None
    report.runs = make_runs(report.analysis)
    path = tmp_path_factory.mktemp("reports") / "mobilenetv2-runs.json"
    write_report(report, str(path))
    return path


def tiny_ir(folder: Path) -> Path:
    """Conv 3->4, 3x3, pad 1 on 1x3x8x8 as OpenVINO IR (.xml + .bin): 4*27*64 = 6912 MACs."""
    import numpy as np
    import openvino as ov
    import openvino.opset13 as ops

    x = ops.parameter([1, 3, 8, 8], ov.Type.f32, name="x")
    weights = ops.constant(np.ones((4, 3, 3, 3), np.float32), name="w")
    conv = ops.convolution(x, weights, [1, 1], [1, 1], [1, 1], [1, 1], name="conv")
    path = folder / "tiny.xml"
    ov.save_model(ov.Model([ops.result(conv, name="y")], [x], "tiny"), str(path))
    return path


def test_several_files_of_every_format_open_as_tabs(qtbot, make_window, tmp_path: Path,
                                                    runs_report_path: Path) -> None:
    tflite = tmp_path / "fc.tflite"
    tflite.write_bytes(tflite_bytes(fully_connected_add_model(False)))
    window = make_window()
    drop_and_wait(qtbot, window, [SQUEEZENET, tiny_ir(tmp_path), tflite, runs_report_path])
    titles = [window.tabs.tabText(i) for i in range(window.tabs.count())]
    assert titles == ["light_squeezenet.onnx", "tiny.xml", "fc.tflite",
                      "mobilenetv2.onnx · report"]
    ir_view = window.views()[1]
    assert ir_view.document.report.analysis.totals.macs == 4 * 27 * 64
    assert window.banner.isHidden()


def test_a_bad_file_among_good_ones_is_reported_and_the_rest_open(qtbot, make_window,
                                                                  tmp_path: Path) -> None:
    bad = tmp_path / "notes.json"
    bad.write_text('{"hello": 1}', encoding="utf-8")
    missing = tmp_path / "gone.onnx"
    window = make_window()
    drop_and_wait(qtbot, window, [bad, SQUEEZENET, missing])
    assert window.tabs.count() == 1
    text = window.banner.text()
    assert "notes.json" in text and "not an edgeprof report" in text
    assert "gone.onnx" in text
    assert len(text.splitlines()) == 2


def test_a_saved_report_with_runs_reopens_with_runs_in_table_and_charts(
        qtbot, make_window, runs_report_path: Path) -> None:
    window = make_window()
    drop_and_wait(qtbot, window, [runs_report_path])
    view = window.current_view()
    assert view is not None and view.document.read_only
    report = view.document.report
    assert [run.device for run in report.runs] == ["ov:CPU", "ort:cpu", "ov:GPU.0"]
    headers = [c.header for c in view.document.columns]
    for label in ("ov:CPU/fp32", "ort:cpu/fp32"):
        assert f"{label} ms" in headers and f"{label} GFLOP/s" in headers
    assert not any(h.startswith("ov:GPU.0") for h in headers)  # failed: no layer profile
    # the table shows the views' per-node join: conv_1's time on ov:CPU
    times = node_times_ms(report.runs[0].layer_profile, flops_by_node(report.analysis))
    column = headers.index("ov:CPU/fp32 ms")
    proxy = view.table.proxy
    first = proxy.index(0, column)
    assert proxy.data(first) == f"{times[report.analysis.layers[0].name]:.4f}"
    charts = view.charts
    assert set(charts.visible_charts()) == {"Top layers", "By op type", "Latency", "Devices",
                                            "Roofline"}
    assert charts.rank_by.currentData() == "time"
    assert charts.latency.data is not None and charts.latency.data.count == 300
    assert [bar.label for bar in charts.devices.plot.bars] == ["ov:CPU/fp32", "ort:cpu/fp32"]
    assert "ov:GPU.0/fp32 failed at compile" in charts.devices.failures.text()
    assert len(charts.roofline.points) > 50
    assert "failed" in view.card.runs.text() and "p50 " in view.card.runs.text()
    assert "read-only" in view.card.origin.text()


def test_recent_files_are_kept_most_recent_first_and_pruned(qtbot, make_window,
                                                            settings: AppSettings,
                                                            tmp_path: Path) -> None:
    files = []
    for index in range(MAX_RECENT + 2):
        path = tmp_path / f"m{index}.onnx"
        path.write_bytes(b"x")
        settings.add_recent_file(str(path))
        files.append(str(path))
    assert settings.recent_files() == files[::-1][:MAX_RECENT]
    Path(files[-1]).unlink()
    window = make_window()
    assert "Removed from recent files" in window.statusBar().currentMessage()
    assert "m11.onnx" in window.statusBar().currentMessage()
    assert len(window.recent_menu.actions()) == MAX_RECENT - 1
    Path(files[-2]).unlink()
    window._open_recent(files[-2])
    assert "no longer exists" in window.banner.text()
    assert files[-2] not in settings.recent_files()


def test_a_successful_open_is_remembered_in_recent_files(qtbot, make_window,
                                                         settings: AppSettings) -> None:
    window = make_window()
    drop_and_wait(qtbot, window, [SQUEEZENET])
    assert settings.recent_files()[0] == str(SQUEEZENET)
    assert window.recent_menu.actions()[0].text() == "light_squeezenet.onnx"


def test_opening_the_same_file_again_refreshes_its_tab(qtbot, make_window) -> None:
    window = make_window()
    drop_and_wait(qtbot, window, [SQUEEZENET])
    drop_and_wait(qtbot, window, [SQUEEZENET])
    assert window.tabs.count() == 1


def test_show_report_refreshes_the_models_tab_with_new_runs(qtbot, make_window) -> None:
    window = make_window()
    drop_and_wait(qtbot, window, [SAMPLE])
    view = window.current_view()
    view.select_layer(5)
    report = view.document.report
    report.runs = make_runs(report.analysis)[:1]
    assert window.show_report(report) is view
    assert window.tabs.count() == 1
    assert "ov:CPU/fp32 ms" in [c.header for c in view.document.columns]
    assert view.table.selected_layer() == 5
    assert "Latency" in view.charts.visible_charts()
    assert "ov:CPU/fp32" in view.details.toHtml()  # the details show the new run
    assert view.charts.roofline.highlighted == 5


def test_drop_of_non_files_is_ignored(qtbot, make_window) -> None:
    from PySide6.QtCore import QMimeData, QPointF, Qt
    from PySide6.QtGui import QDropEvent

    window = make_window()
    mime = QMimeData()
    mime.setText("just text")
    window.dropEvent(QDropEvent(QPointF(5, 5), Qt.DropAction.CopyAction, mime,
                                Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))
    assert window.tabs.count() == 0 and window.loader.pending == 0
    drop(window, [])
    assert window.banner.isHidden()


def test_startup_imports_no_runtime_numpy_or_charts() -> None:
    """The first window must not wait for onnx, the runtimes, numpy or pyqtgraph."""
    code = ("import sys, ui.app, ui.main_window, ui.model_view, ui.loader; "
            "print(sorted(m for m in ('onnx', 'onnxruntime', 'openvino', 'numpy', 'pyqtgraph', "
            "'profiler.api') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=REPO_ROOT, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"



def test_a_cancelled_opening_says_so_in_the_app_s_words(tmp_path: Path) -> None:
    from tests.core import model_builders as mb
    from tests.core.cancel_jobs import run_scenario

    path = mb.save(mb.matmul_chain(), tmp_path / "m.onnx")
    assert run_scenario("app", path) == "Cancelled: m.onnx: opening cancelled"
