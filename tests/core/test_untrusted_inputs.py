"""Every input file through one opener (profiler.files), and the remaining native parsing in
the sandbox: history files and bodies, calibration images (pipes, bombs, decoder crashes),
the sandbox's plain-array answers, and a model's file list found in a child."""

from __future__ import annotations

import os
import pickle
import signal
import sqlite3
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from profiler import sandbox
from profiler.cli import main
from profiler.errors import ModelLoadError, ReportError
from profiler.history import store as history_store
from profiler.history.store import HistoryError, HistoryStore
from profiler.model.companions import model_files
from profiler.quant import image_decode
from profiler.quant.data import DataError, open_data
from profiler.records.report import load_report
from tests.core import hostile_corpus as corpus
from tests.core import model_builders as mb
from tests.core.test_history_store import make_report

NCHW = [("x", "float32", [1, 3, 16, 16])]


def echo(value: object) -> object:
    return value


def crash_reading(path: str, channels: int, width: int, height: int) -> np.ndarray:
    os.kill(os.getpid(), signal.SIGSEGV)
    raise AssertionError("unreachable")


# --- reports ---------------------------------------------------------------------------------

def test_a_report_linked_to_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe")
    os.symlink(tmp_path / "pipe", tmp_path / "report.json")
    with pytest.raises(ReportError) as caught:
        load_report(str(tmp_path / "report.json"))
    assert str(caught.value) == (f"{tmp_path / 'report.json'}: is not a regular file (a pipe); "
                                 "give the report JSON file itself")


def test_a_missing_report_keeps_its_message(tmp_path: Path) -> None:
    with pytest.raises(ReportError, match=r"nothing\.json: no such file$"):
        load_report(str(tmp_path / "nothing.json"))


# --- history ---------------------------------------------------------------------------------

def _saved_store() -> HistoryStore:
    store = HistoryStore()
    store.save_report(make_report("resnet.onnx", "2025-03-01T10:00:00+00:00"))
    return store


def test_a_history_file_that_is_a_fifo_is_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "history.sqlite3")
    with pytest.raises(HistoryError, match=r"is not a regular file \(a pipe\), so not part of "
                                           "a history; move it aside"):
        HistoryStore(tmp_path / "history.sqlite3").list_runs()


def test_a_wal_file_that_is_a_fifo_is_refused_before_sqlite_opens_it(
        capsys: pytest.CaptureFixture[str]) -> None:
    store = _saved_store()
    wal = Path(f"{store.path}-wal")
    wal.unlink(missing_ok=True)
    os.mkfifo(wal)
    assert main(["history", "list"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{wal}: is not a regular file (a pipe)" in err


def test_a_history_linked_to_a_device_is_refused(tmp_path: Path) -> None:
    os.symlink("/dev/zero", tmp_path / "history.sqlite3")
    with pytest.raises(HistoryError, match=r"is not a regular file \(a device\)"):
        HistoryStore(tmp_path / "history.sqlite3").get_run(1)


def test_a_stored_body_larger_than_any_report_is_not_fetched(
        monkeypatch: pytest.MonkeyPatch) -> None:
    store = _saved_store()
    monkeypatch.setattr(history_store, "MAX_REPORT_BYTES", 1000)
    with sqlite3.connect(store.path) as connection:
        connection.execute("UPDATE reports SET body = ?", (os.urandom(5000),))
    with pytest.raises(HistoryError, match=r"stored report is 5000 bytes, more than any report "
                                           r"\(1000 bytes at most; damaged\); delete the run"):
        store.get_run(1)


def test_a_body_bomb_stops_at_the_bound(monkeypatch: pytest.MonkeyPatch,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    """64 MiB of zeros in a 64 KB body: inflating stops at the (lowered) bound, one line."""
    store = _saved_store()
    monkeypatch.setattr(history_store, "MAX_REPORT_BYTES", 4 << 20)
    deflater = zlib.compressobj(9)
    chunk = bytes(1 << 20)
    bomb = b"".join(deflater.compress(chunk) for _ in range(64)) + deflater.flush()
    assert len(bomb) < 100_000
    with sqlite3.connect(store.path) as connection:
        connection.execute("UPDATE reports SET body = ?", (bomb,))
    assert main(["history", "show", "1"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "inflates beyond 4194304 bytes" in err


# --- calibration images ----------------------------------------------------------------------

def _images(folder: Path, count: int = 2) -> Path:
    folder.mkdir(exist_ok=True)
    for index in range(count):
        Image.new("RGB", (20, 24), (40 * index, 90, 200)).save(folder / f"img{index}.png")
    return folder


def _png_header(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` and holds (almost) no pixels."""
    def chunk(kind: bytes, payload: bytes) -> bytes:
        crc = zlib.crc32(kind + payload)
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) +
            chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


def test_a_calibration_image_that_is_a_fifo_is_refused_up_front(tmp_path: Path) -> None:
    folder = _images(tmp_path / "imgs")
    os.mkfifo(folder / "img5.jpg")
    with pytest.raises(DataError, match=r"img5\.jpg: is not a regular file \(a pipe\)"):
        open_data(NCHW, str(folder))


def test_an_image_swapped_for_a_fifo_after_listing_is_refused(tmp_path: Path) -> None:
    folder = _images(tmp_path / "imgs")
    source = open_data(NCHW, str(folder))
    os.remove(folder / "img1.png")
    os.mkfifo(folder / "img1.png")
    with pytest.raises(DataError, match=r"img1\.png: is not a regular file \(a pipe\)"):
        source.samples(2)


@pytest.mark.parametrize("side", [10_000, 30_000])
def test_a_decompression_bomb_is_refused_from_its_header(tmp_path: Path, side: int) -> None:
    """10^8 pixels: past our bound (Pillow only warns); 9 x 10^8: Pillow's own error."""
    folder = _images(tmp_path / "imgs", 1)
    (folder / "img1.png").write_bytes(_png_header(side, side))
    source = open_data(NCHW, str(folder))
    with pytest.raises(DataError) as caught:
        source.samples(2)
    message = str(caught.value)
    assert message.startswith(f"{folder / 'img1.png'}: the image is ")
    assert f"more than the {image_decode.MAX_IMAGE_PIXELS}" in message or \
        f"larger than the {image_decode.MAX_IMAGE_PIXELS}" in message
    assert "\n" not in message


def test_a_decoder_crash_costs_the_child_only(tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    folder = _images(tmp_path / "imgs")
    source = open_data(NCHW, str(folder))
    monkeypatch.setattr(sandbox, "_start_method", lambda: "fork")  # so the child has the patch
    monkeypatch.setattr(image_decode, "read_image", crash_reading)
    with pytest.raises(DataError) as caught:
        source.samples(2)
    assert str(caught.value).startswith(
        f"{folder}: the image decoder (reading img0.png) crashed on this image (signal 11")


def test_decoded_batches_come_back_as_writable_arrays(tmp_path: Path) -> None:
    source = open_data([("x", "float32", [2, 3, 16, 16])], str(_images(tmp_path / "imgs", 4)))
    samples = source.samples(5)
    assert len(samples) == 2
    batch = samples[1]["x"]
    assert batch.shape == (2, 3, 16, 16) and batch.dtype == np.float32
    assert batch.flags.writeable and batch.flags.c_contiguous


# --- the sandbox's answer: plain arrays only -------------------------------------------------

@pytest.mark.parametrize("array", [
    np.arange(12, dtype=np.float32).reshape(3, 4),
    np.arange(12, dtype=np.int64).reshape(3, 4).T,  # not contiguous
    np.array([True, False]),
    np.zeros((0, 5), np.uint8),
    np.array(3.5),
])
def test_plain_arrays_cross_the_sandbox(array: np.ndarray) -> None:
    back = sandbox.run_isolated(echo, ({"a": [array]},), "arrays")
    assert np.array_equal(back["a"][0], array) and back["a"][0].dtype == array.dtype


@pytest.mark.parametrize("array", [
    np.array([{"x": 1}], dtype=object),
    np.zeros(2, dtype=[("a", "f4"), ("b", "i4")]),
    np.array(["text"]),
])
def test_other_arrays_are_refused(array: np.ndarray) -> None:
    with pytest.raises(ModelLoadError, match="ended without an answer"):
        sandbox.run_isolated(echo, (array,), "arrays")


@pytest.mark.parametrize(("dtype", "shape", "data"), [
    ("|O", (1,), b"\0" * 8),
    ("<f4", (2,), b"\0" * 7),
    ("<f4", (-1,), b""),
    ("<f4", [2], b"\0" * 8),
    ("(2,)f4", (1,), b"\0" * 8),
    (5, (1,), b"\0"),
])
def test_rebuilt_array_refuses_anything_but_plain_data(dtype: object, shape: object,
                                                      data: bytes) -> None:
    with pytest.raises(pickle.UnpicklingError):
        sandbox.rebuilt_array(dtype, shape, data)


# --- a model's files, found in the sandbox ---------------------------------------------------

def test_model_files_lists_external_data(tmp_path: Path) -> None:
    path = mb.save(mb.external_matmul("w.bin"), tmp_path / "ext.onnx")
    mb.sparse_file(tmp_path / "w.bin", corpus.WEIGHT_BYTES)
    assert model_files(path) == [path, str(tmp_path / "w.bin")]


def test_model_files_of_a_crashing_model_is_one_line(tmp_path: Path) -> None:
    path, expected = corpus.onnx_shape_inference_crash(tmp_path)
    with pytest.raises(ModelLoadError, match=expected):
        model_files(path)


def test_an_npz_whose_arrays_declare_gigabytes_is_refused_before_reading(tmp_path) -> None:
    """A few kilobytes of compressed zeros that declare 16 GiB: numpy would allocate the
    declared shape before inflating it."""
    import zipfile as zf

    import numpy as np
    import pytest

    from profiler.errors import UsageError
    from profiler.quant.data import DataError, open_data
    from profiler.runtime.inputs import file_inputs

    path = tmp_path / "bomb.npz"
    header = np.lib.format.header_data_from_array_1_0(np.zeros((1,), np.float32))
    header["shape"] = (1 << 32,)
    with zf.ZipFile(path, "w", compression=zf.ZIP_DEFLATED) as archive, \
            archive.open("x.npy", "w") as member:
        np.lib.format.write_array_header_1_0(member, header)
        member.write(b"\0" * 4096)
    with pytest.raises(UsageError, match=r"declare 16\.0 GiB"):
        file_inputs([("x", "float32", [1 << 32])], str(path))
    with pytest.raises(DataError, match="refused before reading"):
        source = open_data([("x", "float32", [1, 4])], str(path))
        source.samples(1)
