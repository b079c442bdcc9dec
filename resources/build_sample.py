"""Build the bundled sample model: MobileNetV2 (width 1.0, 224x224, 1000 classes).

Usage: ``python resources/build_sample.py OUTPUT.onnx``

The topology is the published one (Sandler et al., 2018): a 3x3 stride-2 conv to 32 channels,
seventeen inverted residual blocks, a 1x1 conv to 1280, global average pooling and a
1000-way fully connected layer. Batch normalisation is folded into each conv's bias, as in
deployed models; ReLU6 is Clip(0, 6).

The weights are RANDOM (numpy default_rng(0), He-normal): the file is a topology sample for
profiling cost, latency and memory, not a trained classifier. Building is deterministic.
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IMAGE_SIDE = 224
CLASSES = 1000
STEM_CHANNELS = 32
LAST_CHANNELS = 1280
SEED = 0
# (expansion t, output channels c, repeats n, first stride s), from the paper's Table 2.
INVERTED_RESIDUAL_SETTINGS = (
    (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
    (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1),
)
DOC = (
    "MobileNetV2 1.0 (224x224, 1000 classes) with RANDOM weights (numpy default_rng(0), "
    "He-normal; batch norm folded into conv biases). A topology sample for profiling cost, "
    "latency and memory; it is not a trained classifier and its outputs mean nothing."
)


class _Builder:
    """Accumulates nodes and initializers; names every tensor uniquely."""

    def __init__(self, seed: int) -> None:
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[TensorProto] = [
            numpy_helper.from_array(np.array(0.0, np.float32), "relu6_min"),
            numpy_helper.from_array(np.array(6.0, np.float32), "relu6_max"),
        ]
        self.count = 0

    def _name(self, kind: str) -> str:
        self.count += 1
        return f"{kind}_{self.count}"

    def _weight(self, name: str, shape: tuple[int, ...], fan_in: int, gain: float) -> str:
        std = gain * np.sqrt(2.0 / fan_in)
        values = (self.rng.standard_normal(shape, dtype=np.float32) * std).astype(np.float32)
        self.initializers.append(numpy_helper.from_array(values, name))
        return name

    def _bias(self, name: str, channels: int) -> str:
        # A folded batch norm leaves a small per-channel shift.
        values = (self.rng.standard_normal(channels, dtype=np.float32) * 0.01).astype(np.float32)
        self.initializers.append(numpy_helper.from_array(values, name))
        return name

    def conv(self, x: str, c_in: int, c_out: int, kernel: int, stride: int, group: int = 1,
             relu6: bool = True, gain: float = 1.0) -> str:
        """Conv (+ folded BN bias) and optionally ReLU6; returns the output tensor name."""
        name = self._name("conv")
        fan_in = c_in // group * kernel * kernel
        weight = self._weight(f"{name}.weight", (c_out, c_in // group, kernel, kernel), fan_in,
                              gain)
        bias = self._bias(f"{name}.bias", c_out)
        pad = kernel // 2
        self.nodes.append(helper.make_node(
            "Conv", [x, weight, bias], [f"{name}.out"], name=name, kernel_shape=[kernel, kernel],
            strides=[stride, stride], pads=[pad] * 4, group=group,
        ))
        if not relu6:
            return f"{name}.out"
        self.nodes.append(helper.make_node(
            "Clip", [f"{name}.out", "relu6_min", "relu6_max"], [f"{name}.relu6"],
            name=f"{name}.relu6",
        ))
        return f"{name}.relu6"

    def inverted_residual(self, x: str, c_in: int, c_out: int, stride: int, t: int) -> str:
        hidden = c_in * t
        y = x if t == 1 else self.conv(x, c_in, hidden, 1, 1)
        y = self.conv(y, hidden, hidden, 3, stride, group=hidden)
        # Linear bottleneck; a smaller gain on residual branches keeps the sum's scale steady.
        residual = stride == 1 and c_in == c_out
        y = self.conv(y, hidden, c_out, 1, 1, relu6=False, gain=0.5 if residual else 1.0)
        if not residual:
            return y
        name = self._name("add")
        self.nodes.append(helper.make_node("Add", [x, y], [f"{name}.out"], name=name))
        return f"{name}.out"

    def classifier(self, x: str, channels: int) -> str:
        self.nodes.append(helper.make_node("GlobalAveragePool", [x], ["pool.out"], name="pool"))
        self.nodes.append(helper.make_node("Flatten", ["pool.out"], ["flat.out"], name="flatten",
                                           axis=1))
        weight = self._weight("fc.weight", (CLASSES, channels), channels, 0.5)
        bias = self._bias("fc.bias", CLASSES)
        self.nodes.append(helper.make_node("Gemm", ["flat.out", weight, bias], ["logits"],
                                           name="fc", transB=1))
        return "logits"


def build_mobilenet_v2(seed: int = SEED) -> onnx.ModelProto:
    """The MobileNetV2 1.0 topology with random He-normal weights from ``seed``."""
    builder = _Builder(seed)
    x = builder.conv("input", 3, STEM_CHANNELS, 3, 2)
    channels = STEM_CHANNELS
    for t, c, n, s in INVERTED_RESIDUAL_SETTINGS:
        for repeat in range(n):
            x = builder.inverted_residual(x, channels, c, s if repeat == 0 else 1, t)
            channels = c
    x = builder.conv(x, channels, LAST_CHANNELS, 1, 1)
    builder.classifier(x, LAST_CHANNELS)
    graph = helper.make_graph(
        builder.nodes, "mobilenet_v2",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                       ["batch", 3, IMAGE_SIDE, IMAGE_SIDE])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", CLASSES])],
        builder.initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="edgeprof build_sample", doc_string=DOC)
    model.ir_version = 8  # read by every ONNX Runtime and OpenVINO release that reads opset 17
    helper.set_model_props(model, {
        "weights": "random (numpy default_rng(0), He-normal); not a trained classifier",
        "purpose": "topology sample for profiling",
        "architecture": "MobileNetV2 1.0, 224x224 input, 1000 classes, BN folded, ReLU6 = Clip",
    })
    onnx.checker.check_model(model)
    return model


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("output", help="where to write the .onnx file")
    args = parser.parse_args(argv)
    directory = os.path.dirname(os.path.abspath(args.output))
    os.makedirs(directory, exist_ok=True)
    temporary = f"{args.output}.{os.getpid()}.tmp"
    onnx.save_model(build_mobilenet_v2(), temporary)
    os.replace(temporary, args.output)  # never leave a half-written sample behind
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
