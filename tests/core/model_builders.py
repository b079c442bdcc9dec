"""Small ONNX models built with onnx.helper for the core tests (exact costs computable by hand).

Builders return ``onnx.ModelProto``; :func:`save` writes one (optionally with external data)
without running the checker, so deliberately broken graphs can be written too.
:func:`run_cli` runs the command line in a child process for the end-to-end tests.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
FLOAT = TensorProto.FLOAT


def weight(name: str, shape: Sequence[int], seed: int = 0) -> TensorProto:
    """A float32 initializer with deterministic small values."""
    values = np.random.default_rng(seed).standard_normal(tuple(shape)).astype(np.float32) * 0.1
    return numpy_helper.from_array(values, name)


def int64_tensor(name: str, values: Sequence[int]) -> TensorProto:
    return numpy_helper.from_array(np.array(list(values), dtype=np.int64), name)


def value_info(name: str, shape: Sequence[int | str | None] | None,
               elem_type: int = FLOAT) -> onnx.ValueInfoProto:
    return helper.make_tensor_value_info(name, elem_type, shape)


def make_model(
    nodes: Sequence[onnx.NodeProto],
    inputs: Sequence[onnx.ValueInfoProto],
    outputs: Sequence[onnx.ValueInfoProto],
    initializers: Sequence[TensorProto] = (),
    opset: int = OPSET,
    ir_version: int | None = None,
    name: str = "test",
) -> onnx.ModelProto:
    graph = helper.make_graph(list(nodes), name, list(inputs), list(outputs), list(initializers))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)],
                              producer_name="edgeprof tests")
    model.ir_version = ir_version if ir_version is not None else 8
    return model


def save(model: onnx.ModelProto, path: Path | str, external: bool = False,
         location: str | None = None) -> str:
    """Write ``model``; with ``external`` every tensor goes to one side file (``location``)."""
    path = str(path)
    if external:
        onnx.save_model(
            model, path, save_as_external_data=True, all_tensors_to_one_file=True,
            location=location or f"{os.path.basename(path)}.data", size_threshold=0,
        )
    else:
        onnx.save_model(model, path)
    return path


def matmul_chain(batch: int = 1, dims: Sequence[int] = (64, 32, 16)) -> onnx.ModelProto:
    """x(batch, d0) @ W0(d0, d1) @ W1(d1, d2) ...: MACs = batch x sum(d_i x d_i+1)."""
    nodes, initializers = [], []
    current = "x"
    for index, (k, n) in enumerate(itertools.pairwise(dims)):
        initializers.append(weight(f"W{index}", (k, n), seed=index))
        out = "y" if index == len(dims) - 2 else f"h{index}"
        nodes.append(helper.make_node("MatMul", [current, f"W{index}"], [out],
                                      name=f"matmul{index}"))
        current = out
    return make_model(nodes, [value_info("x", [batch, dims[0]])],
                      [value_info("y", [batch, dims[-1]])], initializers)


def matmul_reshape(batch: int = 2) -> onnx.ModelProto:
    """x(batch, 4, 16) -Reshape(shape constant)-> (batch, 64) @ W(64, 8): MACs = batch x 512.

    The reshape target is an int64 initializer, so shape inference needs its values.
    """
    nodes = [
        helper.make_node("Reshape", ["x", "target"], ["flat"], name="reshape"),
        helper.make_node("MatMul", ["flat", "W"], ["y"], name="matmul"),
    ]
    initializers = [int64_tensor("target", [batch, 64]), weight("W", (64, 8))]
    return make_model(nodes, [value_info("x", [batch, 4, 16])], [value_info("y", [batch, 8])],
                      initializers)


def loop_model(trip_count: int | None, width: int = 16) -> onnx.ModelProto:
    """Loop whose body does v = v @ W (width x width). ``trip_count`` None: M is a model input."""
    body = helper.make_graph(
        [
            helper.make_node("MatMul", ["v_in", "W"], ["v_out"], name="body_matmul"),
            helper.make_node("Identity", ["cond_in"], ["cond_out"], name="body_cond"),
        ],
        "loop_body",
        [value_info("iter", [], TensorProto.INT64), value_info("cond_in", [], TensorProto.BOOL),
         value_info("v_in", [1, width])],
        [value_info("cond_out", [], TensorProto.BOOL), value_info("v_out", [1, width])],
    )
    inputs = [value_info("x", [1, width])]
    initializers = [weight("W", (width, width)),
                    numpy_helper.from_array(np.array(True), "cond")]
    if trip_count is None:
        inputs.append(value_info("M", [], TensorProto.INT64))
    else:
        initializers.append(numpy_helper.from_array(np.array(trip_count, np.int64), "M"))
    loop = helper.make_node("Loop", ["M", "cond", "x"], ["y"], name="loop", body=body)
    return make_model([loop], inputs, [value_info("y", [1, width])], initializers)


def if_model(width: int = 16) -> onnx.ModelProto:
    """If: then = one x@A (width x width), else = x@B@C (two, so it costs twice as much)."""
    then_branch = helper.make_graph(
        [helper.make_node("MatMul", ["x", "A"], ["then_y"], name="then_matmul")],
        "then", [], [value_info("then_y", [1, width])],
    )
    else_branch = helper.make_graph(
        [helper.make_node("MatMul", ["x", "B"], ["else_h"], name="else_matmul1"),
         helper.make_node("MatMul", ["else_h", "C"], ["else_y"], name="else_matmul2")],
        "else", [], [value_info("else_y", [1, width])],
    )
    node = helper.make_node("If", ["cond"], ["y"], name="if", then_branch=then_branch,
                            else_branch=else_branch)
    initializers = [weight(n, (width, width), seed=i) for i, n in enumerate("ABC")]
    return make_model(
        [node],
        [value_info("x", [1, width]), value_info("cond", [], TensorProto.BOOL)],
        [value_info("y", [1, width])], initializers,
    )


def external_weight(name: str, shape: Sequence[int], location: str, offset: int = 0,
                    length: int | None = None) -> TensorProto:
    """A float32 initializer whose bytes live in ``location`` (written by the caller)."""
    tensor = TensorProto(name=name, data_type=FLOAT, dims=list(shape))
    tensor.data_location = TensorProto.EXTERNAL
    entries = {"location": location, "offset": str(offset),
               "length": str(length if length is not None else 4 * int(np.prod(shape)))}
    for key, value in entries.items():
        tensor.external_data.add(key=key, value=value)
    return tensor


def external_matmul(location: str, k: int = 64, n: int = 32) -> onnx.ModelProto:
    """x(1, k) @ W(k, n) with W stored externally in ``location``: MACs = k x n."""
    return make_model(
        [helper.make_node("MatMul", ["x", "W"], ["y"], name="matmul")],
        [value_info("x", [1, k])], [value_info("y", [1, n])],
        [external_weight("W", (k, n), location)],
    )


def sparse_file(path: Path | str, size_bytes: int) -> str:
    """A file of ``size_bytes`` zeros that takes no disk space (a hole)."""
    with open(path, "wb"):
        pass
    os.truncate(path, size_bytes)
    return str(path)


def _scalar(name: str, value: int) -> TensorProto:
    return numpy_helper.from_array(np.array(value, np.int64), name)


def _dim_of(x: str, index: int, prefix: str) -> tuple[list[onnx.NodeProto], str]:
    """Shape(x) -> Gather(index): the size of one dim as a scalar computed at run time, the way
    PyTorch exports ``x.size(index)``."""
    nodes = [
        helper.make_node("Shape", [x], [f"{prefix}_shape"], name=f"{prefix}_shape"),
        helper.make_node("Gather", [f"{prefix}_shape", f"idx{index}"], [f"{prefix}_dim"],
                         name=f"{prefix}_gather", axis=0),
    ]
    return nodes, f"{prefix}_dim"


def _as_vector(scalar: str, prefix: str) -> tuple[onnx.NodeProto, str]:
    node = helper.make_node("Unsqueeze", [scalar, "axes0"], [f"{prefix}_vec"],
                            name=f"{prefix}_unsqueeze")
    return node, f"{prefix}_vec"


def _dynamic_reshape(x: str, source: str, tail: Sequence[str], out: str,
                     prefix: str) -> list[onnx.NodeProto]:
    """Reshape ``x`` to (batch, seq, *tail): batch and seq read from ``source`` at run time."""
    nodes, vectors = [], []
    for index, part in ((0, "b"), (1, "s")):
        dim_nodes, dim = _dim_of(source, index, f"{prefix}_{part}")
        vector_node, vector = _as_vector(dim, f"{prefix}_{part}")
        nodes += [*dim_nodes, vector_node]
        vectors.append(vector)
    return [
        *nodes,
        helper.make_node("Concat", [*vectors, *tail], [f"{prefix}_target"],
                         name=f"{prefix}_concat", axis=0),
        helper.make_node("Reshape", [x, f"{prefix}_target"], [out], name=f"{prefix}_reshape"),
    ]


def _head_sizes() -> list[onnx.NodeProto]:
    """head_dim = hidden // heads and hidden = heads * head_dim, computed from x's shape."""
    hidden_nodes, hidden = _dim_of("x", 2, "hd")
    return [
        *hidden_nodes,
        helper.make_node("Div", [hidden, "heads"], ["head_dim"], name="head_dim_div"),
        helper.make_node("Unsqueeze", ["head_dim", "axes0"], ["head_dim_vec"],
                         name="head_dim_unsqueeze"),
        helper.make_node("Mul", ["heads", "head_dim"], ["merged_hidden"], name="hidden_mul"),
        helper.make_node("Unsqueeze", ["merged_hidden", "axes0"], ["hidden_vec"],
                         name="hidden_unsqueeze"),
        helper.make_node("Cast", ["head_dim"], ["head_dim_float"], name="head_dim_cast",
                         to=FLOAT),
        helper.make_node("Sqrt", ["head_dim_float"], ["scale"], name="scale_sqrt"),
    ]


def _embeddings() -> list[onnx.NodeProto]:
    """Token embedding + position embedding at positions Range(0, seq)."""
    seq_nodes, seq = _dim_of("input_ids", 1, "pos")
    return [
        helper.make_node("Gather", ["token_embedding", "input_ids"], ["tokens"], name="embed",
                         axis=0),
        *seq_nodes,
        helper.make_node("Range", ["zero", seq, "one"], ["positions"], name="positions"),
        helper.make_node("Unsqueeze", ["positions", "axes0"], ["position_ids"],
                         name="position_ids"),
        helper.make_node("Gather", ["position_embedding", "position_ids"], ["position_vectors"],
                         name="embed_positions", axis=0),
        helper.make_node("Add", ["tokens", "position_vectors"], ["x"], name="embed_add"),
    ]


def _attention_core() -> list[onnx.NodeProto]:
    nodes = []
    for proj in ("q", "k", "v"):
        nodes.append(helper.make_node("MatMul", ["x", f"W{proj}"], [proj], name=f"{proj}_proj"))
        nodes += _dynamic_reshape(proj, "x", ["heads_vec", "head_dim_vec"], f"{proj}_heads", proj)
    return [
        *nodes,
        helper.make_node("Transpose", ["q_heads"], ["q_t"], name="q_transpose", perm=[0, 2, 1, 3]),
        helper.make_node("Transpose", ["k_heads"], ["k_t"], name="k_transpose", perm=[0, 2, 3, 1]),
        helper.make_node("Transpose", ["v_heads"], ["v_t"], name="v_transpose", perm=[0, 2, 1, 3]),
        helper.make_node("MatMul", ["q_t", "k_t"], ["scores"], name="qk_matmul"),
        helper.make_node("Div", ["scores", "scale"], ["scaled"], name="scale"),
        helper.make_node("Softmax", ["scaled"], ["probs"], name="softmax", axis=-1),
        helper.make_node("MatMul", ["probs", "v_t"], ["context"], name="av_matmul"),
        helper.make_node("Transpose", ["context"], ["context_t"], name="context_transpose",
                         perm=[0, 2, 1, 3]),
    ]


def attention_block(vocab: int = 1000, hidden: int = 64, heads: int = 4,
                    max_positions: int = 512) -> onnx.ModelProto:
    """Embeddings + one self-attention block as PyTorch exports it: input_ids (batch, seq)
    int64; every reshape target, head size, position range and the softmax scale is computed
    at run time from shapes (Shape, Gather, Div, Mul, Unsqueeze, Concat, Range, Cast, Sqrt).

    MACs at (b, s): four projections b*s*hidden*hidden, QK^T and AV each b*s*s*hidden.
    Params: vocab*hidden + max_positions*hidden + 4*hidden*hidden.
    """
    nodes = [*_embeddings(), *_head_sizes(), *_attention_core()]
    nodes += _dynamic_reshape("context_t", "x", ["hidden_vec"], "merged", "merge")
    nodes.append(helper.make_node("MatMul", ["merged", "Wo"], ["output"], name="out_proj"))
    initializers = [
        weight("token_embedding", (vocab, hidden)),
        weight("position_embedding", (max_positions, hidden), seed=9),
        *(weight(f"W{p}", (hidden, hidden), seed=i) for i, p in enumerate("qkvo")),
        _scalar("idx0", 0), _scalar("idx1", 1), _scalar("idx2", 2), _scalar("zero", 0),
        _scalar("one", 1), _scalar("heads", heads), int64_tensor("axes0", [0]),
        int64_tensor("heads_vec", [heads]),
    ]
    return make_model(
        nodes,
        [value_info("input_ids", ["batch", "seq"], TensorProto.INT64)],
        [value_info("output", ["batch", "seq", hidden])],
        initializers,
    )


REPO_ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """``python -m profiler ARGS`` in a real child process, as users run it."""
    return subprocess.run(
        [sys.executable, "-m", "profiler", *args], capture_output=True, text=True,
        cwd=REPO_ROOT, timeout=120, check=False,
    )


def _layer_reshapes(x: str, out: str, prefix: str) -> list[onnx.NodeProto]:
    """MatMul x(b, s, hidden) by a weight, split into heads and merge back, with the head size
    computed from ``x``'s own shape (Shape -> Gather -> Div, as a per-layer export does)."""
    hidden_nodes, hidden = _dim_of(x, 2, f"{prefix}hidden")
    heads_node = helper.make_node("Div", [hidden, "heads"], [f"{prefix}head_dim"],
                                  name=f"{prefix}div")
    head_vec_node, head_vec = _as_vector(f"{prefix}head_dim", f"{prefix}head_dim")
    merged = helper.make_node("Mul", [f"{prefix}head_dim", "heads"], [f"{prefix}merged"],
                              name=f"{prefix}mul")
    merged_vec_node, merged_vec = _as_vector(f"{prefix}merged", f"{prefix}merged")
    return [
        *hidden_nodes, heads_node, head_vec_node, merged, merged_vec_node,
        helper.make_node("MatMul", [x, f"{prefix}W"], [f"{prefix}projected"],
                         name=f"{prefix}matmul"),
        *_dynamic_reshape(f"{prefix}projected", x, ["heads_vec", head_vec],
                          f"{prefix}split", f"{prefix}split"),
        helper.make_node("Relu", [f"{prefix}split"], [f"{prefix}activated"],
                         name=f"{prefix}relu"),
        *_dynamic_reshape(f"{prefix}activated", x, [merged_vec], out, f"{prefix}merge"),
    ]


def stacked_layers(layers: int, hidden: int = 64, heads: int = 4) -> onnx.ModelProto:
    """``layers`` blocks in sequence, each computing its reshape targets from its own input's
    shape: layer n's chain can be evaluated only after layer n-1's output shape is known.
    MACs at (b, s): layers x b x s x hidden x hidden."""
    nodes, current = [], "x0"
    for index in range(layers):
        nodes += _layer_reshapes(current, f"x{index + 1}", f"l{index}_")
        current = f"x{index + 1}"
    initializers = [
        *(weight(f"l{i}_W", (hidden, hidden), seed=i) for i in range(layers)),
        _scalar("idx0", 0), _scalar("idx1", 1), _scalar("idx2", 2), _scalar("heads", heads),
        int64_tensor("axes0", [0]), int64_tensor("heads_vec", [heads]),
    ]
    return make_model(nodes, [value_info("x0", ["batch", "seq", hidden])],
                      [value_info(current, ["batch", "seq", hidden])], initializers)
