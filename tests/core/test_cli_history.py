"""``edgeprof-cli history`` and the history save of ``profile``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from profiler.cli import main
from profiler.history.store import HistoryStore
from profiler.records.report import Report, load_report
from profiler.records.runs import Run
from tests.conftest import REPO_ROOT
from tests.core.test_history_store import make_report, make_run


@pytest.fixture(autouse=True)
def data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "data"
    monkeypatch.setenv("EDGEPROF_DATA_DIR", str(folder))
    return folder


@pytest.fixture
def saved() -> list[int]:
    """resnet (ov:CPU p50 12 ms, ort:cpu 6 ms) then mobilenet (ov:CPU 9 ms): run ids 1..3."""
    store = HistoryStore()
    ids = store.save_report(make_report("resnet.onnx", "2025-03-01T10:00:00+00:00"))
    ids += store.save_report(make_report("mobilenet.onnx", "2025-03-02T10:00:00+00:00", [
        make_run("ov:CPU", [7.0, 9.0, 11.0], {"conv1": 2.5, "relu": 1.5})]))
    return ids


def _rows(out: str) -> dict[str, list[str]]:
    """Table rows by their first cell (the id)."""
    return {line.split()[0]: line.split() for line in out.splitlines()[2:] if line.strip()}


def test_list_table_newest_first(saved: list[int], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "list"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split() == ["id", "date", "model", "device", "variant",
                                           "precision", "p50", "ms", "error"]
    assert list(_rows(out)) == ["3", "2", "1"]
    assert _rows(out)["1"][3:8] == ["resnet.onnx", "ov:CPU", "fp32", "fp32", "12.000"]
    assert _rows(out)["2"][7] == "6.000"


def test_list_filters_json_and_limit(saved: list[int],
                                     capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "list", "--model", "MOBILE", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(r["id"], r["model_name"], r["p50_ms"]) for r in data["runs"]] == [
        (3, "mobilenet.onnx", 9.0)]
    assert main(["history", "list", "--device", "ort:cpu"]) == 0
    assert list(_rows(capsys.readouterr().out)) == ["2"]
    assert main(["history", "list", "--limit", "1"]) == 0
    assert list(_rows(capsys.readouterr().out)) == ["3"]
    assert main(["history", "list", "--model", "bert"]) == 0
    assert "no saved runs match" in capsys.readouterr().out
    assert main(["history", "list", "--limit", "0"]) == 2


def test_empty_history_is_a_friendly_line(data_folder: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "list"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("no saved runs yet") and str(data_folder) in out
    assert main(["history", "path"]) == 0
    assert capsys.readouterr().out.strip() == str(data_folder / "history.sqlite3")


def test_show_prints_the_run_and_writes_its_report(
        saved: list[int], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "show", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("run #2, ") and "/models/resnet.onnx" in out
    [row] = [line for line in out.splitlines() if line.startswith("ort:cpu")]
    assert "6.000" in row and "ov:CPU" not in out
    target = tmp_path / "run2.json"
    assert main(["history", "show", "2", "-o", str(target)]) == 0
    assert load_report(str(target)).to_dict() == make_report(
        "resnet.onnx", "2025-03-01T10:00:00+00:00").to_dict()
    assert main(["history", "show", "2", "-o", str(tmp_path / "x.pdf")]) == 2


def test_compare_two_saved_runs(saved: list[int], tmp_path: Path,
                                capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "cmp.md"
    assert main(["history", "compare", "1", "3", "-o", str(target)]) == 0
    out = capsys.readouterr().out
    cpu_line = next(line for line in out.splitlines() if line.startswith("ov:CPU"))
    assert cpu_line.split()[:6] == ["ov:CPU", "fp32", "12.000", "9.000", "-3.000", "ms"]
    assert "-25.0 %" in cpu_line and "A: run #1: resnet.onnx on ov:CPU" in out
    assert "| conv1 | Conv | 4.000 | 2.500 | -1.500 ms | -37.5 % |" in target.read_text()


def test_unknown_id_exits_1_with_one_line(saved: list[int],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    for command in (["show", "42"], ["compare", "1", "42"], ["delete", "42"]):
        assert main(["history", *command]) == 1
        err = capsys.readouterr().err
        assert err.startswith("edgeprof-cli: error: no run #42 in the history")
        assert len(err.splitlines()) == 1
    assert main(["history", "show", "abc"]) == 2  # refused by the parser: main returns 2


def test_delete(saved: list[int], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["history", "delete", "1"]) == 0
    assert capsys.readouterr().out.strip() == "deleted run #1"
    assert [e.id for e in HistoryStore().list_runs()] == [3, 2]
    assert main(["history", "show", "1"]) == 1


def test_garbage_history_is_one_line_not_a_traceback(
        data_folder: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data_folder.mkdir()
    (data_folder / "history.sqlite3").write_bytes(b"\x00garbage" * 500)
    assert main(["history", "list"]) == 1
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert str(data_folder / "history.sqlite3") in err and "move the file aside" in err


# profile saves to the history -----------------------------------------------------------------

@pytest.fixture
def fake_profile(monkeypatch: pytest.MonkeyPatch) -> list[Report]:
    """The measuring answers with a canned report (the history save is what is tested)."""
    made: list[Report] = []

    def profile_model(*args: Any, **kwargs: Any) -> Report:
        made.append(make_report("tiny.onnx", runs=[make_run("ov:CPU", [2.0, 2.0, 2.0])]))
        return made[-1]

    monkeypatch.setattr("profiler.api.measure_devices", profile_model)
    monkeypatch.setattr("profiler.cli_runtime.check_devices", lambda devices: None)
    return made


def test_profile_saves_its_runs(fake_profile: list[Report],
                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile", "tiny.onnx"]) == 0
    assert "warning" not in capsys.readouterr().err
    [entry] = HistoryStore().list_runs()
    assert (entry.model_name, entry.device, entry.p50_ms) == ("tiny.onnx", "ov:CPU", 2.0)
    assert HistoryStore().get_run(entry.id).report.to_dict() == fake_profile[0].to_dict()


def test_no_history_saves_nothing(fake_profile: list[Report], data_folder: Path) -> None:
    assert main(["profile", "tiny.onnx", "--no-history"]) == 0
    assert len(fake_profile) == 1 and not data_folder.exists()


def test_profile_with_garbage_history_warns_and_succeeds(
        fake_profile: list[Report], data_folder: Path, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    data_folder.mkdir()
    (data_folder / "history.sqlite3").write_bytes(b"garbage" * 500)
    out_file = tmp_path / "out.json"
    assert main(["profile", "tiny.onnx", "-o", str(out_file)]) == 0
    err = capsys.readouterr().err
    [warning] = [line for line in err.splitlines() if line.startswith("warning:")]
    assert "not saved to the history" in warning and "move the file aside" in warning
    assert load_report(str(out_file)).runs[0].device == "ov:CPU"


def test_history_list_in_a_child_process(saved: list[int]) -> None:
    result = subprocess.run([sys.executable, "-m", "profiler", "history", "list", "--json"],
                            capture_output=True, text=True, cwd=REPO_ROOT, timeout=120)
    assert result.returncode == 0, result.stderr
    assert [run["id"] for run in json.loads(result.stdout)["runs"]] == [3, 2, 1]


def test_save_keeps_runs_of_a_report_without_model() -> None:
    ids = HistoryStore().save_report(Report(runs=[Run(device="ov:GPU")]))
    assert HistoryStore().get_entry(ids[0]).model_name == ""
