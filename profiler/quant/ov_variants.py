"""OpenVINO variants: ov-fp32, ov-fp16 (compressed IR), ov-int8 (nncf.quantize),
ov-int8-weights and ov-int4-weights (nncf.compress_weights).

An ONNX model is read with ``Core.read_model`` and OpenVINO's ``ConstantFolding`` pass, not
``convert_model``: convert_model fuses BatchNormalization into the Conv before it and renames
the Conv (e.g. "Multiply_6977"), while read_model keeps every named ONNX node's name as the
op's friendly name, so ``--exclude`` takes the ONNX node names (ResNet-50's "n0", "n4"...).
Constant folding turns weights computed from constants (ConstantOfShape) into Constants that
NNCF can compress. An IR (.xml) or a TFLite file is read as it is.

IRs are saved with ``compress_to_fp16=False`` except ov-fp16, so each variant holds only the
compression it is named after. INT4 (data-free): mode INT4_SYM, ratio 1.0, group size 128 by
default. NNCF gives INT4 to MatMul/Gemm-like weights only; embeddings and the last layer keep
its backup precision (INT8_ASYM) and convolutions are not eligible: on a CNN few or no layers
become INT4. The variant records how many weights became 4-bit and 8-bit.

NNCF and telemetry: OpenVINO is imported through ``profiler.offline.import_openvino`` before
NNCF, so NNCF's ``from openvino_telemetry import Telemetry`` fails and NNCF keeps its no-op stub.
NNCF has no opt-out setting of its own (only markers for its own CI and developers);
``import_nncf`` checks that the stub is in place and installs it if it is not.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

from profiler.errors import clean_runtime_message
from profiler.offline import import_openvino
from profiler.quant.data import DataSource

INT4_MODES = ("sym", "asym")
OUTPUT_OP_TYPES = frozenset({"Constant", "Parameter", "Result"})
WEIGHT_TYPES_4BIT = frozenset({"u4", "i4", "nf4"})
WEIGHT_TYPES_8BIT = frozenset({"u8", "i8"})


class OvBuildProblem(Exception):
    """A problem worth its own message (the caller turns it into a VariantBuildError)."""


def import_nncf() -> ModuleType:
    """NNCF, imported after OpenVINO (telemetry blocked), its telemetry a no-op, logs quiet."""
    import_openvino()
    import nncf
    from nncf.telemetry import decorator, wrapper

    if isinstance(wrapper.telemetry, wrapper.NNCFTelemetry):  # openvino_telemetry got in
        stub = wrapper.NNCFTelemetryStub()
        wrapper.telemetry = stub
        decorator.telemetry = stub
    nncf.set_log_level(logging.WARNING)
    return nncf


def telemetry_blocked() -> bool:
    """True when NNCF (if imported) cannot send anything."""
    wrapper = sys.modules.get("nncf.telemetry.wrapper")
    stub_only = wrapper is None or not isinstance(getattr(wrapper, "telemetry", None),
                                                  wrapper.NNCFTelemetry)
    return stub_only and sys.modules.get("openvino_telemetry") is None


def read_model(path: str) -> Any:
    """The ov.Model of an .onnx (names kept, constants folded), .xml or .tflite file."""
    ov = import_openvino()
    try:
        model = ov.Core().read_model(path)
    except Exception as error:  # the frontend's own message says which op or file
        raise OvBuildProblem(f"OpenVINO cannot read the model: "
                             f"{clean_runtime_message(error)}") from None
    if path.lower().endswith(".onnx"):
        from openvino.passes import ConstantFolding, Manager

        manager = Manager()
        manager.register_pass(ConstantFolding())
        manager.run_passes(model)
    return model


def op_names(model: Any) -> list[str]:
    """Friendly names of the ops that compute (no constants, parameters or results)."""
    return [op.get_friendly_name() for op in model.get_ordered_ops()
            if op.get_type_name() not in OUTPUT_OP_TYPES]


def ignored_scope(nncf: ModuleType, model: Any, excluded: Sequence[str]) -> Any:
    """``nncf.IgnoredScope`` for the excluded names, after checking they exist.

    OpenVINO splits some ONNX nodes into several ops named after the node: a Conv or Gemm with
    a bias becomes "NAME/WithoutBiases" (the Convolution/MatMul) plus "NAME" (the Add). A name
    excludes the op of that name and every op named "NAME/...".
    """
    if not excluded:
        return None
    valid = op_names(model)
    matched = {name: [op for op in valid if op == name or op.startswith(name + "/")]
               for name in excluded}
    unknown = [name for name, ops in matched.items() if not ops]
    if unknown:
        shown = ", ".join(valid[:8]) + (", ..." if len(valid) > 8 else "")
        raise OvBuildProblem(f"no op named {', '.join(map(repr, unknown))} in the model; op "
                             f"names are e.g. {shown}")
    return nncf.IgnoredScope(names=sorted({op for ops in matched.values() for op in ops}))


def save(model: Any, output: Path, compress_to_fp16: bool) -> None:
    ov = import_openvino()
    ov.save_model(model, str(output), compress_to_fp16=compress_to_fp16)


def build_ov_float(source: str, output: Path, fp16: bool, settings: dict[str, Any]) -> None:
    save(read_model(source), output, compress_to_fp16=fp16)
    settings.update(reader=_reader(source), compress_to_fp16=fp16)


def build_ov_int8(source: str, output: Path, excluded: Sequence[str], settings: dict[str, Any],
                  data: DataSource, sample_count: int) -> dict[str, int]:
    nncf = import_nncf()
    model = read_model(source)
    scope = ignored_scope(nncf, model, excluded)
    samples = data.samples(sample_count)
    if not samples:
        raise OvBuildProblem(f"no calibration samples in {data.label}")
    quantized = nncf.quantize(model, nncf.Dataset(samples), subset_size=len(samples),
                              ignored_scope=scope)
    save(quantized, output, compress_to_fp16=False)
    settings.update(reader=_reader(source), algorithm="nncf.quantize", preset="default",
                    calibration_samples_used=len(samples), compress_to_fp16=False)
    return weight_precisions(quantized)


def build_ov_weights(source: str, output: Path, excluded: Sequence[str],
                     settings: dict[str, Any]) -> dict[str, Any]:
    """INT8_ASYM or INT4 weight compression (data-free); returns the weight counts."""
    nncf = import_nncf()
    model = read_model(source)
    scope = ignored_scope(nncf, model, excluded)
    bits = settings["weight_bits"]
    if bits == 8:
        compressed = nncf.compress_weights(model, mode=nncf.CompressWeightsMode.INT8_ASYM,
                                           ignored_scope=scope)
    else:
        compressed = nncf.compress_weights(
            model, mode=_int4_mode(nncf, settings["int4_mode"]), ratio=settings["int4_ratio"],
            group_size=settings["int4_group_size"], ignored_scope=scope)
    save(compressed, output, compress_to_fp16=False)
    settings.update(reader=_reader(source), algorithm="nncf.compress_weights",
                    compress_to_fp16=False)
    return weight_precisions(compressed)


def _int4_mode(nncf: ModuleType, mode: str) -> Any:
    if mode not in INT4_MODES:
        raise OvBuildProblem(f"unknown INT4 mode {mode!r}; use sym or asym")
    modes = nncf.CompressWeightsMode
    return modes.INT4_SYM if mode == "sym" else modes.INT4_ASYM


def weight_precisions(model: Any) -> dict[str, int]:
    """How many weights are stored as 4-bit and 8-bit integers (those NNCF compressed): low-bit
    Constants whose Convert feeds the first input of the decompression (zero points feed the
    second input of a Subtract, so they do not count)."""
    counts = {"int4_weights": 0, "int8_weights": 0}
    for op in model.get_ops():
        if op.get_type_name() != "Constant":
            continue
        kind = op.get_output_element_type(0).get_type_name()
        bits = "int4_weights" if kind in WEIGHT_TYPES_4BIT else (
            "int8_weights" if kind in WEIGHT_TYPES_8BIT else None)
        if bits is not None and _is_weight(op):
            counts[bits] += 1
    return counts


def _is_weight(constant: Any) -> bool:
    for target in constant.output(0).get_target_inputs():
        convert = target.get_node()
        if convert.get_type_name() != "Convert":
            continue
        if any(user.get_index() == 0 for user in convert.output(0).get_target_inputs()):
            return True
    return False


def _reader(source: str) -> str:
    if source.lower().endswith(".onnx"):
        return "Core.read_model + ConstantFolding"
    return "Core.read_model"
