"""TFLite layers are named after what they are: the file's own (output tensor) name, else
their op type, never a name the frontend generated for another op."""

from __future__ import annotations

import re
from pathlib import Path

from profiler.analysis.analyze import analyze
from profiler.model.loader import load_model
from tests.core.tflite_builder import fully_connected_add_model, tflite_bytes


def _load(tmp_path: Path):  # type: ignore[no-untyped-def]
    path = tmp_path / "fc.tflite"
    path.write_bytes(tflite_bytes(fully_connected_add_model()))
    return load_model(str(path))


def test_tflite_layer_names_match_their_ops(tmp_path: Path) -> None:
    model = _load(tmp_path)
    file_names = {t.name for t in fully_connected_add_model().tensors}
    for node in model.graph.nodes:
        derived = re.fullmatch(r"([A-Za-z]+)_\d+", node.name)
        assert node.name in file_names or (derived and derived.group(1) == node.op_type), (
            f"{node.name} is a {node.op_type}")


def test_tflite_layers_take_the_file_names_of_their_outputs(tmp_path: Path) -> None:
    names = {n.name: n.op_type for n in _load(tmp_path).graph.nodes}
    assert names["y"] == "Relu" and names["out"] == "Add"
    assert names["fc_weights"] == "Constant"
    assert not any(name.isdigit() for name in names)  # no bare operator indexes


def test_analysis_layers_carry_the_names(tmp_path: Path) -> None:
    layers = analyze(_load(tmp_path)).layers
    assert {(layer.name, layer.op_type) for layer in layers} >= {("y", "Relu"), ("out", "Add")}
