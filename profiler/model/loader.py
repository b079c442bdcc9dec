"""One entry point for every model format: checks the path, then dispatches on the extension."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence

from profiler.errors import ModelLoadError
from profiler.model.graph import ModelGraph

ONNX_EXTENSIONS = (".onnx",)
OPENVINO_EXTENSIONS = (".xml",)
TFLITE_EXTENSIONS = (".tflite",)
MODEL_EXTENSIONS = ONNX_EXTENSIONS + OPENVINO_EXTENSIONS + TFLITE_EXTENSIONS
MAX_ONNX_BYTES = 2**31
"""Protobuf's own limit: a larger .onnx cannot be parsed (weights go to external data)."""


def read_ahead_bytes(path: str) -> int | None:
    """How much of ``path`` its loader reads whole (profiler.files.read_hashed, with this
    bound), so a sandboxed child may read it ahead; None for formats the runtimes read."""
    return MAX_ONNX_BYTES if path.lower().endswith(ONNX_EXTENSIONS) else None


def check_model_path(path: str) -> str:
    """Return the extension of a readable model file, or raise a ModelLoadError saying why not."""
    if not os.path.exists(path):
        raise ModelLoadError(path, "no such file")
    if os.path.isdir(path):
        raise ModelLoadError(path, "is a directory; give the model file inside it")
    if not os.path.isfile(path):  # a pipe or device would block or never end
        raise ModelLoadError(
            path, "is not a regular file (a pipe, device or socket); give the model file itself"
        )
    if not os.access(path, os.R_OK):
        raise ModelLoadError(path, "cannot be read (permission denied)")
    extension = os.path.splitext(path)[1].lower()
    if extension not in MODEL_EXTENSIONS:
        raise ModelLoadError(
            path,
            f"unknown model format {extension or '(no extension)'!r}; supported: "
            f"{', '.join(MODEL_EXTENSIONS)}",
        )
    return extension


InputValues = Mapping[str, Sequence[float | int]]
"""Flat values for some inputs (scalars, small tensors), e.g. ``{"sr": [16000]}``."""


def load_model(
    path: str,
    shape_overrides: Mapping[str, tuple[int, ...]] | None = None,
    input_values: InputValues | None = None,
) -> ModelGraph:
    """Load ``path`` (ONNX, OpenVINO IR or TFLite) with every input at a concrete shape.

    ``input_values`` seed constant propagation in ONNX models (as if those inputs were
    constants of their resolved shape), so ``If`` conditions computed from them are known.
    OpenVINO and TFLite loading ignore them.
    """
    extension = check_model_path(path)
    overrides = dict(shape_overrides or {})
    if extension in ONNX_EXTENSIONS:
        from profiler.model.onnx_loader import load_onnx

        return load_onnx(path, overrides, dict(input_values or {}))
    from profiler.model.openvino_loader import load_openvino

    return load_openvino(path, overrides)
