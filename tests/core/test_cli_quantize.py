"""``edgeprof-cli quantize``: options, the summary table, report files and exit codes.

The measuring workers are swapped for canned ones (the builds are real), so these tests check
the command itself; tests/core/test_quant_session.py runs the real workers end to end.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pytest

from profiler import cli, cli_quant
from profiler.bench import supervisor
from profiler.errors import UsageError
from profiler.quant import drift_worker
from profiler.records.report import load_report
from tests.core.test_quant_session import (
    CANNED_DRIFT,
    CANNED_WORKER,
    canned_drift,
    canned_runs,
    small_cnn,
)

CRASHING_WORKER = "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"
BUILD_PARSER = cli.build_parser


def _parser(command: str | None = None) -> argparse.ArgumentParser:
    """The CLI's parser, with `quantize` added when profiler/cli.py does not add it yet."""
    parser = BUILD_PARSER(command)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and "quantize" not in action.choices:
            cli_quant.add_commands(action)
    return parser


@pytest.fixture(autouse=True)
def wired(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cli, "build_parser", _parser)
    monkeypatch.setattr("profiler.cli_runtime.check_devices", lambda devices: None)


@pytest.fixture
def canned(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("EDGEPROF_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(supervisor, "WORKER_ARGV",
                        (sys.executable, "-c", CANNED_WORKER, canned_runs()))
    monkeypatch.setattr(drift_worker, "DRIFT_WORKER_ARGV",
                        (sys.executable, "-c", CANNED_DRIFT, canned_drift()))


def _args(*argv: str) -> argparse.Namespace:
    return _parser().parse_args(["quantize", *argv])


def test_options_from_the_command_line() -> None:
    options = cli_quant.quantize_options(_args(
        "m.onnx", "--variants", "fp16, int8-static", "--device", "ort:cpu", "--device",
        "ort:cpu", "--samples", "8", "--exclude", "conv1,fc", "--mean", "0.5,0.5,0.5",
        "--std", "0.25,0.25,0.25", "--layout", "nhwc", "--iterations", "30",
        "--calibration-method", "entropy", "--drift-threshold-db", "25", "--no-layer-drift"))
    assert options.variants == ["fp16", "int8-static"] and options.devices == ["ort:cpu"]
    assert options.build.calibration_samples == 8 and options.eval_samples == 8
    assert options.build.exclude_nodes == ("conv1", "fc")
    assert options.build.calibration_method == "entropy"
    assert options.image.mean == (0.5, 0.5, 0.5) and options.image.layout == "NHWC"
    assert options.profile.stop.iterations == 30 and options.drift_threshold_db == 25.0
    assert not options.layer_drift
    defaults = cli_quant.quantize_options(_args("m.onnx"))
    assert defaults.variants is None and defaults.build.calibration_samples == 100
    assert defaults.eval_samples == 32 and defaults.layer_drift
    assert cli_quant.default_devices("m.onnx") == ["ort:cpu", "ov:CPU"]
    assert cli_quant.default_devices("m.xml") == ["ov:CPU"]
    with pytest.raises(UsageError, match="--mean"):
        cli_quant.quantize_options(_args("m.onnx", "--mean", "a,b"))
    with pytest.raises(SystemExit):  # refused by the parser (exit 2), before any work
        _args("m.onnx", "--samples", "0")


def test_summary_on_stdout_and_progress_on_stderr(canned: None, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    model = small_cnn(tmp_path / "cnn.onnx")
    code = cli.main(["quantize", model, "--variants", "fp16,int8-dynamic", "--device",
                     "ort:cpu", "--samples", "4"])
    out, err = capsys.readouterr()
    assert code == 0
    lines = out.splitlines()
    assert lines[0] == "cnn.onnx: 3 variant(s) incl. the FP32 reference"
    assert lines[1].split()[:8] == ["variant", "device", "size", "size×FP32", "p50", "ms",
                                    "p50×FP32", "SQNR"]
    fp16 = next(line for line in lines if line.startswith("fp16 "))
    assert "9.000" in fp16 and "0.90" in fp16 and "31.5" in fp16
    assert "75.0%" in fp16 and "indicative only" in fp16
    assert "int8-dynamic: first layer below 20 dB: conv2 (Conv, 12.5 dB) (indicative only); " \
           "keep it in float with --exclude conv2" in out
    assert "[fp16] building the variant" in err and "[fp16 @ ort:cpu] measuring the variant" in err


@pytest.mark.parametrize("extension", [".json", ".md", ".html", ".csv"])
def test_report_files(canned: None, tmp_path: Path, extension: str) -> None:
    model = small_cnn(tmp_path / "cnn.onnx")
    output = tmp_path / f"out{extension}"
    assert cli.main(["quantize", model, "--variants", "fp16", "--device", "ort:cpu",
                     "-o", str(output)]) == 0
    text = output.read_text(encoding="utf-8")
    if extension == ".json":
        report = load_report(str(output))
        assert [v.id for v in report.variants] == ["fp32", "fp16"]
        assert report.variants[1].drift["ort:cpu"].indicative_only
        json.loads(text)
    elif extension == ".md":
        assert "## Variants" in text and "31.5 (indicative only)" in text
    elif extension == ".html":
        assert '<h2 id="variants">Variants</h2>' in text and "indicative only" in text
    else:
        assert text.strip()


def test_exit_1_only_when_nothing_could_be_measured(monkeypatch: pytest.MonkeyPatch,
                                                    tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("EDGEPROF_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(supervisor, "WORKER_ARGV", (sys.executable, "-c", CRASHING_WORKER))
    model = small_cnn(tmp_path / "cnn.onnx")
    assert cli.main(["quantize", model, "--variants", "fp16", "--device", "ort:cpu"]) == 1
    err = capsys.readouterr().err
    assert "runtime crashed" in err and "nothing could be measured" in err


def test_usage_errors_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    model = small_cnn(tmp_path / "cnn.onnx")
    assert cli.main(["quantize", model, "--variants", "int3", "--device", "ort:cpu"]) == 2
    assert "unknown int3" in capsys.readouterr().err
    assert cli.main(["quantize", model, "-o", str(tmp_path / "out.pdf")]) == 2


def test_one_failed_variant_run_exits_1_with_the_report_written(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
        capsys: pytest.CaptureFixture[str]) -> None:
    """The FP32 reference measures, the fp16 variant's run fails: CI must see exit 1."""
    from profiler.records.runs import Run, RunError
    from profiler.records.serialize import to_dict

    runs = json.loads(canned_runs())
    runs["fp16"] = to_dict(Run(device="", backend="fake", error=RunError("compile", "no fp16")))
    monkeypatch.setenv("EDGEPROF_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(supervisor, "WORKER_ARGV",
                        (sys.executable, "-c", CANNED_WORKER, json.dumps(runs)))
    monkeypatch.setattr(drift_worker, "DRIFT_WORKER_ARGV",
                        (sys.executable, "-c", CANNED_DRIFT, canned_drift()))
    model, out = small_cnn(tmp_path / "cnn.onnx"), tmp_path / "out.json"
    assert cli.main(["quantize", model, "--variants", "fp16", "--device", "ort:cpu",
                     "--samples", "4", "-o", str(out)]) == 1
    assert [run.error is None for run in load_report(str(out)).runs] == [True, False]
    assert "1 failed: fp16 @ ort:cpu" in capsys.readouterr().err
