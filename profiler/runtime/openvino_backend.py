"""The OpenVINO backend: read_model (load), compile_model (compile), a reused InferRequest.

Like benchmark_app's latency mode, one InferRequest is created at compile and reused for every
synchronous ``infer()``; throughput mode runs an AsyncInferQueue of the device's optimal number
of requests. Telemetry is never imported (see profiler.offline.import_openvino).
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from profiler.errors import ModelLoadError, ShapeError, UsageError, clean_runtime_message
from profiler.offline import import_openvino
from profiler.records.runs import LayerProfile
from profiler.runtime.backend import (
    Backend,
    BackendError,
    RunSettings,
    split_device_id,
)
from profiler.runtime.layers_ov import (
    CounterLog,
    build_ov_profile,
    counter_layers,
    majority_precision,
    openvino_model_index,
    runtime_layers,
    weight_storage_precision,
)
from profiler.runtime.precision import cpu_flags, expected_cpu_precision, normalise

PERFORMANCE_HINT = "PERFORMANCE_HINT"
INFERENCE_NUM_THREADS = "INFERENCE_NUM_THREADS"
INFERENCE_PRECISION_HINT = "INFERENCE_PRECISION_HINT"
ENABLE_PROFILING = "PERF_COUNT"
"""ov::enable_profiling's property name."""
REPORTED_PROPERTIES = (
    PERFORMANCE_HINT, "NUM_STREAMS", INFERENCE_NUM_THREADS, INFERENCE_PRECISION_HINT,
    "OPTIMAL_NUMBER_OF_INFER_REQUESTS", "EXECUTION_DEVICES", "EXECUTION_MODE_HINT",
    "ENABLE_CPU_PINNING", "ENABLE_HYPER_THREADING", "SCHEDULING_CORE_TYPE",
)


class OpenVINOBackend(Backend):
    name = "openvino"

    def __init__(self, device_id: str) -> None:
        _, self._device = split_device_id(device_id)
        self._device_id = device_id
        self._ov = import_openvino()
        self._core = self._ov.Core()
        self._settings = RunSettings(device=device_id)
        self._path = ""
        self._model: Any = None
        self._compiled: Any = None
        self._request: Any = None
        self._bound: tuple[Any, dict[str, np.ndarray]] = (None, {})
        """(request, the arrays it shares): what the last infer set on the request."""
        self._ports: dict[str, int] = {}
        self._requested: dict[str, Any] = {}
        self._ignored: list[str] = []
        self._reshaped: dict[str, list[int]] = {}
        self._precision: tuple[str | None, str | None] | None = None

    # load / compile ---------------------------------------------------------------------------

    def load(self, model_path: str, settings: RunSettings) -> None:
        self._settings, self._path = settings, model_path
        try:
            self._model = self._core.read_model(model_path)
        except Exception as error:
            raise ModelLoadError(model_path, clean_runtime_message(error)) from None
        self._reshape()

    def _reshape(self) -> None:
        """Give every input a static shape: settings.shapes, else dynamic dims set to 1."""
        targets: dict[int, Any] = {}
        for port, model_input in enumerate(self._model.inputs):
            name = _port_name(model_input, port)
            declared = model_input.get_partial_shape()
            wanted = self._settings.shapes.get(name)
            if wanted is None and declared.is_static:
                continue
            if wanted is None:
                wanted = _default_shape(declared, name, self._path)
            if declared.is_static and list(declared.to_shape()) == list(wanted):
                continue
            targets[port] = self._ov.PartialShape([int(d) for d in wanted])
            self._reshaped[name] = [int(d) for d in wanted]
        if not targets:
            return
        try:
            self._model.reshape(targets)
        except Exception as error:
            raise ShapeError(f"{self._path}: cannot set input shapes {self._reshaped}: "
                             f"{clean_runtime_message(error)}") from None

    def _supported(self) -> set[str] | None:
        base = self._device.split(":")[0]
        try:
            return {str(p) for p in self._core.get_property(base, "SUPPORTED_PROPERTIES")}
        except Exception:  # unknown: pass every property and let compile decide
            return None

    def _properties(self, profiling: bool) -> dict[str, Any]:
        settings = self._settings
        wanted: dict[str, Any] = {
            PERFORMANCE_HINT: "THROUGHPUT" if settings.mode == "throughput" else "LATENCY"
        }
        if settings.threads:
            wanted[INFERENCE_NUM_THREADS] = int(settings.threads)
        if settings.precision:
            wanted[INFERENCE_PRECISION_HINT] = settings.precision
        if profiling:
            wanted[ENABLE_PROFILING] = True
        supported = self._supported()
        kept = {k: v for k, v in wanted.items() if supported is None or k in supported}
        self._ignored = sorted(k for k in wanted if k not in kept and k != ENABLE_PROFILING)
        kept.update(settings.extra_properties)
        return kept

    def _compile(self, profiling: bool) -> Any:
        properties = self._properties(profiling)
        if not profiling:
            self._requested = dict(properties)
        try:
            return self._core.compile_model(self._model, self._device, properties)
        except Exception as error:
            raise BackendError(
                f"{self._device_id}: cannot compile {os.path.basename(self._path)}: "
                f"{clean_runtime_message(error)}"
            ) from None

    def compile(self) -> None:
        if self._model is None:
            raise UsageError("load() must come before compile()")
        self._compiled = self._compile(profiling=False)
        self._request = self._compiled.create_infer_request()
        self._ports = {_port_name(p, i): i for i, p in enumerate(self._compiled.inputs)}

    def input_specs(self) -> list[tuple[str, str, list[int]]]:
        specs = []
        for port, compiled_input in enumerate(self._compiled.inputs):
            name = _port_name(compiled_input, port)
            shape = compiled_input.get_partial_shape()
            dims = self._settings.shapes.get(name) or _default_shape(shape, name, self._path)
            specs.append((name, _numpy_dtype(compiled_input.get_element_type()), list(dims)))
        return specs

    # inference --------------------------------------------------------------------------------

    def _by_port(self, inputs: dict[str, np.ndarray]) -> dict[int, np.ndarray]:
        try:
            return {self._ports[name]: array for name, array in inputs.items()}
        except KeyError as error:
            raise UsageError(f"unknown input {error.args[0]!r}; the model takes "
                             f"{', '.join(self._ports)}") from None

    def infer(self, inputs: dict[str, np.ndarray]) -> None:
        if self._is_bound(inputs):  # the timed loop's case: no per-call dispatch (~0.1 ms)
            self._request.infer(None, share_outputs=True)
            return
        self._request.infer(self._by_port(inputs), share_inputs=True, share_outputs=True)
        self._bound = (self._request, dict(inputs))

    def _is_bound(self, inputs: dict[str, np.ndarray]) -> bool:
        """True when the request already shares exactly these arrays (set by the last call), so
        calls with the same inputs skip Tensor wrapping and set_tensor, as benchmark_app does."""
        request, arrays = self._bound
        return request is self._request and arrays.keys() == inputs.keys() and all(
            arrays[name] is array for name, array in inputs.items())

    def outputs(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        results = self._request.infer(self._by_port(inputs), share_inputs=True)
        self._bound = (self._request, dict(inputs))
        return {_port_name(port, i): np.array(results[port])
                for i, port in enumerate(self._compiled.outputs)}

    def infer_throughput(self, inputs: dict[str, np.ndarray],
                         duration_s: float) -> tuple[int, float]:
        queue = self._ov.AsyncInferQueue(self._compiled, self._optimal_requests())
        data = self._by_port(inputs)
        started = 0
        start = time.perf_counter()
        deadline = start + duration_s
        while time.perf_counter() < deadline:
            queue.start_async(data, share_inputs=True)  # waits while every request is busy
            started += 1
        queue.wait_all()
        return started, time.perf_counter() - start

    def _optimal_requests(self) -> int:
        try:
            return max(1, int(self._compiled.get_property("OPTIMAL_NUMBER_OF_INFER_REQUESTS")))
        except Exception:  # a device that does not say: one request per stream is safe
            return 1

    # what ran ---------------------------------------------------------------------------------

    def _precisions(self) -> tuple[str | None, str | None]:
        """(INFERENCE_PRECISION_HINT as compiled, runtime-model majority of matrix layers)."""
        if self._precision is None:
            hint = _safe_property(self._compiled, INFERENCE_PRECISION_HINT)
            try:
                majority = majority_precision(runtime_layers(self._compiled.get_runtime_model()))
            except Exception:  # a device without a runtime model (some NPU plugins)
                majority = None
            self._precision = (hint or None, majority)
        return self._precision

    def actual_precision(self) -> str:
        """What the matrix layers computed in (their kernels' names); without a runtime model,
        the compiled precision hint as this CPU can honour it (the hint elsewhere)."""
        hint, majority = self._precisions()
        if majority:
            return majority
        if self._device.split(".")[0] == "CPU":
            return expected_cpu_precision(hint or "", cpu_flags())
        return normalise(hint or "") or "unknown"

    def weight_precision(self) -> str:
        """How the model's weights are stored (f16 for an FP16-compressed IR)."""
        return weight_storage_precision(self._model) if self._model is not None else ""

    def device_name(self) -> str:
        base = self._device.split(":")[0]
        name = _safe_property(self._core, "FULL_DEVICE_NAME", base) or self._device
        if base in ("AUTO", "HETERO", "MULTI") and self._compiled is not None:
            executing = _safe_property(self._compiled, "EXECUTION_DEVICES")
            name = f"{name} ({executing})" if executing else name
        return name

    def applied_config(self) -> dict[str, Any]:
        config: dict[str, Any] = {}
        if self._compiled is not None:
            for key in REPORTED_PROPERTIES:
                value = _safe_property(self._compiled, key)
                if value:
                    config[key] = value
        majority = self._precisions()[1] if self._compiled is not None else None
        config["runtime_precision"] = majority or ""
        config["requested"] = {k: str(v) for k, v in self._requested.items()}
        if self._ignored:
            config["ignored"] = self._ignored
        if self._reshaped:
            config["reshaped_inputs"] = self._reshaped
        config["openvino_version"] = str(self._ov.get_version())
        return config

    # per-layer pass ---------------------------------------------------------------------------

    def profile_layers(self, inputs: dict[str, np.ndarray], iterations: int) -> LayerProfile:
        """A fresh compile with profiling on: one warm-up, then ``iterations`` timed runs; the
        counters are read after each (see CounterLog for the statistic)."""
        iterations = max(1, int(iterations))
        compiled = self._compile(profiling=True)
        request = compiled.create_infer_request()
        data = self._by_port(inputs)
        log = CounterLog(running_mean=self._device.split(".")[0] == "CPU")
        request.infer(data, share_inputs=True, share_outputs=True)  # warm-up, not counted
        log.add(request.profiling_info)
        e2e_ms = []
        for _ in range(iterations):
            start = time.perf_counter()
            request.infer(data, share_inputs=True, share_outputs=True)
            e2e_ms.append((time.perf_counter() - start) * 1000.0)
            log.add(request.profiling_info)
        try:
            layers = runtime_layers(compiled.get_runtime_model())
        except Exception:  # no runtime model on this device: the counters name the layers
            layers = counter_layers(request.profiling_info)
        index = openvino_model_index(self._model, self._path)
        return build_ov_profile(layers, log.layer_times_ms(), iterations, index, e2e_ms,
                                self._device, log.statistic)

    def close(self) -> None:
        self._request = None
        self._bound = (None, {})
        self._compiled = None
        self._model = None


def _port_name(port: Any, position: int) -> str:
    """An input/output's tensor name (the first, sorted), else its node's friendly name."""
    names = sorted(port.get_names())
    if names:
        return str(names[0])
    return str(port.get_node().get_friendly_name()) or f"input_{position}"


def _default_shape(shape: Any, name: str, path: str) -> list[int]:
    """Static dims as they are, dynamic ones as 1."""
    if shape.rank.is_dynamic:
        raise ShapeError(f"{path}: input {name!r} has no known rank; give its shape (--shape)")
    return [int(d.get_length()) if d.is_static else 1 for d in shape]


def _numpy_dtype(element_type: Any) -> str:
    try:
        return str(np.dtype(element_type.to_dtype()).name)
    except Exception:  # bf16 and other types numpy lacks: the OpenVINO name
        return str(element_type.get_type_name())


def _safe_property(source: Any, key: str, *device: str) -> str:
    """A property as text, '' when the device or compiled model does not report it."""
    from profiler.runtime.devices import property_text

    try:
        return property_text(source.get_property(*device, key))
    except Exception:  # not supported here
        return ""
