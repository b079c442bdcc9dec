"""Hand-made runs for GUI tests: the app does not profile yet, so reports with runs are built
here (statistics computed in the test, by nearest rank, so every number is known)."""

from __future__ import annotations

import random

from profiler.records.analysis import AnalysisTotals, LayerCost, OpTypeCost, StaticAnalysis
from profiler.records.model import ModelInfo, TensorSpec
from profiler.records.report import Report
from profiler.records.runs import LayerProfile, MemoryStats, Run, RunError, RuntimeLayer
from tests.helpers import latency


def fused_profile(analysis: StaticAnalysis, ms_per_gflop: float, seed: int) -> LayerProfile:
    """Each Conv starts a runtime layer that absorbs the following non-Conv layers (fused),
    plus an inserted reorder that covers no model node."""
    rng = random.Random(seed)
    layers = [RuntimeLayer("input_reorder", "Reorder", "ref_any", "FP32", "CPU", 0.5, [],
                           "inserted")]
    for layer in analysis.layers:
        if layer.op_type == "Conv" or not layers[-1].model_nodes:
            time_ms = 0.01 + layer.flops / 1e9 * ms_per_gflop * (0.6 + rng.random())
            layers.append(RuntimeLayer(f"rt_{layer.name}", layer.op_type, "jit_avx2_FP32",
                                       "FP32", "CPU", time_ms, [layer.name], "compute"))
        else:
            layers[-1].model_nodes.append(layer.name)
            layers[-1].kind = "fused"
    total = sum(layer.time_ms for layer in layers)
    return LayerProfile(layers, total, 0.95, 50, [], ["per-layer pass: 50 iterations"])


def make_runs(analysis: StaticAnalysis) -> list[Run]:
    """ov:CPU and ort:cpu with samples and layer profiles, and a GPU run that failed."""
    rng = random.Random(7)
    cpu = [6.0 + rng.gauss(0, 0.2) + (2.0 if i % 50 == 0 else 0) for i in range(300)]
    ort = [8.0 + rng.gauss(0, 0.3) for _ in range(200)]
    memory = MemoryStats("linux-vmhwm", 80_000_000, 210_000_000, 190_000_000, 14_000_000)
    return [
        Run("ov:CPU", "openvino", "Test CPU", "fp32", precision="fp32", load_ms=30.0,
            compile_ms=120.0, first_inference_ms=9.0, latency=latency(cpu),
            throughput_fps=160.0, memory=memory, layer_profile=fused_profile(analysis, 2.5, 1)),
        Run("ort:cpu", "onnxruntime", "CPUExecutionProvider", "fp32", precision="fp32",
            load_ms=40.0, compile_ms=90.0, first_inference_ms=11.0, latency=latency(ort),
            throughput_fps=120.0, memory=memory, layer_profile=fused_profile(analysis, 3.5, 2)),
        Run("ov:GPU.0", "openvino", "Test GPU", "fp32", load_ms=30.0,
            error=RunError("compile", "GPU plugin: device lost")),
    ]


def synthetic_report(layer_count: int) -> Report:
    """A report with ``layer_count`` layers of a few op types and known costs (layer i has
    i MACs, so sorting by MACs is checkable)."""
    ops = ("Conv", "Relu", "Add", "MatMul")
    layers = [LayerCost(f"layer_{i:05d}", ops[i % 4], outputs=[f"t{i}"],
                        inputs=[f"t{i - 1}" if i else "input"], output_shapes=[[1, i % 7 + 1]],
                        output_dtypes=["float32"], macs=i, flops=2 * i, params=i % 11,
                        weight_bytes=4 * (i % 11), activation_bytes=4 * (i % 7 + 1),
                        memory_access_bytes=8 * (i % 7 + 1))
              for i in range(layer_count)]
    by_op = [OpTypeCost(op, sum(1 for x in layers if x.op_type == op),
                        sum(x.macs for x in layers if x.op_type == op)) for op in ops]
    analysis = StaticAnalysis(
        totals=AnalysisTotals(macs=sum(x.macs for x in layers),
                              flops=sum(x.flops for x in layers), layer_count=layer_count,
                              node_count=layer_count),
        by_op_type=by_op, layers=layers)
    model = ModelInfo(path="/models/synthetic.onnx", name="synthetic.onnx", format="onnx",
                      inputs=[TensorSpec("input", "float32", [1, 1])])
    return Report(model=model, analysis=analysis)
