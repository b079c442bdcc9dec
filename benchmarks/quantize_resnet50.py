"""Quantization on a real CNN topology: the onnx zoo ResNet-50, end to end through the CLI.

Runs ``edgeprof-cli quantize light_resnet50.onnx --variants int8-static,ov-int8
--device ort:cpu --device ov:CPU`` (printing the exact command) and reports, from the report
JSON it wrote:
- file sizes: each INT8 variant against the FP32 size of its own format family with the
  weights stored (the zoo file generates its weights with ConstantOfShape, 80 KB: for ONNX
  variants the FP32 model as ONNX Runtime's basic optimisation writes it, for ov-* variants the
  ov-fp32 IR); the target is at most 0.3x;
- drift (SQNR, cosine, max abs error, top-1 agreement), which must be finite;
- the latency ratio INT8 p50 / FP32 p50 per device, both measured in the same run.

The zoo file's weights are all one constant (0.02), so every channel computes the same value
and the softmax output is uniform: output drift there says little. ``--random-weights`` also
runs the same topology with He-initialised random weights (written from the FP32 model with
its weights stored; the classifier scaled down so the softmax is not saturated), where output
drift means something. Inputs are random: drift is indicative only either way.

    .venv/bin/python benchmarks/quantize_resnet50.py [--duration 8] [--random-weights]
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from profiler.records.report import Report, load_report  # noqa: E402

ZOO_MODEL = Path(onnx.__file__).parent / "backend" / "test" / "data" / "light" / \
    "light_resnet50.onnx"
INT8_VARIANTS = ("int8-static", "ov-int8")
MAX_SIZE_RATIO = 0.3
CLASSIFIER_SCALE = 0.002
"""Without batch statistics the random network's logits are huge and the softmax one-hot (all
variants then agree exactly); scaled down, the top class gets about 0.45."""


def cli_main(argv: list[str]) -> int:
    """``edgeprof-cli`` itself; the quantize command is added if the CLI does not list it."""
    import argparse as _argparse

    from profiler import cli, cli_quant

    parser = cli.build_parser()
    for action in parser._actions:
        if isinstance(action, _argparse._SubParsersAction) and "quantize" not in action.choices:
            cli_quant.add_commands(action)
    original = cli.build_parser
    cli.build_parser = lambda: parser
    try:
        return cli.main(argv)
    finally:
        cli.build_parser = original


def random_weights_model(folder: Path) -> str:
    """The zoo topology with its weights stored, then replaced by He-initialised values."""
    import onnxruntime

    folded = folder / "resnet50_fp32_folded.onnx"
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.optimized_model_filepath = str(folded)
    options.log_severity_level = 3
    onnxruntime.InferenceSession(str(ZOO_MODEL), options, providers=["CPUExecutionProvider"])
    model = onnx.load(str(folded))
    used = {name for node in model.graph.node for name in node.input}
    kept = [value for value in model.graph.input if value.name in used]
    del model.graph.input[:]
    model.graph.input.extend(kept)  # the folded shapes are no inputs any more
    rng = np.random.default_rng(0)
    classifier = {node.input[1] for node in model.graph.node if node.op_type == "Gemm"}
    for index, tensor in enumerate(model.graph.initializer):
        array = numpy_helper.to_array(tensor)
        if array.dtype != np.float32 or array.ndim == 0:
            continue
        fan_in = int(np.prod(array.shape[1:])) if array.ndim > 1 else 1
        scale = math.sqrt(2.0 / fan_in) if array.ndim > 1 else 0.01
        scale *= CLASSIFIER_SCALE if tensor.name in classifier else 1.0
        values = (rng.standard_normal(array.shape) * scale).astype(np.float32)
        model.graph.initializer[index].CopyFrom(numpy_helper.from_array(values, tensor.name))
    path = folder / "resnet50_random_weights.onnx"
    onnx.save(model, str(path))
    return str(path)


def _p50(report: Report, variant: str, device: str) -> float | None:
    for run in report.runs:
        if run.variant == variant and run.device == device and run.latency and \
                run.latency.count:
            return run.latency.p50
    return None


def summarize(report: Report) -> list[str]:
    """Printable lines; raises SystemExit(1) when a target is missed."""
    lines, failures = [], []
    for variant in report.variants:
        if variant.id not in INT8_VARIANTS:
            continue
        if variant.error:
            failures.append(f"{variant.id}: {variant.error}")
            continue
        ratio = variant.size_ratio or math.inf
        lines.append(f"{variant.id}: {variant.file_bytes:,} bytes = {ratio:.3f}x "
                     f"{variant.size_reference_bytes:,} bytes ({variant.size_reference})")
        if ratio > MAX_SIZE_RATIO:
            failures.append(f"{variant.id} is {ratio:.3f}x the FP32 size (> {MAX_SIZE_RATIO})")
        for device, drift in variant.drift.items():
            numbers = (drift.sqnr_db, drift.cosine, drift.max_abs_error)
            lines.append(f"  {device}: SQNR {drift.sqnr_db:.2f} dB, cosine {drift.cosine:.6f}, "
                         f"max abs err {drift.max_abs_error:.3g}, top-1 "
                         f"{drift.top1_agreement}, {drift.samples} samples"
                         + (" (indicative only)" if drift.indicative_only else ""))
            if not all(math.isfinite(n) for n in numbers):
                failures.append(f"{variant.id} on {device}: drift not finite")
            int8, fp32 = _p50(report, variant.id, device), _p50(report, "fp32", device)
            if int8 and fp32:
                lines.append(f"  {device}: p50 INT8 {int8:.2f} ms / FP32 {fp32:.2f} ms = "
                             f"{int8 / fp32:.2f}")
        if not variant.drift:
            failures.append(f"{variant.id}: no drift measured ({variant.drift_errors})")
    if failures:
        print("\n".join([*lines, "FAILED:", *failures]))
        raise SystemExit(1)
    return lines


def run(model: str, output: Path, duration_s: float) -> list[str]:
    argv = ["quantize", model, "--variants", ",".join(INT8_VARIANTS), "--device", "ort:cpu",
            "--device", "ov:CPU", "--duration", f"{duration_s:g}", "-o", str(output)]
    print("$ edgeprof-cli " + " ".join(argv), flush=True)
    code = cli_main(argv)
    if code != 0:
        raise SystemExit(f"edgeprof-cli exited with {code}")
    return summarize(load_report(str(output)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=8.0, help="seconds of timed runs")
    parser.add_argument("--random-weights", action="store_true",
                        help="also run the topology with random He-initialised weights")
    parser.add_argument("--keep", metavar="DIR", help="write the report JSON files here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="edgeprof-bench-") as temp:
        folder = Path(args.keep or temp)
        folder.mkdir(parents=True, exist_ok=True)
        models = [("zoo ResNet-50 (constant weights)", str(ZOO_MODEL))]
        if args.random_weights:
            models.append(("ResNet-50, random weights", random_weights_model(folder)))
        for title, model in models:
            stem = os.path.splitext(os.path.basename(model))[0]
            lines = run(model, folder / f"{stem}.quantize.json", args.duration)
            print(f"\n== {title}\n" + "\n".join(lines) + "\n", flush=True)


if __name__ == "__main__":
    main()
