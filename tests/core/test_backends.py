"""Both backends load, compile and run a tiny onnx.helper model and the zoo ResNet-50."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from profiler.errors import ModelLoadError, UsageError, clean_runtime_message
from profiler.runtime.backend import (
    Backend,
    BackendError,
    RunSettings,
    create_backend,
)
from profiler.runtime.inputs import make_inputs
from tests.conftest import REPO_ROOT, ZOO_DIR

DEVICES = ["ov:CPU", "ort:cpu"]
WEIGHT = np.array([[1.0, -2.0], [0.5, 0.25], [-1.0, 3.0]], dtype=np.float32)
BIAS = np.array([0.5, -1.0], dtype=np.float32)


def tiny_model(path: Path, extra_nodes: list[onnx.NodeProto] | None = None) -> str:
    """y = Relu(x @ W + b) with a dynamic batch: x [N, 3], y [N, 2]."""
    nodes = [helper.make_node("MatMul", ["x", "W"], ["mm"], name="matmul"),
             helper.make_node("Add", ["mm", "b"], ["pre"], name="bias"),
             helper.make_node("Relu", ["pre"], ["y"], name="relu"), *(extra_nodes or [])]
    graph = helper.make_graph(
        nodes, "tiny", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["N", 3])],
        [helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT, None)],
        [numpy_helper.from_array(WEIGHT, "W"), numpy_helper.from_array(BIAS, "b")])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return str(path)


def ready(device: str, path: str, **settings: object) -> Backend:
    backend = create_backend(device)
    backend.load(path, RunSettings(device=device, **settings))  # type: ignore[arg-type]
    backend.compile()
    return backend


@pytest.mark.parametrize("device", DEVICES)
def test_tiny_model_runs_and_computes_the_right_values(tmp_path: Path, device: str) -> None:
    backend = ready(device, tiny_model(tmp_path / "tiny.onnx"), shapes={"x": [4, 3]},
                    precision="f32", threads=1)
    assert backend.input_specs() == [("x", "float32", [4, 3])]
    inputs = make_inputs(backend.input_specs(), None, seed=1)
    backend.infer(inputs)
    expected = np.maximum(inputs["x"] @ WEIGHT + BIAS, 0.0)
    outputs = backend.outputs(inputs)
    assert list(outputs) == ["y"]
    np.testing.assert_allclose(outputs["y"], expected, rtol=1e-5, atol=1e-6)
    done, seconds = backend.infer_throughput(inputs, 0.2)
    assert done > 0 and seconds >= 0.2
    backend.close()


@pytest.mark.parametrize("device", DEVICES)
def test_dynamic_dims_default_to_one(tmp_path: Path, device: str) -> None:
    backend = ready(device, tiny_model(tmp_path / "tiny.onnx"))
    assert backend.input_specs() == [("x", "float32", [1, 3])]
    backend.infer(make_inputs(backend.input_specs(), None))


def test_openvino_runs_f32_when_asked_and_says_so(tmp_path: Path) -> None:
    backend = ready("ov:CPU", tiny_model(tmp_path / "tiny.onnx"), shapes={"x": [4, 3]},
                    precision="f32", threads=1)
    assert backend.actual_precision() == "f32"
    config = backend.applied_config()
    assert config["INFERENCE_PRECISION_HINT"] == "f32"
    assert config["INFERENCE_NUM_THREADS"] == "1"
    assert config["PERFORMANCE_HINT"] == "LATENCY"
    assert config["requested"]["INFERENCE_PRECISION_HINT"] == "f32"
    assert config["reshaped_inputs"] == {"x": [4, 3]}
    assert backend.device_name() not in ("", "CPU")


def test_onnxruntime_reports_its_session(tmp_path: Path) -> None:
    backend = ready("ort:cpu", tiny_model(tmp_path / "tiny.onnx"), threads=2, mode="throughput")
    assert backend.actual_precision() == "fp32"
    assert backend.device_name().endswith("(CPUExecutionProvider)")
    inputs = make_inputs(backend.input_specs(), None)
    backend.infer_throughput(inputs, 0.1)
    config = backend.applied_config()
    assert config["providers"] == ["CPUExecutionProvider"]
    assert config["intra_op_num_threads"] == 2
    assert config["parallel_requests"] >= 2


@pytest.fixture(scope="module")
def resnet_inputs() -> dict[str, np.ndarray]:
    return make_inputs([("gpu_0/data_0", "float32", [1, 3, 224, 224])], None, seed=0)


@pytest.mark.parametrize("device", DEVICES)
def test_zoo_resnet50_runs(device: str, resnet_inputs: dict[str, np.ndarray]) -> None:
    backend = ready(device, str(ZOO_DIR / "light_resnet50.onnx"), precision="f32", threads=2)
    assert backend.input_specs() == [("gpu_0/data_0", "float32", [1, 3, 224, 224])]
    backend.infer(resnet_inputs)
    (probabilities,) = backend.outputs(resnet_inputs).values()
    assert probabilities.shape == (1, 1000)
    assert probabilities.sum() == pytest.approx(1.0, abs=1e-3)  # the model ends in Softmax
    if device.startswith("ov:"):
        assert backend.actual_precision() == "f32"
    backend.close()


def test_unknown_devices_are_usage_errors_listing_what_exists() -> None:
    with pytest.raises(UsageError, match=r"unknown device 'ov:GPU'; available: ov:CPU"):
        create_backend("ov:GPU")
    with pytest.raises(UsageError, match=r"unknown device 'ort:cuda'; available: .*ort:cpu"):
        create_backend("ort:cuda")
    with pytest.raises(UsageError, match=r"must start with ov:\.\.\., ort:\.\.\."):
        create_backend("trt:gpu")


def test_openvino_compile_failure_is_one_clean_line(tmp_path: Path) -> None:
    backend = create_backend("ov:CPU")
    backend.load(tiny_model(tmp_path / "tiny.onnx"),
                 RunSettings(device="ov:CPU", extra_properties={"NOT_A_PROPERTY": "1"}))
    with pytest.raises(BackendError) as error:
        backend.compile()
    message = str(error.value)
    assert message.startswith("ov:CPU: cannot compile tiny.onnx: ")
    assert "NOT_A_PROPERTY" in message
    assert "\n" not in message and ".cpp" not in message and "Exception from" not in message


def test_onnxruntime_compile_failure_is_one_clean_line(tmp_path: Path) -> None:
    unknown = helper.make_node("Frobnicate", ["y"], ["z"], domain="com.example")
    path = tiny_model(tmp_path / "custom.onnx", [unknown])
    backend = create_backend("ort:cpu")
    backend.load(path, RunSettings(device="ort:cpu"))
    with pytest.raises(BackendError) as error:
        backend.compile()
    message = str(error.value)
    assert message.startswith("ort:cpu: cannot compile custom.onnx: ")
    assert "com.example" in message and "\n" not in message
    assert "[ONNXRuntimeError]" not in message


@pytest.mark.parametrize("device", DEVICES)
def test_a_file_that_is_not_a_model_is_a_load_error(tmp_path: Path, device: str) -> None:
    path = tmp_path / "broken.onnx"
    path.write_bytes(b"\x08\x07garbage that is no protobuf \xff\xfe")
    with pytest.raises(ModelLoadError, match=r"broken\.onnx: "):
        create_backend(device).load(str(path), RunSettings(device=device))


def test_clean_runtime_message_strips_source_locations() -> None:
    raw = ("Exception from src/inference/src/cpp/core.cpp:117:\n"
           "Exception from src/inference/src/dev/plugin.cpp:54:\n"
           "Check 'false' failed at src/plugins/intel_cpu/src/config.cpp:505:\n"
           "NotFound: Unsupported property FOO by CPU plugin.\n")
    assert clean_runtime_message(raw) == "NotFound: Unsupported property FOO by CPU plugin."
    ort = "[ONNXRuntimeError] : 10 : INVALID_GRAPH : Load model from m.onnx failed: bad node"
    assert clean_runtime_message(ort) == "Load model from m.onnx failed: bad node"


def test_openvino_telemetry_is_never_imported() -> None:
    code = ("import sys; from profiler.runtime.backend import create_backend; "
            "create_backend('ov:CPU'); "
            "print(sorted(m for m in sys.modules if m.startswith('openvino_telemetry.')))")
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, capture_output=True,
                            text=True, check=True, timeout=120)
    assert result.stdout.strip() == "[]"
