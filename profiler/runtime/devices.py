"""Device discovery: every ``backend:device`` the installed runtimes offer.

Discovery is split into pure functions that take what a runtime reports (an OpenVINO ``Core``
or any object with ``available_devices`` and ``get_property``; ONNX Runtime's provider names)
and return DeviceInfo, so the mapping is tested with fake GPU/NPU entries. A runtime that is
missing or fails to start only removes its devices and adds a note.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from dataclasses import field
from typing import Any

from profiler.errors import UsageError
from profiler.records.record import record


@record
class DeviceInfo:
    id: str
    """'backend:device', e.g. 'ov:GPU.0', 'ort:cuda', 'ort:openvino:NPU'."""
    backend: str
    """'openvino' | 'onnxruntime'."""
    device: str
    """The runtime's own name: OpenVINO device name, or the provider key ('cuda')."""
    name: str = ""
    """Full device name (OpenVINO FULL_DEVICE_NAME), or the provider name."""
    type: str = ""
    """'CPU' | 'GPU' | 'NPU' | 'virtual' (AUTO, HETERO) | 'accelerator'."""
    capabilities: list[str] = field(default_factory=list)
    """Precisions/capabilities, e.g. FP32, BF16, INT8, FP16 (OpenVINO OPTIMIZATION_CAPABILITIES)."""
    properties: dict[str, str] = field(default_factory=dict)
    runtime_version: str = ""


# OpenVINO ------------------------------------------------------------------------------------

OV_DEVICE_PROPERTIES = (
    "FULL_DEVICE_NAME", "DEVICE_TYPE", "OPTIMIZATION_CAPABILITIES", "DEVICE_ARCHITECTURE",
    "DEVICE_ID", "GPU_DEVICE_TOTAL_MEM_SIZE", "NPU_DEVICE_TOTAL_MEM_SIZE", "NPU_DRIVER_VERSION",
)
VIRTUAL_DEVICES = ("AUTO", "HETERO", "MULTI", "BATCH")


def property_text(value: Any) -> str:
    """A property value as text: lists joined, enum members by their lower-case name."""
    if isinstance(value, (list, tuple)):
        return ", ".join(property_text(v) for v in value)
    if hasattr(value, "get_type_name"):  # ov.Type
        return str(value.get_type_name())
    text = str(value)
    if re.fullmatch(r"[A-Za-z]+\.[A-Z_]+", text):  # enum members such as Type.INTEGRATED
        return text.split(".", 1)[1].lower()
    return text


def _supported(core: Any, device: str) -> set[str] | None:
    try:
        return {str(p) for p in core.get_property(device, "SUPPORTED_PROPERTIES")}
    except Exception:  # an old plugin: try each property instead
        return None


def openvino_properties(core: Any, device: str) -> dict[str, str]:
    supported = _supported(core, device)
    properties: dict[str, str] = {}
    for key in OV_DEVICE_PROPERTIES:
        if supported is not None and key not in supported:
            continue
        try:
            properties[key] = property_text(core.get_property(device, key))
        except Exception:  # a property this device does not report: left out
            continue
    return properties


def openvino_devices(core: Any, version: str) -> list[DeviceInfo]:
    """ov:<device> for each available device, plus ov:AUTO and, with a GPU, ov:HETERO."""
    devices = []
    for device in core.available_devices:
        properties = openvino_properties(core, device)
        capabilities = [c.strip() for c in properties.get("OPTIMIZATION_CAPABILITIES", "")
                        .split(",") if c.strip()]
        devices.append(DeviceInfo(
            id=f"ov:{device}", backend="openvino", device=device,
            name=properties.get("FULL_DEVICE_NAME", device), type=device.split(".")[0],
            capabilities=capabilities, properties=properties, runtime_version=version,
        ))
    return devices + _virtual_devices(devices, version)


def _virtual_devices(devices: list[DeviceInfo], version: str) -> list[DeviceInfo]:
    if not devices:
        return []
    names = [d.device for d in devices]
    union = list(dict.fromkeys(c for d in devices for c in d.capabilities))
    virtual = [DeviceInfo(
        id="ov:AUTO", backend="openvino", device="AUTO", name=f"AUTO ({', '.join(names)})",
        type="virtual", capabilities=union, properties={"candidates": ", ".join(names)},
        runtime_version=version,
    )]
    gpus = [name for name in names if name.split(".")[0] == "GPU"]
    if gpus and "CPU" in names:
        target = f"HETERO:{gpus[0]},CPU"
        virtual.append(DeviceInfo(
            id=f"ov:{target}", backend="openvino", device=target,
            name=f"HETERO ({gpus[0]}, CPU fallback)", type="virtual", capabilities=union,
            properties={"candidates": f"{gpus[0]}, CPU"}, runtime_version=version,
        ))
    return virtual


# ONNX Runtime --------------------------------------------------------------------------------

KNOWN_PROVIDERS: dict[str, tuple[str, str, list[str]]] = {
    "CPUExecutionProvider": ("cpu", "CPU", ["FP32", "INT8"]),
    "CUDAExecutionProvider": ("cuda", "GPU", ["FP32", "FP16", "INT8"]),
    "TensorrtExecutionProvider": ("tensorrt", "GPU", ["FP32", "FP16", "INT8"]),
    "DmlExecutionProvider": ("dml", "GPU", ["FP32", "FP16"]),
    "CoreMLExecutionProvider": ("coreml", "accelerator", ["FP32", "FP16"]),
    "QNNExecutionProvider": ("qnn", "NPU", ["FP16", "INT8"]),
    "ROCMExecutionProvider": ("rocm", "GPU", ["FP32", "FP16"]),
    "MIGraphXExecutionProvider": ("migraphx", "GPU", ["FP32", "FP16", "INT8"]),
    "XnnpackExecutionProvider": ("xnnpack", "CPU", ["FP32"]),
}
"""Provider -> (device key, device type, precisions the provider supports)."""
OPENVINO_EP = "OpenVINOExecutionProvider"
SKIPPED_PROVIDERS = frozenset({"AzureExecutionProvider"})
"""Providers that are not a local device (Azure calls a remote endpoint): never listed."""


def provider_key(provider: str) -> str:
    """'CUDAExecutionProvider' -> 'cuda'; any other 'FooExecutionProvider' -> 'foo'."""
    if provider in KNOWN_PROVIDERS:
        return KNOWN_PROVIDERS[provider][0]
    match = re.fullmatch(r"(\w+?)ExecutionProvider", provider)
    return (match.group(1) if match else provider).lower()


def ort_devices(providers: Sequence[str], version: str, openvino_device_types: Sequence[str],
                cpu_name: str = "") -> tuple[list[DeviceInfo], list[str]]:
    """One device per provider; the OpenVINO EP gives one per OpenVINO device type."""
    devices: list[DeviceInfo] = []
    notes = []
    for provider in providers:
        if provider in SKIPPED_PROVIDERS:
            continue
        if provider == OPENVINO_EP and not openvino_device_types:
            notes.append(f"ONNX Runtime {provider} found no OpenVINO device")
        elif provider == OPENVINO_EP:
            devices.extend(_openvino_ep_device(t, version) for t in openvino_device_types)
        else:
            devices.append(_provider_device(provider, version, cpu_name))
    return devices, notes


def _provider_device(provider: str, version: str, cpu_name: str) -> DeviceInfo:
    key, kind, capabilities = KNOWN_PROVIDERS.get(provider, (provider_key(provider), "", []))
    name = f"{cpu_name} ({provider})" if key == "cpu" and cpu_name else provider
    return DeviceInfo(id=f"ort:{key}", backend="onnxruntime", device=key, name=name,
                      type=kind or "accelerator", capabilities=list(capabilities),
                      properties={"provider": provider}, runtime_version=version)


def _openvino_ep_device(device_type: str, version: str) -> DeviceInfo:
    return DeviceInfo(
        id=f"ort:openvino:{device_type}", backend="onnxruntime", device=f"openvino:{device_type}",
        name=f"{OPENVINO_EP} ({device_type})", type=device_type,
        capabilities=["FP32", "FP16"] if device_type == "CPU" else ["FP16", "FP32"],
        properties={"provider": OPENVINO_EP, "device_type": device_type},
        runtime_version=version,
    )


def ort_provider_for(device: str, available: Sequence[str]) -> tuple[str, dict[str, str]]:
    """The provider (and its options) for the device part of an 'ort:...' id."""
    if device.startswith("openvino:") and OPENVINO_EP in available:
        return OPENVINO_EP, {"device_type": device.split(":", 1)[1]}
    for provider in available:
        if provider_key(provider) == device and provider not in SKIPPED_PROVIDERS:
            return provider, {}
    keys = ", ".join(f"ort:{provider_key(p)}" for p in available if p not in SKIPPED_PROVIDERS)
    raise UsageError(f"unknown device 'ort:{device}'; ONNX Runtime offers: {keys}")


# Discovery -----------------------------------------------------------------------------------

def _openvino_ep_device_types() -> list[str]:
    """Device types the OpenVINO EP can use: its own list when the build exposes it."""
    try:
        from onnxruntime.capi import _pybind_state

        ids = _pybind_state.get_available_openvino_device_ids()
        if ids:
            return list(dict.fromkeys(str(i).split(".")[0] for i in ids))
    except Exception:  # a build without that function: ask OpenVINO itself
        pass
    try:
        from profiler.offline import import_openvino

        names = import_openvino().Core().available_devices
        return list(dict.fromkeys(n.split(".")[0] for n in names)) or ["CPU"]
    except Exception:  # OpenVINO's Python package is not installed: the EP still runs on CPU
        return ["CPU"]


def _discover_openvino() -> tuple[list[DeviceInfo], list[str]]:
    from profiler.errors import clean_runtime_message
    from profiler.offline import import_openvino

    try:
        ov = import_openvino()
        return openvino_devices(ov.Core(), ov.get_version()), []
    except Exception as error:  # missing or broken runtime: its devices are left out
        return [], [f"OpenVINO devices unavailable: {clean_runtime_message(error)}"]


def _discover_onnxruntime() -> tuple[list[DeviceInfo], list[str]]:
    from profiler.environment import cpu_info
    from profiler.errors import clean_runtime_message

    try:
        import onnxruntime

        providers = list(onnxruntime.get_available_providers())
        version = str(onnxruntime.__version__)
    except Exception as error:  # missing or broken runtime: its devices are left out
        return [], [f"ONNX Runtime devices unavailable: {clean_runtime_message(error)}"]
    ov_types = _openvino_ep_device_types() if OPENVINO_EP in providers else []
    return ort_devices(providers, version, ov_types, str(cpu_info()["name"]))


def discover_backend(backend: str) -> tuple[list[DeviceInfo], list[str]]:
    """Devices of one runtime ('openvino' | 'onnxruntime') and notes on what is missing."""
    if backend == "openvino":
        return _discover_openvino()
    return _discover_onnxruntime()


def discover() -> tuple[list[DeviceInfo], list[str]]:
    """Every device of every installed runtime, and notes on the runtimes that are missing."""
    devices, notes = _discover_openvino()
    ort_found, ort_notes = _discover_onnxruntime()
    return devices + ort_found, notes + ort_notes


def list_devices() -> list[DeviceInfo]:
    return discover()[0]


def _composite_ok(device_id: str, ids: Sequence[str]) -> bool:
    """'ov:AUTO:GPU,CPU' / 'ov:HETERO:NPU,CPU' is valid when each listed device exists."""
    match = re.fullmatch(r"ov:(AUTO|HETERO|MULTI):(.+)", device_id)
    if not match:
        return False
    return all(f"ov:{part.strip()}" in ids for part in match.group(2).split(","))


def check_device(device_id: str, available: Sequence[DeviceInfo | str]) -> None:
    """Raise UsageError naming what exists when ``device_id`` is not available."""
    ids = [d if isinstance(d, str) else d.id for d in available]
    if device_id in ids or _composite_ok(device_id, ids):
        return
    close = [i for i in ids if i.lower() == device_id.lower()]
    hint = f" (did you mean {close[0]}?)" if close else ""
    raise UsageError(
        f"unknown device {device_id!r}{hint}; available: {', '.join(ids) or 'none'}"
    )


# Which model formats each runtime reads ------------------------------------------------------

FORMAT_EXTENSIONS = {".onnx": "onnx", ".xml": "openvino-ir", ".tflite": "tflite"}
"""Model file extension -> the format name ModelGraph and the report use."""
BACKEND_FORMATS = {"onnxruntime": ("onnx",), "openvino": ("onnx", "openvino-ir", "tflite")}
BACKEND_NAMES = {"onnxruntime": "ONNX Runtime", "openvino": "OpenVINO"}
BACKEND_PREFIXES = {"ort": "onnxruntime", "ov": "openvino"}
FORMAT_FILES = {"onnx": ".onnx", "openvino-ir": ".xml (OpenVINO IR)", "tflite": ".tflite"}


def model_format(path: str) -> str:
    """'model.xml' -> 'openvino-ir'; '' for an extension no runtime reads."""
    return FORMAT_EXTENSIONS.get(os.path.splitext(path)[1].lower(), "")


TARGET_SEPARATOR = "/"
"""'pi5/ov:CPU': a device on target 'pi5' (target names never contain '/' or ':')."""


def split_target(device_id: str) -> tuple[str, str]:
    """'pi5/ov:CPU' -> ('pi5', 'ov:CPU'); a local 'ov:CPU' -> ('', 'ov:CPU')."""
    head, separator, local = device_id.partition(TARGET_SEPARATOR)
    if not separator or ":" in head:
        return "", device_id
    return head, local


def target_device_id(target: str, local_id: str) -> str:
    """('pi5', 'ov:CPU') -> 'pi5/ov:CPU'; no target -> the local id."""
    return f"{target}{TARGET_SEPARATOR}{local_id}" if target else local_id


def device_backend(device_id: str) -> str:
    """'ov:CPU' / 'pi5/ort:cuda' -> 'openvino' / 'onnxruntime'; '' for an unknown prefix."""
    local = split_target(device_id)[1]
    return BACKEND_PREFIXES.get(local.split(":", 1)[0], "")


def format_problem(device_id: str, fmt: str, model_name: str = "") -> str:
    """Why ``device_id`` cannot run a model of format ``fmt`` (one sentence), or ''."""
    backend = device_backend(device_id)
    readable = BACKEND_FORMATS.get(backend)
    if not fmt or readable is None or fmt in readable:
        return ""
    others = [prefix for prefix, other in BACKEND_PREFIXES.items()
              if fmt in BACKEND_FORMATS[other]]
    files = " and ".join(FORMAT_FILES[f] for f in readable)
    hint = f"; use an {others[0]}:... device" if others else ""
    subject = f"{device_id} cannot run {model_name}" if model_name else \
        f"{device_id} cannot run this model"
    return f"{subject}: {BACKEND_NAMES[backend]} reads only {files} files{hint}"


def devices_for_format(devices: Sequence[DeviceInfo], fmt: str
                       ) -> tuple[list[DeviceInfo], dict[str, str]]:
    """The devices that can run a model of this format, and {id: reason} for the others."""
    usable: list[DeviceInfo] = []
    refused: dict[str, str] = {}
    for device in devices:
        problem = format_problem(device.id, fmt)
        if problem:
            refused[device.id] = problem
        else:
            usable.append(device)
    return usable, refused


def check_device_format(device_id: str, model_path: str) -> None:
    """Raise UsageError when the device's runtime cannot read the model file's format."""
    problem = format_problem(device_id, model_format(model_path), os.path.basename(model_path))
    if problem:
        raise UsageError(problem)
