"""The bundled sample (resources/build_sample.py): MobileNetV2 1.0 at 224x224.

Published cost (Sandler et al. 2018, Table 4): 300 M multiply-adds, 3.4 M parameters (3.5 M
with batch norm unfolded). The expected figures are recomputed here from the architecture.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest

from profiler.analysis.analyze import analyze
from profiler.model import load_model
from profiler.records.analysis import StaticAnalysis
from tests.core.model_builders import REPO_ROOT

BUILD_SCRIPT = REPO_ROOT / "resources" / "build_sample.py"
PUBLISHED_MACS = 300e6
SETTINGS = ((1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
            (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


def _conv(side: int, c_in: int, c_out: int, kernel: int, group: int = 1) -> tuple[int, int]:
    """(MACs, params) of a conv with a bias producing side x side outputs."""
    weights = c_out * (c_in // group) * kernel * kernel
    return side * side * weights, weights + c_out


def expected_macs_and_params() -> tuple[int, int]:
    side, channels = 112, 32
    layers = [_conv(side, 3, channels, 3)]  # stem, stride 2: 224 -> 112
    for t, c, n, s in SETTINGS:
        for repeat in range(n):
            hidden = channels * t
            if t != 1:
                layers.append(_conv(side, channels, hidden, 1))
            side //= s if repeat == 0 else 1
            layers.append(_conv(side, hidden, hidden, 3, group=hidden))
            layers.append(_conv(side, hidden, c, 1))
            channels = c
    layers.append(_conv(side, channels, 1280, 1))
    layers.append((1280 * 1000, 1280 * 1000 + 1000))  # the classifier
    return sum(m for m, _ in layers), sum(p for _, p in layers)


@pytest.fixture(scope="module")
def sample_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sample") / "mobilenetv2.onnx"
    subprocess.run([sys.executable, str(BUILD_SCRIPT), str(path)], check=True,
                   capture_output=True, timeout=120)
    return path


@pytest.fixture(scope="module")
def analysis(sample_path: Path) -> StaticAnalysis:
    return analyze(load_model(str(sample_path)))


def test_expected_figures_are_the_published_ones() -> None:
    macs, params = expected_macs_and_params()
    assert (macs, params) == (300_774_272, 3_487_816)


def test_macs_match_published_within_one_percent(analysis: StaticAnalysis) -> None:
    assert analysis.totals.macs == pytest.approx(PUBLISHED_MACS, rel=0.01)
    assert analysis.totals.macs == expected_macs_and_params()[0]


def test_params_about_three_and_a_half_million(analysis: StaticAnalysis) -> None:
    assert analysis.totals.params == pytest.approx(3.5e6, rel=0.01)
    # ReLU6's two Clip bounds (0 and 6) are scalars: settings, not params, but stored bytes.
    assert analysis.totals.params == expected_macs_and_params()[1]
    assert analysis.totals.weight_bytes == 4 * (analysis.totals.params + 2)


def test_topology(analysis: StaticAnalysis) -> None:
    counts = {group.op_type: group.count for group in analysis.by_op_type}
    # stem + 2 convs in the t=1 block + 3 in each of 16 others + final 1x1 = 52
    assert counts["Conv"] == 52 and counts["Gemm"] == 1
    assert counts["Clip"] == 35  # ReLU6 after every conv but the 17 linear bottlenecks
    assert counts["Add"] == 10  # residuals where stride 1 and channels unchanged
    assert analysis.unknown_shape_nodes == []
    conv_layers = [layer for layer in analysis.layers if layer.op_type == "Conv"]
    assert conv_layers[0].output_shapes == [[1, 32, 112, 112]]
    assert conv_layers[-1].output_shapes == [[1, 1280, 7, 7]]


def test_file_says_weights_are_random(sample_path: Path) -> None:
    model = onnx.load(str(sample_path))
    onnx.checker.check_model(model, full_check=True)
    assert "RANDOM weights" in model.doc_string
    assert "not a trained classifier" in model.doc_string
    metadata = {p.key: p.value for p in model.metadata_props}
    assert metadata["weights"].startswith("random")
    assert [o.version for o in model.opset_import if o.domain in ("", "ai.onnx")] == [17]
    dims = model.graph.input[0].type.tensor_type.shape.dim
    assert model.graph.input[0].name == "input"
    assert [d.dim_param or d.dim_value for d in dims] == ["batch", 3, 224, 224]
    assert [o.name for o in model.graph.output] == ["logits"]


def test_build_is_deterministic(sample_path: Path, tmp_path: Path) -> None:
    again = tmp_path / "again.onnx"
    subprocess.run([sys.executable, str(BUILD_SCRIPT), str(again)], check=True,
                   capture_output=True, timeout=120)
    assert again.read_bytes() == sample_path.read_bytes()


def _image() -> np.ndarray:
    return np.random.default_rng(1).standard_normal((1, 3, 224, 224)).astype(np.float32)


def test_runs_on_onnxruntime(sample_path: Path) -> None:
    import onnxruntime

    session = onnxruntime.InferenceSession(str(sample_path),
                                           providers=["CPUExecutionProvider"])
    (logits,) = session.run(None, {"input": _image()})
    assert logits.shape == (1, 1000)
    assert np.isfinite(logits).all()
    assert 0.1 < float(logits.std()) < 100  # activations stay sane with random weights


def test_compiles_on_openvino_cpu_and_agrees(sample_path: Path) -> None:
    import onnxruntime
    import openvino

    compiled = openvino.Core().compile_model(str(sample_path), "CPU",
                                             {"INFERENCE_PRECISION_HINT": "f32"})
    ov_logits = compiled({"input": _image()})[0]
    session = onnxruntime.InferenceSession(str(sample_path),
                                           providers=["CPUExecutionProvider"])
    (ort_logits,) = session.run(None, {"input": _image()})
    assert ov_logits.shape == (1, 1000)
    np.testing.assert_allclose(ov_logits, ort_logits, atol=1e-3)
