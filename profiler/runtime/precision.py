"""What arithmetic ran and how the weights are stored: two different facts.

A runtime's own precision label can follow the stored weights rather than the arithmetic
(OpenVINO's ``runtimePrecision`` says f16 for an FP16-compressed IR whose convolutions run
``brgconv_avx2_..._f32`` kernels on a CPU without FP16 arithmetic). The kernel name says what
ran; the CPU's flags say what can run at all; the precision hint says what was asked for.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

KERNEL_PRECISION = re.compile(
    r"(?:^|[_:])(bf16|f16|fp16|f32|fp32|i8|u8|int8|uint8|i4|u4|f64)(?=$|[_:])", re.IGNORECASE)
"""A precision token inside a kernel name: 'brgconv_avx512_1x1_bf16', 'jit_avx512_FP32'."""
PRECISION_NAMES = {"fp16": "f16", "fp32": "f32", "int8": "i8", "uint8": "u8", "float": "f32",
                   "float16": "f16", "bfloat16": "bf16", "float32": "f32", "double": "f64"}
UNKNOWN = frozenset({"", "undefined", "unspecified", "dynamic", "unknown"})
MATRIX_TYPES = frozenset(
    {"Convolution", "GroupConvolution", "Deconvolution", "FullyConnected", "MatMul", "Gemm",
     "ConvolutionBackpropData", "GroupConvolutionBackpropData", "ScaledDotProductAttention",
     "FullyConnectedCompressed", "RNNSeq", "RNNCell", "Conv", "FusedConv", "FusedMatMul",
     "FusedGemm", "ConvTranspose", "Attention", "MultiHeadAttention", "LSTM", "GRU", "RNN",
     "QLinearConv", "QLinearMatMul", "MatMulInteger", "ConvInteger", "MatMulIntegerToFloat",
     "MatMulNBits", "QGemm", "DynamicQuantizeMatMul"}
)
"""Layers whose arithmetic decides what 'the model ran in' means (OpenVINO and ONNX types)."""
CPU_ARITHMETIC_FLAGS = {"bf16": ("avx512_bf16", "amx_bf16", "bf16"),
                        "f16": ("avx512_fp16", "amx_fp16", "asimdhp")}
"""CPU flags (x86, Arm) without which a CPU plugin cannot compute in that precision: it falls
back to f32."""


def normalise(precision: str) -> str:
    """'FP32' -> 'f32', 'BF16' -> 'bf16', 'I8' -> 'i8'; '' when unknown."""
    text = str(precision).strip().lower()
    if text in UNKNOWN:
        return ""
    return PRECISION_NAMES.get(text, text)


def kernel_precision(kernel: str) -> str:
    """The precision a kernel name states (the last token wins: 'jit_avx512_bf16'), or ''."""
    found = KERNEL_PRECISION.findall(kernel or "")
    return normalise(found[-1]) if found else ""


def layer_precision(kernel: str, runtime_precision: str) -> str:
    """What a layer computed in: its kernel's name first, the runtime's label otherwise."""
    return kernel_precision(kernel) or normalise(runtime_precision)


def majority(weighted: Iterable[tuple[str, float]]) -> str:
    """The precision with the largest weight (time or count); '' when none is known."""
    totals: dict[str, float] = {}
    for precision, weight in weighted:
        if precision:
            totals[precision] = totals.get(precision, 0.0) + max(weight, 0.0)
    return max(totals, key=lambda p: totals[p]) if totals else ""


def arithmetic_precision(layers: Iterable[Any], by_time: bool = True) -> str:
    """Majority precision of the matrix layers (RuntimeLayer-like: layer_type, kernel,
    precision, time_ms), by time when ``by_time``; '' when no matrix layer says."""
    matrix = [layer for layer in layers if layer.layer_type in MATRIX_TYPES]
    return majority((layer_precision(layer.kernel, layer.precision),
                     (layer.time_ms or 1e-9) if by_time else 1.0) for layer in matrix)


def cpu_flags() -> set[str]:
    """This machine's CPU flags (/proc/cpuinfo; empty where it cannot be read)."""
    from profiler.environment import cpu_info

    return set(cpu_info().get("isa_flags") or [])


def cpu_can_compute(precision: str, flags: set[str]) -> bool:
    """Whether a CPU with ``flags`` has native arithmetic for ``precision``."""
    needed = CPU_ARITHMETIC_FLAGS.get(precision)
    return needed is None or any(flag in flags for flag in needed)


def expected_cpu_precision(hint: str, flags: set[str]) -> str:
    """What a CPU plugin computes in for a precision hint, given the CPU's flags."""
    wanted = normalise(hint) or "f32"
    return wanted if cpu_can_compute(wanted, flags) else "f32"


def dominant_storage(element_counts: dict[str, int]) -> str:
    """The storage precision of most weight elements ('f16' for an FP16-compressed model)."""
    return majority((normalise(p), float(n)) for p, n in element_counts.items())
