"""The hostile-input corpus: every case is a function that writes its files into a folder and
returns ``(path to give the command line, expected text)``.

Two outcomes:
- ERROR: the command exits 1 with one line on stderr that contains the expected text;
- ACCEPTED: the input is unusual but analysable (unknown ops, custom domains, huge declared
  sizes, dynamic dims, stripped weights); the command exits 0, writes the report, and the
  report contains the expected text (the unsupported op, the warning, the exact size).

Nothing here allocates what a model declares: a 10^12-element tensor is a shape, not bytes.
"""

from __future__ import annotations

import json
import os
import random
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from tests.core import model_builders as mb

ERROR = "error"
ACCEPTED = "accepted"
SECRET_MARKER = "EDGEPROF-SECRET-1d6f0a"
"""Written into a file an XML external entity names; it must never appear in any output."""
HUGE_SIDE = 1_000_000
"""1 x 10^6 x 10^6 = 10^12 elements: 4 TB as float32, only ever a number."""
WEIGHT_BYTES = 64 * 32 * 4  # model_builders.external_matmul's W

Made = tuple[str, str]
Maker = Callable[[Path], Made]


@dataclass(frozen=True)
class Case:
    make: Maker
    outcome: str
    command: str = "analyze"
    """'analyze' takes a model file; 'report' converts a report JSON (``report IN -o OUT``)."""


# --- ONNX helpers ---------------------------------------------------------------------------

def _save(folder: Path, name: str, model: onnx.ModelProto) -> str:
    return mb.save(model, folder / name)


def _relu_model(shape: list[int | str | None], name: str = "relu") -> onnx.ModelProto:
    node = helper.make_node("Relu", ["x"], ["y"], name=name)
    return mb.make_model([node], [mb.value_info("x", shape)], [mb.value_info("y", None)])


def _write(folder: Path, name: str, data: bytes) -> str:
    (folder / name).write_bytes(data)
    return str(folder / name)


# --- ONNX: unreadable files -----------------------------------------------------------------

def onnx_empty(folder: Path) -> Made:
    return _write(folder, "empty.onnx", b""), "the file is empty"


def onnx_random_bytes(folder: Path) -> Made:
    data = random.Random(1).randbytes(8192)
    return _write(folder, "random.onnx", data), "not a valid ONNX model"


def onnx_truncated(percent: int) -> Maker:
    def make(folder: Path) -> Made:
        data = mb.attention_block().SerializeToString()
        cut = data[: len(data) * percent // 100]
        return _write(folder, f"cut{percent}.onnx", cut), "not a valid ONNX model"

    return make


def onnx_fifo(folder: Path) -> Made:
    """A named pipe: opening it would block forever."""
    path = folder / "pipe.onnx"
    os.mkfifo(path)
    return str(path), "is not a regular file"


def _varint(value: int) -> bytes:
    out = bytearray()
    while True:
        out.append((value & 0x7F) | (0x80 if value > 0x7F else 0))
        value >>= 7
        if not value:
            return bytes(out)


def _field(number: int, payload: bytes) -> bytes:
    """A length-delimited protobuf field (strings and messages)."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _nested_if_graph(depth: int) -> bytes:
    """GraphProto bytes: If -> then_branch -> If ... ``depth`` deep, written directly (the
    protobuf library itself refuses to build what it cannot parse)."""
    graph = _field(2, b"leaf")
    for _ in range(depth):
        attribute = _field(1, b"then_branch") + _field(6, graph) + _varint(20 << 3) + b"\x05"
        node = _field(1, b"c") + _field(2, b"y") + _field(4, b"If") + _field(5, attribute)
        graph = _field(1, node) + _field(2, b"g")
    return graph


def onnx_deep_nesting(folder: Path) -> Made:
    """Subgraphs nested 1000 deep: the parser's depth limit refuses it, no recursion error."""
    header = mb.make_model([], [], [])
    header.ClearField("graph")
    data = header.SerializeToString() + _field(7, _nested_if_graph(1000))
    return _write(folder, "deep.onnx", data), "not a valid ONNX model"


# --- ONNX: broken graphs --------------------------------------------------------------------

def onnx_cycle(folder: Path) -> Made:
    nodes = [helper.make_node("Add", ["x", "c"], ["b"], name="add"),
             helper.make_node("Relu", ["b"], ["c"], name="relu")]
    model = mb.make_model(nodes, [mb.value_info("x", [2, 8])], [mb.value_info("c", [2, 8])])
    return _save(folder, "cycle.onnx", model), "the graph has a cycle"


def onnx_cycle_in_subgraph(folder: Path) -> Made:
    body = helper.make_graph(
        [helper.make_node("Add", ["x", "q"], ["p"], name="inner_add"),
         helper.make_node("Relu", ["p"], ["q"], name="inner_relu")],
        "then", [], [mb.value_info("q", [2, 8])])
    node = helper.make_node("If", ["c"], ["y"], name="if", then_branch=body, else_branch=body)
    model = mb.make_model([node], [mb.value_info("x", [2, 8]),
                                   mb.value_info("c", [], TensorProto.BOOL)],
                          [mb.value_info("y", [2, 8])])
    return _save(folder, "subcycle.onnx", model), "the graph has a cycle"


def onnx_dangling_input(folder: Path) -> Made:
    node = helper.make_node("Add", ["x", "nowhere"], ["y"], name="add")
    model = mb.make_model([node], [mb.value_info("x", [2, 8])], [mb.value_info("y", [2, 8])])
    return _save(folder, "dangling.onnx", model), "'nowhere', which nothing produces"


def onnx_duplicate_output_tensor(folder: Path) -> Made:
    nodes = [helper.make_node("Relu", ["x"], ["y"], name="relu1"),
             helper.make_node("Relu", ["x"], ["y"], name="relu2")]
    model = mb.make_model(nodes, [mb.value_info("x", [2, 8])], [mb.value_info("y", [2, 8])])
    return _save(folder, "twice.onnx", model), "tensor 'y' is produced twice"


def onnx_duplicate_input(folder: Path) -> Made:
    node = helper.make_node("Relu", ["x"], ["y"], name="relu")
    model = mb.make_model([node], [mb.value_info("x", [1, 8]), mb.value_info("x", [1, 4])],
                          [mb.value_info("y", None)])
    return _save(folder, "dup_input.onnx", model), "graph input 'x' is listed twice"


def onnx_duplicate_initializer(folder: Path) -> Made:
    node = helper.make_node("MatMul", ["x", "W"], ["y"], name="matmul")
    model = mb.make_model([node], [mb.value_info("x", [1, 8])], [mb.value_info("y", None)],
                          [mb.weight("W", (8, 4)), mb.weight("W", (8, 16))])
    return _save(folder, "dup_init.onnx", model), "initializer 'W' is listed twice"


def onnx_custom_domain_not_imported(folder: Path) -> Made:
    node = helper.make_node("MyOp", ["x"], ["y"], name="custom", domain="com.example")
    model = mb.make_model([node], [mb.value_info("x", [1, 8])], [mb.value_info("y", None)])
    return _save(folder, "no_import.onnx", model), "op domain 'com.example'"


def onnx_negative_initializer_dim(folder: Path) -> Made:
    weight = TensorProto(name="W", data_type=TensorProto.FLOAT, dims=[-5, 8])
    node = helper.make_node("MatMul", ["x", "W"], ["y"], name="matmul")
    model = mb.make_model([node], [mb.value_info("x", [1, 5])], [mb.value_info("y", None)],
                          [weight])
    return _save(folder, "neg_init.onnx", model), "tensor 'W' has a negative dimension (-5x8)"


def onnx_short_raw_data(folder: Path) -> Made:
    weight = mb.weight("W", (8, 4))
    weight.raw_data = weight.raw_data[:50]
    node = helper.make_node("MatMul", ["x", "W"], ["y"], name="matmul")
    model = mb.make_model([node], [mb.value_info("x", [1, 8])], [mb.value_info("y", None)],
                          [weight])
    return _save(folder, "short_raw.onnx", model), "holds 50 of the 128 bytes"


def onnx_overflowing_dims(folder: Path) -> Made:
    """Eight dims of 2^62: 2^496 elements, beyond int64 (and beyond a float's range)."""
    model = _relu_model([2**62] * 8)
    return _save(folder, "overflow.onnx", model), "more than any runtime can address"


def onnx_expand_to_overflow(folder: Path) -> Made:
    """A small input expanded by a constant shape to 2^80 elements: refused, not computed."""
    node = helper.make_node("Expand", ["x", "shape"], ["y"], name="expand")
    model = mb.make_model([node], [mb.value_info("x", [1, 1])], [mb.value_info("y", None)],
                          [mb.int64_tensor("shape", [2**40, 2**40])])
    return _save(folder, "expand.onnx", model), "tensor 'y' would hold about 10^24 elements"


# --- ONNX: external data --------------------------------------------------------------------

def _external_model(folder: Path, location: str, **weight: int) -> str:
    model_dir = folder / "model"
    model_dir.mkdir(exist_ok=True)
    model = mb.external_matmul(location)
    if weight:
        del model.graph.initializer[:]
        model.graph.initializer.append(mb.external_weight("W", (64, 32), location, **weight))
    return _save(model_dir, "ext.onnx", model)


def _outside_weights(folder: Path) -> str:
    return mb.sparse_file(folder / "outside.bin", WEIGHT_BYTES)


def external_parent_folder(folder: Path) -> Made:
    _outside_weights(folder)
    path = _external_model(folder, "../outside.bin")
    return path, "'../outside.bin' of tensor 'W' points outside"


def external_absolute_path(folder: Path) -> Made:
    outside = _outside_weights(folder)
    return _external_model(folder, outside), "is an absolute path; refused"


def external_symlink_out(folder: Path) -> Made:
    outside = _outside_weights(folder)
    path = _external_model(folder, "link.bin")
    os.symlink(outside, folder / "model" / "link.bin")
    return path, "'link.bin' of tensor 'W' points outside"


def external_symlink_to_device(folder: Path) -> Made:
    path = _external_model(folder, "zero.bin")
    os.symlink("/dev/zero", folder / "model" / "zero.bin")
    return path, "'zero.bin' of tensor 'W' points outside"


def external_too_short(folder: Path) -> Made:
    path = _external_model(folder, "short.bin")
    mb.sparse_file(folder / "model" / "short.bin", WEIGHT_BYTES - 1)
    return path, f"which has only {WEIGHT_BYTES - 1} bytes"


def external_huge_offset(folder: Path) -> Made:
    path = _external_model(folder, "w.bin", offset=2**62)
    mb.sparse_file(folder / "model" / "w.bin", WEIGHT_BYTES)
    return path, f"needs bytes {2**62}.."


def external_negative_length(folder: Path) -> Made:
    path = _external_model(folder, "w.bin", length=-1)
    mb.sparse_file(folder / "model" / "w.bin", WEIGHT_BYTES)
    return path, "external data length of tensor 'W' is negative"


def external_nul_in_location(folder: Path) -> Made:
    return _external_model(folder, "w.bin\0../../etc/passwd"), "contains a NUL character"


# --- ONNX: accepted with a note -------------------------------------------------------------

def onnx_unknown_op(folder: Path) -> Made:
    nodes = [helper.make_node("Frobnicate", ["x"], ["h"], name="frob"),
             helper.make_node("Relu", ["h"], ["y"], name="relu")]
    model = mb.make_model(nodes, [mb.value_info("x", [1, 8])], [mb.value_info("y", [1, 8])])
    return _save(folder, "unknown_op.onnx", model), '"Frobnicate": 1'


def onnx_custom_domain(folder: Path) -> Made:
    node = helper.make_node("MyOp", ["x"], ["y"], name="custom", domain="com.example")
    model = mb.make_model([node], [mb.value_info("x", [1, 8])], [mb.value_info("y", None)])
    model.opset_import.append(helper.make_opsetid("com.example", 1))
    return _save(folder, "custom.onnx", model), '"com.example:MyOp": 1'


def onnx_huge_declared_input(folder: Path) -> Made:
    """1 x 10^6 x 10^6 float32: input and output live together, 2 x 4 x 10^12 bytes at peak."""
    model = _relu_model([1, HUGE_SIDE, HUGE_SIDE])
    return _save(folder, "huge.onnx", model), f'"peak_activation_bytes": {8 * 10**12}'


def onnx_range_over_huge_dim(folder: Path) -> Made:
    """Range(0, x.shape[1]) with a 10^8 dim: never computed. Computing it would take 800 MB,
    which fits under the address-space cap, so the peak-RSS bound is what would catch it."""
    nodes = [helper.make_node("Shape", ["x"], ["s"], name="shape"),
             helper.make_node("Gather", ["s", "one"], ["n"], name="gather", axis=0),
             helper.make_node("Range", ["zero", "n", "one"], ["y"], name="range")]
    model = mb.make_model(nodes, [mb.value_info("x", [1, 10**8])],
                          [mb.value_info("y", None, TensorProto.INT64)],
                          [numpy_helper.from_array(np.array(0, np.int64), "zero"),
                           numpy_helper.from_array(np.array(1, np.int64), "one")])
    return _save(folder, "range.onnx", model), '"op_type": "Range"'


def onnx_long_shape_vector(folder: Path) -> Made:
    """A 1-D tensor 10^8 long made from a declared dim (ConstantOfShape of x.shape[1]) and fed
    to an op that shape inference propagates values through: ONNX's data propagation would
    hold it element by element (gigabytes); it is never materialised."""
    nodes = [helper.make_node("Shape", ["x"], ["s"], name="shape"),
             helper.make_node("Gather", ["s", "one"], ["n"], name="gather", axis=0),
             helper.make_node("Unsqueeze", ["n", "axes"], ["nv"], name="as_vector"),
             helper.make_node("ConstantOfShape", ["nv"], ["ones"], name="ones",
                              value=numpy_helper.from_array(np.array([1], np.int64))),
             helper.make_node("Unsqueeze", ["ones", "axes"], ["y"], name="unsqueeze")]
    model = mb.make_model(nodes, [mb.value_info("x", [1, 10**8])],
                          [mb.value_info("y", None, TensorProto.INT64)],
                          [numpy_helper.from_array(np.array(1, np.int64), "one"),
                           mb.int64_tensor("axes", [0])])
    return _save(folder, "long_vector.onnx", model), '"name": "unsqueeze"'


def onnx_range_of_constant_length(folder: Path) -> Made:
    """Range(0, 10^8, 1) from constants, then Concat: the same, without any input involved."""
    nodes = [helper.make_node("Range", ["zero", "limit", "one"], ["r"], name="range"),
             helper.make_node("Concat", ["r", "x"], ["y"], name="concat", axis=0)]
    model = mb.make_model(nodes, [mb.value_info("x", [1], TensorProto.INT64)],
                          [mb.value_info("y", None, TensorProto.INT64)],
                          [numpy_helper.from_array(np.array(v, np.int64), n)
                           for n, v in (("zero", 0), ("limit", 10**8), ("one", 1))])
    return _save(folder, "range_const.onnx", model), '"name": "concat"'


def onnx_tile_to_huge(folder: Path) -> Made:
    node = helper.make_node("Tile", ["x", "repeats"], ["y"], name="tile")
    model = mb.make_model([node], [mb.value_info("x", [1, 2])], [mb.value_info("y", None)],
                          [mb.int64_tensor("repeats", [HUGE_SIDE, HUGE_SIDE])])
    return _save(folder, "tile.onnx", model), f'"activation_bytes": {8 * 10**12}'


def onnx_negative_input_dims(folder: Path) -> Made:
    model = _relu_model([-1, -5, 8])
    return _save(folder, "neg.onnx", model), "input 'x' is dynamic (-1x-5x8); analysed at 1x128x8"


def onnx_stripped_weights(folder: Path) -> Made:
    """An initializer with a shape and no data: a structure-only model, sizes as declared."""
    weight = TensorProto(name="W", data_type=TensorProto.FLOAT, dims=[HUGE_SIDE, 64])
    node = helper.make_node("MatMul", ["x", "W"], ["y"], name="matmul")
    model = mb.make_model([node], [mb.value_info("x", [1, HUGE_SIDE])],
                          [mb.value_info("y", None)], [weight])
    return _save(folder, "stripped.onnx", model), "hold no data (weights stripped?)"


def onnx_duplicate_node_names(folder: Path) -> Made:
    nodes = [helper.make_node("Relu", ["x"], ["h"], name="r"),
             helper.make_node("Relu", ["h"], ["y"], name="r")]
    model = mb.make_model(nodes, [mb.value_info("x", [1, 8])], [mb.value_info("y", [1, 8])])
    return _save(folder, "dup_names.onnx", model), '"name": "r#2"'


# --- OpenVINO IR ----------------------------------------------------------------------------

def _ir(folder: Path, shape: list[int] | None = None, name: str = "m") -> str:
    import openvino as ov
    import openvino.opset13 as ops

    x = ops.parameter(shape or [1, 8], ov.Type.f32, name="x")
    body = ops.relu(x, name="relu") if shape else ops.relu(ops.matmul(
        x, ops.constant(np.ones((8, 4), np.float32), name="W"), False, False, name="mm"),
        name="relu")
    path = folder / f"{name}.xml"
    ov.save_model(ov.Model([ops.result(body, name="y")], [x], "corpus"), str(path))
    return str(path)


def _entity_xml(declaration: str) -> bytes:
    return (f'<?xml version="1.0"?>\n<!DOCTYPE net [{declaration}]>\n'
            '<net name="&x;" version="11"><layers/><edges/></net>\n').encode()


def _secret(folder: Path) -> str:
    path = folder / "secret.txt"
    path.write_text(SECRET_MARKER, encoding="utf-8")
    return str(path)


def ir_external_entity(folder: Path) -> Made:
    data = _entity_xml(f'<!ENTITY x SYSTEM "file://{_secret(folder)}">')
    return _write(folder, "xxe.xml", data), "declares a DOCTYPE or entities"


def ir_parameter_entity(folder: Path) -> Made:
    data = _entity_xml(f'<!ENTITY % p SYSTEM "file://{_secret(folder)}"> %p;')
    return _write(folder, "xxe_param.xml", data), "declares a DOCTYPE or entities"


def ir_billion_laughs(folder: Path) -> Made:
    levels = zip("abcdefgh", "bcdefghx", strict=True)  # x = 10^9 times "a" once expanded
    entities = '<!ENTITY a "aaaaaaaaaa">' + "".join(
        f'<!ENTITY {b} "{("&" + a + ";") * 10}">' for a, b in levels)
    return _write(folder, "laughs.xml", _entity_xml(entities)), "declares a DOCTYPE or entities"


def ir_short_bin(folder: Path) -> Made:
    path = _ir(folder)
    os.truncate(folder / "m.bin", 10)
    return path, "m.bin has 10 bytes but constant"


def ir_missing_bin(folder: Path) -> Made:
    path = _ir(folder)
    os.remove(folder / "m.bin")
    return path, "weights file m.bin is missing"


def ir_garbage(folder: Path) -> Made:
    return _write(folder, "garbage.xml", random.Random(2).randbytes(4000)), "not an OpenVINO IR"


def ir_unknown_op(folder: Path) -> Made:
    """Unlike ONNX, an IR op OpenVINO does not know cannot even be read without its extension."""
    path = _ir(folder)
    text = Path(path).read_text(encoding="utf-8").replace('type="ReLU"', 'type="Frobnicate"')
    Path(path).write_text(text, encoding="utf-8")
    return path, "Frobnicate"


def ir_fifo(folder: Path) -> Made:
    path = folder / "pipe.xml"
    os.mkfifo(path)
    return str(path), "is not a regular file"


def ir_overflowing_dims(folder: Path) -> Made:
    path = _ir(folder, [2**40] * 4, "overflow")
    return path, "tensor 'x' would hold about 10^48 elements"


def ir_huge_parameter(folder: Path) -> Made:
    path = _ir(folder, [1, HUGE_SIDE, HUGE_SIDE], "huge")
    return path, f'"peak_activation_bytes": {8 * 10**12}'


# --- TFLite ---------------------------------------------------------------------------------

def onnx_shape_inference_crash(folder: Path) -> Made:
    """GatherND with a negative batch_dims: ONNX's C++ shape inference segfaults on it, so
    only a sandboxed child survives reading it."""
    node = helper.make_node("GatherND", ["data", "idx"], ["out"], batch_dims=-2, name="g")
    model = mb.make_model([node], [mb.value_info("data", [3, 3, 3]),
                                   mb.value_info("idx", [3, 1], TensorProto.INT64)],
                          [mb.value_info("out", None)], opset=12)
    return _save(folder, "gather_nd.onnx", model), "the ONNX shape inference crashed"


def ir_deep_rt_info(folder: Path) -> Made:
    """rt_info nested 20,000 deep (about 200 KB): walking it overflows the native stack."""
    path = Path(_ir(folder, name="deep_info"))
    nest = "<k>" * 20_000 + "</k>" * 20_000
    text = path.read_text(encoding="utf-8")
    head, tag, tail = text.rpartition("<rt_info>")  # the model's own, after the layers
    path.write_text(f"{head}{tag}<meta>{nest}</meta>{tail}", encoding="utf-8")
    return str(path), "crashed on this model"


def ir_bin_fifo(folder: Path) -> Made:
    """The .bin is a named pipe: OpenVINO would open it by itself and block."""
    path = _ir(folder, [1, 8], "pipe_bin")
    os.remove(folder / "pipe_bin.bin")
    os.mkfifo(folder / "pipe_bin.bin")
    return path, "pipe_bin.bin is not a regular file (a pipe)"


def ir_bin_symlink_out(folder: Path) -> Made:
    """The .bin links out of the model's folder: refused like ONNX external data."""
    (folder / "model").mkdir()
    path = _ir(folder / "model", name="linked")
    os.replace(folder / "model" / "linked.bin", folder / "elsewhere.bin")
    os.symlink(folder / "elsewhere.bin", folder / "model" / "linked.bin")
    return path, "linked.bin points outside the model's folder"


def tflite_garbage(folder: Path) -> Made:
    data = random.Random(3).randbytes(5000)
    return _write(folder, "garbage.tflite", data), "not a TFLite model (the TFL3 identifier"


def tflite_empty(folder: Path) -> Made:
    return _write(folder, "empty.tflite", b""), "the file is empty"


def tflite_truncated(folder: Path) -> Made:
    from tests.core.tflite_builder import fully_connected_add_model, tflite_bytes

    data = tflite_bytes(fully_connected_add_model())
    return _write(folder, "cut.tflite", data[: len(data) // 2]), "truncated or corrupted"


def tflite_identifier_then_garbage(folder: Path) -> Made:
    data = b"\xff\xff\xff\x7fTFL3" + random.Random(4).randbytes(300)
    return _write(folder, "fake.tflite", data), "truncated or corrupted"


# --- report JSON (``edgeprof-cli report IN.json -o OUT.html``) -----------------------------

def _report_dict() -> dict[str, object]:
    """A real analysis report as a dict (the matmul chain: 2 layers)."""
    from profiler.api import analyze_model
    from profiler.report.exporters.json_export import render

    folder = Path(os.environ.get("TMPDIR", "/tmp"))
    model = mb.save(mb.matmul_chain(), folder / f"corpus_chain_{os.getpid()}.onnx")
    try:
        data: dict[str, object] = json.loads(render(analyze_model(model)))
    finally:
        os.remove(model)
    return data


def _report_file(folder: Path, name: str, edit: Callable[[dict[str, object]], None]) -> str:
    data = _report_dict()
    edit(data)
    return _write(folder, name, json.dumps(data).encode())


def report_newer_schema(folder: Path) -> Made:
    path = _report_file(folder, "newer.json", lambda d: d.update(schema_version=99))
    return path, "written by a newer edgeprof (schema_version 99"


def report_other_schema(folder: Path) -> Made:
    path = _report_file(folder, "other.json", lambda d: d.update(schema="someone.else"))
    return path, "not an edgeprof report"


def report_wrong_type(folder: Path) -> Made:
    def edit(data: dict[str, object]) -> None:
        data["analysis"]["totals"]["macs"] = "many"  # type: ignore[index]

    path = _report_file(folder, "wrong_type.json", edit)
    return path, "analysis.totals.macs: expected int, found str"


def report_wrong_nested_type(folder: Path) -> Made:
    def edit(data: dict[str, object]) -> None:
        data["runs"] = [{"device": "ov:CPU", "latency": "fast"}]

    path = _report_file(folder, "wrong_run.json", edit)
    return path, "runs[0].latency: expected an object, found str"


def report_not_json(folder: Path) -> Made:
    return _write(folder, "garbage.json", b"{not json"), "not a readable JSON report"


def report_empty(folder: Path) -> Made:
    return _write(folder, "empty.json", b""), "not a readable JSON report"


def report_array(folder: Path) -> Made:
    return _write(folder, "array.json", b"[1, 2, 3]"), "not an edgeprof report"


def report_bad_utf8(folder: Path) -> Made:
    data = b'{"schema": "edgeprof.report", "x": "\xff\xfe"}'
    return _write(folder, "latin.json", data), "not a readable JSON report"


def report_deep_nesting(folder: Path) -> Made:
    data = b"[" * 100_000 + b"]" * 100_000
    return _write(folder, "deep.json", data), "not a readable JSON report (nested too deeply)"


def report_huge_number(folder: Path) -> Made:
    data = b'{"schema": "edgeprof.report", "schema_version": ' + b"9" * 10_000 + b"}"
    return _write(folder, "huge_number.json", data), "not a readable JSON report"


def report_hostile_strings(folder: Path) -> Made:
    """Accepted: names with HTML and a lone surrogate render escaped, the file is written."""
    def edit(data: dict[str, object]) -> None:
        layer = data["analysis"]["layers"][0]  # type: ignore[index]
        layer["name"] = "<script>document.title='x'</script>\ud800"

    path = _report_file(folder, "hostile.json", edit)
    return path, "&lt;script&gt;document.title="


def _report_text(folder: Path, name: str, edit: Callable[[dict[str, object]], None]) -> str:
    """Like _report_file, but json.dumps may write NaN/Infinity (allow_nan) as they are."""
    data = _report_dict()
    edit(data)
    return _write(folder, name, json.dumps(data, allow_nan=True).encode())


def report_negative_infinity(folder: Path) -> Made:
    def edit(data: dict[str, object]) -> None:
        data["analysis"]["totals"]["params"] = float("-inf")  # type: ignore[index]

    path = _report_text(folder, "minus_inf.json", edit)
    return path, "analysis.totals.params: not a finite number, -Infinity"


def report_float_beyond_range(folder: Path) -> Made:
    """1e999 is valid JSON; Python would read it as inf."""
    def edit(data: dict[str, object]) -> None:
        data["analysis"]["layers"][1]["flops"] = 12345  # type: ignore[index]

    path = _report_text(folder, "1e999.json", edit)
    text = Path(path).read_text().replace('"flops": 12345', '"flops": 1e999')
    return _write(folder, "1e999.json", text.encode()), "a number beyond a float's range"


def report_long_integer(folder: Path) -> Made:
    path = _report_text(folder, "long_int.json",
                        lambda d: d["model"].update(file_bytes=10**50))  # type: ignore[attr-defined]
    return path, "model.file_bytes: an integer of more than 30 digits"


def report_deep_environment(folder: Path) -> Made:
    def edit(data: dict[str, object]) -> None:
        nested: dict[str, object] = {}
        for _ in range(200):
            nested = {"k": nested}
        data["environment"]["extra"] = nested  # type: ignore[index]

    path = _report_text(folder, "deep_env.json", edit)
    return path, "nested deeper than 64 levels"


def report_long_op_type(folder: Path) -> Made:
    def edit(data: dict[str, object]) -> None:
        data["analysis"]["layers"][0]["op_type"] = "Conv" * 1_250_000  # type: ignore[index]

    path = _report_text(folder, "long_op.json", edit)
    return path, "analysis.layers[0].op_type: text of 5000000 characters"


def report_socket(folder: Path) -> Made:
    """A UNIX socket named like a report: opening it fails, reading it must not be tried."""
    import socket

    path = folder / "sock.json"
    with socket.socket(socket.AF_UNIX) as server:
        server.bind(str(path))
    return str(path), "is not a regular file"


def report_fifo(folder: Path) -> Made:
    """A named pipe named like a report: opening it must not block."""
    os.mkfifo(folder / "pipe.json")
    return str(folder / "pipe.json"), "is not a regular file"


def report_link_to_urandom(folder: Path) -> Made:
    """An endless device behind a link: refused before any read."""
    os.symlink("/dev/urandom", folder / "random.json")
    return str(folder / "random.json"), "is not a regular file"


def report_link_to_fifo(folder: Path) -> Made:
    """A link named like a report, to a named pipe beside it: the link is followed, the pipe
    refused without blocking."""
    os.mkfifo(folder / "pipe")
    os.symlink(folder / "pipe", folder / "linked.json")
    return str(folder / "linked.json"), "is not a regular file (a pipe)"


def report_link_to_zero(folder: Path) -> Made:
    """An endless device behind a relative link chain: refused before any read."""
    os.symlink("/dev/zero", folder / "zero")
    os.symlink("zero", folder / "chain.json")
    return str(folder / "chain.json"), "is not a regular file (a device)"


def report_directory(folder: Path) -> Made:
    (folder / "folder.json").mkdir()
    return str(folder / "folder.json"), "is not a regular file"


CASES: dict[str, Case] = {
    "onnx_empty": Case(onnx_empty, ERROR),
    "onnx_random_bytes": Case(onnx_random_bytes, ERROR),
    **{f"onnx_truncated_{p}": Case(onnx_truncated(p), ERROR) for p in (1, 25, 50, 75, 99)},
    "onnx_fifo": Case(onnx_fifo, ERROR),
    "onnx_deep_nesting": Case(onnx_deep_nesting, ERROR),
    "onnx_cycle": Case(onnx_cycle, ERROR),
    "onnx_cycle_in_subgraph": Case(onnx_cycle_in_subgraph, ERROR),
    "onnx_dangling_input": Case(onnx_dangling_input, ERROR),
    "onnx_duplicate_output_tensor": Case(onnx_duplicate_output_tensor, ERROR),
    "onnx_duplicate_input": Case(onnx_duplicate_input, ERROR),
    "onnx_duplicate_initializer": Case(onnx_duplicate_initializer, ERROR),
    "onnx_custom_domain_not_imported": Case(onnx_custom_domain_not_imported, ERROR),
    "onnx_negative_initializer_dim": Case(onnx_negative_initializer_dim, ERROR),
    "onnx_short_raw_data": Case(onnx_short_raw_data, ERROR),
    "onnx_overflowing_dims": Case(onnx_overflowing_dims, ERROR),
    "onnx_expand_to_overflow": Case(onnx_expand_to_overflow, ERROR),
    "external_parent_folder": Case(external_parent_folder, ERROR),
    "external_absolute_path": Case(external_absolute_path, ERROR),
    "external_symlink_out": Case(external_symlink_out, ERROR),
    "external_symlink_to_device": Case(external_symlink_to_device, ERROR),
    "external_too_short": Case(external_too_short, ERROR),
    "external_huge_offset": Case(external_huge_offset, ERROR),
    "external_negative_length": Case(external_negative_length, ERROR),
    "external_nul_in_location": Case(external_nul_in_location, ERROR),
    "onnx_unknown_op": Case(onnx_unknown_op, ACCEPTED),
    "onnx_custom_domain": Case(onnx_custom_domain, ACCEPTED),
    "onnx_huge_declared_input": Case(onnx_huge_declared_input, ACCEPTED),
    "onnx_range_over_huge_dim": Case(onnx_range_over_huge_dim, ACCEPTED),
    "onnx_tile_to_huge": Case(onnx_tile_to_huge, ACCEPTED),
    "onnx_long_shape_vector": Case(onnx_long_shape_vector, ACCEPTED),
    "onnx_range_of_constant_length": Case(onnx_range_of_constant_length, ACCEPTED),
    "onnx_negative_input_dims": Case(onnx_negative_input_dims, ACCEPTED),
    "onnx_stripped_weights": Case(onnx_stripped_weights, ACCEPTED),
    "onnx_duplicate_node_names": Case(onnx_duplicate_node_names, ACCEPTED),
    "ir_external_entity": Case(ir_external_entity, ERROR),
    "ir_parameter_entity": Case(ir_parameter_entity, ERROR),
    "ir_billion_laughs": Case(ir_billion_laughs, ERROR),
    "ir_short_bin": Case(ir_short_bin, ERROR),
    "ir_missing_bin": Case(ir_missing_bin, ERROR),
    "ir_garbage": Case(ir_garbage, ERROR),
    "ir_unknown_op": Case(ir_unknown_op, ERROR),
    "ir_fifo": Case(ir_fifo, ERROR),
    "ir_overflowing_dims": Case(ir_overflowing_dims, ERROR),
    "ir_huge_parameter": Case(ir_huge_parameter, ACCEPTED),
    "onnx_shape_inference_crash": Case(onnx_shape_inference_crash, ERROR),
    "ir_deep_rt_info": Case(ir_deep_rt_info, ERROR),
    "ir_bin_fifo": Case(ir_bin_fifo, ERROR),
    "ir_bin_symlink_out": Case(ir_bin_symlink_out, ERROR),
    "tflite_garbage": Case(tflite_garbage, ERROR),
    "tflite_empty": Case(tflite_empty, ERROR),
    "tflite_truncated": Case(tflite_truncated, ERROR),
    "tflite_identifier_then_garbage": Case(tflite_identifier_then_garbage, ERROR),
    "report_newer_schema": Case(report_newer_schema, ERROR, "report"),
    "report_other_schema": Case(report_other_schema, ERROR, "report"),
    "report_wrong_type": Case(report_wrong_type, ERROR, "report"),
    "report_wrong_nested_type": Case(report_wrong_nested_type, ERROR, "report"),
    "report_not_json": Case(report_not_json, ERROR, "report"),
    "report_empty": Case(report_empty, ERROR, "report"),
    "report_array": Case(report_array, ERROR, "report"),
    "report_bad_utf8": Case(report_bad_utf8, ERROR, "report"),
    "report_deep_nesting": Case(report_deep_nesting, ERROR, "report"),
    "report_huge_number": Case(report_huge_number, ERROR, "report"),
    "report_hostile_strings": Case(report_hostile_strings, ACCEPTED, "report"),
    "report_negative_infinity": Case(report_negative_infinity, ERROR, "report"),
    "report_float_beyond_range": Case(report_float_beyond_range, ERROR, "report"),
    "report_long_integer": Case(report_long_integer, ERROR, "report"),
    "report_deep_environment": Case(report_deep_environment, ERROR, "report"),
    "report_long_op_type": Case(report_long_op_type, ERROR, "report"),
    "report_socket": Case(report_socket, ERROR, "report"),
    "report_fifo": Case(report_fifo, ERROR, "report"),
    "report_link_to_urandom": Case(report_link_to_urandom, ERROR, "report"),
    "report_directory": Case(report_directory, ERROR, "report"),
    "report_link_to_fifo": Case(report_link_to_fifo, ERROR, "report"),
    "report_link_to_zero": Case(report_link_to_zero, ERROR, "report"),
}
