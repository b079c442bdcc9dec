"""How fast, and in how much memory, ``edgeprof-cli analyze`` handles big models.

Generates into a temporary folder:
  (a) a deep model of >= 10,000 nodes (MatMul/Add/Relu blocks, weights in external data);
  (b) a model with >= 1 GiB of external weights (a few large MatMuls).
External data files are sparse (``os.truncate``): generating them is instant and takes no
disk space; the loader never reads weight bytes, so their content does not matter.

Each model is analysed by ``python -m profiler analyze MODEL -o report.json`` in a child
process: wall time and the child's peak resident set (from ``os.wait4``) are reported against
the targets. The in-process load + analyse time of model (a) is timed as well.

Linux carries a process's peak RSS across fork + exec, so a child started from a parent that
imported numpy/onnx would report at least the parent's size. This script's own process
therefore imports only the standard library; generating the models and the in-process timing
run in helper children (``--generate``, ``--in-process``).

Usage: python benchmarks/analyze_speed.py [--blocks N] [--big-gib G] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from onnx import NodeProto, TensorProto

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEEP_HIDDEN = 64
DEEP_NODES_PER_BLOCK = 3
BIG_SIDE = 8192
TARGET_DEEP_WALL_S = 3.0
TARGET_BIG_RSS_MB = 300.0
F32_BYTES = 4


class _ExternalFile:
    """Lays out float32 tensors one after another in one (sparse) external file."""

    def __init__(self, location: str) -> None:
        self.location = location
        self.offset = 0

    def tensor(self, name: str, shape: tuple[int, ...]) -> TensorProto:
        from onnx import TensorProto

        length = F32_BYTES
        for dim in shape:
            length *= dim
        tensor = TensorProto(name=name, data_type=TensorProto.FLOAT, dims=list(shape))
        tensor.data_location = TensorProto.EXTERNAL
        for key, value in (("location", self.location), ("offset", str(self.offset)),
                           ("length", str(length))):
            tensor.external_data.add(key=key, value=value)
        self.offset += length
        return tensor

    def write(self, folder: str) -> None:
        path = os.path.join(folder, self.location)
        with open(path, "wb"):
            pass
        os.truncate(path, self.offset)


def _save(nodes: list[NodeProto], initializers: list[TensorProto], width: int,
          path: str, name: str) -> None:
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        nodes, name,
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", width])],
        [helper.make_tensor_value_info(nodes[-1].output[0], TensorProto.FLOAT,
                                       ["batch", width])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)],
                              producer_name="edgeprof benchmark")
    model.ir_version = 8
    onnx.save_model(model, path)


def build_deep(folder: str, blocks: int) -> tuple[str, int, int]:
    """x -> [MatMul(W_i) -> Add(b_i) -> Relu] x blocks. Returns (path, nodes, external bytes)."""
    from onnx import helper

    data = _ExternalFile("deep.onnx.data")
    nodes, initializers, current = [], [], "x"
    for index in range(blocks):
        initializers += [data.tensor(f"W{index}", (DEEP_HIDDEN, DEEP_HIDDEN)),
                         data.tensor(f"b{index}", (DEEP_HIDDEN,))]
        nodes += [
            helper.make_node("MatMul", [current, f"W{index}"], [f"mm{index}"], name=f"mm{index}"),
            helper.make_node("Add", [f"mm{index}", f"b{index}"], [f"add{index}"],
                             name=f"add{index}"),
            helper.make_node("Relu", [f"add{index}"], [f"relu{index}"], name=f"relu{index}"),
        ]
        current = f"relu{index}"
    path = os.path.join(folder, "deep.onnx")
    _save(nodes, initializers, DEEP_HIDDEN, path, "deep")
    data.write(folder)
    return path, len(nodes), data.offset


def build_big(folder: str, gib: float) -> tuple[str, int, int]:
    """x -> MatMul(W_i: BIG_SIDE x BIG_SIDE) x n, enough of them for ``gib`` GiB of weights."""
    from onnx import helper

    data = _ExternalFile("big.onnx.data")
    per_weight = BIG_SIDE * BIG_SIDE * F32_BYTES
    count = max(1, -(-int(gib * (1 << 30)) // per_weight))
    nodes, initializers, current = [], [], "x"
    for index in range(count):
        initializers.append(data.tensor(f"W{index}", (BIG_SIDE, BIG_SIDE)))
        nodes.append(helper.make_node("MatMul", [current, f"W{index}"], [f"y{index}"],
                                      name=f"mm{index}"))
        current = f"y{index}"
    path = os.path.join(folder, "big.onnx")
    _save(nodes, initializers, BIG_SIDE, path, "big")
    data.write(folder)
    return path, len(nodes), data.offset


@dataclass
class ChildRun:
    wall_s: float
    peak_rss_bytes: int
    exit_code: int
    stderr: str


def run_child(args: list[str]) -> ChildRun:
    """Run ``args``; wall time and this child's own peak RSS (wait4 rusage, Linux kB)."""
    with tempfile.TemporaryFile() as errors:
        start = time.perf_counter()
        process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=errors, cwd=REPO_ROOT)
        _, status, usage = os.wait4(process.pid, 0)
        wall_s = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        errors.seek(0)
        stderr = errors.read().decode("utf-8", "replace")
    return ChildRun(wall_s, usage.ru_maxrss * 1024, process.returncode, stderr)


def analyze_in_child(model_path: str, folder: str) -> ChildRun:
    report = os.path.join(folder, os.path.basename(model_path) + ".report.json")
    run = run_child([sys.executable, "-m", "profiler", "analyze", model_path, "-o", report])
    if run.exit_code != 0:
        raise SystemExit(f"analyze {model_path} failed: {run.stderr.strip()}")
    return run


def analyze_in_process(model_path: str) -> tuple[float, float, int]:
    """(load seconds, analyse seconds, node count), imports already done."""
    from profiler.analysis.analyze import analyze
    from profiler.model import load_model

    start = time.perf_counter()
    model = load_model(model_path)
    loaded = time.perf_counter()
    analysis = analyze(model)
    return loaded - start, time.perf_counter() - loaded, analysis.totals.node_count


def _helper(*args: str) -> list[str]:
    """Run this script with ``args`` in a child and return its stdout split in words."""
    result = subprocess.run([sys.executable, os.path.abspath(__file__), *args], check=True,
                            capture_output=True, text=True, cwd=REPO_ROOT)
    return result.stdout.split()


def _verdict(value: float, target: float) -> str:
    return f"{'ok' if value < target else 'MISSED'} (target < {target:g})"


def report(rows: list[tuple[str, int, int, ChildRun]], startup: ChildRun,
           in_process: tuple[float, float, int]) -> None:
    print(f"{'model':<28}{'nodes':>8}{'external bytes':>16}{'wall s':>9}{'peak RSS MB':>13}")
    print(f"{'(python -m profiler --help)':<28}{'-':>8}{'-':>16}{startup.wall_s:>9.2f}"
          f"{startup.peak_rss_bytes / 1e6:>13.1f}")
    for name, nodes, external, run in rows:
        print(f"{name:<28}{nodes:>8}{external:>16,}{run.wall_s:>9.2f}"
              f"{run.peak_rss_bytes / 1e6:>13.1f}")
    load_s, analyze_s, nodes = in_process
    print(f"\nin-process, deep model ({nodes} nodes): load {load_s:.2f} s + analyse "
          f"{analyze_s:.2f} s = {load_s + analyze_s:.2f} s")
    deep, big = rows[0][3], rows[1][3]
    deep_verdict = _verdict(deep.wall_s, TARGET_DEEP_WALL_S)
    print(f"target: deep model wall {deep.wall_s:.2f} s: {deep_verdict}")
    big_mb = big.peak_rss_bytes / 1e6
    print(f"target: big model peak RSS {big_mb:.0f} MB: {_verdict(big_mb, TARGET_BIG_RSS_MB)}")


def _run(args: argparse.Namespace, folder: str) -> None:
    words = _helper("--generate", folder, "--blocks", str(args.blocks),
                    "--big-gib", str(args.big_gib))
    deep_path, deep_nodes, deep_bytes, big_path, big_nodes, big_bytes = words
    startup = run_child([sys.executable, "-m", "profiler", "--help"])
    rows = [
        ("deep (MatMul/Add/Relu)", int(deep_nodes), int(deep_bytes),
         analyze_in_child(deep_path, folder)),
        (f"big ({args.big_gib:g} GiB external)", int(big_nodes), int(big_bytes),
         analyze_in_child(big_path, folder)),
    ]
    load_s, analyze_s, nodes = _helper("--in-process", deep_path)
    report(rows, startup, (float(load_s), float(analyze_s), int(nodes)))


def _helper_mode(args: argparse.Namespace) -> bool:
    """The child-side work: generate the models, or time load + analyse in this process."""
    if args.generate:
        print(*build_deep(args.generate, args.blocks), *build_big(args.generate, args.big_gib))
        return True
    if args.in_process:
        print(*analyze_in_process(args.in_process))
        return True
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--blocks", type=int, default=3334,
                        help="MatMul/Add/Relu blocks of the deep model (3334: 10,002 nodes)")
    parser.add_argument("--big-gib", type=float, default=1.0,
                        help="GiB of external weights in the big model (default 1)")
    parser.add_argument("--keep", metavar="DIR", help="generate into DIR and keep the files")
    parser.add_argument("--generate", metavar="DIR", help=argparse.SUPPRESS)
    parser.add_argument("--in-process", metavar="MODEL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if _helper_mode(args):
        return 0
    with tempfile.TemporaryDirectory(prefix="edgeprof-bench-") as temporary:
        folder = args.keep or temporary
        os.makedirs(folder, exist_ok=True)
        _run(args, folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
