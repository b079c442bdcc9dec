"""``edgeprof-cli profile`` and ``devices``: options, summary, report, exit codes.

Most tests swap the worker for a small script that answers with a canned run (or crashes),
so they check the command line itself; the last ones run the real runtimes end to end.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import onnx
import pytest
from onnx import TensorProto, helper

from profiler.bench import supervisor
from profiler.bench.profile import concrete_shapes, parse_cpus
from profiler.bench.stats import latency_stats
from profiler.cli import build_parser, main
from profiler.cli_runtime import profile_options
from profiler.errors import ShapeError, UsageError
from profiler.records.model import TensorSpec
from profiler.records.report import load_report
from profiler.records.runs import MemoryStats, Run, RunError
from profiler.records.serialize import to_dict
from tests.conftest import REPO_ROOT
from tests.core.fake_workers import HANDSHAKE, frame

P50_BY_DEVICE = {"ov:CPU": 12.5, "ort:cpu": 8.0}


def _relu_model(path: Path, shape: Sequence[int] | None = (1, 4)) -> str:
    graph = helper.make_graph(
        [helper.make_node("Relu", ["x"], ["y"], name="relu")], "tiny",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, shape)])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return str(path)


def _canned_run(p50_ms: float) -> dict[str, Any]:
    run = Run(device="", backend="fake", precision="fp32", compile_ms=20.0,
              first_inference_ms=3.0, latency=latency_stats([p50_ms] * 5, "iterations", 0.1),
              throughput_fps=1000.0 / p50_ms,
              memory=MemoryStats("linux-vmhwm", 50 << 20, 80 << 20, 90 << 20, 100))
    return dict(to_dict(run))


CANNED_WORKER = HANDSHAKE + frame("stage", stage="compile") + """
runs = json.loads(sys.argv[1])
run = runs[job["device"]]
run["device"] = job["device"]
settings = job["settings"]
run["config"] = {"threads": settings["threads"], "cpus": settings["cpus"],
                 "shapes": job["shapes"]}
print(json.dumps({"v": wire.PROTOCOL_VERSION, "type": "outcome", "kind": "measure",
                  "outcome": {"run": run}}), flush=True)
"""
CRASHING_WORKER = "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"


@pytest.fixture
def canned(monkeypatch: pytest.MonkeyPatch) -> None:
    runs = json.dumps({device: _canned_run(p50) for device, p50 in P50_BY_DEVICE.items()})
    monkeypatch.setattr(supervisor, "WORKER_ARGV", (sys.executable, "-c", CANNED_WORKER, runs))
    monkeypatch.setattr("profiler.cli_runtime.check_devices", lambda devices: None)


@pytest.fixture
def crashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(supervisor, "WORKER_ARGV", (sys.executable, "-c", CRASHING_WORKER))
    monkeypatch.setattr("profiler.cli_runtime.check_devices", lambda devices: None)


def test_parse_cpus() -> None:
    assert parse_cpus("0-3,6") == [0, 1, 2, 3, 6]
    assert parse_cpus("5, 1") == [1, 5]
    for bad in ("3-1", "a", "1,,2"):
        with pytest.raises(UsageError):
            parse_cpus(bad)


def test_options_from_the_command_line() -> None:
    args = build_parser().parse_args(
        ["profile", "m.onnx", "--threads", "2", "--cpus", "0-1", "--precision", "bf16",
         "--iterations", "50", "--no-layers", "--timeout", "9"])
    options = profile_options(args)
    assert (options.threads, options.cpus, options.precision) == (2, [0, 1], "bf16")
    assert options.stop.iterations == 50 and options.stop.kind == "iterations"
    assert options.layers is False and options.limits.timeout_s == 9.0
    throughput = profile_options(build_parser().parse_args(
        ["profile", "m.onnx", "--mode", "throughput", "--duration", "3"]))
    assert throughput.throughput_seconds == 3.0 and throughput.stop.duration_s is None
    adaptive = profile_options(build_parser().parse_args(["profile", "m.onnx", "--max-time", "5"]))
    assert adaptive.stop.kind == "adaptive" and adaptive.stop.max_time_s == 5.0
    assert adaptive.layers is True


def test_iterations_and_duration_exclude_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["profile", "m.onnx", "--iterations", "5", "--duration", "2"])
    assert exit_info.value.code == 2


def test_unusable_dynamic_shape_names_the_flag() -> None:
    with pytest.raises(ShapeError, match=r"--shape x=DIMxDIM"):
        concrete_shapes([TensorSpec("x", "float32", ["batch", None])])
    assert concrete_shapes([TensorSpec("x", "float32", [1, 3])]) == {"x": [1, 3]}


def test_summary_table_without_output(tmp_path: Path, canned: None,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    model = _relu_model(tmp_path / "tiny.onnx")
    assert main(["profile", model, "--device", "ov:CPU", "--device", "ort:cpu"]) == 0
    out, err = capsys.readouterr()
    assert "p50 ms" in out and "throughput FPS" in out and "peak RSS" in out
    rows = {line.split()[0]: line for line in out.splitlines() if line.startswith(("ov:", "ort:"))}
    assert "12.500" in rows["ov:CPU"] and "8.000" in rows["ort:cpu"]
    assert "90.00 MiB" in rows["ov:CPU"]  # the largest stage peak
    assert "[ov:CPU] compiling" in err and "[ort:cpu] compiling" in err


def test_report_written_with_runs_and_analysis(tmp_path: Path, canned: None) -> None:
    model, out = _relu_model(tmp_path / "tiny.onnx"), tmp_path / "out.json"
    assert main(["profile", model, "--device", "ort:cpu", "--threads", "3", "-o", str(out)]) == 0
    report = load_report(str(out))
    assert [run.device for run in report.runs] == ["ort:cpu"]
    assert report.runs[0].latency is not None and report.runs[0].latency.p50 == 8.0
    assert report.runs[0].config == {"threads": 3, "cpus": None, "shapes": {"x": [1, 4]}}
    assert report.analysis is not None and report.analysis.totals.layer_count == 1
    assert report.environment["runtimes"] and report.errors == []


def test_default_device_is_ov_cpu(tmp_path: Path, canned: None) -> None:
    model, out = _relu_model(tmp_path / "tiny.onnx"), tmp_path / "out.json"
    assert main(["profile", model, "-o", str(out)]) == 0
    assert [run.device for run in load_report(str(out)).runs] == ["ov:CPU"]


def test_latency_budget_exit_code(tmp_path: Path, canned: None,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    model = _relu_model(tmp_path / "tiny.onnx")
    devices = ["--device", "ov:CPU", "--device", "ort:cpu"]
    assert main(["profile", model, *devices, "--max-latency-ms", "10"]) == 3
    err = capsys.readouterr().err
    assert "budget exceeded: ov:CPU median latency 12.500 ms > --max-latency-ms 10" in err
    assert "ort:cpu median" not in err
    assert main(["profile", model, *devices, "--max-latency-ms", "20"]) == 0


def test_every_run_failed_exits_1_and_still_writes(tmp_path: Path, crashing: None,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    model, out = _relu_model(tmp_path / "tiny.onnx"), tmp_path / "out.json"
    assert main(["profile", model, "--device", "ov:CPU", "--device", "ort:cpu",
                 "-o", str(out)]) == 1
    report = load_report(str(out))
    assert [run.error.message if run.error else "" for run in report.runs] == [
        "runtime crashed: signal 11 (SIGSEGV) while starting the worker on ov:CPU",
        "runtime crashed: signal 11 (SIGSEGV) while starting the worker on ort:cpu",
    ]
    assert len(report.errors) == 2
    assert "every run failed" in capsys.readouterr().err


def test_dynamic_input_without_size_is_a_usage_error(tmp_path: Path, canned: None,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    model = _relu_model(tmp_path / "noshape.onnx", shape=None)
    assert main(["profile", model]) == 2
    assert "--shape x=" in capsys.readouterr().err


def test_bad_cpus_is_a_usage_error(tmp_path: Path, canned: None,
                                   capsys: pytest.CaptureFixture[str]) -> None:
    model = _relu_model(tmp_path / "tiny.onnx")
    assert main(["profile", model, "--cpus", "3-1"]) == 2
    assert "--cpus '3-1'" in capsys.readouterr().err
    assert main(["profile", model, "--cpus", "0,60000"]) == 2
    assert "CPU(s) 60000 are not usable here" in capsys.readouterr().err
    assert main(["profile", model, "--cpus", "0,100000"]) == 2  # beyond any CPU number
    assert "--cpus '0,100000': CPU numbers go up to 65535" in capsys.readouterr().err


# the real runtimes -----------------------------------------------------------------------------

def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "profiler", *args], capture_output=True,
                          text=True, cwd=REPO_ROOT, timeout=240)


def test_unknown_device_lists_the_available_ones(tmp_path: Path) -> None:
    result = _cli("profile", _relu_model(tmp_path / "tiny.onnx"), "--device", "ov:NOPE")
    assert result.returncode == 2, result.stderr
    assert "ov:CPU" in result.stderr and "ort:cpu" in result.stderr


def test_devices_json_lists_cpu_devices() -> None:
    result = _cli("devices", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    ids = [device["id"] for device in data["devices"]]
    assert "ov:CPU" in ids and "ort:cpu" in ids
    assert data["cpu"]["logical_cores"] >= 1


def test_profile_end_to_end_on_both_runtimes(tmp_path: Path) -> None:
    model, out = _relu_model(tmp_path / "tiny.onnx"), tmp_path / "out.json"
    result = _cli("profile", model, "--device", "ov:CPU", "--device", "ort:cpu",
                  "--iterations", "20", "--threads", "1", "--precision", "f32", "-o", str(out))
    assert result.returncode == 0, result.stderr
    report = load_report(str(out))
    assert [run.device for run in report.runs] == ["ov:CPU", "ort:cpu"]
    for run in report.runs:
        assert run.error is None, run.error
        assert run.latency is not None and run.latency.count == 20
        assert len(run.latency.samples_ms) == 20 and run.latency.stop_reason == "iterations"
        assert run.compile_ms is not None and run.first_inference_ms is not None
        assert run.memory is not None and run.memory.inference_peak_rss_bytes > 0
        assert run.memory.model_file_bytes == Path(model).stat().st_size
        assert run.config["threads"] == 1 and run.config["stop_rule"]["iterations"] == 20
        assert run.layer_profile is not None and run.layer_profile.layers


def test_devices_says_which_runtime_is_missing(monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    """A runtime that cannot load only removes its devices, and the listing says why."""
    from profiler import cli

    def broken() -> Any:
        raise ImportError("libopenvino.so: cannot open shared object file")

    monkeypatch.setattr("profiler.offline.import_openvino", broken)
    assert cli.main(["devices"]) == 0
    captured = capsys.readouterr()
    assert "ort:cpu" in captured.out and "ov:CPU" not in captured.out
    assert "note: OpenVINO devices unavailable: libopenvino.so" in captured.err


# honest devices and exit codes -----------------------------------------------------------------

def _failed_run() -> dict[str, Any]:
    run = Run(device="", backend="fake", error=RunError("compile", "plugin said no"))
    return dict(to_dict(run))


@pytest.fixture
def one_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    runs = json.dumps({"ov:CPU": _canned_run(12.5), "ort:cpu": _failed_run()})
    monkeypatch.setattr(supervisor, "WORKER_ARGV", (sys.executable, "-c", CANNED_WORKER, runs))
    monkeypatch.setattr("profiler.cli_runtime.check_devices", lambda devices: None)


def test_one_failed_device_exits_1_and_still_writes(tmp_path: Path, one_fails: None,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    model, out = _relu_model(tmp_path / "tiny.onnx"), tmp_path / "out.json"
    assert main(["profile", model, "--device", "ov:CPU", "--device", "ort:cpu",
                 "-o", str(out)]) == 1
    assert [run.error is None for run in load_report(str(out)).runs] == [True, False]
    err = capsys.readouterr().err
    assert "ort:cpu: plugin said no" in err and "1 of 2 runs failed (ort:cpu)" in err


def test_a_failure_outranks_the_budget(tmp_path: Path, one_fails: None,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    """Exit 3 means 'measured, over budget'; with a failed run CI must see 1."""
    model = _relu_model(tmp_path / "tiny.onnx")
    assert main(["profile", model, "--device", "ov:CPU", "--device", "ort:cpu",
                 "--max-latency-ms", "1"]) == 1
    assert "budget exceeded: ov:CPU" in capsys.readouterr().err


@pytest.mark.parametrize("name", ["m.xml", "m.tflite"])
def test_ort_device_on_a_non_onnx_model_exits_2_before_any_work(
        tmp_path: Path, canned: None, name: str, capsys: pytest.CaptureFixture[str]) -> None:
    model = tmp_path / name
    model.write_bytes(b"not read at all")
    for command in ("profile", "quantize"):
        assert main([command, str(model), "--device", "ov:CPU", "--device", "ort:cpu"]) == 2
        out, err = capsys.readouterr()
        assert err.strip() == (f"edgeprof-cli: error: ort:cpu cannot run {name}: ONNX Runtime "
                               "reads only .onnx files; use an ov:... device")
        assert out == "" and "compiling" not in err


def test_devices_for_format_gives_the_reason() -> None:
    from profiler.runtime.devices import DeviceInfo, devices_for_format

    devices = [DeviceInfo("ov:CPU", "openvino", "CPU"), DeviceInfo("ort:cpu", "onnxruntime", "cpu"),
               DeviceInfo("ort:openvino:NPU", "onnxruntime", "openvino:NPU")]
    usable, refused = devices_for_format(devices, "openvino-ir")
    assert [d.id for d in usable] == ["ov:CPU"]
    assert refused["ort:cpu"] == ("ort:cpu cannot run this model: ONNX Runtime reads only .onnx "
                                  "files; use an ov:... device")
    assert set(refused) == {"ort:cpu", "ort:openvino:NPU"}
    assert devices_for_format(devices, "onnx") == (devices, {})
