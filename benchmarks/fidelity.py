"""Fidelity: do our latency figures agree with the runtimes' own tools, measured in the same run?

For a CNN (ResNet-50 from the onnx zoo) and a transformer-style model built here with
onnx.helper (4 layers, hidden 256, 4 heads, sequence 128: MatMul, Softmax,
LayerNormalization, Add, Erf-based GELU), this script measures:

1. ``benchmark_app`` (latency hint, sync API, same threads, f32 inference precision, -t 20)
   against ``edgeprof-cli profile --device ov:CPU --precision f32 --threads T --no-layers``
   (default adaptive stop): median vs median;
2. a bare ``onnxruntime.InferenceSession.run`` loop (same threads, same inputs, same number
   of timed iterations, after a short warm-up) against ``--device ort:cpu``;
3. with ``--long``: how long our adaptive stop ran, and whether its median lies within 2 % of
   a 60-second benchmark_app run's median (plus when our running median first got there).

It prints ours/theirs ratios (target 0.95-1.05). Latency on a shared machine is noisy: run it
when the machine is quiet, and read single-digit-percent differences with care.

    .venv/bin/python benchmarks/fidelity.py [--threads 1] [--seconds 20] [--repeat 1] [--long]
"""

from __future__ import annotations

import argparse
import bisect
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
ZOO_DIR = Path(os.path.dirname(onnx.__file__)) / "backend" / "test" / "data" / "light"
BENCHMARK_APP = Path(sys.executable).parent / "benchmark_app"
MEDIAN_RE = re.compile(r"Median:\s+([0-9.]+)\s*ms")
COUNT_RE = re.compile(r"Count:\s+([0-9]+)\s*iterations")
WITHIN = 0.02
"""--long: our median counts as settled within 2 % of the 60-second reference."""
BARE_WARMUP_RUNS = 5

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

    def op(self, op_type: str, inputs: list[str], **attributes: object) -> str:
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


# the measurements ----------------------------------------------------------------------------

@dataclass
class Ours:
    median_ms: float
    count: int
    seconds: float
    stop_reason: str
    samples_ms: list[float]


def benchmark_app_median(model: Path, threads: int, seconds: int, workdir: Path) -> float:
    config = workdir / "benchmark_app_config.json"
    config.write_text(json.dumps({"CPU": {"INFERENCE_NUM_THREADS": str(threads)}}))
    # benchmark_app refuses -nthreads together with -hint; the thread count goes in the config
    command = [str(BENCHMARK_APP), "-m", str(model), "-d", "CPU", "-hint", "latency",
               "-api", "sync", "-infer_precision", "f32", "-load_config", str(config),
               "-t", str(seconds)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    match = MEDIAN_RE.search(result.stdout)
    if result.returncode != 0 or match is None:
        raise SystemExit(f"benchmark_app failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return float(match.group(1))


def ours(model: Path, device: str, threads: int, workdir: Path) -> Ours:
    out = workdir / f"ours_{device.replace(':', '_')}.json"
    command = [sys.executable, "-m", "profiler", "profile", str(model), "--device", device,
               "--threads", str(threads), "--no-layers", "-o", str(out)]
    if device.startswith("ov:"):
        command += ["--precision", "f32"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT, check=False)
    if result.returncode != 0:
        raise SystemExit(f"edgeprof-cli profile failed ({result.returncode}):\n{result.stderr}")
    latency = json.loads(out.read_text())["runs"][0]["latency"]
    return Ours(latency["p50"], latency["count"], latency["total_seconds"],
                latency["stop_reason"], latency["samples_ms"])


def bare_onnxruntime_median(model: Path, threads: int, iterations: int) -> float:
    import onnxruntime as ort

    from profiler.runtime.inputs import make_inputs

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(model), options, providers=["CPUExecutionProvider"])
    specs = [(i.name, _numpy_dtype(i.type), [int(d) for d in i.shape])
             for i in session.get_inputs()]
    feed = make_inputs(specs, None, seed=0)  # the same arrays our worker generates
    for _ in range(BARE_WARMUP_RUNS):
        session.run(None, feed)
    samples = []
    for _ in range(iterations):
        start = time.perf_counter_ns()
        session.run(None, feed)
        samples.append((time.perf_counter_ns() - start) / 1e6)
    return statistics.median(samples)


def _numpy_dtype(ort_type: str) -> str:
    return {"tensor(float)": "float32", "tensor(int64)": "int64", "tensor(int32)": "int32",
            "tensor(float16)": "float16", "tensor(bool)": "bool"}.get(ort_type, "float32")


def settle_seconds(samples_ms: list[float], reference_ms: float) -> float | None:
    """Seconds of timed loop after which the running median stayed within WITHIN of the
    reference to the end (None if it never did)."""
    ordered: list[float] = []
    elapsed, settled_at = 0.0, None
    for sample in samples_ms:
        elapsed += sample / 1000.0
        bisect.insort(ordered, sample)
        middle = len(ordered) // 2
        median = (ordered[middle] if len(ordered) % 2
                  else (ordered[middle - 1] + ordered[middle]) / 2)
        inside = abs(median - reference_ms) <= WITHIN * reference_ms
        settled_at = (settled_at or elapsed) if inside else None
    return settled_at


# the run -------------------------------------------------------------------------------------

def _say(name: str, what: str) -> None:
    print(f"[{name}] {what} ...", file=sys.stderr, flush=True)


def measure_openvino(name: str, model: Path, args: argparse.Namespace,
                     workdir: Path) -> tuple[Ours, float]:
    _say(name, f"benchmark_app -t {args.seconds}")
    theirs = benchmark_app_median(model, args.threads, args.seconds, workdir)
    _say(name, "edgeprof-cli profile --device ov:CPU")
    return ours(model, "ov:CPU", args.threads, workdir), theirs


def measure_onnxruntime(name: str, model: Path, args: argparse.Namespace,
                        workdir: Path) -> tuple[Ours, float]:
    _say(name, "edgeprof-cli profile --device ort:cpu")
    our = ours(model, "ort:cpu", args.threads, workdir)
    _say(name, f"bare InferenceSession.run x {our.count}")
    return our, bare_onnxruntime_median(model, args.threads, our.count)


def measure_model(name: str, model: Path, args: argparse.Namespace, workdir: Path) -> list[str]:
    """Each pair is measured back to back, ``--repeat`` times (alternating with the other
    pair, so slow drifts of a shared machine hit both sides); the row shows the median of the
    repeats' medians."""
    ov_pairs, ort_pairs = [], []
    for _ in range(args.repeat):
        ov_pairs.append(measure_openvino(name, model, args, workdir))
        ort_pairs.append(measure_onnxruntime(name, model, args, workdir))
    rows = [_row(name, "ov:CPU vs benchmark_app", ov_pairs),
            _row(name, "ort:cpu vs InferenceSession.run", ort_pairs)]
    if args.long:
        rows.append(_long_row(name, model, args, workdir, ov_pairs[-1][0]))
    return rows


def _row(name: str, pair: str, pairs: list[tuple[Ours, float]]) -> str:
    our_ms = statistics.median(our.median_ms for our, _ in pairs)
    theirs_ms = statistics.median(theirs for _, theirs in pairs)
    ratios = " ".join(f"{our.median_ms / theirs:.3f}" for our, theirs in pairs)
    last = pairs[-1][0]
    return (f"{name:<12} {pair:<32} {our_ms:>9.3f} {theirs_ms:>10.3f} "
            f"{our_ms / theirs_ms:>7.3f}   {last.count:>6} in {last.seconds:5.1f} s "
            f"({last.stop_reason}); each repeat: {ratios}")


def _long_row(name: str, model: Path, args: argparse.Namespace, workdir: Path,
              our: Ours) -> str:
    print(f"[{name}] benchmark_app -t 60 (reference) ...", file=sys.stderr, flush=True)
    reference = benchmark_app_median(model, args.threads, 60, workdir)
    settled = settle_seconds(our.samples_ms, reference)
    within = abs(our.median_ms - reference) <= WITHIN * reference
    settled_text = f"{settled:.1f} s" if settled is not None else "never"
    return (f"{name:<12} adaptive stop vs 60 s benchmark_app: ours {our.median_ms:.3f} ms "
            f"after {our.seconds:.1f} s ({our.count} samples, {our.stop_reason}), reference "
            f"{reference:.3f} ms, ratio {our.median_ms / reference:.3f}, within 2 %: "
            f"{'yes' if within else 'no'}; running median within 2 % from {settled_text}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1,
                        help="inference threads on both sides (default 1: steadier on a "
                             "shared machine)")
    parser.add_argument("--seconds", type=int, default=20, help="benchmark_app -t (default 20)")
    parser.add_argument("--long", action="store_true",
                        help="also the adaptive-stop check against a 60 s benchmark_app run")
    parser.add_argument("--repeat", type=int, default=1,
                        help="measure each pair this many times, alternating (default 1)")
    parser.add_argument("--models", default="resnet50,transformer",
                        help="comma-separated: resnet50, transformer")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="edgeprof-fidelity-") as temporary:
        workdir = Path(temporary)
        models = {"resnet50": ZOO_DIR / "light_resnet50.onnx",
                  "transformer": transformer_model(workdir / "transformer_4x256.onnx")}
        rows = [row for name in args.models.split(",")
                for row in measure_model(name, models[name], args, workdir)]
    print(f"threads {args.threads}, precision f32, benchmark_app -t {args.seconds}, "
          f"repeats {args.repeat}")
    print(f"{'model':<12} {'pair':<32} {'ours ms':>9} {'theirs ms':>10} {'ratio':>7}   "
          "our samples (last repeat)")
    print("\n".join(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
