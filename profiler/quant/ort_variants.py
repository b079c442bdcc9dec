"""ONNX Runtime variants: fp16, int8-dynamic, int8-static, each made by ONNX Runtime's own tools.

Every variant starts from ``quant_pre_process`` (ONNX Runtime's preparation step: its basic
graph optimisations, which fold constants such as ConstantOfShape weights and BatchNormalization
into Conv, and ONNX shape inference; symbolic shape inference only when sympy is installed).
So all three variants hold materialised weights, and their file sizes compare with each other.

Before that, a working copy is made only when the model needs it: IR version < 4 models list
their initializers as graph inputs (``remove_initializer_from_input`` after raising the IR
version to 4, which allows it), and per-channel QDQ needs opset 13 (``onnx.version_converter``).
The input file is only ever read.

Settings (recorded in every variant):
- fp16: ``convert_float_to_float16(keep_io_types=True)``: inputs/outputs stay float32; ops in
  the converter's default block list, already-quantized ops (their scales stay float32) and the
  excluded nodes stay float32.
- int8-dynamic: ``quantize_dynamic``, weights QInt8 (the library default, S8 weights run on
  ONNX Runtime's CPU ConvInteger/MatMulInteger kernels), per-tensor.
- int8-static: ``quantize_static`` with QDQ, per-channel weights QInt8; activations follow the
  library's CPU guidance: "auto" is QUInt8 on x86 (U8S8) and QInt8 on ARM, with
  ``reduce_range`` on x86 CPUs that lack VNNI (avx512_vnni, avx_vnni, amx_int8). Calibration
  method MinMax (default), Entropy or Percentile.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import platform
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import onnx

from profiler.errors import clean_runtime_message
from profiler.quant.data import DataSource, Sample

PER_CHANNEL_MIN_OPSET = 13
"""DequantizeLinear's ``axis`` (per-channel QDQ) exists from opset 13 on."""
MIN_IR_WITHOUT_INITIALIZER_INPUTS = 4
LARGE_MODEL_BYTES = 1_500_000_000
"""Above this, models are written with external data (protobuf's 2 GiB limit)."""
CALIBRATION_METHODS = {"minmax": "MinMax", "entropy": "Entropy", "percentile": "Percentile"}
VNNI_FLAGS = ("avx512_vnni", "avx_vnni", "amx_int8")
ARM_MACHINES = ("arm64", "aarch64", "armv8", "armv7l")
_EXCEPTION_PREFIX = re.compile(r"^[\w.]+(Error|Exception|Fail)\w*:\s*")
"""A traceback's last line starts with the exception's dotted class name."""


class OrtBuildProblem(Exception):
    """A problem worth its own message (the caller turns it into a VariantBuildError)."""


# --- preparation --------------------------------------------------------------------------


def onnx_node_names(path: str) -> list[str]:
    model = onnx.load(path, load_external_data=False)
    return [node.name for node in model.graph.node if node.name]


def prepare(source: str, work: Path, min_opset: int | None, notes: list[str]) -> str:
    """The model ONNX Runtime's tools get: ``source`` itself, or a fixed working copy."""
    model = onnx.load(source, load_external_data=False)
    changes = _ir_changes(model) + _opset_changes(model, min_opset)
    if not changes:
        return source
    model = onnx.load(source)  # now with its weights: a copy is written
    if _ir_changes(model):
        _drop_initializer_inputs(model)
    if min_opset is not None and _opset_changes(model, min_opset):
        model = onnx.version_converter.convert_version(model, min_opset)
    notes.extend(changes)
    path = work / "source.onnx"
    save(model, path, os.path.getsize(source))
    return str(path)


def _ir_changes(model: onnx.ModelProto) -> list[str]:
    inits = {tensor.name for tensor in model.graph.initializer}
    if not any(value.name in inits for value in model.graph.input):
        return []
    return [f"IR version {model.ir_version} lists initializers as graph inputs: they were "
            "removed from the inputs (IR version raised to 4) so constants can be folded"]


def _drop_initializer_inputs(model: onnx.ModelProto) -> None:
    from onnxruntime.tools.remove_initializer_from_input import remove_initializer_from_input

    model.ir_version = max(model.ir_version, MIN_IR_WITHOUT_INITIALIZER_INPUTS)
    remove_initializer_from_input(model)


def default_opset(model: onnx.ModelProto) -> int:
    return next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), 0)


def _opset_changes(model: onnx.ModelProto, min_opset: int | None) -> list[str]:
    opset = default_opset(model)
    if min_opset is None or opset >= min_opset:
        return []
    return [f"opset {opset} converted to {min_opset} with onnx.version_converter "
            "(per-channel QDQ needs it)"]


def save(model: onnx.ModelProto, path: Path, size_hint: int) -> None:
    large = size_hint > LARGE_MODEL_BYTES or model.ByteSize() > LARGE_MODEL_BYTES
    onnx.save_model(model, str(path), save_as_external_data=large,
                    location=path.name + ".data" if large else None)


def pre_process(source: str, work: Path, settings: dict[str, Any]) -> str:
    """ONNX Runtime's ``quant_pre_process``; records what it did in ``settings``.

    When ONNX Runtime cannot load the model, quant_pre_process logs the error and carries on
    without optimising; its logged error is raised here instead, since no ONNX Runtime variant
    of such a model could run."""
    from onnxruntime.quantization.shape_inference import quant_pre_process

    has_sympy = importlib.util.find_spec("sympy") is not None
    target = work / "pre_processed.onnx"
    large = needs_external_data(source)
    with _LoggedErrors("onnxruntime.quantization.shape_inference") as errors:
        quant_pre_process(source, str(target), skip_symbolic_shape=not has_sympy,
                          save_as_external_data=large, all_tensors_to_one_file=True)
    if errors.messages:
        message = _EXCEPTION_PREFIX.sub("", errors.messages[-1])
        raise OrtBuildProblem(f"ONNX Runtime cannot load the model: "
                              f"{clean_runtime_message(message)}")
    settings["pre_process"] = "quant_pre_process (optimisation, onnx shape inference" + (
        ", symbolic shape inference)" if has_sympy else "; symbolic shape inference skipped: "
        "sympy is not installed)")
    return str(target)


def check_known_nodes(excluded: Sequence[str], names: list[str]) -> None:
    """Excluding a name the model does not have is an error listing a few valid names."""
    known = set(names)
    unknown = [name for name in excluded if name not in known]
    if unknown:
        raise OrtBuildProblem(unknown_nodes_message(unknown, names))


def merged_nodes_notes(excluded: Sequence[str], pre_processed: str) -> list[str]:
    """Excluded names the pre-processing fused into another node (they exclude nothing)."""
    remaining = set(onnx_node_names(pre_processed))
    return [f"excluded node {name!r} was merged into another node by the pre-processing "
            "(e.g. a BatchNormalization folded into its Conv); exclude that node instead"
            for name in excluded if name not in remaining]


def unknown_nodes_message(unknown: Sequence[str], valid: Sequence[str]) -> str:
    shown = ", ".join(valid[:8]) + (", ..." if len(valid) > 8 else "")
    return (f"no node named {', '.join(map(repr, unknown))} in the model; node names are "
            f"e.g. {shown or '(the model has no named nodes)'}")


QUANTIZED_OPS = (
    "QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "MatMulInteger",
    "ConvInteger", "QLinearConv", "QLinearMatMul", "MatMulIntegerToFloat",
    "DynamicQuantizeMatMul", "DynamicQuantizeLSTM", "MatMulNBits", "QAttention",
)
"""Already-quantized ops keep their float32 scales: ONNX types them float32 only (opset < 19)
and ONNX Runtime's int8 kernels take no float16 scales."""


# --- the three variants --------------------------------------------------------------------


def build_fp16(pre_processed: str, output: Path, excluded: Sequence[str],
               settings: dict[str, Any]) -> None:
    from onnxruntime.transformers.float16 import DEFAULT_OP_BLOCK_LIST, convert_float_to_float16

    model = onnx.load(pre_processed)
    converted = convert_float_to_float16(
        model, keep_io_types=True, op_block_list=[*DEFAULT_OP_BLOCK_LIST, *QUANTIZED_OPS],
        node_block_list=list(excluded) or None)
    save(converted, output, model.ByteSize() // 2)
    settings.update(converter="onnxruntime.transformers.float16", keep_io_types=True)


def build_int8_dynamic(pre_processed: str, output: Path, excluded: Sequence[str],
                       settings: dict[str, Any]) -> None:
    from onnxruntime.quantization import QuantType, quantize_dynamic

    quantize_dynamic(pre_processed, str(output), weight_type=QuantType.QInt8,
                     nodes_to_exclude=list(excluded) or None,
                     use_external_data_format=needs_external_data(pre_processed))
    settings.update(weight_type="QInt8", per_channel=False)


def static_types(activation: str, cpu_flags: Sequence[str]) -> tuple[str, bool]:
    """(activation QuantType name, reduce_range) for "auto" | "uint8" | "int8"."""
    is_arm = platform.machine().lower() in ARM_MACHINES
    if activation == "auto":
        activation = "int8" if is_arm else "uint8"
    if activation not in ("uint8", "int8"):
        raise OrtBuildProblem(f"unknown activation type {activation!r}; use auto, uint8 or int8")
    reduce_range = not is_arm and not any(flag in cpu_flags for flag in VNNI_FLAGS)
    return ("QUInt8" if activation == "uint8" else "QInt8"), reduce_range


def build_int8_static(pre_processed: str, output: Path, excluded: Sequence[str],
                      settings: dict[str, Any], data: DataSource, sample_count: int) -> None:
    from onnxruntime.quantization import (
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )

    samples = data.samples(sample_count)
    if not samples:
        raise OrtBuildProblem(f"no calibration samples in {data.label}")
    quantize_static(
        pre_processed, str(output), _Reader(samples), quant_format=QuantFormat.QDQ,
        per_channel=True, reduce_range=settings["reduce_range"],
        activation_type=QuantType[settings["activation_type"]], weight_type=QuantType.QInt8,
        nodes_to_exclude=list(excluded) or None,
        use_external_data_format=needs_external_data(pre_processed),
        calibrate_method=CalibrationMethod[settings["calibrate_method"]],
    )
    settings.update(quant_format="QDQ", per_channel=True, weight_type="QInt8",
                    calibration_samples_used=len(samples))


def needs_external_data(path: str) -> bool:
    """Large models, and models whose weights are already in external files, are written
    with external data (ONNX Runtime's tools need to be told)."""
    from onnxruntime.transformers.onnx_utils import has_external_data

    if os.path.getsize(path) > LARGE_MODEL_BYTES:
        return True
    return bool(has_external_data(onnx.load(path, load_external_data=False)))


class _LoggedErrors(logging.Handler):
    """Collects the last line of each ERROR record a library logger emits meanwhile."""

    def __init__(self, logger_name: str) -> None:
        super().__init__(logging.ERROR)
        self.logger = logging.getLogger(logger_name)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        lines = [line for line in record.getMessage().splitlines() if line.strip()]
        if lines:
            self.messages.append(lines[-1].strip())

    def __enter__(self) -> _LoggedErrors:
        self.logger.addHandler(self)
        return self

    def __exit__(self, *exc: object) -> None:
        self.logger.removeHandler(self)


class _Reader:
    """ONNX Runtime's CalibrationDataReader protocol over our samples (``get_next`` until
    None; ``rewind`` for calibrators that read twice)."""

    def __init__(self, samples: list[Sample]) -> None:
        self._samples = samples
        self._iterator: Iterator[Sample] = iter(samples)

    def get_next(self) -> Sample | None:
        return next(self._iterator, None)

    def rewind(self) -> None:
        self._iterator = iter(self._samples)

    def __len__(self) -> int:
        return len(self._samples)
