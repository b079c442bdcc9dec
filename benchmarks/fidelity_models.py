"""The transformer-style model fidelity.py measures, built here with onnx.helper: 4 layers,
hidden 256, 4 heads, sequence 128 (MatMul, Softmax, LayerNormalization, Add, Erf-based GELU)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HIDDEN, HEADS, SEQUENCE, LAYERS, FFN = 256, 4, 128, 4, 1024


# the transformer-style model -----------------------------------------------------------------

class _Builder:
    def __init__(self) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.weights: list[onnx.TensorProto] = []
        self.rng = np.random.default_rng(0)
        self.count = 0

    def name(self, stem: str) -> str:
        self.count += 1
        return f"{stem}_{self.count}"

    def weight(self, shape: tuple[int, ...], scale: float = 0.05) -> str:
        name = self.name("w")
        values = (self.rng.standard_normal(shape) * scale).astype(np.float32)
        self.weights.append(numpy_helper.from_array(values, name))
        return name

    def const(self, values: list[int] | float) -> str:
        name = self.name("c")
        dtype = np.int64 if isinstance(values, list) else np.float32
        self.weights.append(numpy_helper.from_array(np.array(values, dtype=dtype), name))
        return name

    def op(self, op_type: str, inputs: list[str], **attributes: Any) -> str:
        out = self.name(op_type.lower())
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=out, **attributes))
        return out

    def linear(self, x: str, fan_in: int, fan_out: int) -> str:
        return self.op("Add", [self.op("MatMul", [x, self.weight((fan_in, fan_out))]),
                               self.weight((fan_out,))])

    def layer_norm(self, x: str) -> str:
        scale = self.name("ln_scale")
        self.weights.append(numpy_helper.from_array(np.ones(HIDDEN, np.float32), scale))
        return self.op("LayerNormalization", [x, scale, self.weight((HIDDEN,))], axis=-1)

    def heads(self, x: str, perm: list[int]) -> str:
        shaped = self.op("Reshape", [x, self.const([1, SEQUENCE, HEADS, HIDDEN // HEADS])])
        return self.op("Transpose", [shaped], perm=perm)

    def attention(self, x: str) -> str:
        q = self.heads(self.linear(x, HIDDEN, HIDDEN), [0, 2, 1, 3])
        k = self.heads(self.linear(x, HIDDEN, HIDDEN), [0, 2, 3, 1])
        v = self.heads(self.linear(x, HIDDEN, HIDDEN), [0, 2, 1, 3])
        scores = self.op("Mul", [self.op("MatMul", [q, k]),
                                 self.const(1.0 / float(np.sqrt(HIDDEN // HEADS)))])
        context = self.op("MatMul", [self.op("Softmax", [scores], axis=-1), v])
        merged = self.op("Reshape", [self.op("Transpose", [context], perm=[0, 2, 1, 3]),
                                     self.const([1, SEQUENCE, HIDDEN])])
        return self.linear(merged, HIDDEN, HIDDEN)

    def gelu(self, x: str) -> str:
        erf = self.op("Erf", [self.op("Div", [x, self.const(float(np.sqrt(2.0)))])])
        return self.op("Mul", [self.op("Mul", [x, self.op("Add", [erf, self.const(1.0)])]),
                               self.const(0.5)])

    def block(self, x: str) -> str:
        x = self.op("Add", [x, self.attention(self.layer_norm(x))])
        ffn = self.linear(self.gelu(self.linear(self.layer_norm(x), HIDDEN, FFN)), FFN, HIDDEN)
        return self.op("Add", [x, ffn])


def transformer_model(path: Path) -> Path:
    builder = _Builder()
    x = "hidden_states"
    for _ in range(LAYERS):
        x = builder.block(x)
    out = builder.op("Identity", [builder.layer_norm(x)])
    graph = helper.make_graph(
        builder.nodes, "transformer_4x256",
        [helper.make_tensor_value_info("hidden_states", TensorProto.FLOAT, [1, SEQUENCE, HIDDEN])],
        [helper.make_tensor_value_info(out, TensorProto.FLOAT, [1, SEQUENCE, HIDDEN])],
        builder.weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path
