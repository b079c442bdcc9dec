"""Files: reports are written atomically (a failure leaves no partial file and the previous one
intact), input models are never modified, and ``-o`` naming an input is refused (exit 2).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np
import openvino as ov
import openvino.opset13 as ops
import pytest

from profiler.api import analyze_model
from profiler.errors import UsageError
from profiler.records.report import Report
from profiler.report import exporters
from profiler.report.exporters import write_report
from tests.core import model_builders as mb
from tests.core.test_hostile_corpus import snapshot

PREVIOUS = "the previous report\n"


@pytest.fixture
def report(tmp_path: Path) -> Report:
    return analyze_model(mb.save(mb.matmul_chain(), tmp_path / "chain.onnx"))


def _leftovers(folder: Path) -> list[str]:
    return sorted(name for name in os.listdir(folder) if name.endswith(".tmp"))


def test_a_failing_render_leaves_the_previous_file_intact(tmp_path: Path, report: Report,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "report.html"
    out.write_text(PREVIOUS, encoding="utf-8")

    def broken(_: Report) -> str:
        raise RuntimeError("renderer bug")

    monkeypatch.setattr(exporters, "_renderers", lambda: {".html": broken})
    with pytest.raises(RuntimeError, match="renderer bug"):
        write_report(report, str(out))
    assert out.read_text(encoding="utf-8") == PREVIOUS
    assert _leftovers(tmp_path) == []


class _FailingFile:
    """Writes half of what it is given, then fails like a full disk (or an interrupt)."""

    def __init__(self, handle: Any, error: BaseException) -> None:
        self.handle = handle
        self.error = error

    def __enter__(self) -> _FailingFile:
        return self

    def __exit__(self, *_: Any) -> None:
        self.handle.close()

    def write(self, data: bytes) -> None:
        self.handle.write(data[: len(data) // 2])
        self.handle.flush()
        raise self.error


@pytest.mark.parametrize("error", [OSError(28, "No space left on device"), KeyboardInterrupt()])
def test_a_failing_write_leaves_no_partial_file(tmp_path: Path, report: Report,
                                                monkeypatch: pytest.MonkeyPatch,
                                                error: BaseException) -> None:
    out = tmp_path / "report.json"
    out.write_text(PREVIOUS, encoding="utf-8")
    real_open = open

    def failing_open(path: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        if str(path).endswith(".tmp"):
            return _FailingFile(real_open(path, mode, *args, **kwargs), error)
        return real_open(path, mode, *args, **kwargs)

    monkeypatch.setattr("builtins.open", failing_open)
    expected = UsageError if isinstance(error, OSError) else KeyboardInterrupt
    with pytest.raises(expected):
        write_report(report, str(out))
    monkeypatch.undo()
    assert out.read_text(encoding="utf-8") == PREVIOUS
    assert _leftovers(tmp_path) == []


def test_text_that_cannot_be_encoded_is_replaced_not_fatal(tmp_path: Path,
                                                          report: Report) -> None:
    assert report.analysis is not None
    report.analysis.layers[0].name = "lone \ud800 surrogate"  # possible from a JSON file
    out = tmp_path / "report.md"
    write_report(report, str(out))
    assert "lone ? surrogate" in out.read_text(encoding="utf-8")
    assert _leftovers(tmp_path) == []


# --- the model is never modified -------------------------------------------------------------

def _hashes(paths: list[Path]) -> dict[str, str]:
    return {str(p): hashlib.sha256(p.read_bytes()).hexdigest() for p in paths}


def _onnx_with_external_data(folder: Path) -> list[Path]:
    path = mb.save(mb.matmul_chain(), folder / "ext.onnx", external=True)
    return [Path(path), folder / "ext.onnx.data"]


def _ir(folder: Path) -> list[Path]:
    x = ops.parameter([1, 8], ov.Type.f32, name="x")
    weights = ops.constant(np.ones((8, 4), np.float32), name="W")
    model = ov.Model([ops.result(ops.matmul(x, weights, False, False), name="y")], [x], "m")
    ov.save_model(model, str(folder / "m.xml"), compress_to_fp16=False)
    return [folder / "m.xml", folder / "m.bin"]


@pytest.mark.parametrize("make", [_onnx_with_external_data, _ir], ids=["onnx", "ir"])
@pytest.mark.parametrize("command", ["analyze", "profile"])
def test_analyze_and_profile_leave_the_model_files_untouched(tmp_path: Path, make: Any,
                                                             command: str) -> None:
    folder = tmp_path / "work"
    folder.mkdir()
    files = make(folder)
    before, tree = _hashes(files), snapshot(folder)
    out = folder / "report.json"
    extra = ["--device", "ov:CPU", "--iterations", "3", "--no-layers"] if command == "profile" \
        else []
    result = mb.run_cli(command, str(files[0]), *extra, "-o", str(out))
    assert result.returncode == 0, result.stderr
    assert _hashes(files) == before
    assert {k: v for k, v in snapshot(folder).items() if k != "report.json"} == tree
    assert out.exists()


# --- -o naming an input ----------------------------------------------------------------------

def _refused(result: Any, expected: str) -> None:
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr


@pytest.mark.parametrize("command", ["analyze", "profile"])
def test_output_onto_the_model_is_refused(tmp_path: Path, command: str) -> None:
    model = Path(mb.save(mb.matmul_chain(), tmp_path / "chain.onnx"))
    before = _hashes([model])
    _refused(mb.run_cli(command, str(model), "-o", str(model)), "unknown report format")
    assert _hashes([model]) == before


@pytest.mark.parametrize("link", [os.symlink, os.link], ids=["symlink", "hardlink"])
def test_output_through_a_link_to_the_model_is_refused(tmp_path: Path, link: Any) -> None:
    model = Path(mb.save(mb.matmul_chain(), tmp_path / "chain.onnx"))
    before = _hashes([model])
    alias = tmp_path / "alias.json"
    link(model, alias)
    _refused(mb.run_cli("analyze", str(model), "-o", str(alias)), "that is the model file")
    assert _hashes([model]) == before and alias.exists()


def test_report_command_refuses_to_overwrite_its_input(tmp_path: Path, report: Report) -> None:
    source = tmp_path / "in.json"
    write_report(report, str(source))
    before = _hashes([source])
    _refused(mb.run_cli("report", str(source), "-o", str(source)), "that is the input report")
    assert _hashes([source]) == before


def test_report_command_converts(tmp_path: Path, report: Report) -> None:
    source = tmp_path / "in.json"
    write_report(report, str(source))
    for extension in (".html", ".md", ".csv", ".json"):
        out = tmp_path / f"out{extension}"
        result = mb.run_cli("report", str(source), "-o", str(out))
        assert result.returncode == 0, result.stderr
        assert result.stderr.strip() == f"wrote {out}"
        assert out.read_bytes().decode("utf-8") == exporters.render(report, extension)


@pytest.mark.parametrize("command", ["profile", "quantize"])
def test_measuring_commands_refuse_the_model_as_output_before_measuring(
    tmp_path: Path, command: str
) -> None:
    model = Path(mb.save(mb.matmul_chain(), tmp_path / "chain.onnx"))
    alias = tmp_path / "alias.json"
    os.symlink(model, alias)
    before = _hashes([model])
    result = mb.run_cli(command, str(model), "-o", str(alias))
    _refused(result, "that is the model file")
    assert "starting the runtime" not in result.stderr  # refused up front, nothing measured
    assert _hashes([model]) == before
