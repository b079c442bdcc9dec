"""ONNX ops that only reshape, copy, select or create data: zero arithmetic by design.

They are registered (status ``no_compute``), so they are never mistaken for unsupported ops.
Scatter ops with a ``reduction`` attribute do a few adds per updated element; those are not
counted. If/Loop/Scan are not here: the analyzer walks their bodies itself.
"""

from __future__ import annotations

from profiler.analysis.registry import register_data_movement

DATA_MOVEMENT_OPS = (
    # shape and layout
    "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Transpose", "DepthToSpace", "SpaceToDepth",
    "Expand", "Tile", "Pad", "Identity", "Dropout", "ReverseSequence", "Trilu", "CenterCropPad",
    # split, join, select
    "Concat", "Split", "Slice", "Gather", "GatherElements", "GatherND", "Compress", "NonZero",
    "Scatter", "ScatterElements", "ScatterND",
    # metadata and generated tensors
    "Shape", "Size", "ConstantOfShape", "Constant", "OneHot", "Range", "EyeLike",
    # sequences and optionals
    "SequenceConstruct", "SequenceEmpty", "SequenceAt", "SequenceInsert", "SequenceErase",
    "SequenceLength", "SplitToSequence", "ConcatFromSequence", "Optional", "OptionalHasElement",
    "OptionalGetElement",
)

register_data_movement("onnx", *DATA_MOVEMENT_OPS)
