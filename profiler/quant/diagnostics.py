"""Why is a variant (not) faster? Numbers from its per-layer profile, and plain-language hints.

From the variant's run on one device (and the FP32 run on the same device): the time share of
precision conversions (Cast/Convert), of Quantize/Dequantize layers and of layout reorders; the
matrix layers (Conv, MatMul, Gemm...) that ran in a float precision and those that ran in
integers; which precisions and kernels took the time. Every hint is derived from those numbers
with the thresholds below, and says what the number means for the user.
"""

from __future__ import annotations

from collections.abc import Iterable

from profiler.records.runs import Run, RuntimeLayer
from profiler.records.variants import Diagnostics

CONVERSION_SHARE_HINT = 0.10
"""Added Cast/Convert time worth a hint (share of the summed layer time)."""
QUANTIZE_SHARE_HINT = 0.15
REORDER_SHARE_HINT = 0.15
FLOAT_SHARE_HINT = 0.25
"""Float matrix layers in a quantized variant worth a hint."""
INTEGER_SHARE_HINT = 0.6
"""Integer matrix layers share above which a slow INT8 variant is the kernels' fault."""
LOW_SPEEDUP = 1.3
"""A quantized variant faster than FP32 by less than this is 'only Nx faster'."""
SAME_SPEED = 0.05
"""Within ±5 % of the FP32 p50 counts as the same speed (run-to-run noise)."""
FLOAT_LAYERS_LISTED = 5
KERNELS_LISTED = 6

CONVERSION_TYPES = frozenset({"cast", "convert"})
QUANTIZE_TYPES = frozenset({"quantizelinear", "dequantizelinear", "dynamicquantizelinear",
                            "fakequantize", "quantize", "dequantize"})
REORDER_TYPES = frozenset({"reorder", "reorderinput", "reorderoutput"})
MATRIX_TYPES = frozenset(t.lower() for t in (
    "Conv", "ConvTranspose", "FusedConv", "NhwcFusedConv", "MatMul", "FusedMatMul", "Gemm",
    "FusedGemm", "QLinearConv", "QLinearMatMul", "QGemm", "ConvInteger", "MatMulInteger",
    "MatMulIntegerToFloat", "DynamicQuantizeMatMul", "Attention", "QAttention",
    "Convolution", "GroupConvolution", "Deconvolution", "FullyConnected",
    "FullyConnectedCompressed", "ConvolutionBackpropData", "GroupConvolutionBackpropData",
    "ScaledDotProductAttention"))
INTEGER_TYPES = frozenset(t.lower() for t in (
    "QLinearConv", "QLinearMatMul", "QGemm", "ConvInteger", "MatMulInteger",
    "MatMulIntegerToFloat", "DynamicQuantizeMatMul", "QAttention"))
DYNAMIC_TYPES = frozenset(t.lower() for t in (
    "ConvInteger", "MatMulInteger", "DynamicQuantizeLinear", "DynamicQuantizeMatMul",
    "MatMulIntegerToFloat"))
PRECISION_NAMES = {"fp32": "f32", "float32": "f32", "fp16": "f16", "float16": "f16",
                   "bfloat16": "bf16", "int8": "i8", "uint8": "u8", "i8": "i8", "u8": "u8"}
FLOAT_PRECISIONS = frozenset({"f32", "f16", "bf16", "f64"})
INTEGER_PRECISIONS = frozenset({"i8", "u8", "i4", "u4", "i32"})

VARIANT_KINDS = {"fp16": "fp16", "ov-fp16": "fp16", "int8-dynamic": "int8-dynamic",
                 "int8-static": "int8", "ov-int8": "int8", "ov-int8-weights": "weights-only",
                 "ov-int4-weights": "weights-only", "ov-fp32": "fp32", "fp32": "fp32"}


def normalize_precision(text: str) -> str:
    """'FP32' -> 'f32', 'I8' -> 'i8', 'bf16' -> 'bf16'; '' stays ''."""
    key = text.strip().lower()
    return PRECISION_NAMES.get(key, key)


def variant_kind(variant_id: str) -> str:
    return VARIANT_KINDS.get(variant_id, "other")


def _type(layer: RuntimeLayer) -> str:
    return layer.layer_type.lower()


def is_conversion(layer: RuntimeLayer) -> bool:
    return _type(layer) in CONVERSION_TYPES or layer.kind == "convert"


def is_quantize(layer: RuntimeLayer) -> bool:
    return _type(layer) in QUANTIZE_TYPES or layer.kind == "quantize"


def is_reorder(layer: RuntimeLayer) -> bool:
    inserted_transpose = layer.kind == "inserted" and _type(layer) == "transpose"
    return _type(layer) in REORDER_TYPES or layer.kind == "reorder" or inserted_transpose


def runs_integer(layer: RuntimeLayer) -> bool:
    return _type(layer) in INTEGER_TYPES or normalize_precision(layer.precision) in \
        INTEGER_PRECISIONS


def is_float_matrix(layer: RuntimeLayer) -> bool:
    precision = normalize_precision(layer.precision)
    return (_type(layer) in MATRIX_TYPES and not runs_integer(layer)
            and precision in FLOAT_PRECISIONS)


def _share(layers: Iterable[RuntimeLayer], total_ms: float) -> float:
    return sum(layer.time_ms for layer in layers) / total_ms if total_ms > 0 else 0.0


def _ranked(groups: dict[str, float], total_ms: float, limit: int | None = None,
            ) -> dict[str, float]:
    ranked = sorted(groups.items(), key=lambda item: (-item[1], item[0]))[:limit]
    return {name: ms / total_ms for name, ms in ranked} if total_ms > 0 else {}


def _grouped(layers: Iterable[RuntimeLayer], key: str) -> dict[str, float]:
    groups: dict[str, float] = {}
    for layer in layers:
        name = getattr(layer, key) or "unknown"
        name = normalize_precision(name) if key == "precision" else name
        groups[name] = groups.get(name, 0.0) + layer.time_ms
    return groups


def _layer_name(layer: RuntimeLayer) -> str:
    """The model node a runtime layer ran (runtimes rename fused layers), else its own name."""
    return layer.model_nodes[0] if layer.model_nodes else layer.name


def _p50(run: Run | None) -> float | None:
    return run.latency.p50 if run and run.latency and run.latency.count else None


def _layers(run: Run | None) -> list[RuntimeLayer]:
    return list(run.layer_profile.layers) if run and run.layer_profile else []


def measure_profile(diagnostics: Diagnostics, run: Run, reference: Run | None) -> None:
    """Fill the shares, float layers, precisions and kernels from the run's layer profile."""
    layers = _layers(run)
    total = sum(layer.time_ms for layer in layers)
    diagnostics.total_layer_ms = total
    diagnostics.conversion_share = _share(filter(is_conversion, layers), total)
    ref_layers = _layers(reference)
    ref_total = sum(layer.time_ms for layer in ref_layers)
    ref_conversion = _share(filter(is_conversion, ref_layers), ref_total)
    diagnostics.added_conversion_share = max(0.0, diagnostics.conversion_share - ref_conversion)
    diagnostics.quantize_share = _share(filter(is_quantize, layers), total)
    diagnostics.reorder_share = _share(filter(is_reorder, layers), total)
    floats = sorted(filter(is_float_matrix, layers), key=lambda layer: -layer.time_ms)
    diagnostics.float_compute_share = _share(floats, total)
    matrix = [layer for layer in layers if _type(layer) in MATRIX_TYPES]
    diagnostics.integer_compute_share = _share(filter(runs_integer, matrix), total)
    diagnostics.float_layers = [_layer_name(layer) for layer in floats[:FLOAT_LAYERS_LISTED]]
    diagnostics.precisions = _ranked(_grouped(layers, "precision"), total)
    diagnostics.matrix_precisions = _ranked(_grouped(matrix, "precision"), total)
    diagnostics.kernels = _ranked(_grouped(layers, "kernel"), total, KERNELS_LISTED)


def diagnose(variant_id: str, run: Run, reference: Run | None) -> Diagnostics:
    """The numbers and hints for ``run`` (a variant on one device) against the FP32 run on the
    same device (``reference``; None when it failed)."""
    diagnostics = Diagnostics(device=run.device, p50_ms=_p50(run),
                              reference_p50_ms=_p50(reference),
                              reference_precision=reference.precision if reference else "")
    if diagnostics.p50_ms and diagnostics.reference_p50_ms:
        diagnostics.speedup = diagnostics.reference_p50_ms / diagnostics.p50_ms
    measure_profile(diagnostics, run, reference)
    diagnostics.hints = hints(variant_id, diagnostics, run)
    return diagnostics


def _pct(share: float) -> str:
    return f"{100 * share:.0f} %"


def _speed_text(diagnostics: Diagnostics) -> str:
    speedup = diagnostics.speedup
    if speedup is None:
        return ""
    if abs(speedup - 1.0) <= SAME_SPEED:
        return f"as fast as FP32 ({speedup:.2f}x)"
    if speedup < 1.0:
        return f"slower than FP32 ({speedup:.2f}x its speed)"
    return f"{speedup:.2f}x faster than FP32"


def hints(variant_id: str, diagnostics: Diagnostics, run: Run) -> list[str]:
    kind = variant_kind(variant_id)
    found = [_summary(diagnostics)] if diagnostics.speedup is not None else []
    if not _layers(run):
        return [*found, "no per-layer profile on this device: the time cannot be attributed"]
    for rule in (_conversion_hint, _quantize_hint, _reorder_hint, _dynamic_hint, _float_hint,
                 _integer_kernels_hint, _fp16_hint, _weights_only_hint,
                 _reference_precision_hint):
        text = rule(kind, diagnostics)
        if text:
            found.append(text)
    return found


def _summary(d: Diagnostics) -> str:
    return (f"{_speed_text(d)} on {d.device}: p50 {d.p50_ms:.3f} ms against "
            f"{d.reference_p50_ms:.3f} ms")


def _conversion_hint(kind: str, d: Diagnostics) -> str:
    if d.added_conversion_share < CONVERSION_SHARE_HINT:
        return ""
    why = (f"{d.device} has no FP16 kernels for the ops around them, so the runtime converts "
           "between FP16 and FP32") if kind == "fp16" else \
        "precision conversions around layers that run in another precision"
    return (f"{_pct(d.conversion_share)} of the time is in Cast/Convert layers the FP32 model "
            f"does not run: {why}")


def _quantize_hint(kind: str, d: Diagnostics) -> str:
    if d.quantize_share < QUANTIZE_SHARE_HINT:
        return ""
    return (f"{_pct(d.quantize_share)} of the time is in Quantize/Dequantize layers the runtime "
            "did not fuse into integer kernels: each one converts a whole tensor")


def _reorder_hint(kind: str, d: Diagnostics) -> str:
    if d.reorder_share < REORDER_SHARE_HINT:
        return ""
    return (f"{_pct(d.reorder_share)} of the time is in layout reorders the runtime inserted "
            "(its kernels want another memory layout than their neighbours)")


def _dynamic_hint(kind: str, d: Diagnostics) -> str:
    slow = d.speedup is not None and d.speedup < LOW_SPEEDUP
    dynamic = [name for name in d.kernels if name.split(":")[-1].lower() in DYNAMIC_TYPES]
    if kind != "int8-dynamic" or not slow:
        return ""
    ran = ", ".join(dynamic) or "ConvInteger/MatMulInteger"
    return (f"dynamic quantization quantizes activations at run time and runs {ran}, which is "
            f"slow here: {d.speedup:.2f}x the FP32 speed; try int8-static")


def _float_hint(kind: str, d: Diagnostics) -> str:
    if kind not in ("int8", "int8-dynamic") or d.float_compute_share < FLOAT_SHARE_HINT:
        return ""
    lead = (f"INT8 is only {d.speedup:.2f}x faster: " if d.speedup is not None
            and 1.0 <= d.speedup < LOW_SPEEDUP else "")
    return (f"{lead}{_pct(d.float_compute_share)} of the time stayed in float matrix layers "
            f"({', '.join(d.float_layers)})")


def _integer_kernels_hint(kind: str, d: Diagnostics) -> str:
    slow = d.speedup is not None and d.speedup < LOW_SPEEDUP
    if kind != "int8" or not slow or d.integer_compute_share < INTEGER_SHARE_HINT:
        return ""
    kernels = ", ".join(list(d.kernels)[:2])
    against = normalize_precision(d.reference_precision) or "the reference's"
    return (f"{_pct(d.integer_compute_share)} of the time already runs in integer kernels "
            f"({kernels}), yet INT8 is {d.speedup:.2f}x the FP32 speed: on {d.device} these "
            f"integer kernels gain little over the {against} kernels the FP32 model uses")


def _fp16_hint(kind: str, d: Diagnostics) -> str:
    if kind != "fp16" or d.float_compute_share <= 0 or "f16" in d.matrix_precisions:
        return ""
    return (f"the FP16 model's matrix layers ran in {'/'.join(_float_precisions(d)) or 'f32'} "
            f"({_pct(d.float_compute_share)} of the time): {d.device} has no FP16 kernels for "
            "them, so FP16 saves file size, not time")


def _float_precisions(d: Diagnostics) -> list[str]:
    """Float precisions other than FP16 the matrix layers ran in."""
    return [p for p in d.matrix_precisions if p in FLOAT_PRECISIONS and p != "f16"]


def _weights_only_hint(kind: str, d: Diagnostics) -> str:
    if kind != "weights-only" or (d.speedup is not None and d.speedup >= LOW_SPEEDUP):
        return ""
    precision = "/".join(_float_precisions(d)) or "float"
    return (f"weights-only compression keeps the compute in {precision}: weights are "
            "decompressed at run time, so expect a smaller file, not lower latency")


def _reference_precision_hint(kind: str, d: Diagnostics) -> str:
    ran = normalize_precision(d.reference_precision)
    if kind not in ("int8", "int8-dynamic") or ran not in ("bf16", "f16"):
        return ""
    return (f"the FP32 model already runs in {ran.upper()} on {d.device} (the runtime's "
            f"default there), so INT8 is measured against {ran.upper()}")
