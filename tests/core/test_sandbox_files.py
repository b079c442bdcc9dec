"""Parsing in a sandboxed child (profiler.sandbox) and the one way to open an input file
(profiler.files): crashes, timeouts and errors come back as one line; pipes, devices, folders
and links out of the model's folder are refused before anything opens them."""

from __future__ import annotations

import os
import signal
import socket
import time
from pathlib import Path

import numpy as np
import pytest

from profiler import sandbox
from profiler.api import analyze_model, analyze_model_here
from profiler.errors import ModelLoadError, ShapeError
from profiler.files import (
    MISSING,
    NOT_REGULAR,
    OUTSIDE,
    TOO_LARGE,
    FileRefused,
    check_regular,
    read_regular,
)
from profiler.quant.data import ArraySource, DataError, file_sha256
from tests.core import hostile_corpus as corpus
from tests.core import model_builders as mb

# --- functions run in the child (module level: the fork server imports them by name) --------

def crash_with(number: int) -> None:
    sandbox.stage("test stage")
    os.kill(os.getpid(), number)


def sleep_s(seconds: float) -> None:
    time.sleep(seconds)


def raise_shape_error(text: str) -> None:
    raise ShapeError(text)


def raise_value_error(text: str) -> None:
    raise ValueError(text)


def try_connect() -> str:
    try:
        socket.create_connection(("127.0.0.1", 9), timeout=1)
    except OSError as error:
        return f"refused ({type(error).__name__})"
    return "connected"


def echo(value: object) -> object:
    return value


# --- the sandbox ------------------------------------------------------------------------------

def test_a_crash_names_the_file_the_stage_and_the_signal() -> None:
    with pytest.raises(ModelLoadError) as caught:
        sandbox.run_isolated(crash_with, (signal.SIGSEGV,), "m.onnx")
    message = str(caught.value)
    assert message.startswith("m.onnx: the test stage crashed on this model")
    assert "signal 11 (SIGSEGV)" in message and "\n" not in message


def test_a_child_past_its_time_limit_is_stopped() -> None:
    limits = sandbox.SandboxLimits(timeout_s=0.3, memory_limit_bytes=None)
    with pytest.raises(ModelLoadError, match=r"did not finish within 0\.3 s; stopped"):
        sandbox.run_isolated(sleep_s, (30.0,), "slow.onnx", limits)


def test_our_errors_keep_their_type_and_others_become_one_line() -> None:
    with pytest.raises(ShapeError, match=r"^bad sizes$"):
        sandbox.run_isolated(raise_shape_error, ("bad sizes",), "m.onnx")
    with pytest.raises(RuntimeError, match=r"^ValueError: odd$"):
        sandbox.run_isolated(raise_value_error, ("odd",), "m.onnx")


def test_results_come_back_as_plain_data() -> None:
    assert sandbox.run_isolated(echo, ({"a": [1, 2.5, "x"]},), "m") == {"a": [1, 2.5, "x"]}


def test_the_child_has_no_network() -> None:
    assert sandbox.run_isolated(try_connect, (), "m").startswith("refused")


def test_a_shape_inference_crash_leaves_this_process_running(tmp_path: Path) -> None:
    path, expected = corpus.onnx_shape_inference_crash(tmp_path)
    with pytest.raises(ModelLoadError, match=expected):
        analyze_model(path)
    assert analyze_model(mb.save(mb.matmul_chain(), tmp_path / "ok.onnx")).analysis is not None


def test_sandboxed_and_in_process_reports_agree(tmp_path: Path) -> None:
    path = mb.save(mb.matmul_chain(), tmp_path / "conv.onnx")
    isolated, here = analyze_model(path), analyze_model_here(path)
    assert isolated.analysis == here.analysis and isolated.model == here.model


# --- files ------------------------------------------------------------------------------------

def test_regular_files_are_read_and_bounded(tmp_path: Path) -> None:
    (tmp_path / "a.bin").write_bytes(b"12345")
    assert read_regular(str(tmp_path / "a.bin"), 5) == b"12345"
    with pytest.raises(FileRefused) as caught:
        read_regular(str(tmp_path / "a.bin"), 4)
    assert caught.value.kind == TOO_LARGE and caught.value.size_bytes == 5


@pytest.mark.parametrize("make", ["fifo", "folder", "device", "missing"])
def test_special_files_are_refused_unopened(tmp_path: Path, make: str) -> None:
    path = tmp_path / "x.bin"
    if make == "fifo":
        os.mkfifo(path)  # opening it for reading without O_NONBLOCK would block here
    elif make == "folder":
        path.mkdir()
    elif make == "device":
        os.symlink("/dev/zero", path)
    with pytest.raises(FileRefused) as caught:
        check_regular(str(path))
    assert caught.value.kind == (MISSING if make == "missing" else NOT_REGULAR)


def test_links_must_stay_inside_the_folder(tmp_path: Path) -> None:
    (tmp_path / "model").mkdir()
    (tmp_path / "outside.bin").write_bytes(b"x")
    os.symlink(tmp_path / "outside.bin", tmp_path / "model" / "out.bin")
    os.symlink("inside.bin", tmp_path / "model" / "in.bin")
    (tmp_path / "model" / "inside.bin").write_bytes(b"yy")
    folder = str(tmp_path / "model")
    assert check_regular(str(tmp_path / "model" / "in.bin"), within=folder) == 2
    with pytest.raises(FileRefused) as caught:
        check_regular(str(tmp_path / "model" / "out.bin"), within=folder)
    assert caught.value.kind == OUTSIDE


def test_a_calibration_npy_that_is_a_pipe_is_refused(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "calib.npy")
    with pytest.raises(DataError, match="is not a regular file"):
        ArraySource([("x", "float32", [1, 4])], str(tmp_path / "calib.npy"))
    with pytest.raises(DataError, match="is not a regular file"):
        file_sha256(str(tmp_path / "calib.npy"))


def test_a_calibration_npy_is_still_read(tmp_path: Path) -> None:
    np.save(tmp_path / "calib.npy", np.ones((2, 1, 4), np.float32))
    source = ArraySource([("x", "float32", [1, 4])], str(tmp_path / "calib.npy"))
    assert len(source.samples(2)) == 2


def test_an_analysis_crosses_in_parts_and_arrives_whole(tmp_path: Path, monkeypatch) -> None:
    """The child sends the layers as separately pickled parts (short GIL holds in the app);
    the report is the same as one made in this process, layers in order."""
    from profiler.analysis import file_analysis

    monkeypatch.setattr(file_analysis, "LAYERS_PER_PART", 2)  # the forked child inherits it
    path = mb.save(mb.matmul_chain(dims=(8, 8, 8, 8, 8, 8, 8)), tmp_path / "chain.onnx")
    isolated, here = analyze_model(path), analyze_model_here(path)
    assert len(file_analysis.analyze_file_in_parts(path, None, None)[2]) == 3  # 6 layers
    assert isolated.analysis.layers == here.analysis.layers


def test_a_part_that_is_not_layers_is_refused() -> None:
    import pickle

    from profiler.analysis.file_analysis import join_layer_parts
    from profiler.records.analysis import StaticAnalysis

    with pytest.raises(ValueError, match="not plain data"):
        join_layer_parts(StaticAnalysis(), [pickle.dumps(os.system)])
    with pytest.raises(TypeError, match="other than layers"):
        join_layer_parts(StaticAnalysis(), [pickle.dumps([1, 2])])


def test_a_cancelled_child_is_stopped_at_once() -> None:
    """Setting the token kills the child within a poll and raises Cancelled (not a failure of
    the file); the sandbox is usable right after."""
    import threading

    from profiler.errors import Cancelled

    cancel = threading.Event()
    threading.Timer(0.3, cancel.set).start()
    with pytest.raises(Cancelled, match="stopped as asked"):  # not the 30 s sleep's None
        sandbox.run_isolated(sleep_s, (30.0,), "slow.onnx", cancel=cancel)
    assert sandbox.run_isolated(echo, (1,), "m") == 1


def test_cancelling_an_analysis_stops_it(tmp_path: Path) -> None:
    """api.analyze_model with a token: once set, the analysis (here one that would take 30 s)
    ends with Cancelled instead of a report."""
    from tests.core.cancel_jobs import run_scenario

    path = mb.save(mb.matmul_chain(), tmp_path / "m.onnx")
    assert run_scenario("api", path) == f"Cancelled: {path}: stopped as asked"
