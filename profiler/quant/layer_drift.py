"""Per-layer drift of an ONNX variant: its intermediate tensors against the reference's.

Tensors are matched by name. ONNX Runtime's quantizers and float16 converter keep the names of
the tensors the original nodes produce; in a QDQ model the value the next layer really reads is
``<name>_DequantizeLinear_Output`` (the tensor after quantize + dequantize), so that one is
compared when it exists. Pre-processing (BatchNormalization folded into Conv, a Relu merged into
its quantized Conv) removes some tensors: those are simply not compared.

Memory stays bounded: a batch of ``batch_size`` tensors is exposed as extra graph outputs of a
copy of both models, the samples run through both, per-tensor running sums are kept, the
copies are freed, and the next batch follows. Results name the FIRST layer in the reference's
execution order whose SQNR falls below the threshold, and the layers with the largest drift.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterator, Sequence

import numpy as np
import onnx

from profiler.model.graph import unique_name
from profiler.quant.drift import TensorStats
from profiler.records.record import record
from profiler.records.variants import LayerDrift, LayerDriftResult
from profiler.runtime.backend import NON_COMPUTE_OPS

DEFAULT_BATCH_TENSORS = 32
DEFAULT_LAYER_SAMPLES = 8
TOP_DRIFT_LAYERS = 10
DEQUANTIZED_SUFFIX = "_DequantizeLinear_Output"
QDQ_OPS = frozenset({"QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear"})
CONSTANT_OPS = frozenset({"Constant", "ConstantOfShape"})
ABSORBING_OPS = frozenset({"Conv", "ConvTranspose", "MatMul", "Gemm"})
ABSORBED_OPS = frozenset({"BatchNormalization", "Relu", "Clip", "Add", "Sum"})
"""Pre-processing folds these into the Conv/MatMul before them (BatchNormalization, biases);
the quantizer drops a Relu/Clip that its activation range already clips."""
LARGE_MODEL_BYTES = 1_500_000_000
"""Above this a model copy is saved with external data (protobuf's 2 GiB limit)."""

Runner = Callable[[dict[str, np.ndarray]], dict[str, np.ndarray]]
"""Inputs -> outputs by name, for one opened model."""
RunnerFactory = Callable[[str], Runner]
"""Opens the model file at the path (a session on the device) and returns its runner."""
Progress = Callable[[float, str], None]


@record(frozen=True)
class TensorPair:
    reference: str
    variant: str
    node: str
    op_type: str
    exclude_node: str
    order: int


def profiler_node_names(graph: onnx.GraphProto) -> list[str]:
    """Node names as the profiler gives them (unnamed nodes: '<op_type>_<index>')."""
    used: set[str] = set()
    return [unique_name(node.name or f"{node.op_type}_{index}", used)
            for index, node in enumerate(graph.node)]


def fixed_tensors(graph: onnx.GraphProto) -> set[str]:
    """Initializers and everything computed from constants alone (ConstantOfShape weights)."""
    fixed = {tensor.name for tensor in graph.initializer}
    for node in graph.node:
        inputs = [name for name in node.input if name]
        if node.op_type in CONSTANT_OPS or (inputs and all(name in fixed for name in inputs)):
            fixed.update(name for name in node.output if name)
    return fixed


def _producers(graph: onnx.GraphProto) -> dict[str, onnx.NodeProto]:
    return {output: node for node in graph.node for output in node.output if output}


def tensor_pairs(reference: onnx.ModelProto, variant: onnx.ModelProto) -> list[TensorPair]:
    """Reference tensors produced per inference by compute nodes, each with the variant tensor
    holding the same value, in the reference's execution order."""
    ref_graph, var_graph = reference.graph, variant.graph
    fixed = fixed_tensors(ref_graph)
    inputs = {value.name for value in ref_graph.input}
    var_producers = _producers(var_graph)
    names = profiler_node_names(ref_graph)
    pairs = []
    for order, (node, name) in enumerate(zip(ref_graph.node, names, strict=True)):
        if node.op_type in NON_COMPUTE_OPS or node.op_type in CONSTANT_OPS:
            continue
        for tensor in node.output:
            if not tensor or tensor in fixed or tensor in inputs:
                continue
            target = _variant_tensor(tensor, var_producers)
            if target is not None:
                exclude = _exclude_name(tensor, node, var_producers)
                pairs.append(TensorPair(tensor, target, name, node.op_type, exclude, order))
    return pairs


def _variant_tensor(tensor: str, producers: dict[str, onnx.NodeProto]) -> str | None:
    dequantized = tensor + DEQUANTIZED_SUFFIX
    if dequantized in producers:
        return dequantized
    producer = producers.get(tensor)
    if producer is None or producer.op_type in ("QuantizeLinear", "DynamicQuantizeLinear"):
        return None
    return tensor


def _exclude_name(tensor: str, reference_node: onnx.NodeProto,
                  producers: dict[str, onnx.NodeProto]) -> str:
    """The variant node that computes the tensor in float, when it is the same layer (same op
    type, or a Conv/MatMul/Gemm that absorbed the reference's BatchNormalization or
    activation); else the reference node's own name ('' when it has none)."""
    producer = producers.get(tensor)
    if producer is not None and producer.name and (
            producer.op_type == reference_node.op_type
            or (producer.op_type in ABSORBING_OPS and reference_node.op_type in ABSORBED_OPS)):
        return str(producer.name)
    return str(reference_node.name)


def batches(items: Sequence[TensorPair], size: int) -> Iterator[Sequence[TensorPair]]:
    for start in range(0, len(items), max(1, size)):
        yield items[start:start + max(1, size)]


def with_outputs(model: onnx.ModelProto, names: Sequence[str], kept: int) -> None:
    """Make ``names`` the extra outputs after the model's ``kept`` own outputs (in place)."""
    del model.graph.output[kept:]
    model.graph.output.extend(onnx.ValueInfoProto(name=name) for name in names)


def save_copy(model: onnx.ModelProto, path: str) -> None:
    large = model.ByteSize() > LARGE_MODEL_BYTES
    onnx.save_model(model, path, save_as_external_data=large,
                    location=os.path.basename(path) + ".data" if large else None)


class LayerComparison:
    """Compares the tensors of ``pairs`` batch by batch over ``samples``."""

    def __init__(self, reference: onnx.ModelProto, variant: onnx.ModelProto,
                 runner_factory: RunnerFactory, batch_size: int = DEFAULT_BATCH_TENSORS,
                 progress: Progress | None = None) -> None:
        self.reference, self.variant = reference, variant
        self.kept = (len(reference.graph.output), len(variant.graph.output))
        self.runner_factory = runner_factory
        self.batch_size = batch_size
        self.progress = progress
        self.skipped: list[str] = []

    def run(self, pairs: Sequence[TensorPair], samples: Sequence[dict[str, np.ndarray]],
            ) -> dict[TensorPair, TensorStats]:
        stats: dict[TensorPair, TensorStats] = {}
        with tempfile.TemporaryDirectory(prefix="edgeprof-layers-") as folder:
            for done, batch in enumerate(batches(pairs, self.batch_size)):
                if self.progress is not None:
                    fraction = done * self.batch_size / max(len(pairs), 1)
                    self.progress(fraction, f"layers {done * self.batch_size}/{len(pairs)}")
                stats.update(self._batch(batch, samples, folder))
        return stats

    def _batch(self, batch: Sequence[TensorPair], samples: Sequence[dict[str, np.ndarray]],
               folder: str) -> dict[TensorPair, TensorStats]:
        ref_path, var_path = os.path.join(folder, "ref.onnx"), os.path.join(folder, "var.onnx")
        with_outputs(self.reference, [p.reference for p in batch], self.kept[0])
        with_outputs(self.variant, [p.variant for p in batch], self.kept[1])
        save_copy(self.reference, ref_path)
        save_copy(self.variant, var_path)
        run_reference, run_variant = self.runner_factory(ref_path), self.runner_factory(var_path)
        stats = {pair: TensorStats() for pair in batch}
        for sample in samples:
            ref_out, var_out = run_reference(sample), run_variant(sample)
            for pair in batch:
                self._add(stats, pair, ref_out.get(pair.reference), var_out.get(pair.variant))
        del run_reference, run_variant
        return {pair: s for pair, s in stats.items() if s.samples}

    def _add(self, stats: dict[TensorPair, TensorStats], pair: TensorPair,
             ref: np.ndarray | None, var: np.ndarray | None) -> None:
        if ref is None or var is None or ref.dtype.kind != "f" or var.dtype.kind != "f":
            return
        if ref.shape != var.shape:
            self.skipped.append(pair.reference)
            return
        stats[pair].add(ref, var)


def summarize(stats: dict[TensorPair, TensorStats], threshold_db: float,
              top: int = TOP_DRIFT_LAYERS) -> tuple[LayerDrift | None, list[LayerDrift]]:
    """(first layer below the threshold in execution order, the ``top`` worst layers)."""
    layers = [LayerDrift(node=p.node, sqnr_db=s.sqnr_db, cosine=s.cosine, tensor=p.reference,
                         op_type=p.op_type, exclude_node=p.exclude_node, order=p.order,
                         nonfinite_values=s.nonfinite)
              for p, s in stats.items()]
    in_order = sorted(layers, key=lambda layer: (layer.order, layer.tensor))
    first = next((layer for layer in in_order if layer.sqnr_db < threshold_db), None)
    worst = sorted(layers, key=lambda layer: (layer.sqnr_db, layer.order))[:top]
    return first, worst


def compare_layers(reference_path: str, variant_path: str,
                   samples: Sequence[dict[str, np.ndarray]], runner_factory: RunnerFactory,
                   threshold_db: float, batch_size: int = DEFAULT_BATCH_TENSORS,
                   progress: Progress | None = None) -> LayerDriftResult:
    """The whole per-layer comparison (both models are read once, with their weights)."""
    reference, variant = onnx.load(reference_path), onnx.load(variant_path)
    pairs = tensor_pairs(reference, variant)
    comparison = LayerComparison(reference, variant, runner_factory, batch_size, progress)
    stats = comparison.run(pairs, samples)
    first, worst = summarize(stats, threshold_db)
    notes = []
    if comparison.skipped:
        notes.append(f"{len(comparison.skipped)} tensor(s) changed shape in the variant and were "
                     f"not compared: {', '.join(comparison.skipped[:5])}")
    if not pairs:
        notes.append("no intermediate tensor of the reference has a counterpart in the variant")
    return LayerDriftResult(threshold_db=threshold_db, samples=len(samples),
                            tensors_compared=len(stats), first_below=first, worst=worst,
                            notes=notes)
