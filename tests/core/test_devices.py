"""Device discovery: real runtimes on this machine, and fakes for GPU/NPU/other providers."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from profiler.errors import UsageError
from profiler.runtime import devices
from profiler.runtime.devices import (
    DeviceInfo,
    check_device,
    list_devices,
    openvino_devices,
    ort_devices,
    ort_provider_for,
    provider_key,
)


class FakeDeviceType:
    """Stands in for OpenVINO's enum member Type.DISCRETE (printed as 'Type.DISCRETE')."""

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text


class FakeCore:
    """An OpenVINO Core with a CPU, two GPUs and an NPU, as the Python API reports them."""

    PROPERTIES: ClassVar[dict[str, dict[str, Any]]] = {
        "CPU": {"FULL_DEVICE_NAME": "Fake Xeon", "DEVICE_TYPE": FakeDeviceType("Type.INTEGRATED"),
                "OPTIMIZATION_CAPABILITIES": ["FP32", "BF16", "INT8", "EXPORT_IMPORT"]},
        "GPU.0": {"FULL_DEVICE_NAME": "Fake Arc A770 (dGPU)",
                  "DEVICE_TYPE": FakeDeviceType("Type.DISCRETE"),
                  "OPTIMIZATION_CAPABILITIES": ["FP32", "FP16", "INT8"],
                  "GPU_DEVICE_TOTAL_MEM_SIZE": 17_000_000_000},
        "GPU.1": {"FULL_DEVICE_NAME": "Fake Iris Xe (iGPU)",
                  "OPTIMIZATION_CAPABILITIES": ["FP32", "FP16"]},
        "NPU": {"FULL_DEVICE_NAME": "Fake AI Boost",
                "OPTIMIZATION_CAPABILITIES": ["FP16", "INT8"]},
    }

    available_devices: ClassVar[list[str]] = ["CPU", "GPU.0", "GPU.1", "NPU"]

    def get_property(self, device: str, key: str) -> Any:
        if key == "SUPPORTED_PROPERTIES":
            if device == "NPU":
                raise RuntimeError("SUPPORTED_PROPERTIES not implemented")
            return list(self.PROPERTIES[device])
        if key not in self.PROPERTIES[device]:
            raise RuntimeError(f"Unsupported property {key} by {device} plugin")
        return self.PROPERTIES[device][key]


def by_id(found: list[DeviceInfo]) -> dict[str, DeviceInfo]:
    return {device.id: device for device in found}


def test_fake_openvino_devices_map_names_types_and_capabilities() -> None:
    found = by_id(openvino_devices(FakeCore(), "2099.1.0"))
    assert list(found) == ["ov:CPU", "ov:GPU.0", "ov:GPU.1", "ov:NPU", "ov:AUTO",
                           "ov:HETERO:GPU.0,CPU"]
    gpu = found["ov:GPU.0"]
    assert (gpu.backend, gpu.device, gpu.type) == ("openvino", "GPU.0", "GPU")
    assert gpu.name == "Fake Arc A770 (dGPU)"
    assert gpu.capabilities == ["FP32", "FP16", "INT8"]
    assert gpu.properties["DEVICE_TYPE"] == "discrete"
    assert gpu.properties["GPU_DEVICE_TOTAL_MEM_SIZE"] == "17000000000"
    assert gpu.runtime_version == "2099.1.0"
    # NPU fails SUPPORTED_PROPERTIES: each property is tried; the missing ones are left out
    npu = found["ov:NPU"]
    assert (npu.name, npu.type, npu.capabilities) == ("Fake AI Boost", "NPU", ["FP16", "INT8"])
    assert "DEVICE_TYPE" not in npu.properties
    auto = found["ov:AUTO"]
    assert auto.type == "virtual"
    assert auto.capabilities == ["FP32", "BF16", "INT8", "EXPORT_IMPORT", "FP16"]


def test_no_openvino_device_means_no_auto() -> None:
    class EmptyCore(FakeCore):
        available_devices: ClassVar[list[str]] = []

    assert openvino_devices(EmptyCore(), "1") == []


def test_cpu_only_openvino_has_auto_but_no_hetero() -> None:
    class CpuCore(FakeCore):
        available_devices: ClassVar[list[str]] = ["CPU"]

    assert [d.id for d in openvino_devices(CpuCore(), "1")] == ["ov:CPU", "ov:AUTO"]


def test_fake_provider_lists_map_to_ids() -> None:
    providers = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "DmlExecutionProvider",
                 "CoreMLExecutionProvider", "QNNExecutionProvider", "ROCMExecutionProvider",
                 "MIGraphXExecutionProvider", "XnnpackExecutionProvider",
                 "OpenVINOExecutionProvider", "VitisAIExecutionProvider",
                 "AzureExecutionProvider", "CPUExecutionProvider"]
    found, notes = ort_devices(providers, "1.99.0", ["CPU", "GPU", "NPU"], "Fake Xeon")
    assert [d.id for d in found] == [
        "ort:tensorrt", "ort:cuda", "ort:dml", "ort:coreml", "ort:qnn", "ort:rocm",
        "ort:migraphx", "ort:xnnpack", "ort:openvino:CPU", "ort:openvino:GPU",
        "ort:openvino:NPU", "ort:vitisai", "ort:cpu",
    ]
    ids = by_id(found)
    assert ids["ort:cpu"].name == "Fake Xeon (CPUExecutionProvider)"
    assert ids["ort:cuda"].type == "GPU"
    assert ids["ort:openvino:NPU"].properties == {
        "provider": "OpenVINOExecutionProvider", "device_type": "NPU"}
    assert ids["ort:vitisai"].properties["provider"] == "VitisAIExecutionProvider"
    assert all(d.runtime_version == "1.99.0" and d.backend == "onnxruntime" for d in found)
    assert notes == []  # Azure calls a remote endpoint: not a device, not listed


def test_provider_key_and_provider_lookup() -> None:
    assert provider_key("FooBarExecutionProvider") == "foobar"
    assert provider_key("CUDAExecutionProvider") == "cuda"
    available = ["CUDAExecutionProvider", "OpenVINOExecutionProvider", "CPUExecutionProvider"]
    assert ort_provider_for("cuda", available) == ("CUDAExecutionProvider", {})
    assert ort_provider_for("openvino:NPU", available) == (
        "OpenVINOExecutionProvider", {"device_type": "NPU"})
    with pytest.raises(UsageError, match=r"ort:dml.*offers: ort:cuda, ort:openvino, ort:cpu"):
        ort_provider_for("dml", available)


def test_this_machine_lists_openvino_cpu_and_ort_cpu() -> None:
    found = by_id(list_devices())
    cpu = found["ov:CPU"]
    assert cpu.name and cpu.name != "CPU"  # FULL_DEVICE_NAME, e.g. the CPU model
    assert "FP32" in cpu.capabilities
    assert cpu.runtime_version and cpu.properties["FULL_DEVICE_NAME"] == cpu.name
    assert "ov:AUTO" in found
    ort_cpu = found["ort:cpu"]
    assert ort_cpu.name.endswith("(CPUExecutionProvider)")
    assert ort_cpu.capabilities == ["FP32", "INT8"]
    assert ort_cpu.runtime_version.count(".") >= 1


def test_a_broken_runtime_only_removes_its_devices(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken() -> Any:
        raise ImportError("libopenvino.so: cannot open shared object file")

    monkeypatch.setattr("profiler.offline.import_openvino", broken)
    found, notes = devices.discover()
    ids = [d.id for d in found]
    assert "ort:cpu" in ids and not any(i.startswith("ov:") for i in ids)
    assert notes == ["OpenVINO devices unavailable: libopenvino.so: cannot open shared object file"]


def test_unknown_device_lists_what_exists() -> None:
    available = ["ov:CPU", "ov:AUTO", "ort:cpu"]
    with pytest.raises(UsageError) as error:
        check_device("ov:GPU", available)
    assert str(error.value) == "unknown device 'ov:GPU'; available: ov:CPU, ov:AUTO, ort:cpu"
    with pytest.raises(UsageError, match=r"did you mean ov:CPU\?"):
        check_device("ov:cpu", available)
    check_device("ort:cpu", available)
    check_device("ov:AUTO:CPU", available)  # AUTO/HETERO over devices that exist
    with pytest.raises(UsageError):
        check_device("ov:HETERO:GPU,CPU", available)
