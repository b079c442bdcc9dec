"""What the report records about quantized/converted variants: size, drift, diagnostics, Pareto.

Drift is runtime-specific: each (variant, device) pair is compared with the FP32 model run on
the same device, so ``Variant.drift`` and ``Variant.diagnostics`` are keyed by device id.
Sizes are bytes, times milliseconds, SQNR decibels.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any

from profiler.records.record import record

REFERENCE_ID = "fp32"
"""The id of the model as given (the FP32 reference) in ``Report.variants`` and ``Run.variant``."""
MAX_SQNR_DB = 200.0
"""Far beyond float32's own ~140 dB: reads as 'identical'."""


@record
class DataInfo:
    """Where calibration or evaluation samples came from."""

    label: str = ""
    """A folder, a .npy/.npz path, or 'random data (indicative only)'."""
    kind: str = ""
    """'images' | 'npy' | 'npz' | 'random'."""
    samples: int = 0
    indicative_only: bool = False
    """Random data: drift numbers derived from it are indicative only."""


@record
class OutputDrift:
    """Drift of one model output."""

    name: str
    sqnr_db: float = 0.0
    cosine: float = 0.0
    max_abs_error: float = 0.0
    mean_abs_error: float = 0.0
    top1_agreement: float | None = None
    nonfinite_values: int = 0


@record
class DriftMetrics:
    """Variant outputs against the FP32 reference outputs, on the same inputs and device.

    SQNR = 10 log10(sum ref^2 / sum (ref - var)^2) over every float output element of every
    sample (capped at ±MAX_SQNR_DB, so identical outputs read as MAX_SQNR_DB); cosine is the
    mean over samples of the cosine similarity of the flattened outputs.
    """

    sqnr_db: float = 0.0
    cosine: float = 0.0
    max_abs_error: float = 0.0
    mean_abs_error: float = 0.0
    top1_agreement: float | None = None
    """Share of rows whose arg-max class agrees, when an output looks like class scores."""
    samples: int = 0
    indicative_only: bool = False
    device: str = ""
    reference: str = ""
    """What the variant was compared with, e.g. 'fp32 model on ort:cpu'."""
    outputs: list[OutputDrift] = field(default_factory=list)
    nonfinite_values: int = 0
    """Output elements the variant made inf/NaN where the reference is finite (overflow)."""


@record
class LayerDrift:
    """One intermediate tensor of the variant against the same tensor of the reference."""

    node: str
    """The reference node producing the tensor (the profiler's name for unnamed nodes)."""
    sqnr_db: float = 0.0
    cosine: float = 0.0
    tensor: str = ""
    op_type: str = ""
    exclude_node: str = ""
    """The name to give --exclude to keep this layer in float ('' when it has none)."""
    order: int = 0
    """Position in the reference's execution order."""
    nonfinite_values: int = 0


@record
class LayerDriftResult:
    device: str = ""
    threshold_db: float = 0.0
    samples: int = 0
    tensors_compared: int = 0
    first_below: LayerDrift | None = None
    """The first layer, in execution order, whose SQNR falls below the threshold."""
    worst: list[LayerDrift] = field(default_factory=list)
    """The layers with the largest drift (lowest SQNR), worst first."""
    indicative_only: bool = False
    notes: list[str] = field(default_factory=list)


@record
class Diagnostics:
    """Why a variant is (not) faster on one device, from its per-layer profile."""

    device: str
    p50_ms: float | None = None
    reference_p50_ms: float | None = None
    speedup: float | None = None
    """FP32 p50 / variant p50 on the same device (> 1: the variant is faster)."""
    total_layer_ms: float = 0.0
    conversion_share: float = 0.0
    """Cast/Convert layers, 0..1 of the summed layer time."""
    added_conversion_share: float = 0.0
    """Conversion share beyond the FP32 reference's own (what the variant added)."""
    quantize_share: float = 0.0
    """Quantize/Dequantize/FakeQuantize layers."""
    reorder_share: float = 0.0
    """Layout reorders and inserted transposes."""
    float_compute_share: float = 0.0
    """Matrix layers (Conv, MatMul, Gemm...) that ran in a float precision."""
    integer_compute_share: float = 0.0
    float_layers: list[str] = field(default_factory=list)
    """The slowest matrix layers that ran in float (a quantized variant's leftovers)."""
    precisions: dict[str, float] = field(default_factory=dict)
    """Precision that ran -> share of the layer time."""
    matrix_precisions: dict[str, float] = field(default_factory=dict)
    """Precision the matrix layers ran in -> share of the layer time."""
    kernels: dict[str, float] = field(default_factory=dict)
    """The kernels that took most time -> share."""
    reference_precision: str = ""
    hints: list[str] = field(default_factory=list)


@record
class Variant:
    """One quantized/converted model (or, with id 'fp32', the model as given)."""

    id: str
    library: str = ""
    description: str = ""
    format: str = ""
    """'onnx' | 'openvino-ir' (the reference: the model's own format)."""
    source_model: str = ""
    path: str = ""
    file_bytes: int = 0
    size_reference_bytes: int = 0
    """The FP32 size the ratio is taken against (weights stored, same format family)."""
    size_reference: str = ""
    """What ``size_reference_bytes`` measures."""
    build_seconds: float = 0.0
    cached: bool = False
    settings: dict[str, Any] = field(default_factory=dict)
    library_versions: dict[str, str] = field(default_factory=dict)
    excluded_nodes: list[str] = field(default_factory=list)
    calibration: DataInfo | None = None
    evaluation: DataInfo | None = None
    devices: list[str] = field(default_factory=list)
    """Devices this variant was measured on."""
    drift: dict[str, DriftMetrics] = field(default_factory=dict)
    """Device id -> drift against the FP32 model on that device."""
    drift_errors: dict[str, str] = field(default_factory=dict)
    layer_drift: LayerDriftResult | None = None
    layer_drift_error: str = ""
    diagnostics: dict[str, Diagnostics] = field(default_factory=dict)
    pareto_devices: list[str] = field(default_factory=list)
    """Devices on whose Pareto front (latency, drift, size) this variant lies."""
    warnings: list[str] = field(default_factory=list)
    details: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    """Why the variant could not be built ('' when it was)."""

    @property
    def size_ratio(self) -> float | None:
        if not self.file_bytes or not self.size_reference_bytes:
            return None
        return self.file_bytes / self.size_reference_bytes


@record
class ParetoPoint:
    """One variant on one device, as the trade-off sees it: lower latency, higher SQNR and a
    smaller size ratio are better."""

    variant: str
    device: str
    latency_ms: float
    sqnr_db: float
    """The reference itself counts as MAX_SQNR_DB (no drift)."""
    size_ratio: float
    """File size / the FP32 size of the same format family (1.0 for the reference)."""
    file_bytes: int = 0
    on_front: bool = False
