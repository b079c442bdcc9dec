"""The FP32 sizes a variant's file size is compared with, per format family.

A model file normally stores its weights, and the file itself is the reference. Some files
generate their weights at load time (the ONNX test zoo's ConstantOfShape nodes: an 80 KB
ResNet-50): against such a file every variant looks huge. Then the reference is the FP32 model
with its weights stored, made the way the variants of that family are made:
- ONNX variants (ONNX Runtime's tools start from its basic optimisation, which folds the
  constants and BatchNormalization): the FP32 model saved by ONNX Runtime's basic
  optimisation level;
- OpenVINO IR variants: the ov-fp32 IR (read the same way as the other ov-* variants, with
  constants folded; the serializer stores identical constants once in every IR alike).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable

from profiler.records.record import record
from profiler.records.report import Report

WEIGHTS_STORED_MIN = 0.5
"""A file holding less than this share of its analysed weight bytes generates its weights."""
ONNX_FAMILY, IR_FAMILY = "onnx", "openvino-ir"


@record
class SizeReference:
    file_bytes: int
    description: str


def weights_stored(report: Report) -> bool:
    if report.model is None or report.analysis is None:
        return True
    weight_bytes = report.analysis.totals.weight_bytes
    return weight_bytes == 0 or report.model.file_bytes >= WEIGHTS_STORED_MIN * weight_bytes


def model_family(path: str) -> str:
    extension = os.path.splitext(path)[1].lower()
    return ONNX_FAMILY if extension == ".onnx" else IR_FAMILY if extension == ".xml" else \
        extension.lstrip(".")


def stored_onnx_bytes(model_path: str) -> int:
    """Size of the FP32 model as ONNX Runtime's basic optimisation writes it (weights folded
    into initializers); written to a temporary folder and removed."""
    import onnxruntime

    with tempfile.TemporaryDirectory(prefix="edgeprof-fp32-") as folder:
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = os.path.join(folder, "fp32.onnx")
        options.log_severity_level = 3
        onnxruntime.InferenceSession(model_path, options, providers=["CPUExecutionProvider"])
        return sum(os.path.getsize(os.path.join(folder, name)) for name in os.listdir(folder))


class SizeReferences:
    """The reference per family, worked out once (``ir_builder`` builds the ov-fp32 IR,
    ``onnx_builder`` the stored FP32 ONNX model; by default in this process)."""

    def __init__(self, report: Report, ir_builder: Callable[[], int],
                 onnx_builder: Callable[[str], int] = stored_onnx_bytes) -> None:
        assert report.model is not None
        self.model_path = report.model.path
        self.file_bytes = report.model.file_bytes
        self.stored = weights_stored(report)
        self.weight_bytes = report.analysis.totals.weight_bytes if report.analysis else 0
        self.ir_builder, self.onnx_builder = ir_builder, onnx_builder
        self._cache: dict[str, SizeReference] = {}
        self.notes: list[str] = []

    def for_family(self, family: str) -> SizeReference:
        if family not in self._cache:
            self._cache[family] = self._reference(family)
        return self._cache[family]

    def _reference(self, family: str) -> SizeReference:
        if self.stored or family not in (ONNX_FAMILY, IR_FAMILY):
            return SizeReference(self.file_bytes, "the FP32 model file")
        try:
            if family == ONNX_FAMILY and model_family(self.model_path) == ONNX_FAMILY:
                return SizeReference(self.onnx_builder(self.model_path),
                                     "the FP32 model with its weights stored (ONNX Runtime "
                                     "basic optimisation: constants folded); the model file "
                                     "generates its weights at load time")
            return SizeReference(self.ir_builder(), "the ov-fp32 IR (FP32, weights stored); "
                                 "the model file generates its weights at load time")
        except Exception as error:  # the ratio falls back to the analysed weight bytes
            self.notes.append(f"cannot write the FP32 size reference for {family} variants "
                              f"({error}); sizes are compared with the analysed FP32 weights")
            return SizeReference(self.weight_bytes, "the analysed FP32 weight bytes")
