"""What measuring through SSH costs: a remote run's median against the same device run
locally, same model, same run settings, and the time to start a remote device.

The "board" is the loopback rig of the tests (tests/core/sshd_rig.py: a real sshd on
127.0.0.1 with throwaway keys, a second venv running this checkout), so the board and this
machine are the same CPU and any difference is the transport's. Local and remote runs
alternate (the order flips every round) so load on the machine hits both sides.

Printed: per-round medians, the median of each side, their ratio (target: within ±3 % for a
~5 ms model), and the start-up costs: one ssh connection (``ssh board true``), the board's
information (``remote-info``), copying the model into an empty cache, the cache hit of the
next run, and, for comparison, one command over a shared connection (OpenSSH
ControlMaster), which profiler.remote.ssh does not use (see its docstring).

Usage: python benchmarks/remote_overhead.py [--rounds N] [--iterations N] [--model PATH]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)
SAMPLE = os.path.join(REPO_ROOT, "resources", "sample", "mobilenetv2.onnx")
RATIO_BUDGET = 0.03


def _matmul_stack(folder: str, batch: int) -> str:
    """x(batch, 512) through five 512x512 MatMuls: batch 320 takes ~5 ms on one x86 core."""
    from tests.core.model_builders import matmul_chain, save

    return save(matmul_chain(batch, (512,) * 6), os.path.join(folder, "matmul_stack.onnx"))


def _timed(action: Callable[[], object]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def _median_s(action: Callable[[], object], repeats: int) -> float:
    return statistics.median(_timed(action) for _ in range(repeats))


def _request(model: str, iterations: int, threads: int) -> Any:
    from profiler.bench.protocol import StopRule
    from profiler.bench.requests import MeasureRequest, MeasureSettings

    return MeasureRequest(model_path=model, device="ort:cpu", settings=MeasureSettings(
        stop=StopRule(iterations=iterations), layers=False, threads=threads))


def _p50_ms(run: Any) -> float:
    if run.error is not None or run.latency is None:
        raise SystemExit(f"{run.device}: {run.error.message if run.error else 'no latency'}")
    return float(run.latency.p50)


def start_up(rig: Any, target: Any, model: str, repeats: int) -> dict[str, float]:
    """Seconds: one connection, remote-info, a cold copy, a cache hit, a shared connection."""
    from profiler.remote import ssh
    from profiler.remote.cache import ensure_model
    from profiler.remote.devices import board_info

    shutil.rmtree(rig.board_cache, ignore_errors=True)
    figures = {"connect (ssh true)": _median_s(lambda: ssh.run(target, ["true"]), repeats),
               "remote-info": _median_s(lambda: board_info(target), 3),
               "copy model (empty cache)": _timed(lambda: ensure_model(target, model)),
               "cache hit (lookup)": _median_s(lambda: ensure_model(target, model), repeats)}
    figures["connect, shared (ControlMaster)"] = _shared_connect_s(target, repeats)
    return figures


def _shared_connect_s(target: Any, repeats: int) -> float:
    from profiler.remote import ssh

    folder = tempfile.mkdtemp(prefix="edgeprof-mux-")
    options = ["-o", "ControlMaster=auto", "-o", f"ControlPath={folder}/%C",
               "-o", "ControlPersist=60"]
    argv = [ssh.SSH_PROGRAM, *ssh.ssh_options(target), *options, "--", target.destination]
    try:
        subprocess.run([*argv, "true"], check=True, capture_output=True)  # the master
        return _median_s(lambda: subprocess.run([*argv, "true"], check=True,
                                                capture_output=True), repeats)
    finally:
        subprocess.run([*argv[:-2], "-O", "exit", "--", target.destination],
                       capture_output=True, check=False)
        shutil.rmtree(folder, ignore_errors=True)


def rounds(target: Any, model: str, count: int, iterations: int, threads: int
           ) -> tuple[list[float], list[float], list[float], list[float]]:
    """(local p50s, remote p50s, local wall s, remote wall s), alternating order."""
    from profiler.bench.supervisor import run_job
    from profiler.remote.runner import measure_on_target

    local: list[float] = []
    remote: list[float] = []
    local_wall: list[float] = []
    remote_wall: list[float] = []
    request = _request(model, iterations, threads)
    for index in range(count):
        sides = [("local", lambda: run_job(request)),
                 ("remote", lambda: measure_on_target(request, target))]
        for side, action in sides if index % 2 == 0 else reversed(sides):
            start = time.perf_counter()
            run = action()
            wall = time.perf_counter() - start
            (local if side == "local" else remote).append(_p50_ms(run))
            (local_wall if side == "local" else remote_wall).append(wall)
        print(f"round {index + 1}: local {local[-1]:.3f} ms, remote {remote[-1]:.3f} ms",
              flush=True)
    return local, remote, local_wall, remote_wall


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=6)
    parser.add_argument("--iterations", type=int, default=300)
    parser.add_argument("--model", help=f"model file (default: a MatMul stack of ~5 ms; "
                        f"{os.path.relpath(SAMPLE, REPO_ROOT)} takes ~12 ms on ort:cpu here)")
    parser.add_argument("--batch", type=int, default=320, help="rows of the MatMul stack")
    parser.add_argument("--threads", type=int, default=1,
                        help="inference threads (one: less sensitive to a busy machine)")
    args = parser.parse_args()
    from tests.core.sshd_rig import SshdRig, missing_tools

    if missing_tools():
        raise SystemExit(missing_tools())
    with tempfile.TemporaryDirectory(prefix="edgeprof-rig-") as folder:
        os.environ["XDG_CONFIG_HOME"] = os.path.join(folder, "config")
        args.model = args.model or _matmul_stack(folder, args.batch)
        rig = SshdRig(Path(folder))
        rig.start()
        try:
            report(rig, args)
        finally:
            rig.stop()
    return 0


def report(rig: Any, args: argparse.Namespace) -> None:
    target = rig.target()
    for name, seconds in start_up(rig, target, args.model, 10).items():
        print(f"{name:34s} {1000 * seconds:8.1f} ms")
    local, remote, local_wall, remote_wall = rounds(target, args.model, args.rounds,
                                                    args.iterations, args.threads)
    local_ms, remote_ms = statistics.median(local), statistics.median(remote)
    # the ratio of each round's pair: slow drifts of the machine's load cancel within a round
    ratio = statistics.median(r / loc for loc, r in zip(local, remote, strict=True))
    print(f"median of {args.rounds} rounds x {args.iterations} iterations "
          f"({os.path.basename(args.model)}, ort:cpu, {args.threads} thread(s)): "
          f"local {local_ms:.3f} ms, remote {remote_ms:.3f} ms; remote/local per round, "
          f"median {ratio:.3f} "
          f"({'within' if abs(ratio - 1) <= RATIO_BUDGET else 'outside'} ±3 %)")
    print(f"whole run, median wall time: local {statistics.median(local_wall):.2f} s, "
          f"remote {statistics.median(remote_wall):.2f} s (start-up over ssh included)")


if __name__ == "__main__":
    sys.exit(main())
