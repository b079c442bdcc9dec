"""Cost functions, one module per op family; importing this package registers them all."""

from profiler.analysis.ops import (  # noqa: F401
    onnx_attention,
    onnx_data_movement,
    onnx_elementwise,
    onnx_linear,
    onnx_normalization,
    onnx_pooling,
    onnx_quant,
    onnx_recurrent,
    onnx_reduce,
    openvino_linear,
    openvino_ops,
)
