"""What the command line writes: -o never replaces a special file, temp names fit any legal
output name, a closed pipe ends the command quietly, and text from a model or a file name
reaches the terminal inert (control characters escaped) and whole.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from onnx import helper

from profiler.cli import main
from profiler.cli_common import EXIT_BROKEN_PIPE, escape_controls
from tests.conftest import REPO_ROOT
from tests.core import model_builders as mb

HOSTILE_NAME = "relu\x1b]0;PWNED\x07\x1b[2J\rp50 ms fake\nline\u202e"


@pytest.fixture
def model(tmp_path: Path) -> str:
    return mb.save(mb.matmul_chain(), tmp_path / "chain.onnx")


def _one_error_line(err: str, expected: str) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], err


@pytest.mark.parametrize("kind", ["fifo", "folder", "socket", "device link"])
def test_output_onto_a_special_file_is_refused(tmp_path: Path, model: str, kind: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.json"
    if kind == "fifo":
        os.mkfifo(out)
    elif kind == "folder":
        out.mkdir()
    elif kind == "socket":
        with socket.socket(socket.AF_UNIX) as server:
            server.bind(str(out))
    else:
        os.symlink(os.devnull, out)
    before = os.lstat(out).st_mode
    assert main(["analyze", model, "-o", str(out)]) == 2
    _one_error_line(capsys.readouterr().err, "not a file; give a regular file name")
    assert os.lstat(out).st_mode == before  # still what it was, not replaced by a file


def test_the_longest_legal_output_name_is_written(tmp_path: Path, model: str) -> None:
    out = tmp_path / ("r" * 250 + ".json")  # 255 bytes: the longest name most file systems take
    assert main(["analyze", model, "-o", str(out)]) == 0
    assert out.stat().st_size > 0
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []


def test_a_closed_pipe_ends_quietly(model: str) -> None:
    child = subprocess.Popen([sys.executable, "-m", "profiler", "analyze", model, "--top", "50"],
                             cwd=REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert child.stdout is not None and child.stderr is not None
    child.stdout.close()  # the reader went away (`| head` after its lines)
    err = child.stderr.read().decode()
    assert child.wait(timeout=120) == EXIT_BROKEN_PIPE
    assert err == ""


def test_model_supplied_names_reach_the_terminal_inert(tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    node = helper.make_node("Relu", ["x"], ["y"], name=HOSTILE_NAME)
    onnx_model = mb.make_model([node], [mb.value_info("x", [1, 8])], [mb.value_info("y", None)])
    path = mb.save(onnx_model, tmp_path / "named.onnx")
    assert main(["analyze", path]) == 0
    out = capsys.readouterr().out
    assert not set(out) & {"\x1b", "\x07", "\r", "\u202e"}
    assert "relu\\x1b]0;PWNED\\x07\\x1b[2J\\rp50 ms fake" in out  # shown, inert (cut to width)
    assert not any(line.startswith("line") for line in out.splitlines())


def test_a_file_name_with_a_newline_keeps_the_whole_problem(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]
                                                           ) -> None:
    path = tmp_path / "bad\nname\x1b[31m.onnx"
    path.write_bytes(b"\x00garbage" * 64)
    assert main(["analyze", str(path)]) == 1
    err = capsys.readouterr().err
    _one_error_line(err, "bad\\nname\\x1b[31m.onnx: not a valid ONNX model")
    assert "\x1b" not in err


def test_escape_controls_keeps_ordinary_text() -> None:
    assert escape_controls("conv1/Relu:0 ½ µs 中文") == "conv1/Relu:0 ½ µs 中文"
    assert escape_controls("a\tb\x00c\x9bd") == "a\\tb\\x00c\\x9bd"


def test_every_command_is_built_by_the_module_named_for_it() -> None:
    """The parser for one command imports and adds only that command's module: the table
    naming them must cover the whole parser, and each command must be in its module's."""
    import argparse

    from profiler.cli import COMMAND_MODULES, build_parser

    def commands(parser: argparse.ArgumentParser) -> set[str]:
        return {name for action in parser._actions
                if isinstance(action, argparse._SubParsersAction) for name in action.choices}

    assert commands(build_parser()) == set(COMMAND_MODULES)
    for command in COMMAND_MODULES:
        assert command in commands(build_parser(command))
    assert commands(build_parser("analyze")) == {"analyze"}
