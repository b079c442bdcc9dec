"""Bad model files through the real command line: exit code 1, one line on stderr naming the
file and the problem, no traceback, and no report file written."""

from __future__ import annotations

import os
import random
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.core import model_builders as mb

WEIGHT_BYTES = 64 * 32 * 4  # external_matmul's W


def _empty(tmp_path: Path) -> str:
    path = tmp_path / "empty.onnx"
    path.write_bytes(b"")
    return str(path)


def _random_bytes(tmp_path: Path) -> str:
    path = tmp_path / "random.onnx"
    path.write_bytes(random.Random(0).randbytes(4096))
    return str(path)


def _truncated(fraction: float) -> Callable[[Path], str]:
    def make(tmp_path: Path) -> str:
        data = mb.attention_block().SerializeToString()
        path = tmp_path / f"cut_{int(fraction * 100)}.onnx"
        path.write_bytes(data[: int(len(data) * fraction)])
        return str(path)

    return make


def _unknown_extension(tmp_path: Path) -> str:
    return mb.save(mb.matmul_chain(), tmp_path / "model.txt")


def _directory(tmp_path: Path) -> str:
    path = tmp_path / "folder.onnx"
    path.mkdir()
    return str(path)


def _missing(tmp_path: Path) -> str:
    return str(tmp_path / "nothing_here.onnx")


def _external(location: str, data_bytes: int | None = WEIGHT_BYTES) -> Callable[[Path], str]:
    """A model whose weight lives in ``location``; the data file (in the model's folder) is
    written with ``data_bytes`` zeros unless None (missing) or the location points elsewhere."""

    def make(tmp_path: Path) -> str:
        folder = tmp_path / "model"
        folder.mkdir()
        if data_bytes is not None and "/" not in location:
            mb.sparse_file(folder / location, data_bytes)
        return mb.save(mb.external_matmul(location.format(tmp=tmp_path)), folder / "ext.onnx")

    return make


def _outside_file(tmp_path: Path) -> str:
    return mb.sparse_file(tmp_path / "outside.bin", WEIGHT_BYTES)


def _parent_folder(tmp_path: Path) -> str:
    _outside_file(tmp_path)
    return _external("../outside.bin")(tmp_path)


def _absolute(tmp_path: Path) -> str:
    _outside_file(tmp_path)
    return _external("{tmp}/outside.bin")(tmp_path)


def _symlink_out(tmp_path: Path) -> str:
    outside = _outside_file(tmp_path)
    path = _external("link.bin", data_bytes=None)(tmp_path)
    os.symlink(outside, tmp_path / "model" / "link.bin")
    return path


CASES: dict[str, tuple[Callable[[Path], str], str]] = {
    "empty": (_empty, "the file is empty"),
    "random_bytes": (_random_bytes, "not a valid ONNX model"),
    "truncated_10": (_truncated(0.1), "not a valid ONNX model"),
    "truncated_50": (_truncated(0.5), "not a valid ONNX model"),
    "truncated_90": (_truncated(0.9), "not a valid ONNX model"),
    "unknown_extension": (_unknown_extension, "unknown model format '.txt'"),
    "directory": (_directory, "is a directory"),
    "missing": (_missing, "no such file"),
    "missing_external_data": (_external("weights.bin", data_bytes=None),
                              "'weights.bin' (tensor 'W') is missing"),
    "external_in_parent_folder": (_parent_folder, "'../outside.bin' of tensor 'W' points outside"),
    "external_absolute_path": (_absolute, "is an absolute path"),
    "external_symlink_out": (_symlink_out, "'link.bin' of tensor 'W' points outside"),
    "external_too_short": (_external("short.bin", data_bytes=WEIGHT_BYTES - 1),
                           f"of 'short.bin', which has only {WEIGHT_BYTES - 1} bytes"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_model_fails_with_one_line(tmp_path: Path, case: str) -> None:
    make, problem = CASES[case]
    model_path = make(tmp_path)
    report_path = tmp_path / "report.json"
    result = mb.run_cli("analyze", model_path, "-o", str(report_path))
    assert result.returncode == 1, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"edgeprof-cli: error: {model_path}: ")
    assert problem in lines[0]
    assert "Traceback" not in result.stderr + result.stdout
    assert not report_path.exists()
    assert result.stdout == ""


def test_debug_flag_shows_the_traceback(tmp_path: Path) -> None:
    result = mb.run_cli("--debug", "analyze", _empty(tmp_path))
    assert result.returncode == 1
    assert "Traceback" in result.stderr
    assert "the file is empty" in result.stderr.strip().splitlines()[-1]
