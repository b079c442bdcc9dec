"""Variant builds run in a child process (profiler.quant.build_worker): a real build there gives
the same file as one in this process; a build child that crashes, hangs or is cancelled gives
that variant an error while the other variants go on; nothing is left behind."""

from __future__ import annotations

import os
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import TensorProto, helper, numpy_helper

from profiler.api import quantize_model
from profiler.bench.supervisor import Limits
from profiler.bench.wire import Event, Failure, StageEvent
from profiler.quant.build_worker import (
    BuildRequest,
    BuildWorkerError,
    built_of,
    run_build,
    size_reference_of,
)
from profiler.quant.cache import VariantCache
from profiler.quant.data import RandomSource
from profiler.quant.sizes import stored_onnx_bytes
from profiler.quant.variants import VariantOptions, build_variant
from tests.conftest import REPO_ROOT
from tests.core.fake_workers import HANDSHAKE, frame
from tests.core.test_quant_session import canned_options, small_cnn
from tests.helpers import leftover_children

SPECS = [("x", "float32", [1, 3, 32, 32])]
OPTIONS = VariantOptions(calibration_samples=4)

CRASH_ON_STATIC = (
    HANDSHAKE +
    "import os, signal\n"
    "if job['variant'] == 'int8-static':\n"
    "    os.kill(os.getpid(), signal.SIGSEGV)\n"
    "from profiler.quant.build_worker import BuildRequest, handle, BuildOutcome\n"
    "from profiler.records.serialize import from_dict\n"
    "outcome = handle(from_dict(BuildRequest, job), lambda event: None)\n"
    "print(wire.outcome_line('build', outcome), flush=True)\n"
)
HANG_BUILDING = (
    HANDSHAKE + frame("stage", stage="build", detail="int8-static") +
    "import time; time.sleep(3600)"
)


@pytest.fixture(autouse=True)
def _no_children_left(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.chdir(REPO_ROOT)  # the wrapped workers import profiler from the checkout
    yield
    leftover = leftover_children()
    assert leftover == [], f"children left behind: {leftover}"


def _job(model: str, cache: Path, variant: str = "int8-static", **fields: Any) -> BuildRequest:
    settings: dict[str, Any] = {"build": OPTIONS, "data_source": "random", **fields}
    return BuildRequest(model_path=model, variant=variant, shapes={"x": [1, 3, 32, 32]},
                        input_dtypes={"x": "float32"}, cache_root=str(cache), **settings)


def test_a_build_in_the_child_gives_the_same_file_as_in_process(tmp_path: Path) -> None:
    model = small_cnn(tmp_path / "cnn.onnx")
    here = build_variant(model, "int8-static", OPTIONS, RandomSource(SPECS, 0),
                         VariantCache(tmp_path / "here"))
    events: list[Event] = []
    child = built_of(run_build(_job(model, tmp_path / "child"), progress=events.append))
    assert not child.cached and child.path.startswith(str(tmp_path / "child"))
    assert child.file_bytes == here.file_bytes > 0
    assert os.path.getsize(child.path) == os.path.getsize(here.path)
    assert child.cache_key == here.cache_key and child.settings == here.settings
    assert child.settings["calibration_samples_used"] == 4 and child.data_is_random
    session = onnxruntime.InferenceSession(child.path, providers=["CPUExecutionProvider"])
    scores = session.run(None, {"x": np.ones((1, 3, 32, 32), np.float32)})[0]
    assert scores.shape == (1, 10) and np.isfinite(scores).all()
    assert any(isinstance(e, StageEvent) and e.stage == "build" and e.detail == "int8-static"
               and e.job == "build" and e.variant == "int8-static" for e in events)
    again = built_of(run_build(_job(model, tmp_path / "child")))
    assert again.cached and again.path == child.path


def test_the_size_reference_is_built_in_the_child_too(tmp_path: Path) -> None:
    model = small_cnn(tmp_path / "cnn.onnx")
    result = run_build(_job(model, tmp_path / "cache", "fp32", build_kind="size_reference"))
    assert size_reference_of(result) == stored_onnx_bytes(model)


def generated_weights(path: Path) -> str:
    """x[1,64] @ ConstantOfShape([64, 64], 0.01): 175 bytes on disk for 16 KB of weights."""
    shape = numpy_helper.from_array(np.array([64, 64], np.int64), "wshape")
    fill = numpy_helper.from_array(np.array([0.01], np.float32))
    nodes = [helper.make_node("ConstantOfShape", ["wshape"], ["w"], name="make_w", value=fill),
             helper.make_node("MatMul", ["x", "w"], ["y"], name="mm")]
    graph = helper.make_graph(
        nodes, "gen", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 64])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 64])], [shape])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return str(path)


def test_the_session_takes_the_size_reference_from_the_child(tmp_path: Path) -> None:
    model = generated_weights(tmp_path / "gen.onnx")
    report = quantize_model(model, canned_options(tmp_path, ["fp16"]))
    fp32, fp16 = report.variants
    assert fp32.file_bytes < 1000 and fp32.size_reference_bytes == stored_onnx_bytes(model)
    assert fp32.size_reference_bytes > 64 * 64 * 4  # the weights are stored in it
    assert "weights stored" in fp32.size_reference and fp16.error == ""
    assert fp16.size_reference_bytes == fp32.size_reference_bytes


def test_a_crashing_size_reference_build_falls_back_to_the_weight_bytes(tmp_path: Path) -> None:
    model = generated_weights(tmp_path / "gen.onnx")
    crash = "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"
    report = quantize_model(model, canned_options(
        tmp_path, ["fp16"], build_worker_argv=(sys.executable, "-c", crash)))
    fp32, fp16 = report.variants
    assert fp32.size_reference_bytes == 64 * 64 * 4 + 16  # the analysed FP32 weight bytes
    assert fp16.error == "variant build crashed: signal 11 (SIGSEGV) while building fp16"
    assert any("cannot write the FP32 size reference for onnx variants (variant build "
               "crashed: signal 11 (SIGSEGV) while building the FP32 size reference)" in error
               for error in report.errors)


def test_a_build_error_comes_back_as_its_one_line_message(tmp_path: Path) -> None:
    model = small_cnn(tmp_path / "cnn.onnx")
    job = _job(model, tmp_path / "cache", "int8-static",
               build=VariantOptions(calibration_method="median"))
    result = run_build(job)
    assert isinstance(result, Failure) and result.stage == "build" and result.kind == "runtime"
    assert result.message.startswith("int8-static: unknown calibration method 'median'")
    with pytest.raises(BuildWorkerError, match="unknown calibration method"):
        built_of(result)


def test_a_crashing_build_fails_only_its_variant(tmp_path: Path) -> None:
    model = small_cnn(tmp_path / "cnn.onnx")
    options = canned_options(tmp_path, ["int8-static", "fp16"],
                             build_worker_argv=(sys.executable, "-c", CRASH_ON_STATIC))
    report = quantize_model(model, options)
    _, static, fp16 = report.variants
    assert static.error == "variant build crashed: signal 11 (SIGSEGV) while building int8-static"
    assert static.devices == [] and static.path == ""
    assert fp16.error == "" and fp16.devices == ["ort:cpu"] and os.path.isfile(fp16.path)
    assert fp16.file_bytes == os.path.getsize(fp16.path)
    assert [r.variant for r in report.runs] == ["fp32", "fp16"]
    assert "int8-static: variant build crashed: signal 11 (SIGSEGV) while building " \
           "int8-static" in report.errors


def test_a_hanging_build_is_stopped(tmp_path: Path) -> None:
    job = _job(small_cnn(tmp_path / "cnn.onnx"), tmp_path / "cache")
    result = run_build(job, limits=Limits(timeout_s=0.5),
                       worker_argv=(sys.executable, "-c", HANG_BUILDING))
    assert isinstance(result, Failure) and result.kind == "timeout"
    assert result.message == ("no response for 0.5 s while building int8-static on cpu; "
                              "stopped")


def test_cancel_kills_the_build_child(tmp_path: Path) -> None:
    job = _job(small_cnn(tmp_path / "cnn.onnx"), tmp_path / "cache")
    cancel = threading.Event()

    def on_event(event: Event) -> None:
        if event.stage == "build":
            cancel.set()

    result = run_build(job, progress=on_event, cancel=cancel,
                       worker_argv=(sys.executable, "-c", HANG_BUILDING))
    assert isinstance(result, Failure) and result.kind == "cancelled"
    assert result.message == "cancelled while building int8-static on cpu"
