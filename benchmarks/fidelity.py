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

4. for ov:CPU, an in-process breakdown (benchmarks/fidelity_loop.py): the native
   ``req.latency`` benchmark_app reports, the same call clocked from Python, and our
   ``OpenVINOBackend.infer``, interleaved call by call; and whether the input values matter.

``--model PATH`` (repeatable) measures any model file; ``--shape NAME=DIMS`` (repeatable, as
in edgeprof-cli) sets input sizes, given to benchmark_app as ``-shape`` so both run the same
static shapes. Both sides always get the SAME input values: by default the ones edgeprof-cli
makes (ranges read from the graph: token ids inside the vocabulary, masks all ones), written to
.npy files for benchmark_app's ``-i`` and an .npz for our ``--input``; ``--values benchmark_app``
gives both benchmark_app's own random fill instead (uint8's range for every input).

Why the sides can differ, and how the script makes them alike: benchmark_app reports
``InferRequest.latency``, the native call alone, while we clock the whole Python call; our
backend used to wrap and set every input tensor on each call (~0.1 ms, a few percent of a
fast model), and now binds them once as benchmark_app does; what remains is the Python call
itself (tens of microseconds), shown by the breakdown rows. Random integer inputs can leave
the vocabulary (token_type_ids in [0, 256) for a 2-row table): each side must get the same.

It prints ours/theirs ratios (target 0.97-1.03); "min ratio" compares the fastest samples,
which a busy machine disturbs least. Latency on a shared machine is noisy: run it when the
machine is quiet, alternate with ``--repeat``, and read single-digit-percent differences with
care.

    .venv/bin/python benchmarks/fidelity.py [--threads 1] [--seconds 20] [--repeat 1] [--long]
        [--model PATH [--shape NAME=DIMS ...]] [--values ours|benchmark_app]
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
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnx

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))
from fidelity_loop import (  # noqa: E402
    benchmark_app_fill,
    breakdown_rows,
    loop_breakdown,
    our_values,
)
from fidelity_models import transformer_model  # noqa: E402  (next to this script)

ZOO_DIR = Path(os.path.dirname(onnx.__file__)) / "backend" / "test" / "data" / "light"
BENCHMARK_APP = Path(sys.executable).parent / "benchmark_app"
"""The wheel's console script; where it is not installed as a script (a ``--target`` install),
the same tool runs from its entry point, ``openvino.tools.benchmark.main:main``."""


def benchmark_app_command() -> list[str]:
    if BENCHMARK_APP.exists():
        return [str(BENCHMARK_APP)]
    return [sys.executable, "-c",
            "import sys; from openvino.tools.benchmark.main import main; sys.exit(main())"]
MEDIAN_RE = re.compile(r"Median:\s+([0-9.]+)\s*ms")
MIN_RE = re.compile(r"Min:\s+([0-9.]+)\s*ms")
COUNT_RE = re.compile(r"Count:\s+([0-9]+)\s*iterations")
WITHIN = 0.02
"""--long: our median counts as settled within 2 % of the 60-second reference."""
BARE_WARMUP_RUNS = 5
BREAKDOWN_ROUNDS = 200
PLAIN_NAME = re.compile(r"^[\w.]+$")
"""Input names benchmark_app's ``-i NAME:FILE`` mapping can parse."""

# the measurements ----------------------------------------------------------------------------

@dataclass
class Subject:
    """One model as both sides run it: the same shapes, the same input values (files)."""

    name: str
    path: Path
    shapes: dict[str, list[int]]
    arrays: dict[str, np.ndarray]
    specs: list[tuple[str, str, list[int]]]
    npz: Path
    npy: dict[str, Path] = field(default_factory=dict)
    dynamic: bool = False
    """Some input has dynamic dims: benchmark_app gets -shape so both compile static shapes."""


def make_subject(name: str, path: Path, shapes: dict[str, list[int]], values: str,
                 workdir: Path) -> Subject:
    specs, arrays = our_values(path, shapes)
    if values == "benchmark_app":
        arrays = benchmark_app_fill(specs)
    folder = workdir / name
    folder.mkdir(parents=True, exist_ok=True)
    npz = folder / "inputs.npz"
    np.savez(npz, **arrays)  # type: ignore[arg-type]  # names as keywords
    npy = {}
    for index, (input_name, _, _) in enumerate(specs):
        npy[input_name] = folder / f"input_{index}.npy"
        np.save(npy[input_name], arrays[input_name])
    concrete = {input_name: list(dims) for input_name, _, dims in specs}
    return Subject(name, path, concrete, arrays, [(n, d, list(s)) for n, d, s in specs], npz,
                   npy, _has_dynamic_dims(path))


def _has_dynamic_dims(path: Path) -> bool:
    model = onnx.load(str(path), load_external_data=False) if path.suffix == ".onnx" else None
    if model is None:
        return True  # IR / other formats: give benchmark_app the shapes anyway
    initializers = {tensor.name for tensor in model.graph.initializer}
    return any(not dim.HasField("dim_value")
               for value in model.graph.input if value.name not in initializers
               for dim in value.type.tensor_type.shape.dim)


@dataclass
class Ours:
    median_ms: float
    min_ms: float
    count: int
    seconds: float
    stop_reason: str
    samples_ms: list[float]


@dataclass
class Theirs:
    median_ms: float
    min_ms: float


def _benchmark_app_inputs(subject: Subject) -> list[str]:
    """-shape (dynamic models), -ip f32 and -i (our values, one .npy per input)."""
    arguments = []
    if all(dtype == "float32" for _, dtype, _ in subject.specs):
        # benchmark_app turns image-like inputs into u8 (plus a convert in the graph) unless told
        arguments += ["-ip", "f32"]
    if subject.dynamic:
        arguments += ["-shape", ",".join(f"{name}[{','.join(str(d) for d in dims)}]"
                                         for name, dims in subject.shapes.items())]
    if len(subject.npy) == 1:
        return [*arguments, "-i", str(next(iter(subject.npy.values())))]
    unusable = [name for name in subject.npy if not PLAIN_NAME.match(name)]
    if unusable:
        raise SystemExit(f"{subject.path}: benchmark_app's -i cannot name the inputs "
                         f"{', '.join(unusable)}; measure a model whose input names are plain")
    mapping = ",".join(f"{name}:{path}" for name, path in subject.npy.items())
    return [*arguments, "-i", mapping]


def benchmark_app_median(subject: Subject, threads: int, seconds: int,
                         workdir: Path) -> Theirs:
    config = workdir / "benchmark_app_config.json"
    config.write_text(json.dumps({"CPU": {"INFERENCE_NUM_THREADS": str(threads)}}))
    # benchmark_app refuses -nthreads together with -hint; the thread count goes in the config
    command = [*benchmark_app_command(), "-m", str(subject.path), "-d", "CPU", "-hint", "latency",
               "-api", "sync", "-infer_precision", "f32", "-load_config", str(config),
               "-t", str(seconds), *_benchmark_app_inputs(subject)]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    median, minimum = MEDIAN_RE.search(result.stdout), MIN_RE.search(result.stdout)
    if result.returncode != 0 or median is None or minimum is None:
        raise SystemExit(f"benchmark_app failed:\n{result.stdout[-2000:]}{result.stderr[-2000:]}")
    return Theirs(float(median.group(1)), float(minimum.group(1)))


def ours(subject: Subject, device: str, threads: int, workdir: Path,
         duration_s: int | None = None) -> Ours:
    """``duration_s``: time the loop for that long, like benchmark_app's -t (default: our
    adaptive stop)."""
    out = workdir / f"ours_{device.replace(':', '_')}.json"
    command = [sys.executable, "-m", "profiler", "profile", str(subject.path), "--device", device,
               "--threads", str(threads), "--no-layers", "--no-history",
               "--input", str(subject.npz), "-o", str(out)]
    if duration_s:
        command += ["--duration", str(duration_s)]
    for name, dims in subject.shapes.items():
        command += ["--shape", f"{name}={'x'.join(str(d) for d in dims) or 'scalar'}"]
    if device.startswith("ov:"):
        command += ["--precision", "f32"]
    result = subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT, check=False)
    if result.returncode != 0:
        raise SystemExit(f"edgeprof-cli profile failed ({result.returncode}):\n{result.stderr}")
    latency = json.loads(out.read_text())["runs"][0]["latency"]
    return Ours(latency["p50"], latency["min"], latency["count"], latency["total_seconds"],
                latency["stop_reason"], latency["samples_ms"])


def bare_onnxruntime_median(subject: Subject, threads: int, iterations: int) -> Theirs:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    session = ort.InferenceSession(str(subject.path), options,
                                   providers=["CPUExecutionProvider"])
    feed = dict(subject.arrays)  # the same arrays our worker reads from the .npz
    for _ in range(BARE_WARMUP_RUNS):
        session.run(None, feed)
    samples = []
    for _ in range(iterations):
        start = time.perf_counter_ns()
        session.run(None, feed)
        samples.append((time.perf_counter_ns() - start) / 1e6)
    return Theirs(statistics.median(samples), min(samples))


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

Pair = tuple[Ours, Theirs]


def _say(name: str, what: str) -> None:
    print(f"[{name}] {what} ...", file=sys.stderr, flush=True)


def measure_openvino(subject: Subject, args: argparse.Namespace, workdir: Path,
                     ours_first: bool) -> Pair:
    def theirs() -> Theirs:
        _say(subject.name, f"benchmark_app -t {args.seconds}")
        return benchmark_app_median(subject, args.threads, args.seconds, workdir)

    def our() -> Ours:
        _say(subject.name, "edgeprof-cli profile --device ov:CPU")
        return ours(subject, "ov:CPU", args.threads, workdir,
                    args.seconds if args.same_duration else None)

    if ours_first:
        first = our()
        return first, theirs()
    other = theirs()
    return our(), other


def measure_onnxruntime(subject: Subject, args: argparse.Namespace, workdir: Path) -> Pair:
    _say(subject.name, "edgeprof-cli profile --device ort:cpu")
    our = ours(subject, "ort:cpu", args.threads, workdir,
               args.seconds if args.same_duration else None)
    _say(subject.name, f"bare InferenceSession.run x {our.count}")
    return our, bare_onnxruntime_median(subject, args.threads, our.count)


def measure_model(subject: Subject, args: argparse.Namespace, workdir: Path) -> list[str]:
    """Each pair is measured back to back, ``--repeat`` times (alternating with the other
    pair, and which side goes first, so slow drifts of a shared machine hit both sides); the
    row shows the median of the repeats' medians."""
    ov_pairs: list[Pair] = []
    ort_pairs: list[Pair] = []
    for repeat in range(args.repeat):
        ov_pairs.append(measure_openvino(subject, args, workdir, ours_first=repeat % 2 == 1))
        ort_pairs.append(measure_onnxruntime(subject, args, workdir))
    rows = [_row(subject.name, "ov:CPU vs benchmark_app", ov_pairs),
            _row(subject.name, "ort:cpu vs InferenceSession.run", ort_pairs)] if ov_pairs else []
    if args.rounds > 0:
        _say(subject.name, f"in-process breakdown, {args.rounds} interleaved rounds")
        loop = loop_breakdown(subject.path, subject.shapes, subject.arrays, subject.specs,
                              args.threads, args.rounds)
        rows += breakdown_rows(subject.name, loop)
    if args.long:
        rows.append(_long_row(subject, args, workdir, ov_pairs[-1][0]))
    return rows


def _row(name: str, pair: str, pairs: list[Pair]) -> str:
    our_ms = statistics.median(our.median_ms for our, _ in pairs)
    theirs_ms = statistics.median(theirs.median_ms for _, theirs in pairs)
    min_ratio = (statistics.median(our.min_ms for our, _ in pairs)
                 / statistics.median(theirs.min_ms for _, theirs in pairs))
    ratios = " ".join(f"{our.median_ms / theirs.median_ms:.3f}" for our, theirs in pairs)
    last = pairs[-1][0]
    return (f"{name:<16} {pair:<32} {our_ms:>9.3f} {theirs_ms:>10.3f} "
            f"{our_ms / theirs_ms:>7.3f} {min_ratio:>9.3f}   {last.count:>6} in "
            f"{last.seconds:5.1f} s ({last.stop_reason}); each repeat: {ratios}")


def _long_row(subject: Subject, args: argparse.Namespace, workdir: Path, our: Ours) -> str:
    name = subject.name
    print(f"[{name}] benchmark_app -t 60 (reference) ...", file=sys.stderr, flush=True)
    reference = benchmark_app_median(subject, args.threads, 60, workdir).median_ms
    settled = settle_seconds(our.samples_ms, reference)
    within = abs(our.median_ms - reference) <= WITHIN * reference
    settled_text = f"{settled:.1f} s" if settled is not None else "never"
    return (f"{name:<16} adaptive stop vs 60 s benchmark_app: ours {our.median_ms:.3f} ms "
            f"after {our.seconds:.1f} s ({our.count} samples, {our.stop_reason}), reference "
            f"{reference:.3f} ms, ratio {our.median_ms / reference:.3f}, within 2 %: "
            f"{'yes' if within else 'no'}; running median within 2 % from {settled_text}")


def parse_shapes(texts: list[str]) -> dict[str, list[int]]:
    """``NAME=DIMS`` as edgeprof-cli takes it: 1x128, or ``scalar`` for rank 0."""
    shapes: dict[str, list[int]] = {}
    for text in texts:
        name, _, dims = text.partition("=")
        try:
            shapes[name] = [] if dims == "scalar" else [int(d) for d in dims.split("x")]
        except ValueError:
            raise SystemExit(f"--shape {text}: give NAME=DIMS, e.g. input_ids=1x128") from None
    return shapes


def subjects(args: argparse.Namespace, workdir: Path) -> list[Subject]:
    builtin = {"resnet50": lambda: ZOO_DIR / "light_resnet50.onnx",
               "transformer": lambda: transformer_model(workdir / "transformer_4x256.onnx")}
    names = args.models.split(",") if args.models else ([] if args.model else list(builtin))
    unknown = [name for name in names if name not in builtin]
    missing = [path for path in args.model if not Path(path).is_file()]
    if unknown or missing:
        raise SystemExit(f"unknown --models {unknown} (choose from {', '.join(builtin)})"
                         if unknown else f"{missing[0]}: no such model file")
    shapes = parse_shapes(args.shape)
    chosen = [(name, builtin[name]()) for name in names]
    chosen += [(Path(path).parent.name or Path(path).stem, Path(path)) for path in args.model]
    return [make_subject(name, path, {k: v for k, v in shapes.items()}, args.values, workdir)
            for name, path in chosen]


def parse_arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=1,
                        help="inference threads on both sides (default 1: steadier on a "
                             "shared machine)")
    parser.add_argument("--seconds", type=int, default=20, help="benchmark_app -t (default 20)")
    parser.add_argument("--same-duration", action="store_true",
                        help="time our loop for --seconds too (like-for-like with benchmark_app's "
                             "-t) instead of our adaptive stop")
    parser.add_argument("--long", action="store_true",
                        help="also the adaptive-stop check against a 60 s benchmark_app run")
    parser.add_argument("--repeat", type=int, default=1,
                        help="measure each pair this many times, alternating (default 1; 0: only "
                             "the in-process breakdown)")
    parser.add_argument("--models", default="",
                        help="comma-separated built-ins: resnet50, transformer (default: both, "
                             "unless --model is given)")
    parser.add_argument("--model", action="append", default=[], metavar="PATH",
                        help="a model file to measure (repeatable)")
    parser.add_argument("--shape", action="append", default=[], metavar="NAME=DIMS",
                        help="input size for --model, e.g. input_ids=1x128 (repeatable)")
    parser.add_argument("--values", choices=("ours", "benchmark_app"), default="ours",
                        help="input values both sides get: edgeprof-cli's (graph-derived "
                             "ranges) or benchmark_app's random fill (default ours)")
    parser.add_argument("--rounds", type=int, default=BREAKDOWN_ROUNDS,
                        help="interleaved rounds of the in-process ov:CPU breakdown (0: skip)")
    return parser.parse_args()


def main() -> int:
    args = parse_arguments()
    with tempfile.TemporaryDirectory(prefix="edgeprof-fidelity-") as temporary:
        workdir = Path(temporary)
        rows = [row for subject in subjects(args, workdir)
                for row in measure_model(subject, args, workdir)]
    print(f"threads {args.threads}, precision f32, benchmark_app -t {args.seconds}, "
          f"repeats {args.repeat}, input values: {args.values} (the same on both sides)")
    print(f"{'model':<16} {'pair':<32} {'ours ms':>9} {'theirs ms':>10} {'ratio':>7} "
          f"{'min ratio':>9}   our samples (last repeat)")
    print("\n".join(rows))
    print(EXPLANATION)
    return 0


EXPLANATION = """\
How to read it: benchmark_app reports InferRequest.latency (the native infer, clocked inside
OpenVINO); we clock the whole Python call, so ours carries the call's own overhead (the
breakdown's "+N us"; bare req.infer() pays it too). Both sides get the same shapes, values and
f32 precision; the values row says how much benchmark_app's own random fill would change the
time. "compile vs compile" compares two compiles of the same model in one process: on a
shared machine where each one's thread lands (CPU pinning) moves it by a few percent either
way, which bounds what any single ratio here can show."""


if __name__ == "__main__":
    sys.exit(main())
