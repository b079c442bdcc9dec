"""Inputs specified completely: scalar shapes, user values and ranges, graph-derived values."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from profiler.api import analyze_model
from profiler.cli import main
from profiler.errors import ShapeError, UsageError
from profiler.model.describe import value_rule
from profiler.model.graph import ValueRule
from profiler.model.input_settings import (
    InputSettings,
    load_with_inputs,
    parse_input_ranges,
    parse_input_values,
)
from profiler.model.shapes import parse_shape_overrides, resolve_input_shapes
from profiler.quant.data import open_data
from profiler.records.model import TensorSpec
from profiler.records.report import report_from_dict
from profiler.runtime.inputs import make_inputs

FLOAT, INT64 = TensorProto.FLOAT, TensorProto.INT64


def _branch(name: str, factor: str, repeats: int) -> onnx.GraphProto:
    nodes, last = [], "x"
    for index in range(repeats):
        nodes.append(helper.make_node("Mul", [last, factor], [f"{name}{index}"]))
        last = f"{name}{index}"
    return helper.make_graph(nodes, name, [], [helper.make_tensor_value_info(last, FLOAT,
                                                                              [1, "?"])])


def vad_like(path: Path) -> str:
    """x float [1, ?]; sr int64 scalar routing an If; tt ids into a 2-row table; a mask."""
    nodes = [
        helper.make_node("Equal", ["sr", "c16k"], ["is16k"], name="eq16k"),
        helper.make_node("If", ["is16k"], ["y0"], name="route",
                         then_branch=_branch("then", "two", 1),
                         else_branch=_branch("else", "three", 2)),
        helper.make_node("Cast", ["tt"], ["tt_int"], to=INT64),
        helper.make_node("Gather", ["table", "tt_int"], ["emb"], name="/embeddings/token_type"),
        helper.make_node("ReduceMean", ["emb"], ["emb_mean"], keepdims=0),
        helper.make_node("Cast", ["attention_mask"], ["mask_f"], to=FLOAT),
        helper.make_node("ReduceMean", ["mask_f"], ["mask_mean"], keepdims=0),
        helper.make_node("Add", ["y0", "emb_mean"], ["y1"]),
        helper.make_node("Mul", ["y1", "mask_mean"], ["y"]),
    ]
    initializers = [numpy_helper.from_array(np.array(16000, dtype=np.int64), "c16k"),
                    numpy_helper.from_array(np.array(2.0, dtype=np.float32), "two"),
                    numpy_helper.from_array(np.array(3.0, dtype=np.float32), "three"),
                    numpy_helper.from_array(np.ones((2, 4), dtype=np.float32), "table")]
    inputs = [helper.make_tensor_value_info("x", FLOAT, [1, "?"]),
              helper.make_tensor_value_info("sr", INT64, []),
              helper.make_tensor_value_info("tt", INT64, [1, "?"]),
              helper.make_tensor_value_info("attention_mask", INT64, [1, "?"])]
    graph = helper.make_graph(nodes, "vad", inputs,
                              [helper.make_tensor_value_info("y", FLOAT, [1, "?"])], initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return str(path)


def ids_model(path: Path) -> str:
    """An int64 input that nothing bounds (its values are guessed)."""
    nodes = [helper.make_node("Cast", ["ids"], ["f"], to=FLOAT),
             helper.make_node("Relu", ["f"], ["y"])]
    graph = helper.make_graph(nodes, "ids", [helper.make_tensor_value_info("ids", INT64, [1, 4])],
                              [helper.make_tensor_value_info("y", FLOAT, [1, 4])])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return str(path)


@pytest.fixture
def vad(tmp_path: Path) -> str:
    return vad_like(tmp_path / "vad.onnx")


# --- shapes ---------------------------------------------------------------------------------


def test_scalar_shape_spellings() -> None:
    assert parse_shape_overrides(["sr=scalar", "a=", "b=SCALAR"]) == {"sr": (), "a": (), "b": ()}


def test_question_mark_dims_are_never_shared() -> None:
    specs = resolve_input_shapes([("x", "float32", (1, "?")), ("tt", "int64", (1, "?", ""))],
                                 {"x": (1, 512), "tt": (1, 7, 3)})
    assert [s.shape for s in specs] == [(1, 512), (1, 7, 3)]


def test_a_full_shape_wins_over_symbols_inside_it() -> None:
    specs = resolve_input_shapes([("a", "float32", (1, "s", "s")), ("b", "float32", (1, "n"))],
                                 {"a": (1, 5, 7)})
    assert specs[0].shape == (1, 5, 7)
    with pytest.raises(ShapeError, match="shared by a and b"):
        resolve_input_shapes([("a", "float32", (1, "s")), ("b", "float32", (1, "s"))],
                             {"a": (1, 5), "b": (1, 6)})


def test_a_one_element_override_of_a_scalar_means_the_scalar() -> None:
    assert resolve_input_shapes([("sr", "int64", ())], {"sr": (1,)})[0].shape == ()


def test_rank0_input_needs_no_shape(vad: str) -> None:
    model = load_with_inputs(vad)
    sr = next(s for s in model.input_specs if s.name == "sr")
    assert sr.shape == () and sr.shape_source == "model"


# --- derived values -------------------------------------------------------------------------


def _inputs(report: Any) -> dict[str, TensorSpec]:
    return {spec.name: spec for spec in report.model.inputs}


def test_values_read_from_the_graph(vad: str) -> None:
    report = analyze_model(vad)
    inputs = _inputs(report)
    assert inputs["tt"].value_source == "graph" and inputs["tt"].value_range == [0, 2]
    assert "2-row table (Gather '/embeddings/token_type')" in inputs["tt"].value_note
    assert inputs["sr"].value_fill == 16000 and inputs["sr"].value_source == "graph"
    assert "then branch of If 'route'" in inputs["sr"].value_note
    assert inputs["attention_mask"].value_fill == 1
    assert inputs["x"].value_source == "random" and not inputs["x"].value_guessed


def test_unbounded_integers_are_guessed_with_a_warning(tmp_path: Path) -> None:
    report = analyze_model(ids_model(tmp_path / "ids.onnx"))
    assert report.model is not None
    assert report.model.inputs[0].value_guessed
    assert any("--input-range ids=LO:HI" in w for w in report.model.warnings)


def test_control_values_seed_loading(vad: str, monkeypatch: pytest.MonkeyPatch) -> None:
    from profiler.model import input_settings

    calls: list[Any] = []
    real = input_settings.load_model

    def spy(path: str, shapes: Any = None, values: Any = None) -> Any:
        calls.append(values)
        return real(path, shapes, values)

    monkeypatch.setattr(input_settings, "load_model", spy)
    load_with_inputs(vad)
    assert calls[0] is None  # the first load reads the graph; the second gets the values
    assert calls[-1]["sr"] == [16000.0] and "attention_mask" not in calls[-1]
    load_with_inputs(vad, InputSettings(values={"sr": 8000}))
    assert calls[-1]["sr"] == [8000.0]


# --- user values ----------------------------------------------------------------------------


def test_parse_values_and_ranges() -> None:
    assert parse_input_values(["sr=16000", "flag=true"]) == {"sr": 16000.0, "flag": 1.0}
    assert parse_input_ranges(["ids=0:30522"]) == {"ids": (0.0, 30522.0)}
    for bad in (["ids=5:1"], ["ids=1"], ["ids=a:b"]):
        with pytest.raises(UsageError):
            parse_input_ranges(bad)
    with pytest.raises(UsageError, match="not a number"):
        parse_input_values(["sr=fast"])


def test_user_settings_win_and_are_checked(vad: str) -> None:
    report = analyze_model(vad, inputs=InputSettings(values={"sr": 8000},
                                                     ranges={"tt": (0, 5)}))
    inputs = _inputs(report)
    assert inputs["sr"].value_source == "user" and inputs["sr"].value_fill == 8000
    assert inputs["tt"].value_source == "user-range" and inputs["tt"].value_range == [0, 5]
    assert report.model is not None
    assert any("leave the valid range [0, 2)" in w for w in report.model.warnings)
    with pytest.raises(UsageError, match="unknown input"):
        analyze_model(vad, inputs=InputSettings(values={"nope": 1}))
    with pytest.raises(UsageError, match="whole number"):
        analyze_model(vad, inputs=InputSettings(values={"sr": 0.5}))


# --- making the values ----------------------------------------------------------------------


def test_rules_make_valid_arrays() -> None:
    specs = [("ids", "int64", [2, 50]), ("sr", "int64", []), ("x", "float32", [3]),
             ("u", "float32", [100])]
    rules = {"ids": ValueRule("range", low=0, high=2), "sr": ValueRule("fill", fill=16000),
             "u": ValueRule("range", low=-1, high=1)}
    arrays = make_inputs(specs, None, seed=3, rules=rules)
    assert set(np.unique(arrays["ids"])) <= {0, 1}
    assert arrays["sr"].shape == () and int(arrays["sr"]) == 16000
    assert arrays["sr"].dtype == np.int64
    assert arrays["u"].min() >= -1 and arrays["u"].max() < 1
    again = make_inputs(specs, None, seed=3, rules=rules)
    assert all(np.array_equal(arrays[k], again[k]) for k in arrays)


def test_calibration_data_follows_the_rules() -> None:
    specs = [("ids", "int64", [1, 64])]
    data = open_data(specs, None, seed=0, rules={"ids": ValueRule("range", low=0, high=3)})
    assert all(sample["ids"].max() < 3 for sample in data.samples(4))
    assert data.fingerprint() != open_data(specs, None, seed=0).fingerprint()


def test_report_round_trip_and_old_reports(vad: str) -> None:
    report = analyze_model(vad)
    again = report_from_dict(json.loads(json.dumps(report.to_dict())))
    assert again.model is not None
    assert _inputs(again)["tt"].value_range == [0, 2]
    assert value_rule(_inputs(again)["sr"]) == ValueRule(
        "fill", fill=16000.0, source="graph", note=_inputs(again)["sr"].value_note)
    data = report.to_dict()
    for spec in data["model"]["inputs"]:
        for key in [k for k in spec if k.startswith("value_")]:
            del spec[key]
    old = report_from_dict(data)
    assert old.model is not None and old.model.inputs[0].value_source == ""
    assert value_rule(old.model.inputs[0]).kind == "random"


# --- command line ---------------------------------------------------------------------------


def test_cli_analyze_shows_how_inputs_are_made(vad: str,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", vad, "--shape", "sr=scalar", "--shape", "x=1x512",
                 "--shape", "tt=1x7", "--input-value", "sr=8000"]) == 0
    out = capsys.readouterr().out
    assert "input  sr: int64 scalar" in out and "values (user): given: 8000" in out
    assert "values (graph): ids into a 2-row table" in out
    assert main(["analyze", vad, "--input-range", "tt=0"]) == 2


@pytest.mark.parametrize("device", ["ort:cpu", "ov:CPU"])
def test_profile_a_scalar_input_model(vad: str, tmp_path: Path, device: str) -> None:
    out = tmp_path / "run.json"
    assert main(["profile", vad, "--device", device, "--iterations", "3", "--no-layers",
                 "--no-history", "--shape", "x=1x512", "-o", str(out)]) == 0
    data = json.loads(out.read_text())
    assert data["runs"][0]["error"] is None
    assert data["runs"][0]["config"]["input_values"]["tt"]["high"] == 2
    sources = {spec["name"]: spec["value_source"] for spec in data["model"]["inputs"]}
    assert sources == {"x": "random", "sr": "graph", "tt": "graph", "attention_mask": "graph"}
