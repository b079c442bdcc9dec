"""What one measured run holds: one backend x device x variant, per the measurement protocol.

All times are milliseconds (floats, microsecond resolution kept); sizes are bytes.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any

from profiler.records.record import record


@record
class LatencyStats:
    """Statistics over the timed loop's samples (warm-up excluded). ``samples_ms`` is raw."""

    samples_ms: list[float] = field(default_factory=list)
    count: int = 0
    min: float = 0.0
    mean: float = 0.0
    std: float = 0.0
    cv: float = 0.0
    """Coefficient of variation: std / mean."""
    p50: float = 0.0
    p90: float = 0.0
    p95: float = 0.0
    p99: float = 0.0
    p99_9: float = 0.0
    max: float = 0.0
    median_ci95_ms: list[float] = field(default_factory=list)
    """[low, high] 95 % confidence interval of the median (order-statistic method)."""
    stop_reason: str = ""
    """'iterations' | 'duration' | 'stable' (adaptive CI reached) | 'time_cap'."""
    total_seconds: float = 0.0


@record
class MemoryStats:
    """Resident set (RSS) peaks of the worker process, by stage."""

    method: str = ""
    """'linux-vmhwm' (per-stage peaks via /proc VmHWM reset with clear_refs) or 'psutil-sampled'."""
    baseline_peak_rss_bytes: int = 0
    """Runtime imported, no model loaded."""
    compile_peak_rss_bytes: int = 0
    inference_peak_rss_bytes: int = 0
    model_file_bytes: int = 0


@record
class RuntimeLayer:
    """One layer as the runtime executed it, mapped back to the model's own nodes."""

    name: str
    layer_type: str = ""
    """Runtime layer type (OpenVINO layerType) or ONNX op type (ONNX Runtime)."""
    kernel: str = ""
    """Executed implementation: OpenVINO execType (e.g. 'jit_avx512_FP32'), ORT kernel/provider."""
    precision: str = ""
    """Precision the layer computed in: its kernel's name first ('brgconv_avx512_bf16' ->
    'bf16'), else the runtime's label (OpenVINO runtimePrecision, ORT input type); '' when
    unknown."""
    provider: str = ""
    """Execution provider or device that ran it (e.g. 'CPUExecutionProvider', 'CPU')."""
    time_ms: float = 0.0
    """Median time per inference over the per-layer pass's iterations (the statistic is
    LayerProfile.statistic: reports before it was recorded hold means)."""
    model_nodes: list[str] = field(default_factory=list)
    """Original model node names this runtime layer covers (several when fused)."""
    kind: str = "compute"
    """'compute' | 'fused' (covers several nodes) | 'reorder' | 'convert' | 'quantize' |
    'copy' (a transfer between devices) | 'inserted' (no model node: added by the runtime) |
    'opaque' (compiled subgraph, unmapped). Reorders, converts and copies cover no model node."""


@record
class LayerProfile:
    layers: list[RuntimeLayer] = field(default_factory=list)
    total_layer_ms: float = 0.0
    coverage: float = 0.0
    """Sum of layer times / the end-to-end latency (same statistic) named by
    ``coverage_reference``."""
    iterations: int = 0
    unmapped_model_nodes: list[str] = field(default_factory=list)
    """Compute nodes of the model that no runtime layer claims (folded or opaque)."""
    notes: list[str] = field(default_factory=list)
    coverage_flag: str = ""
    """'' when coverage is within 0.80-1.25; 'low' or 'high' outside it (the layer figures are
    then distorted by runtime overhead or noise)."""
    statistic: str = "mean"
    """How each layer's time_ms summarises the pass's iterations: 'median' (older reports:
    'mean')."""
    coverage_reference: str = "layer pass"
    """'latency pass': against the run's measured latency (what the user compares with);
    'layer pass': against the profiled pass itself, which includes the profiler's overhead
    (when no latency pass ran)."""


@record
class RunError:
    stage: str
    """Where it failed: one of profiler.bench.wire.STAGES ('worker', 'start', 'load',
    'compile', 'inputs', 'first_inference', 'warmup', 'latency', 'throughput', 'layers', ...).
    Kept a plain string here so reports written by other versions still load."""
    message: str
    kind: str = ""
    """What failed, one of profiler.bench.wire.FAILURE_KINDS ('crash', 'timeout', 'memory',
    'cancelled', 'protocol', 'runtime', 'usage'); '' in reports made before it was recorded."""


@record
class Run:
    device: str
    """Device id, 'backend:device' (e.g. 'ov:CPU', 'ort:cpu')."""
    backend: str = ""
    """'openvino' | 'onnxruntime'."""
    device_name: str = ""
    """Full device name as the runtime reports it."""
    variant: str = "fp32"
    """'fp32' for the model as given, otherwise the quantized/converted variant's id."""
    model_path: str = ""
    config: dict[str, Any] = field(default_factory=dict)
    """Everything needed to reproduce: mode, threads, cpus, precision hint, stop rule, warm-up,
    inputs source, runtime properties as applied, runtime versions."""
    precision: str = ""
    """Arithmetic that actually ran (e.g. 'bf16' on an AMX CPU for an FP32 model; 'f32' for an
    FP16-compressed model on a CPU without FP16 arithmetic), from kernel names, the CPU's
    capabilities and the precision hint."""
    load_ms: float | None = None
    compile_ms: float | None = None
    first_inference_ms: float | None = None
    latency: LatencyStats | None = None
    throughput_fps: float | None = None
    memory: MemoryStats | None = None
    layer_profile: LayerProfile | None = None
    warnings: list[str] = field(default_factory=list)
    error: RunError | None = None
    weight_precision: str = ""
    """How most of the model's weights are stored ('f32', 'f16', 'i8', 'i4'...); '' when
    unknown."""
    finished: str = ""
    """When this run finished, ISO 8601 in UTC; '' in reports made before runs recorded it
    (the report's `created` then stands for every run)."""
