"""Cost functions, one module per op family; importing this package registers them all."""

from profiler.analysis.ops import onnx_linear  # noqa: F401
