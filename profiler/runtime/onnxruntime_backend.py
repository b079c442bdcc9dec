"""The ONNX Runtime backend: parse the file (load), create the InferenceSession (compile).

Sessions use every graph optimisation (ORT_ENABLE_ALL), ``threads`` intra-op threads and the
execution provider of the device id (with the CPU provider as fallback for unsupported
nodes). Profiling is on only in the per-layer pass, in its own session.
"""

from __future__ import annotations

import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from profiler.errors import ModelLoadError, UsageError, clean_runtime_message
from profiler.records.runs import LayerProfile
from profiler.runtime.backend import (
    Backend,
    BackendError,
    RunSettings,
    onnx_model_index,
    split_device_id,
)
from profiler.runtime.devices import OPENVINO_EP, ort_provider_for
from profiler.runtime.layers_ort import OptGraph, build_ort_profile, read_trace
from profiler.runtime.precision import dominant_storage

CPU_EP = "CPUExecutionProvider"
ERRORS_ONLY = 3
"""ORT log severity: errors only (its warnings would clutter the worker's stderr)."""
ORT_TYPES = {
    "tensor(float)": "float32", "tensor(float16)": "float16", "tensor(double)": "float64",
    "tensor(bfloat16)": "bfloat16", "tensor(int8)": "int8", "tensor(uint8)": "uint8",
    "tensor(int16)": "int16", "tensor(uint16)": "uint16", "tensor(int32)": "int32",
    "tensor(uint32)": "uint32", "tensor(int64)": "int64", "tensor(uint64)": "uint64",
    "tensor(bool)": "bool", "tensor(string)": "str",
}
INT8_OPS = frozenset({"QuantizeLinear", "DynamicQuantizeLinear", "QLinearConv", "QLinearMatMul",
                      "MatMulInteger", "ConvInteger", "MatMulIntegerToFloat", "QGemm"})
OV_EP_PRECISIONS = {"f32": "FP32", "f16": "FP16"}


class OnnxRuntimeBackend(Backend):
    name = "onnxruntime"

    def __init__(self, device_id: str) -> None:
        import onnxruntime

        _, self._device = split_device_id(device_id)
        self._device_id = device_id
        self._ort = onnxruntime
        self._provider, self._provider_options = ort_provider_for(
            self._device, onnxruntime.get_available_providers())
        self._settings = RunSettings(device=device_id)
        self._path = ""
        self._session: Any = None
        self._model_precision = "fp32"
        self._weight_precision = ""
        self._parallel_requests = 0

    # load / compile ---------------------------------------------------------------------------

    def load(self, model_path: str, settings: RunSettings) -> None:
        """Parse the protobuf (weights stay on disk) to fail early on a broken file."""
        import onnx

        self._settings, self._path = settings, model_path
        try:
            model = onnx.load(model_path, load_external_data=False)
        except Exception as error:
            raise ModelLoadError(model_path, f"not a valid ONNX model ({error})") from None
        if not model.HasField("graph"):
            raise ModelLoadError(model_path, "not a valid ONNX model (no graph)")
        self._model_precision = _model_precision(model)
        self._weight_precision = _weight_precision(model)

    def _options(self) -> list[tuple[str, dict[str, str]]]:
        options = dict(self._provider_options)
        settings = self._settings
        if self._provider == OPENVINO_EP:
            if settings.precision in OV_EP_PRECISIONS:
                options["precision"] = OV_EP_PRECISIONS[settings.precision]
            if settings.threads:
                options["num_of_threads"] = str(settings.threads)
        providers = [(self._provider, options)]
        if self._provider != CPU_EP:
            providers.append((CPU_EP, {}))
        return providers

    def _session_options(self, profile_dir: str | None, save_optimized: bool) -> Any:
        options = self._ort.SessionOptions()
        options.graph_optimization_level = self._ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = ERRORS_ONLY
        if self._settings.threads:
            options.intra_op_num_threads = int(self._settings.threads)
        for key, value in self._settings.extra_properties.items():
            options.add_session_config_entry(key, str(value))
        if profile_dir is not None:
            options.enable_profiling = True
            options.profile_file_prefix = os.path.join(profile_dir, "ort_profile")
        if profile_dir is not None and save_optimized:
            options.optimized_model_filepath = os.path.join(profile_dir, "optimized.onnx")
            # weights go to a side file: only the graph structure is read back
            options.add_session_config_entry(
                "session.optimized_model_external_initializers_file_name", "optimized.data")
            options.add_session_config_entry(
                "session.optimized_model_external_initializers_min_size_in_bytes", "1024")
        return options

    def _create(self, options: Any) -> Any:
        providers = self._options()
        try:
            session = self._ort.InferenceSession(
                self._path, sess_options=options, providers=[p for p, _ in providers],
                provider_options=[o for _, o in providers])
        except Exception as error:
            raise BackendError(f"{self._device_id}: cannot compile "
                               f"{os.path.basename(self._path)}: "
                               f"{clean_runtime_message(error)}") from None
        if self._provider not in session.get_providers():
            raise BackendError(f"{self._device_id}: {self._provider} could not start (the "
                               "session fell back to the CPU); check its drivers/libraries")
        return session

    def compile(self) -> None:
        if not self._path:
            raise UsageError("load() must come before compile()")
        self._session = self._create(self._session_options(None, save_optimized=False))

    def input_specs(self) -> list[tuple[str, str, list[int]]]:
        specs = []
        for model_input in self._session.get_inputs():
            wanted = self._settings.shapes.get(model_input.name)
            dims = [int(d) if isinstance(d, int) and d >= 0 else 1 for d in model_input.shape]
            specs.append((model_input.name, ORT_TYPES.get(model_input.type, model_input.type),
                          [int(d) for d in wanted] if wanted else dims))
        return specs

    # inference --------------------------------------------------------------------------------

    def infer(self, inputs: dict[str, np.ndarray]) -> None:
        self._session.run(None, inputs)

    def outputs(self, inputs: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        names = [o.name for o in self._session.get_outputs()]
        return dict(zip(names, self._session.run(names, inputs), strict=True))

    def infer_throughput(self, inputs: dict[str, np.ndarray],
                         duration_s: float) -> tuple[int, float]:
        """Parallel ``run`` calls on one session (ORT runs them concurrently, GIL released)."""
        workers = self._workers()
        counts = [0] * workers
        start = time.perf_counter()
        deadline = start + duration_s

        def loop(worker: int) -> None:
            while time.perf_counter() < deadline:
                self._session.run(None, inputs)
                counts[worker] += 1

        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(loop, range(workers)))
        return sum(counts), time.perf_counter() - start

    def _workers(self) -> int:
        """Requests in flight: enough to keep every usable core busy, at least two."""
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
            os.cpu_count() or 1)
        per_request = self._settings.threads or cores
        self._parallel_requests = max(2, cores // max(1, per_request))
        return self._parallel_requests

    # what ran ---------------------------------------------------------------------------------

    def actual_precision(self) -> str:
        if self._provider == OPENVINO_EP:
            chosen = OV_EP_PRECISIONS.get(self._settings.precision or "")
            default = "fp32" if self._provider_options.get("device_type") == "CPU" else "fp16"
            return chosen.lower() if chosen else default
        return self._model_precision

    def weight_precision(self) -> str:
        return self._weight_precision

    def device_name(self) -> str:
        if self._provider == CPU_EP:
            from profiler.environment import cpu_info

            return f"{cpu_info()['name']} ({CPU_EP})"
        device_type = self._provider_options.get("device_type")
        return f"{self._provider} ({device_type})" if device_type else self._provider

    def applied_config(self) -> dict[str, Any]:
        session = self._session
        config: dict[str, Any] = {
            "providers": list(session.get_providers()) if session else [],
            "provider_options": {p: o for p, o in self._options() if o},
            "intra_op_num_threads": self._settings.threads or "default (one per physical core)",
            "graph_optimization_level": "ORT_ENABLE_ALL",
            "execution_mode": "sequential",
            "onnxruntime_version": str(self._ort.__version__),
        }
        if self._settings.extra_properties:
            config["session_config"] = dict(self._settings.extra_properties)
        if self._parallel_requests:
            config["parallel_requests"] = self._parallel_requests
        if self._settings.precision and self._provider != OPENVINO_EP:
            config["ignored"] = [f"precision {self._settings.precision} (OpenVINO only)"]
        return config

    # per-layer pass ---------------------------------------------------------------------------

    def profile_layers(self, inputs: dict[str, np.ndarray], iterations: int) -> LayerProfile:
        """A fresh profiling session: one warm-up run, then ``iterations`` timed runs."""
        iterations = max(1, int(iterations))
        with tempfile.TemporaryDirectory(prefix="edgeprof-ort-") as profile_dir:
            session, optimized = self._profiling_session(profile_dir)
            session.run(None, inputs)  # warm-up: the first model_run is not counted
            e2e_ms = []
            for _ in range(iterations):
                start = time.perf_counter()
                session.run(None, inputs)
                e2e_ms.append((time.perf_counter() - start) * 1000.0)
            trace_path = session.end_profiling()
            events = read_trace(trace_path)
            os.remove(trace_path)
            opt = OptGraph.load(optimized) if optimized and os.path.exists(optimized) else None
        return build_ort_profile(events, opt, onnx_model_index(self._path), e2e_ms)

    def _profiling_session(self, profile_dir: str) -> tuple[Any, str | None]:
        """With the optimised model saved; without, when the provider's compiled nodes cannot
        be saved."""
        try:
            session = self._create(self._session_options(profile_dir, save_optimized=True))
            return session, os.path.join(profile_dir, "optimized.onnx")
        except BackendError:
            return self._create(self._session_options(profile_dir, save_optimized=False)), None

    def close(self) -> None:
        self._session = None


def _model_precision(model: Any) -> str:
    """'int8' for quantized graphs, 'fp16' when most float weights are float16, else 'fp32'."""
    from onnx import TensorProto

    if any(node.op_type in INT8_OPS for node in model.graph.node):
        return "int8"
    counts = {TensorProto.FLOAT: 0, TensorProto.FLOAT16: 0}
    for tensor in model.graph.initializer:
        if tensor.data_type in counts:
            size = 1
            for dim in tensor.dims:
                size *= int(dim)
            counts[tensor.data_type] += size
    return "fp16" if counts[TensorProto.FLOAT16] > counts[TensorProto.FLOAT] else "fp32"


def _weight_precision(model: Any) -> str:
    """How most weight elements are stored: the initializers' element types by count;
    MatMulNBits weights (packed into bytes) count as 4-bit."""
    nbits = {name for node in model.graph.node if node.op_type == "MatMulNBits"
             for name in node.input[1:2]}
    counts: dict[str, int] = {}
    for tensor in model.graph.initializer:
        if len(tensor.dims) < 2:
            continue  # scalars and 1-D tensors are shapes, axes and biases, not weights
        elements = int(np.prod([int(d) for d in tensor.dims]))
        if tensor.name in nbits:
            counts["i4"] = counts.get("i4", 0) + 2 * elements
            continue
        name = _ONNX_STORAGE.get(tensor.data_type, "")
        counts[name] = counts.get(name, 0) + elements
    return dominant_storage(counts)


_ONNX_STORAGE = {1: "f32", 10: "f16", 16: "bf16", 3: "i8", 2: "u8", 22: "i4", 21: "u4", 11: "f64",
                 6: "i32", 7: "i64"}
"""onnx.TensorProto data types -> storage precision names (FLOAT, FLOAT16, BFLOAT16, INT8,
UINT8, INT4, UINT4, DOUBLE, INT32, INT64)."""
