"""Whole-process start-up: ``edgeprof-cli analyze MODEL -o out.json`` against onnx-tool's
``model_profile`` on the same model, each in a fresh Python process.

Both tools run alternately (ours, onnx-tool, ours, ...) N times per model after one untimed
warm-up each, so file-cache and machine noise fall on both alike. Wall time runs from spawning
the process to reaping it; peak RSS is the child's own ``ru_maxrss`` from ``os.wait4``.
Medians are printed per model with the ratios ours / onnx-tool (below 1.0: we are faster or
smaller). Our peak RSS is the largest of the CLI process and its sandboxed child: the CLI
does not wait for a child that has answered to finish exiting, so this benchmark makes
itself the subreaper of what its commands leave (PR_SET_CHILD_SUBREAPER) and reaps those
with ``wait4`` too. Dynamic input dimensions: onnx-tool is given the shapes our analysis
resolved, so both count the same graph.

Bytecode: an installed package has its ``.pyc`` files written at install time, as onnx-tool's
have; a source checkout may not (``PYTHONDONTWRITEBYTECODE``, or modules first imported in the
sandboxed child, which may not write them), and would then compile on every run. The benchmark
compiles ``profiler/`` first, so both sides start as installed.

onnx-tool is a peer for this benchmark only, not a dependency of the project; install it into
the same virtual environment first:

    .venv/bin/pip install onnx-tool
    .venv/bin/python benchmarks/startup_analyze.py [--runs 7] [MODEL ...]

Without MODEL: the sample MobileNetV2 and two corpus models (scripts/fetch_corpus.py), those
that are present.
"""

from __future__ import annotations

import argparse
import compileall
import ctypes
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
CORPUS = Path.home() / ".cache" / "edgeprof" / "corpus"
DEFAULT_MODELS = (REPO_ROOT / "resources" / "sample" / "mobilenetv2.onnx",
                  CORPUS / "nudenet-320n" / "320n.onnx",
                  CORPUS / "minilm-l3" / "paraphrase-MiniLM-L3-v2.onnx")
PR_SET_CHILD_SUBREAPER = 36
ONNX_TOOL_SCRIPT = """
import json, sys
import numpy, onnx_tool
shapes = {name: numpy.zeros(spec["shape"], dtype=spec["dtype"])
          for name, spec in json.loads(sys.argv[2]).items()}
onnx_tool.model_profile(sys.argv[1], dynamic_shapes=shapes or None, save_profile=sys.argv[3])
"""


@dataclass
class Sample:
    wall_s: float
    peak_rss_bytes: int


def measure(command: list[str]) -> Sample:
    """Run ``command`` to completion; its wall time (until the command exits) and the peak
    RSS of the largest of its processes (those it left behind included: see above)."""
    with tempfile.TemporaryFile() as errors:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=errors,
                                   cwd=REPO_ROOT)
        _, status, usage = os.wait4(process.pid, 0)
        wall_s = time.perf_counter() - started
        peak_kib = max([usage.ru_maxrss, *_reap_left_behind()])  # ru_maxrss: KiB on Linux
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            errors.seek(0)
            tail = errors.read().decode("utf-8", "replace")[-1500:]
            raise SystemExit(f"{' '.join(command)} exited {process.returncode}:\n{tail}")
    return Sample(wall_s, peak_kib * 1024)


def _become_subreaper() -> None:
    """Descendants whose parent exits are re-parented to us (Linux), so ``wait4`` sees them."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise SystemExit("this benchmark needs Linux's PR_SET_CHILD_SUBREAPER")


def _reap_left_behind() -> list[int]:
    """The ru_maxrss (KiB) of every descendant the command left, once each has exited."""
    peaks = []
    while True:
        try:
            _, _, usage = os.wait4(-1, 0)
        except ChildProcessError:
            return peaks
        peaks.append(usage.ru_maxrss)


def ours(model: Path, folder: str) -> list[str]:
    return [sys.executable, "-m", "profiler", "analyze", str(model), "-o",
            os.path.join(folder, "ours.json")]


def resolved_inputs(folder: str) -> str:
    """The input shapes our analysis used, as onnx-tool's dynamic_shapes (name -> shape)."""
    report = json.loads(Path(folder, "ours.json").read_text(encoding="utf-8"))
    inputs = report["model"]["inputs"]
    return json.dumps({i["name"]: {"shape": i["shape"], "dtype": i["dtype"]} for i in inputs
                       if all(isinstance(d, int) for d in i["shape"])})


def onnx_tool(model: Path, folder: str, shapes: str) -> list[str]:
    return [sys.executable, "-c", ONNX_TOOL_SCRIPT, str(model), shapes,
            os.path.join(folder, "onnx_tool.csv")]


def compare(model: Path, runs: int) -> tuple[list[Sample], list[Sample]]:
    with tempfile.TemporaryDirectory() as folder:
        measure(ours(model, folder))  # warm-up, and the shapes for onnx-tool
        peer = onnx_tool(model, folder, resolved_inputs(folder))
        measure(peer)
        pairs = [(measure(ours(model, folder)), measure(peer)) for _ in range(runs)]
    return [a for a, _ in pairs], [b for _, b in pairs]


def _medians(samples: list[Sample]) -> tuple[float, float]:
    return (statistics.median(s.wall_s for s in samples),
            statistics.median(s.peak_rss_bytes for s in samples) / 2**20)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("models", nargs="*", type=Path)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    models = args.models or [m for m in DEFAULT_MODELS if m.is_file()]
    compileall.compile_dir(REPO_ROOT / "profiler", quiet=1)  # as an install would: see above
    _become_subreaper()
    print(f"{os.cpu_count()} CPUs, {args.runs} alternated runs per tool and model; medians")
    print(f"{'model':<34} {'MiB':>6} {'ours s':>7} {'peer s':>7} {'time x':>7} "
          f"{'ours MiB':>9} {'peer MiB':>9} {'RSS x':>6}")
    for model in models:
        ours_s, ours_mib = _medians((result := compare(model, args.runs))[0])
        peer_s, peer_mib = _medians(result[1])
        print(f"{model.name[:34]:<34} {model.stat().st_size / 2**20:>6.1f} {ours_s:>7.3f} "
              f"{peer_s:>7.3f} {ours_s / peer_s:>7.2f} {ours_mib:>9.1f} {peer_mib:>9.1f} "
              f"{ours_mib / peer_mib:>6.2f}")
    print("time x, RSS x: ours / onnx-tool (below 1.00: ours is faster / smaller)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
