"""Remote devices are ordinary devices: profile, quantize, compare and history on
``board/ort:cpu`` through a real OpenSSH server on 127.0.0.1 (see sshd_rig), and the faults
(connection dropped mid-run, board rebooted, runtime missing, another protocol) failing only
that target's runs, with nothing left running on the board. Skipped when sshd is missing."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from profiler.bench.profile import ProfileOptions
from profiler.bench.protocol import StopRule
from profiler.bench.requests import MeasureRequest, MeasureSettings
from profiler.bench.wire import Event
from profiler.cli import main
from profiler.records.report import load_report
from profiler.remote import runner
from profiler.remote.targets import save_targets
from tests.core.model_builders import matmul_chain, save
from tests.core.sshd_rig import (
    HIDE_MODULE,
    PATCH_PROTOCOL,
    SshdRig,
    board_processes,
    make_board_python,
    missing_tools,
)

pytestmark = pytest.mark.skipif(bool(missing_tools()), reason=missing_tools() or "ok")
QUICK = ["--iterations", "5", "--no-layers", "--no-history"]


@pytest.fixture(autouse=True)
def _homes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, rig: SshdRig) -> None:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.setenv("EDGEPROF_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("EDGEPROF_CACHE_DIR", str(tmp_path / "cache"))
    save_targets({"board": rig.target()})
    runner._info.clear()  # each test asks the board afresh (as a new command would)


@pytest.fixture
def model(tmp_path: Path) -> str:
    return save(matmul_chain(), tmp_path / "m.onnx")


def _report(path: Path) -> dict:
    return json.loads(path.read_text())


def _request(model: str, device: str = "board/ort:cpu", **stop: float) -> MeasureRequest:
    rule = StopRule(**stop) if stop else StopRule(iterations=5)  # type: ignore[arg-type]
    return MeasureRequest(model_path=model, device=device,
                          settings=MeasureSettings(stop=rule, layers=False))


# profile, history, compare ------------------------------------------------------------------

def test_profile_on_a_target_gives_a_prefixed_run_with_the_board_environment(
        rig: SshdRig, model: str, tmp_path: Path) -> None:
    out = tmp_path / "a.json"
    assert main(["profile", model, "--device", "board/ort:cpu", *QUICK, "-o", str(out)]) == 0
    run = _report(out)["runs"][0]
    assert run["device"] == "board/ort:cpu" and run["error"] is None
    assert len(run["latency"]["samples_ms"]) == 5 and run["model_path"] == model
    target = run["config"]["target"]
    assert target["name"] == "board" and target["environment"]["cpu"]["architecture"]
    assert "onnxruntime" in target["worker"]["runtimes"]
    assert target["model_copied_bytes"] == Path(model).stat().st_size
    assert _report(out)["environment"]["targets"]["board"]["os"]
    again = tmp_path / "b.json"
    assert main(["profile", model, "--device", "board/ort:cpu", *QUICK, "-o", str(again)]) == 0
    assert _report(again)["runs"][0]["config"]["target"]["model_copied_bytes"] == 0


def test_history_keeps_the_prefix_and_compare_matches_it(
        rig: SshdRig, model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    paths = [tmp_path / "a.json", tmp_path / "b.json"]
    for path in paths:
        assert main(["profile", model, "--device", "board/ort:cpu", "--iterations", "5",
                     "--no-layers", "-o", str(path)]) == 0
    capsys.readouterr()
    assert main(["history", "list"]) == 0
    assert "board/ort:cpu" in capsys.readouterr().out
    assert main(["compare", *map(str, paths)]) == 0
    comparison = capsys.readouterr().out
    assert "board/ort:cpu" in comparison and "no matching" not in comparison.lower()


def test_a_local_and_a_remote_device_in_one_profile(rig: SshdRig, model: str,
                                                    tmp_path: Path) -> None:
    out = tmp_path / "both.json"
    assert main(["profile", model, "--device", "board/ort:cpu", "--device", "ort:cpu",
                 *QUICK, "-o", str(out)]) == 0
    runs = {run["device"]: run for run in _report(out)["runs"]}
    assert set(runs) == {"board/ort:cpu", "ort:cpu"}
    assert "target" not in runs["ort:cpu"]["config"]


def test_a_device_the_board_lacks_is_refused_with_the_boards_list(
        rig: SshdRig, model: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["profile", model, "--device", "board/ort:nothing", *QUICK]) == 2
    error = capsys.readouterr().err
    assert "unknown device 'board/ort:nothing'" in error and "board/ort:cpu" in error


def test_quantize_builds_here_and_measures_on_the_target(rig: SshdRig, model: str,
                                                         tmp_path: Path) -> None:
    out = tmp_path / "q.json"
    code = main(["quantize", model, "--device", "board/ort:cpu", "--variants", "fp16",
                 "--iterations", "5", "-o", str(out)])
    report = load_report(str(out))
    assert code == 0, report.errors
    runs = {(run.variant, run.device): run for run in report.runs}
    assert set(runs) == {("fp32", "board/ort:cpu"), ("fp16", "board/ort:cpu")}
    fp16 = runs[("fp16", "board/ort:cpu")]
    assert fp16.error is None and fp16.config["target"]["model_copied_bytes"] > 0
    variant = next(v for v in report.variants if v.id == "fp16")
    assert variant.devices == ["board/ort:cpu"] and "board/ort:cpu" in variant.drift


# faults ---------------------------------------------------------------------------------------

def _wait_gone(board: Path, timeout_s: float = 5.0) -> list:
    deadline = time.monotonic() + timeout_s
    while (left := board_processes(board)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def test_a_dropped_connection_fails_that_run_and_leaves_nothing_on_the_board(
        rig: SshdRig, model: str) -> None:
    from profiler.api import measure_devices

    dropped: list[int] = []

    def progress(event: Event) -> None:
        if event.device == "board/ort:cpu" and event.stage == "latency" and not dropped:
            assert board_processes(rig.board_python.parent.parent)  # the worker is there
            dropped.append(rig.drop_connections())

    # a long latency pass for the remote run (cut short by the drop); the local one is quick
    options = ProfileOptions(stop=StopRule(duration_s=3.0), layers=False)
    report = measure_devices(model, ["board/ort:cpu", "ort:cpu"], options, progress=progress)
    remote, local = report.runs
    assert dropped and dropped[0] >= 1
    assert remote.error is not None and remote.error.kind == "crash"
    assert remote.error.message.startswith("board: connection to board")
    assert "dropped while measuring latency on board/ort:cpu" in remote.error.message
    assert local.error is None and local.latency is not None
    assert _wait_gone(rig.board_python.parent.parent) == []


def test_a_rebooted_board_fails_its_runs_and_the_others_go_on(
        rig: SshdRig, model: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "r.json"
    rig.stop()
    try:
        code = main(["profile", model, "--device", "board/ort:cpu", "--device", "ort:cpu",
                     *QUICK, "-o", str(out)])
    finally:
        rig.start()
    assert code == 1
    runs = {run["device"]: run for run in _report(out)["runs"]}
    assert runs["ort:cpu"]["error"] is None
    error = runs["board/ort:cpu"]["error"]
    assert error["kind"] == "runtime" and "connection refused by board" in error["message"]
    stderr = capsys.readouterr().err
    assert "Traceback" not in stderr and "board/ort:cpu: board: connection refused" in stderr


def test_a_board_without_the_runtime_says_so(rig: SshdRig, model: str, tmp_path: Path) -> None:
    python = make_board_python(tmp_path / "no-ort",
                               sitecustomize=HIDE_MODULE.format(name="onnxruntime"))
    run = runner.measure_on_target(_request(model), rig.target(python=str(python)))
    assert run.device == "board/ort:cpu" and run.error is not None
    assert run.error.kind == "runtime" and "\n" not in run.error.message
    assert run.error.message.startswith("board: ") and "onnxruntime" in run.error.message


def test_another_protocol_version_is_refused_with_both_versions(
        rig: SshdRig, model: str, tmp_path: Path) -> None:
    python = make_board_python(tmp_path / "old",
                               sitecustomize=PATCH_PROTOCOL.format(version=99))
    run = runner.measure_on_target(_request(model), rig.target(python=str(python)))
    assert run.error is not None and run.error.kind == "protocol"
    assert "board speaks worker protocol 99" in run.error.message
    assert "install the same edge-model-profiler version" in run.error.message


def test_the_supervisor_refuses_a_worker_of_another_protocol(
        rig: SshdRig, model: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """remote-info said the same version (a board upgraded meanwhile): the handshake refuses."""
    python = make_board_python(tmp_path / "old",
                               sitecustomize=PATCH_PROTOCOL.format(version=99))
    target = rig.target(python=str(python))
    info = runner.cached_board_info(target)
    info.worker_protocol = None
    run = runner.measure_on_target(_request(model), target)
    assert run.error is not None and run.error.kind == "protocol"
    assert "protocol 99" in run.error.message and run.error.message.startswith("board: ")


def test_a_cancelled_remote_run_stops_the_boards_worker(rig: SshdRig, model: str) -> None:
    import threading

    cancel = threading.Event()

    def progress(event: Event) -> None:
        if event.stage == "latency":
            cancel.set()

    run = runner.measure_on_target(_request(model, duration_s=20.0), rig.target(),
                                   progress=progress, cancel=cancel)
    assert run.error is not None and run.error.kind == "cancelled"
    assert run.error.message == "board: cancelled while measuring latency on board/ort:cpu"
    assert _wait_gone(rig.board_python.parent.parent) == []
